#include "runtime/model/prm.h"

#include <algorithm>
#include <chrono>

#include "runtime/common/error.h"
#include "runtime/model/batch.h"

namespace quorum::model {
namespace {

using Kind = PrmSettings::Kind;

// The score head of Qwen2.5-Math-PRM and Qwen2.5-Math-RM: Linear, ReLU, Linear ("score.0",
// "score.2") to two logits (the PRM) or one raw reward (the outcome model).
torch::nn::Sequential make_head(std::int64_t hidden, std::int64_t outputs = 2) {
  return torch::nn::Sequential(torch::nn::Linear(hidden, hidden), torch::nn::ReLU(), torch::nn::Linear(hidden, outputs));
}

}  // namespace

ProcessRewardModel::ProcessRewardModel(const std::string& directory, const PrmSettings& settings,
                                       const torch::Device& device, WeightDtype dtype)
    : settings_(settings) {
  build(directory, device, dtype, true);
}

void ProcessRewardModel::check(const std::string& directory, const PrmSettings& settings, WeightDtype dtype) {
  ProcessRewardModel unloaded(settings);
  unloaded.build(directory, torch::Device(torch::kMeta), dtype, false);
}

void ProcessRewardModel::build(const std::string& directory, const torch::Device& device, WeightDtype dtype, bool load) {
  const auto& settings = settings_;
  const auto fill = load ? load_parameters : check_parameters;
  auto config = ModelConfig::load(directory);
  const bool reads_logits = settings.kind == Kind::good_token || settings.kind == Kind::chat_turn;
  if (settings.step_token_id >= config.vocab_size)
    throw InputError(directory, 0, "step_token", "step token id " + std::to_string(settings.step_token_id) +
                                                     " is not in the vocabulary");
  if (reads_logits) {
    if (!config.lm_head)
      throw InputError(directory, 0, "architectures",
                       std::string("a ") + prompts::prm_kind_name(settings.kind) + " PRM needs a language-model head");
    for (auto id : {settings.good_token_id, settings.bad_token_id})
      if (id < 0 || id >= config.vocab_size)
        throw InputError(directory, 0, "good_token", "good/bad token id " + std::to_string(id) + " is not in the vocabulary");
  }
  // A head PRM's checkpoint may still hold a language-model head (Skywork's does): it is not
  // read, so it is not loaded.
  if (!reads_logits) config.lm_head = false;
  decoder_ = Decoder(config, dtype, device);
  fill(*decoder_, directory, "");
  // The heads are small: they stay in float32 and read the hidden states converted to it.
  if (settings.kind == Kind::reward_head || settings.kind == Kind::outcome_head) {
    head_ = make_head(config.hidden_size, settings.kind == Kind::outcome_head ? 1 : 2);
    fill(*head_, directory, "score.");
    if (load) head_->to(device);
    head_->eval();
  } else if (settings.kind == Kind::value_head) {
    value_ = torch::nn::Linear(config.hidden_size, 1);
    fill(*value_, directory, "v_head.summary.");
    if (load) value_->to(device);
    value_->eval();
  }
  decoder_->eval();
}

std::vector<std::int64_t> step_sequence(const tokenizer::Tokenizer& tokens, const std::string& prompt,
                                        const std::vector<std::string>& steps, std::int64_t step_token) {
  const auto prompt_ids = tokens.encode(prompt);
  std::vector<std::int64_t> sequence(prompt_ids.begin(), prompt_ids.end());
  for (const auto& step : steps) {
    const auto ids = tokens.encode(step);
    sequence.insert(sequence.end(), ids.begin(), ids.end());
    sequence.push_back(step_token);
  }
  return sequence;
}

std::vector<std::vector<float>> ProcessRewardModel::score(const std::vector<std::vector<std::int64_t>>& sequences) {
  std::vector<prompts::ScoringInput> inputs;
  for (const auto& sequence : sequences) inputs.push_back({sequence, prompts::positions_of(sequence, settings_.step_token_id)});
  return score(inputs);
}

ScoringBudget ScoringBudget::for_batch(std::size_t batch_size) {
  ScoringBudget budget;
  budget.rows = static_cast<std::int64_t>(std::max<std::size_t>(batch_size, 1));
  return budget;
}

std::int64_t ScoringBudget::rows_for(std::int64_t longest, std::int64_t heads) const {
  const auto length = std::max<std::int64_t>(longest, 1);
  const auto score_bytes = std::max<std::int64_t>(heads, 1) * length * length * static_cast<std::int64_t>(sizeof(float));
  return std::max<std::int64_t>(1, std::min({rows, tokens / length, attention_bytes / score_bytes}));
}

std::vector<std::vector<std::size_t>> scoring_groups(const std::vector<std::int64_t>& lengths, std::int64_t heads,
                                                     const ScoringBudget& budget) {
  std::vector<std::size_t> order(lengths.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return lengths[a] < lengths[b]; });
  // Lengths ascend, so the input a group takes last is its longest: it takes the next one while
  // the budget allows that many rows at the next one's length.
  std::vector<std::vector<std::size_t>> groups;
  for (std::size_t first = 0; first < order.size();) {
    std::size_t end = first + 1;
    while (end < order.size() &&
           static_cast<std::int64_t>(end - first + 1) <= budget.rows_for(lengths[order[end]], heads))
      ++end;
    groups.emplace_back(order.begin() + first, order.begin() + end);
    first = end;
  }
  return groups;
}

