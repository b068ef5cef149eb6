// What the models read: a policy's prompt for a problem, and a PRM's input for a problem and
// the steps of one response, with the positions its step scores are read at. Each PRM kind
// builds its input exactly as the published scoring code of its checkpoints does
// (docs/models.md, "PRM kinds"); nothing here needs libtorch, so unit tests reach it directly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/chat/chat_template.h"
#include "runtime/tokenizer/tokenizer.h"

namespace quorum::prompts {

// "{problem}" replaced by the problem's text (appended when the prompt has no placeholder).
std::string fill_prompt(const std::string& prompt, const std::string& problem);

// The tokens of a model's own vocabulary that prompts are built from.
struct Specials {
  std::string bos_token;  // tokenizer_config.json's bos_token ("" when it has none)
  std::string eos_token;
};

// A policy's prompt: the configured text, or with `chat`, the checkpoint's chat template over a
// system message (when given) and the problem as the user's message, with the generation prompt.
struct PolicyPrompt {
  std::string prompt;  // "{problem}" template, or "chat"
  std::string system;
};

// The prompt text, and whether the tokenizer should add its special tokens when encoding it:
// a rendered chat template carries them already (transformers' apply_chat_template encodes
// without them); a plain prompt is encoded as transformers' tokenizer(text) does by default,
// with them (Llama-2 and Mistral tokenizers add <s>; Qwen's and quorum's add nothing).
struct PromptText {
  std::string text;
  bool add_special = false;
};

PromptText policy_prompt(const PolicyPrompt& format, const chat::ChatTemplate* chat_template, const Specials& specials,
                         const std::string& problem);

enum class PrmKind {
  reward_head,  // Qwen2.5-Math-PRM: a two-logit head at each step token
  value_head,   // Skywork-o1-Open-PRM: a scalar value head, sigmoid, at each step token
  good_token,   // Math-Shepherd: P(good) over {good, bad} from the logits at each step tag
  chat_turn,    // RLHFlow: each step a user turn, '+' as the assistant's answer; P('+') over {'+', '-'}
  // An outcome reward model (Qwen2.5-Math-RM): the whole response as the assistant's turn, one
  // raw score (not a probability) from a two-layer head with one output at the last token.
  outcome_head,
};

// Throws InputError(source, 0, "kind", ...) for an unknown name.
PrmKind prm_kind(const std::string& name, const std::string& source);
const char* prm_kind_name(PrmKind kind);

struct PrmFormat {
  PrmKind kind = PrmKind::reward_head;
  std::string prompt = "{problem}";  // or "chat" (reward_head, outcome_head; chat_turn always uses the template)
  std::string system;
  std::string step_token;  // reward_head, value_head: the token after each step; good_token: the tag
  std::string good_token = "+", bad_token = "-";  // good_token, chat_turn
};

// One PRM input: the token ids, and for each step the position whose output gives its score
// (the step token's hidden state, or the logits that predict the good/bad token); for an
// outcome_head, the one position of the response's score.
struct ScoringInput {
  std::vector<std::int64_t> ids;
  std::vector<std::int64_t> positions;
};

// Every position of token in ids.
std::vector<std::int64_t> positions_of(const std::vector<std::int64_t>& ids, std::int64_t token);

class PrmInputBuilder {
 public:
  // Resolves the tokens the format names in the tokenizer; throws InputError naming `model`
  // and the field for a token the vocabulary lacks, a chat format without a template, or a
  // value_head PRM whose tokenizer has no bos_token.
  PrmInputBuilder(PrmFormat format, tokenizer::Tokenizer tokens, std::optional<chat::ChatTemplate> chat_template,
                  Specials specials, std::string model);

  // Throws InputError when the steps cannot be scored exactly (a step whose text itself holds
  // the step tag, so scores would be read at the wrong places). An outcome_head reads the
  // response's whole text as it was generated, not its steps.
  ScoringInput build(const std::string& problem, const std::vector<std::string>& steps) const;
  ScoringInput build_outcome(const std::string& problem, const std::string& response) const;
  // Whether the model scores whole responses (outcome_head) rather than steps.
  bool scores_outcome() const { return format_.kind == PrmKind::outcome_head; }

  const PrmFormat& format() const { return format_; }
  std::int64_t step_token_id() const { return step_token_id_; }
  std::int64_t good_token_id() const { return good_token_id_; }
  std::int64_t bad_token_id() const { return bad_token_id_; }

 private:
  ScoringInput reward_head(const std::string& problem, const std::vector<std::string>& steps) const;
  ScoringInput value_head(const std::string& problem, const std::vector<std::string>& steps) const;
  ScoringInput good_token(const std::string& problem, const std::vector<std::string>& steps) const;
  ScoringInput chat_turn(const std::string& problem, const std::vector<std::string>& steps) const;
  std::vector<std::int64_t> encode(const std::string& text, bool add_special) const;
  std::string render(const std::vector<chat::Message>& messages, bool add_generation_prompt) const;

  PrmFormat format_;
  tokenizer::Tokenizer tokens_;
  std::optional<chat::ChatTemplate> chat_template_;
  Specials specials_;
  std::string model_;
  std::int64_t step_token_id_ = -1, good_token_id_ = -1, bad_token_id_ = -1;
};

// The single id a token text stands for: an added token's, or the token of a text that
// encodes to one token. Throws InputError naming `model` and `field` otherwise.
std::int64_t single_token(const tokenizer::Tokenizer& tokens, const std::string& text, const std::string& model,
                          const char* field);

}  // namespace quorum::prompts
