#include "runtime/prompts/prompts.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "runtime/common/error.h"

namespace quorum::prompts {
namespace {

// Templates that read the date (Llama 3.x) get a fixed one, so that a prompt, and with it every
// response, stays a function of the sweep alone and not of the day a unit runs (design.md §5).
// It is the default Llama 3.1's own template falls back to.
constexpr const char* kTemplateDate = "26 Jul 2024";

std::vector<std::int64_t> widen(const std::vector<tokenizer::TokenId>& ids) { return {ids.begin(), ids.end()}; }

}  // namespace

std::string fill_prompt(const std::string& prompt, const std::string& problem) {
  const auto at = prompt.find("{problem}");
  if (at == std::string::npos) return prompt + problem;
  return prompt.substr(0, at) + problem + prompt.substr(at + 9);
}

std::int64_t single_token(const tokenizer::Tokenizer& tokens, const std::string& text, const std::string& model,
                          const char* field) {
  if (const auto id = tokens.added_token_id(text)) return *id;
  const auto ids = tokens.encode(text);
  if (ids.size() != 1)
    throw InputError(model, 0, field, "'" + text + "' is not one token of this model's tokenizer");
  return ids.front();
}

namespace {

nlohmann::json template_variables(const Specials& specials) {
  return {{"bos_token", specials.bos_token}, {"eos_token", specials.eos_token}, {"date_string", kTemplateDate}};
}

std::vector<chat::Message> question(const std::string& system, const std::string& user) {
  std::vector<chat::Message> messages;
  if (!system.empty()) messages.push_back({"system", system});
  messages.push_back({"user", user});
  return messages;
}

}  // namespace

PromptText policy_prompt(const PolicyPrompt& format, const chat::ChatTemplate* chat_template, const Specials& specials,
                         const std::string& problem) {
  if (format.prompt != "chat") return {fill_prompt(format.prompt, problem), true};
  if (!chat_template) throw std::logic_error("prompt: chat without a chat template");
  return {chat_template->render(question(format.system, problem), true, template_variables(specials)), false};
}

PrmKind prm_kind(const std::string& name, const std::string& source) {
  if (name.empty() || name == "reward_head") return PrmKind::reward_head;
  if (name == "value_head") return PrmKind::value_head;
  if (name == "good_token") return PrmKind::good_token;
  if (name == "chat_turn") return PrmKind::chat_turn;
  if (name == "outcome_head") return PrmKind::outcome_head;
  throw InputError(source, 0, "kind",
                   "unknown PRM kind '" + name + "' (reward_head, value_head, good_token, chat_turn or outcome_head)");
}

const char* prm_kind_name(PrmKind kind) {
  switch (kind) {
    case PrmKind::reward_head: return "reward_head";
    case PrmKind::value_head: return "value_head";
    case PrmKind::good_token: return "good_token";
    case PrmKind::chat_turn: return "chat_turn";
    case PrmKind::outcome_head: return "outcome_head";
  }
  return "?";
}

PrmInputBuilder::PrmInputBuilder(PrmFormat format, tokenizer::Tokenizer tokens,
                                 std::optional<chat::ChatTemplate> chat_template, Specials specials, std::string model)
    : format_(std::move(format)),
      tokens_(std::move(tokens)),
      chat_template_(std::move(chat_template)),
      specials_(std::move(specials)),
      model_(std::move(model)) {
  const bool chat = format_.prompt == "chat" || format_.kind == PrmKind::chat_turn;
  if (chat && !chat_template_)
    throw InputError(model_, 0, "chat_template",
                     std::string("a ") + prm_kind_name(format_.kind) +
                         " PRM with a chat prompt needs the checkpoint's chat template (chat_template.jinja or "
                         "tokenizer_config.json's chat_template), and this one has none");
  if (format_.prompt == "chat" && format_.kind != PrmKind::reward_head && format_.kind != PrmKind::chat_turn &&
      format_.kind != PrmKind::outcome_head)
    throw InputError(model_, 0, "prompt",
                     std::string("'prompt: chat' is not how ") + prm_kind_name(format_.kind) +
                         " PRMs are scored (their published code writes the problem as plain text)");
  // The last token of the tag's own encoding: how the published scoring code finds it.
  auto last_token = [&](const std::string& text, const char* field) -> std::int64_t {
    if (const auto id = tokens_.added_token_id(text)) return *id;
    const auto ids = tokens_.encode(text);
    if (ids.empty()) throw InputError(model_, 0, field, "'" + text + "' encodes to no token");
    return ids.back();
  };
  switch (format_.kind) {
    case PrmKind::reward_head:
      if (format_.step_token.empty())
        throw InputError(model_, 0, "step_token", "a reward_head PRM needs its step token (e.g. <extra_0>)");
      step_token_id_ = single_token(tokens_, format_.step_token, model_, "step_token");
      break;
    case PrmKind::value_head:
      if (format_.step_token.empty()) format_.step_token = "\n";
      step_token_id_ = last_token(format_.step_token, "step_token");
      if (specials_.bos_token.empty())
        throw InputError(model_, 0, "bos_token",
                         "a value_head PRM's input starts with the tokenizer's bos_token, and tokenizer_config.json "
                         "names none");
      break;
    case PrmKind::good_token: {
      if (format_.step_token.empty()) format_.step_token = "ки";
      step_token_id_ = last_token(format_.step_token, "step_token");
      // The published code reads the pair as encode("+ -") without the beginning of text.
      const auto pair = tokens_.encode(format_.good_token + " " + format_.bad_token);
      if (pair.size() != 2)
        throw InputError(model_, 0, "good_token",
                         "'" + format_.good_token + " " + format_.bad_token + "' is not two tokens of this vocabulary");
      good_token_id_ = pair[0], bad_token_id_ = pair[1];
      break;
    }
    case PrmKind::chat_turn:
      good_token_id_ = last_token(format_.good_token, "good_token");
      bad_token_id_ = last_token(format_.bad_token, "bad_token");
      break;
    case PrmKind::outcome_head:
      if (!format_.step_token.empty())
        throw InputError(model_, 0, "step_token", "an outcome_head model reads one score at the response's end, not at a step token");
      break;
  }
}

std::vector<std::int64_t> PrmInputBuilder::encode(const std::string& text, bool add_special) const {
  return widen(tokens_.encode(text, add_special));
}

std::string PrmInputBuilder::render(const std::vector<chat::Message>& messages, bool add_generation_prompt) const {
  return chat_template_->render(messages, add_generation_prompt, template_variables(specials_));
}

ScoringInput PrmInputBuilder::build(const std::string& problem, const std::vector<std::string>& steps) const {
  if (scores_outcome())
    throw InputError(model_, 0, "kind", "an outcome_head model scores whole responses, not steps (it cannot guide a step search)");
  ScoringInput input;
  switch (format_.kind) {
    case PrmKind::reward_head: input = reward_head(problem, steps); break;
    case PrmKind::value_head: input = value_head(problem, steps); break;
    case PrmKind::good_token: input = good_token(problem, steps); break;
    case PrmKind::chat_turn: input = chat_turn(problem, steps); break;
    case PrmKind::outcome_head: break;
  }
  if (input.positions.size() != steps.size())
    throw InputError(model_, 0, "step_token",
                     "a response of " + std::to_string(steps.size()) + " steps gives " +
                         std::to_string(input.positions.size()) + " score positions: a step's own text holds '" +
                         format_.step_token + "', so its scores cannot be read exactly");
  return input;
}

std::vector<std::int64_t> positions_of(const std::vector<std::int64_t>& ids, std::int64_t token) {
  std::vector<std::int64_t> positions;
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] == token) positions.push_back(static_cast<std::int64_t>(i));
  return positions;
}