std::vector<std::vector<float>> ProcessRewardModel::score(const std::vector<prompts::ScoringInput>& inputs,
                                                          const ScoringBudget& budget, std::vector<double>* seconds) {
  c10::InferenceMode inference;
  std::vector<std::vector<float>> scores(inputs.size());
  if (seconds) seconds->assign(inputs.size(), 0.0);
  // Inputs without score positions are not run; the others are grouped by length.
  std::vector<std::size_t> scored;
  std::vector<std::int64_t> lengths;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    for (const auto t : inputs[i].positions)
      if (t < 0 || t >= static_cast<std::int64_t>(inputs[i].ids.size()))
        throw std::out_of_range("a PRM score position lies outside its input");
    if (inputs[i].positions.empty()) continue;
    scored.push_back(i);
    lengths.push_back(static_cast<std::int64_t>(inputs[i].ids.size()));
  }
  const auto device = decoder_->parameters().front().device();
  for (const auto& group : scoring_groups(lengths, decoder_->config().num_heads, budget)) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::size_t> members;  // indices into inputs
    std::vector<const std::vector<std::int64_t>*> rows;
    for (const auto g : group) {
      members.push_back(scored[g]);
      rows.push_back(&inputs[scored[g]].ids);
    }
    const auto count = static_cast<std::int64_t>(members.size());
    const auto [ids, valid] = right_pad(rows, settings_.pad_token_id);
    const auto longest = ids.size(1);
    const auto positions = torch::arange(longest, torch::kInt64).unsqueeze(0).expand({count, longest}).contiguous();
    const auto hidden = decoder_->hidden(ids.to(device), positions.to(device), valid.to(device));
    // Only the hidden states at the score positions go through the head (or the vocabulary
    // projection: a good-token PRM's logits at every position would be [rows, T, vocab]).
    std::vector<std::int64_t> flat;
    for (std::int64_t r = 0; r < count; ++r)
      for (const auto t : inputs[members[r]].positions) flat.push_back(r * longest + t);
    const auto picked = hidden.reshape({count * longest, hidden.size(-1)})
                            .index_select(0, torch::tensor(flat, torch::kInt64).to(device));  // [K, hidden]
    const auto values = probabilities(picked, count).to(torch::kCPU, torch::kFloat32).contiguous();
    const auto* p = values.data_ptr<float>();
    for (const auto m : members) {
      scores[m].assign(p, p + inputs[m].positions.size());
      p += inputs[m].positions.size();
    }
    if (seconds) {
      // The group's time, shared by tokens: what each input cost of the pass.
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      double tokens = 0;
      for (const auto m : members) tokens += static_cast<double>(inputs[m].ids.size());
      for (const auto m : members) (*seconds)[m] = elapsed * static_cast<double>(inputs[m].ids.size()) / tokens;
    }
  }
  return scores;
}

torch::Tensor ProcessRewardModel::probabilities(const torch::Tensor& picked, std::int64_t rows) {
  if (settings_.kind == Kind::reward_head)
    return torch::softmax(head_->forward(picked.to(torch::kFloat32)), -1).select(-1, 1);
  if (settings_.kind == Kind::value_head) return torch::sigmoid(value_->forward(picked.to(torch::kFloat32))).squeeze(-1);
  if (settings_.kind == Kind::outcome_head) return head_->forward(picked.to(torch::kFloat32)).squeeze(-1);
  // The vocabulary projection takes the positions `rows` at a time: its logits stay [rows,
  // vocab], as a pass's memory account counts them (workers.h), however many steps the inputs hold.
  std::vector<torch::Tensor> pieces;
  for (const auto& slice : picked.split(rows)) {
    const auto logits = decoder_->logits(slice);
    const auto pair = torch::stack({logits.select(-1, settings_.good_token_id), logits.select(-1, settings_.bad_token_id)}, -1);
    pieces.push_back(torch::softmax(pair, -1).select(-1, 0));
  }
  return torch::cat(pieces);
}

ProcessRewardModel::ProcessRewardModel(Decoder backbone, const PrmSettings& settings, std::uint64_t seed)
    : settings_(settings), decoder_(std::move(backbone)) {
  if (settings.kind != Kind::reward_head)
    throw std::invalid_argument("only reward-head PRMs are built on a backbone");
  torch::manual_seed(seed);
  head_ = make_head(decoder_->config().hidden_size);
  head_->to(decoder_->parameters().front().device());
}

torch::Tensor ProcessRewardModel::head_logits(const torch::Tensor& ids, const torch::Tensor& valid) {
  const auto positions = torch::arange(ids.size(1), ids.options()).unsqueeze(0).expand_as(ids).contiguous();
  return head_->forward(decoder_->hidden(ids, positions, valid));
}

std::vector<torch::Tensor> ProcessRewardModel::parameters() {
  auto all = decoder_->parameters();
  if (head_)
    for (auto& p : head_->parameters()) all.push_back(p);
  if (value_)
    for (auto& p : value_->parameters()) all.push_back(p);
  return all;
}

void ProcessRewardModel::train(bool on) {
  decoder_->train(on);
  if (head_) head_->train(on);
  if (value_) value_->train(on);
}

void ProcessRewardModel::save(const std::string& directory) {
  if (!head_) throw std::logic_error("only reward-head PRMs are saved");
  auto config = decoder_->config();
  config.architecture = "Qwen2ForProcessRewardModel";
  config.lm_head = false;
  config.tie_word_embeddings = false;
  std::vector<std::pair<std::string, torch::Tensor>> named;
  for (const auto& p : decoder_->named_parameters())
    if (p.key().rfind("model.", 0) == 0) named.emplace_back(p.key(), p.value());
  for (const auto& p : head_->named_parameters()) named.emplace_back("score." + p.key(), p.value());
  write_checkpoint(directory, config, named);
}

}  // namespace quorum::model
