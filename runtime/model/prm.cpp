#include "runtime/model/prm.h"

#include "runtime/common/error.h"

namespace quorum::model {

ProcessRewardModel::ProcessRewardModel(const std::string& directory, const PrmSettings& settings,
                                       const torch::Device& device)
    : settings_(settings) {
  const auto config = ModelConfig::load(directory);
  if (settings.step_token_id < 0 || settings.step_token_id >= config.vocab_size)
    throw InputError(directory, 0, "step_token", "step token id " + std::to_string(settings.step_token_id) +
                                                     " is not in the vocabulary");
  if (settings.kind == PrmSettings::Kind::good_token) {
    if (!config.lm_head)
      throw InputError(directory, 0, "architectures", "a good-token PRM needs a language-model head");
    for (auto id : {settings.good_token_id, settings.bad_token_id})
      if (id < 0 || id >= config.vocab_size)
        throw InputError(directory, 0, "good_token", "good/bad token id " + std::to_string(id) + " is not in the vocabulary");
  }
  decoder_ = Decoder(config);
  load_parameters(*decoder_, directory);
  if (settings.kind == PrmSettings::Kind::reward_head) {
    head_ = torch::nn::Sequential(torch::nn::Linear(config.hidden_size, config.hidden_size), torch::nn::ReLU(),
                                  torch::nn::Linear(config.hidden_size, 2));
    load_parameters(*head_, directory, "score.");
    head_->to(device);
    head_->eval();
  }
  decoder_->to(device);
  decoder_->eval();
}

std::vector<std::vector<float>> ProcessRewardModel::score(const std::vector<std::vector<std::int64_t>>& sequences) {
  torch::NoGradGuard no_grad;
  std::vector<std::vector<float>> scores(sequences.size());
  if (sequences.empty()) return scores;
  const auto batch = static_cast<std::int64_t>(sequences.size());
  std::int64_t longest = 0;
  for (const auto& s : sequences) longest = std::max<std::int64_t>(longest, static_cast<std::int64_t>(s.size()));
  if (longest == 0) return scores;
  auto ids = torch::full({batch, longest}, settings_.pad_token_id, torch::kInt64);
  auto valid = torch::zeros({batch, longest}, torch::kBool);
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::size_t t = 0; t < sequences[b].size(); ++t) {
      ids[b][static_cast<std::int64_t>(t)] = sequences[b][t];
      valid[b][static_cast<std::int64_t>(t)] = true;
    }
  const auto device = decoder_->parameters().front().device();
  const auto positions = torch::arange(longest, torch::kInt64).unsqueeze(0).expand({batch, longest}).contiguous();
  const auto hidden = decoder_->hidden(ids.to(device), positions.to(device), valid.to(device));

  torch::Tensor probability;  // [B, T]: the step score if a step token stood there
  if (settings_.kind == PrmSettings::Kind::reward_head) {
    probability = torch::softmax(head_->forward(hidden), -1).select(-1, 1);
  } else {
    const auto logits = decoder_->logits(hidden);
    const auto pair = torch::stack({logits.select(-1, settings_.good_token_id), logits.select(-1, settings_.bad_token_id)}, -1);
    probability = torch::softmax(pair, -1).select(-1, 0);
  }
  probability = probability.to(torch::kCPU, torch::kFloat32).contiguous();
  const auto* p = probability.data_ptr<float>();
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::size_t t = 0; t < sequences[b].size(); ++t)
      if (sequences[b][t] == settings_.step_token_id) scores[b].push_back(p[b * longest + static_cast<std::int64_t>(t)]);
  return scores;
}

}  // namespace quorum::model
