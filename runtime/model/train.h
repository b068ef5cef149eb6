// Training quorum's own small models: AdamW with linear warmup and cosine decay, batches drawn
// by a counter-based generator from the seed, checkpoints in the Hugging Face layout.
//  - a policy learns next-token prediction on the target positions of its examples;
//  - a PRM learns, at each step token, whether the step is good (binary cross-entropy on the
//    reward head's two logits).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "runtime/model/decoder.h"
#include "runtime/model/prm.h"

namespace quorum::model {

struct TrainSettings {
  std::int64_t steps = 1000;
  std::int64_t batch_size = 32;
  double learning_rate = 3e-3;
  std::int64_t warmup_steps = 100;
  double weight_decay = 0.01;
  double gradient_clip = 1.0;
  std::uint64_t seed = 0;
  std::int64_t pad_token_id = 0;
};

// The learning rate at a step: linear warmup to the peak, then cosine decay to zero.
double learning_rate_at(const TrainSettings& settings, std::int64_t step);

// Called every few steps with (step, steps, recent mean loss).
using TrainProgress = std::function<void(std::int64_t step, std::int64_t steps, double loss)>;

struct LanguageExample {
  std::vector<std::int64_t> tokens;
  std::vector<std::uint8_t> target;  // target[t] != 0: tokens[t] is predicted from tokens[0..t)
};

// Initialises weights as small-model language models usually are: normal(0, 0.02) for
// matrices and embeddings, zero biases, unit norms. Seeded.
void initialize(torch::nn::Module& module, std::uint64_t seed);

// Returns the mean loss over the last tenth of the steps.
double train_language_model(Decoder& decoder, const std::vector<LanguageExample>& examples,
                            const TrainSettings& settings, const TrainProgress& progress = {});

struct StepExample {
  std::vector<std::int64_t> tokens;
  std::vector<float> labels;  // one per step token in tokens, in order: 1 good, 0 bad
};

double train_reward_model(ProcessRewardModel& prm, const std::vector<StepExample>& examples,
                          const TrainSettings& settings, const TrainProgress& progress = {});

}  // namespace quorum::model