// Qwen2.5-Math-RM: the conversation with the response as the assistant's turn, rendered by the
// chat template and encoded without adding special tokens (the template wrote them), the score
// read at its last token; with a plain prompt, the prompt and the response encoded whole.
ScoringInput PrmInputBuilder::build_outcome(const std::string& problem, const std::string& response) const {
  if (!scores_outcome()) throw std::logic_error("build_outcome: a step PRM scores steps");
  ScoringInput input;
  if (format_.prompt == "chat") {
    auto messages = question(format_.system, problem);
    messages.push_back({"assistant", response});
    input.ids = encode(render(messages, false), false);
  } else {
    input.ids = encode(fill_prompt(format_.prompt, problem) + response, true);
  }
  if (input.ids.empty()) throw InputError(model_, 0, "prompt", "the input encodes to no token");
  input.positions = {static_cast<std::int64_t>(input.ids.size()) - 1};
  return input;
}

// Qwen2.5-Math-PRM: the conversation's assistant turn is the steps, each followed by the step
// token, rendered by the chat template and encoded whole; quorum's own PRMs (a plain prompt)
// were trained on the prompt, then each step encoded alone and followed by the step token.
ScoringInput PrmInputBuilder::reward_head(const std::string& problem, const std::vector<std::string>& steps) const {
  ScoringInput input;
  if (format_.prompt == "chat") {
    auto messages = question(format_.system, problem);
    std::string answer;
    for (const auto& step : steps) answer += step + format_.step_token;
    messages.push_back({"assistant", answer});
    input.ids = encode(render(messages, false), true);
  } else {
    input.ids = encode(fill_prompt(format_.prompt, problem), false);
    for (const auto& step : steps) {
      const auto ids = encode(step, false);
      input.ids.insert(input.ids.end(), ids.begin(), ids.end());
      input.ids.push_back(step_token_id_);
    }
  }
  input.positions = positions_of(input.ids, step_token_id_);
  return input;
}

