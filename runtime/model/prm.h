// Process reward models: one score in [0, 1] per reasoning step, read in one forward pass over
// the question and its steps (built by runtime/prompts), at one position per step.
//  - reward_head: the backbone's hidden state there goes through a two-layer head ("score.0",
//    ReLU, "score.2") to two logits; the score is the second one's softmax probability (the
//    layout of Qwen2.5-Math-PRM checkpoints, "...ForProcessRewardModel").
//  - value_head: the hidden state goes through one linear unit ("v_head.summary"), then a
//    sigmoid (Skywork-o1-Open-PRM).
//  - good_token, chat_turn: a causal language model; the score is P(good) / (P(good) + P(bad))
//    from the logits there (Math-Shepherd at each step tag, RLHFlow before each '+' answer).
//  - outcome_head: an outcome reward model, the reward_head's layout with one output
//    ("...ForRewardModel", Qwen2.5-Math-RM); its one score per response, at the last token, is
//    the raw output, not a probability: the sweep maps it with its score_transform.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "runtime/model/decoder.h"
#include "runtime/prompts/prompts.h"
#include "runtime/tokenizer/tokenizer.h"

namespace quorum::model {

// A PRM's input: the prompt, then each step followed by the step token (whose positions the
// scores are read at). Training, evaluation and the sweep's verifiers all build it here.
std::vector<std::int64_t> step_sequence(const tokenizer::Tokenizer& tokens, const std::string& prompt,
                                        const std::vector<std::string>& steps, std::int64_t step_token);

// How score() cuts its inputs into forward passes. The inputs are sorted by length and taken in
// groups of consecutive lengths, each right-padded to its longest input; a group holds as many
// inputs as keep its padded size (rows x longest) within `tokens` and one layer's attention
// scores (rows x heads x longest x longest, float32) within `attention_bytes`, and no more than
// `rows`. An input over the budget alone is a group of one. The defaults come from measurement
// on the CPU (docs/models.md): wider passes gained nothing there, and passes with hundreds of
// MiB of attention scores were a third slower; these keep a pass's activations small.
constexpr std::int64_t kScoringBatchTokens = 2048;
constexpr std::int64_t kScoringAttentionBytes = std::int64_t{16} << 20;
struct ScoringBudget {
  std::int64_t tokens = kScoringBatchTokens;
  std::int64_t attention_bytes = kScoringAttentionBytes;
  std::int64_t rows = std::numeric_limits<std::int64_t>::max();
  // The default budget with at most batch_size inputs a pass (1 at least): how a sweep's PRM
  // worker (runtime.batch_size) and a search's verifier score.
  static ScoringBudget for_batch(std::size_t batch_size);
  // The most inputs a group whose longest input has `longest` tokens holds (1 at least), for a
  // model of `heads` attention heads.
  std::int64_t rows_for(std::int64_t longest, std::int64_t heads) const;
};

// The groups score() runs, as indices into `lengths` (each group in ascending length, the
// groups in ascending length too). Every index appears once.
std::vector<std::vector<std::size_t>> scoring_groups(const std::vector<std::int64_t>& lengths, std::int64_t heads,
                                                     const ScoringBudget& budget);

struct PrmSettings {
  using Kind = prompts::PrmKind;
  Kind kind = Kind::reward_head;
  std::int64_t step_token_id = -1;  // score(sequences): the token whose positions are read
  std::int64_t good_token_id = -1;  // good_token and chat_turn
  std::int64_t bad_token_id = -1;   // good_token and chat_turn
  std::int64_t pad_token_id = 0;
};

class ProcessRewardModel {
 public:
  // Loads the backbone (and, for reward_head, the score head) from a checkpoint directory.
  ProcessRewardModel(const std::string& directory, const PrmSettings& settings, const torch::Device& device = torch::kCPU,
                     WeightDtype dtype = WeightDtype::float32);
  // Everything the constructor checks (config.json, every tensor's name and shape, the tokens'
  // ids), without reading or holding the weights. Throws InputError.
  static void check(const std::string& directory, const PrmSettings& settings, WeightDtype dtype);
  // A reward-head PRM on a given backbone (e.g. a policy's, to be fine-tuned) with a fresh,
  // seeded head.
  ProcessRewardModel(Decoder backbone, const PrmSettings& settings, std::uint64_t seed);

  // The reward head's two logits (bad, good) at every position: [B, T, 2]. reward_head only.
  torch::Tensor head_logits(const torch::Tensor& ids, const torch::Tensor& valid);
  std::vector<torch::Tensor> parameters();
  void train(bool on);
  // Writes a reward-head PRM as a "...ForProcessRewardModel" checkpoint (model.* and score.*).
  void save(const std::string& directory);

  // For each input, the scores at its positions, in order, the inputs in groups of similar
  // length within the budget (scoring_groups); an input without positions is not run. An
  // input's scores do not depend on the group it lands in (up to float rounding). With seconds,
  // each input's share of its group's time, by tokens.
  std::vector<std::vector<float>> score(const std::vector<prompts::ScoringInput>& inputs,
                                        const ScoringBudget& budget = {}, std::vector<double>* seconds = nullptr);
  // For each token sequence, the scores at its step tokens (settings().step_token_id), in order.
  std::vector<std::vector<float>> score(const std::vector<std::vector<std::int64_t>>& sequences);

  const PrmSettings& settings() const { return settings_; }
  Decoder& decoder() { return decoder_; }

 private:
  explicit ProcessRewardModel(const PrmSettings& settings) : settings_(settings) {}
  void build(const std::string& directory, const torch::Device& device, WeightDtype dtype, bool load);
  // The score at each of picked's hidden states [K, hidden], K of them, from a group of rows inputs.
  torch::Tensor probabilities(const torch::Tensor& picked, std::int64_t rows);
  PrmSettings settings_;
  Decoder decoder_{nullptr};
  torch::nn::Sequential head_{nullptr};   // reward_head, outcome_head
  torch::nn::Linear value_{nullptr};      // value_head
};

}  // namespace quorum::model
