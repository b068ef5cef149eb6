#include "runtime/model/train.h"

#include <cmath>

#include "runtime/aggregation/draws.h"
#include "runtime/model/batch.h"

namespace quorum::model {
namespace {

// The examples of batch `step`: drawn with replacement by a counter-based generator.
std::vector<std::size_t> batch_indices(const TrainSettings& settings, std::int64_t step, std::size_t examples) {
  std::vector<std::size_t> indices(settings.batch_size);
  const auto base = aggregation::splitmix64(settings.seed ^ aggregation::splitmix64(static_cast<std::uint64_t>(step)));
  for (std::int64_t i = 0; i < settings.batch_size; ++i)
    indices[i] = aggregation::splitmix64(base ^ static_cast<std::uint64_t>(i)) % examples;
  return indices;
}

// One training batch: which examples, their padded tokens, and a class target per position
// (-100, ignored, until the caller fills it in).
struct Batch {
  std::vector<std::size_t> indices;
  PaddedBatch padded;
  torch::Tensor classes;
};

template <class Example>
Batch draw_batch(const std::vector<Example>& examples, const TrainSettings& settings, std::int64_t step) {
  Batch batch;
  batch.indices = batch_indices(settings, step, examples.size());
  std::vector<const std::vector<std::int64_t>*> tokens;
  for (auto i : batch.indices) tokens.push_back(&examples[i].tokens);
  batch.padded = right_pad(tokens, settings.pad_token_id);
  batch.classes = torch::full(batch.padded.ids.sizes(), -100, torch::kInt64);
  return batch;
}

torch::Tensor class_loss(const torch::Tensor& logits, const torch::Tensor& classes) {
  return torch::nn::functional::cross_entropy(logits.view({-1, logits.size(-1)}), classes.view({-1}).to(logits.device()),
                                              torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100));
}

// The shared loop: AdamW, the schedule, gradient clipping, progress and the final loss.
template <class LossOf>
double optimise(std::vector<torch::Tensor> parameters, const TrainSettings& settings, const TrainProgress& progress,
                LossOf loss_of) {
  torch::optim::AdamW optimizer(parameters, torch::optim::AdamWOptions(settings.learning_rate)
                                                .weight_decay(settings.weight_decay)
                                                .betas({0.9, 0.95}));
  const std::int64_t report_every = std::max<std::int64_t>(1, settings.steps / 50);
  const std::int64_t tail_from = settings.steps - std::max<std::int64_t>(1, settings.steps / 10);
  double recent = 0, tail = 0;
  std::int64_t recent_count = 0, tail_count = 0;
  for (std::int64_t step = 0; step < settings.steps; ++step) {
    for (auto& group : optimizer.param_groups())
      static_cast<torch::optim::AdamWOptions&>(group.options()).lr(learning_rate_at(settings, step));
    optimizer.zero_grad();
    auto loss = loss_of(step);
    loss.backward();
    if (settings.gradient_clip > 0) torch::nn::utils::clip_grad_norm_(parameters, settings.gradient_clip);
    optimizer.step();
    const double value = loss.template item<double>();
    recent += value;
    ++recent_count;
    if (step >= tail_from) tail += value, ++tail_count;
    if (progress && ((step + 1) % report_every == 0 || step + 1 == settings.steps)) {
      progress(step + 1, settings.steps, recent / recent_count);
      recent = 0;
      recent_count = 0;
    }
  }
  return tail_count ? tail / tail_count : 0.0;
}

}  // namespace

double learning_rate_at(const TrainSettings& settings, std::int64_t step) {
  if (step < settings.warmup_steps) return settings.learning_rate * (step + 1) / settings.warmup_steps;
  const double progress = static_cast<double>(step - settings.warmup_steps) /
                          std::max<std::int64_t>(1, settings.steps - settings.warmup_steps);
  return settings.learning_rate * 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, progress)));
}

void initialize(torch::nn::Module& module, std::uint64_t seed) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(seed);
  for (auto& p : module.named_parameters()) {
    const auto& name = p.key();
    auto& value = p.value();
    if (name.find("norm") != std::string::npos) value.fill_(1.0);
    else if (value.dim() == 1) value.zero_();
    else value.normal_(0.0, 0.02);
  }
}

double train_language_model(Decoder& decoder, const std::vector<LanguageExample>& examples,
                            const TrainSettings& settings, const TrainProgress& progress) {
  decoder->train();
  const auto device = decoder->parameters().front().device();
  const double loss = optimise(decoder->parameters(), settings, progress, [&](std::int64_t step) {
    auto batch = draw_batch(examples, settings, step);
    const auto& [ids, valid] = batch.padded;
    // Position t predicts token t + 1 where that token is a target.
    auto* target = batch.classes.data_ptr<std::int64_t>();
    const auto width = ids.size(1);
    for (std::size_t b = 0; b < batch.indices.size(); ++b) {
      const auto& example = examples[batch.indices[b]];
      for (std::size_t t = 1; t < example.tokens.size(); ++t)
        if (example.target[t]) target[static_cast<std::int64_t>(b) * width + static_cast<std::int64_t>(t) - 1] = example.tokens[t];
    }
    const auto positions = torch::arange(width, torch::kInt64).unsqueeze(0).expand_as(ids).contiguous();
    return class_loss(decoder->logits(decoder->hidden(ids.to(device), positions.to(device), valid.to(device))),
                      batch.classes);
  });
  decoder->eval();
  return loss;
}

double train_reward_model(ProcessRewardModel& prm, const std::vector<StepExample>& examples,
                          const TrainSettings& settings, const TrainProgress& progress) {
  prm.train(true);
  const auto device = prm.parameters().front().device();
  const auto step_token = prm.settings().step_token_id;
  const double loss = optimise(prm.parameters(), settings, progress, [&](std::int64_t step) {
    auto batch = draw_batch(examples, settings, step);
    const auto& [ids, valid] = batch.padded;
    // Class 1 (good) or 0 (bad) at each step token; -100 elsewhere.
    auto* label = batch.classes.data_ptr<std::int64_t>();
    const auto width = ids.size(1);
    for (std::size_t b = 0; b < batch.indices.size(); ++b) {
      const auto& example = examples[batch.indices[b]];
      std::size_t k = 0;
      for (std::size_t t = 0; t < example.tokens.size() && k < example.labels.size(); ++t)
        if (example.tokens[t] == step_token)
          label[static_cast<std::int64_t>(b) * width + static_cast<std::int64_t>(t)] = example.labels[k++] > 0.5f ? 1 : 0;
    }
    return class_loss(prm.head_logits(ids.to(device), valid.to(device)), batch.classes);
  });
  prm.train(false);
  return loss;
}

}  // namespace quorum::model