// Skywork-o1-Open-PRM: bos_token + problem + "\n", then each step encoded alone and followed by
// the step token ("\n"), the value read at each of those.
ScoringInput PrmInputBuilder::value_head(const std::string& problem, const std::vector<std::string>& steps) const {
  ScoringInput input;
  input.ids = encode(specials_.bos_token + fill_prompt(format_.prompt, problem) + "\n", true);
  for (const auto& step : steps) {
    const auto ids = encode(step, true);
    input.ids.insert(input.ids.end(), ids.begin(), ids.end());
    input.positions.push_back(static_cast<std::int64_t>(input.ids.size()));
    input.ids.push_back(step_token_id_);
  }
  return input;
}

// Math-Shepherd: "{question} {step 1} ки\n{step 2} ки..." encoded whole, the good/bad logits
// read at every tag.
ScoringInput PrmInputBuilder::good_token(const std::string& problem, const std::vector<std::string>& steps) const {
  std::string text = fill_prompt(format_.prompt, problem) + " ";
  for (std::size_t i = 0; i < steps.size(); ++i) text += (i ? "\n" : "") + steps[i] + " " + format_.step_token;
  ScoringInput input;
  input.ids = encode(text, true);
  input.positions = positions_of(input.ids, step_token_id_);
  return input;
}

// RLHFlow: each step a user turn (the first after the question and a space), each answered by
// the assistant with the good token; the score of step k is P(good) over {good, bad} from the
// logits that predict the k-th assistant answer. The published code scores each prefix of the
// conversation on its own; one pass over the whole gives the same logits wherever the prefix's
// tokens are a prefix of the whole's (checked), since attention is causal.
ScoringInput PrmInputBuilder::chat_turn(const std::string& problem, const std::vector<std::string>& steps) const {
  std::vector<chat::Message> conversation;
  for (std::size_t k = 0; k < steps.size(); ++k) {
    conversation.push_back({"user", k == 0 ? fill_prompt(format_.prompt, problem) + " " + steps[0] : steps[k]});
    conversation.push_back({"assistant", format_.good_token});
  }
  ScoringInput input;
  input.ids = encode(render(conversation, false), false);
  for (std::size_t k = 0; k < steps.size(); ++k) {
    const std::vector<chat::Message> prefix(conversation.begin(), conversation.begin() + 2 * (k + 1));
    const auto ids = k + 1 == steps.size() ? input.ids : encode(render(prefix, false), false);
    if (ids.size() > input.ids.size() || !std::equal(ids.begin(), ids.end(), input.ids.begin()))
      throw InputError(model_, 0, "chat_template",
                       "the template renders the first " + std::to_string(k + 1) +
                           " turns as something other than the start of the whole conversation");
    const auto answer = std::find(ids.rbegin(), ids.rend(), good_token_id_);
    if (answer == ids.rend() || answer + 1 == ids.rend())
      throw InputError(model_, 0, "good_token", "the rendered conversation holds no '" + format_.good_token + "' answer");
    input.positions.push_back(static_cast<std::int64_t>(ids.rend() - answer) - 2);
  }
  return input;
}

}  // namespace quorum::prompts
