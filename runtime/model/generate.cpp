#include "runtime/model/generate.h"

#include <algorithm>
#include <chrono>

#include "runtime/aggregation/draws.h"

namespace quorum::model {

std::int64_t sample_token(const torch::Tensor& logits, const SamplingSettings& settings, std::uint64_t seed,
                          std::int64_t step) {
  // Greedy: argmax on the float row (float to double keeps the order, so the pick is the same).
  if (settings.temperature <= 0) return logits.argmax().item<std::int64_t>();
  const auto row = logits.to(torch::kCPU, torch::kFloat64).contiguous();
  auto [sorted, order] = torch::sort(row / settings.temperature, /*dim=*/0, /*descending=*/true);
  auto probabilities = torch::softmax(sorted, 0);
  const auto* p = probabilities.data_ptr<double>();
  const auto* index = order.data_ptr<std::int64_t>();
  std::int64_t keep = row.size(0);
  if (settings.top_k > 0) keep = std::min(keep, settings.top_k);
  if (settings.top_p < 1.0) {
    double mass = 0;
    for (std::int64_t k = 0; k < keep; ++k) {
      mass += p[k];
      if (mass >= settings.top_p) {
        keep = k + 1;
        break;
      }
    }
  }
  double total = 0;
  for (std::int64_t k = 0; k < keep; ++k) total += p[k];
  // One uniform number per (seed, step), whatever else is in the batch.
  const double u = (aggregation::splitmix64(aggregation::splitmix64(seed) ^ static_cast<std::uint64_t>(step)) >> 11) *
                   0x1.0p-53 * total;
  double cumulative = 0;
  for (std::int64_t k = 0; k < keep; ++k) {
    cumulative += p[k];
    if (u < cumulative) return index[k];
  }
  return index[keep - 1];
}

std::vector<GenerationResult> generate(Decoder& decoder, const std::vector<GenerationRequest>& requests,
                                       const SamplingSettings& settings, const StopCheck& stop) {
  c10::InferenceMode inference;
  const auto start = std::chrono::steady_clock::now();
  const auto batch = static_cast<std::int64_t>(requests.size());
  std::vector<GenerationResult> results(requests.size());
  if (batch == 0) return results;
  const auto device = decoder->parameters().front().device();

  // Left-pad the prompts to a common length; padded positions are masked out.
  std::int64_t longest = 0;
  for (const auto& r : requests) longest = std::max<std::int64_t>(longest, static_cast<std::int64_t>(r.prompt.size()));
  auto ids = torch::full({batch, longest}, settings.pad_token_id, torch::kInt64);
  auto valid = torch::zeros({batch, longest}, torch::kBool);
  auto* id = ids.data_ptr<std::int64_t>();
  auto* ok = valid.data_ptr<bool>();
  std::vector<std::int64_t> next_position(batch);
  for (std::int64_t b = 0; b < batch; ++b) {
    const auto& prompt = requests[b].prompt;
    const auto offset = longest - static_cast<std::int64_t>(prompt.size());
    for (std::size_t t = 0; t < prompt.size(); ++t) {
      id[b * longest + offset + static_cast<std::int64_t>(t)] = prompt[t];
      ok[b * longest + offset + static_cast<std::int64_t>(t)] = true;
    }
    results[b].prompt_tokens = next_position[b] = static_cast<std::int64_t>(prompt.size());
  }
  const auto positions = (valid.to(torch::kInt64).cumsum(1) - 1).clamp_min(0);

  KvCache cache;
  cache.reserve = longest + settings.max_new_tokens;
  auto hidden = decoder->hidden(ids.to(device), positions.to(device), valid.to(device), &cache);
  auto last = decoder->logits(hidden.select(1, longest - 1)).to(torch::kCPU);

  std::vector<bool> done(batch, false);
  std::int64_t remaining = batch;
  for (std::int64_t step = 0; step < settings.max_new_tokens && remaining > 0; ++step) {
    std::vector<std::int64_t> next(batch, settings.pad_token_id);
    std::vector<std::uint8_t> next_valid(batch, 0);
    for (std::int64_t b = 0; b < batch; ++b) {
      if (done[b]) continue;
      const auto token = sample_token(last[b], settings, requests[b].seed, step);
      auto& result = results[b];
      const bool stop_token = std::find(settings.stop_token_ids.begin(), settings.stop_token_ids.end(), token) !=
                              settings.stop_token_ids.end();
      if (!stop_token) result.tokens.push_back(token);
      const bool finished = stop_token || (stop && stop(static_cast<std::size_t>(b), result.tokens)) ||
                            static_cast<std::int64_t>(result.tokens.size()) >= settings.max_new_tokens;
      if (finished) {
        done[b] = true;
        --remaining;
        result.stopped = stop_token || static_cast<std::int64_t>(result.tokens.size()) < settings.max_new_tokens;
        result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        continue;
      }
      next[b] = token;
      next_valid[b] = 1;
    }
    if (remaining == 0) break;
    const auto next_ok = torch::tensor(std::vector<std::int64_t>(next_valid.begin(), next_valid.end()), torch::kInt64);
    valid = torch::cat({valid, next_ok.view({batch, 1}).to(torch::kBool)}, 1);
    hidden = decoder->hidden(torch::tensor(next, torch::kInt64).view({batch, 1}).to(device),
                             torch::tensor(next_position, torch::kInt64).view({batch, 1}).to(device),
                             valid.to(device), &cache);
    last = decoder->logits(hidden.select(1, 0)).to(torch::kCPU);
    for (std::int64_t b = 0; b < batch; ++b) next_position[b] += next_valid[b];
  }
  return results;
}

}  // namespace quorum::model
