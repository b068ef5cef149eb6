#include "runtime/model/generate.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>

#include "runtime/aggregation/draws.h"

namespace quorum::model {
namespace {

// The sequence's one uniform number in [0, 1) for this step, whatever else is in the batch.
double uniform(std::uint64_t seed, std::int64_t step) {
  return (aggregation::splitmix64(aggregation::splitmix64(seed) ^ static_cast<std::uint64_t>(step)) >> 11) * 0x1.0p-53;
}

// The first partial selection a top-p row takes; a real model's nucleus usually lies inside it.
constexpr std::int64_t kFirstNucleusCandidates = 64;

// Inverse-CDF sampling over the leading `keep` of probabilities in decreasing order (not
// renormalised: u is scaled by their total).
std::int64_t pick(const double* p, const std::int64_t* index, std::int64_t keep, double u) {
  double total = 0;
  for (std::int64_t k = 0; k < keep; ++k) total += p[k];
  const double target = u * total;
  double cumulative = 0;
  for (std::int64_t k = 0; k < keep; ++k) {
    cumulative += p[k];
    if (target < cumulative) return index[k];
  }
  return index[keep - 1];
}

}  // namespace

std::vector<std::int64_t> sample_tokens(const torch::Tensor& logits, const SamplingSettings& settings,
                                        const std::vector<std::uint64_t>& seeds, const std::vector<std::int64_t>& steps) {
  const auto rows = logits.size(0), vocab = logits.size(1);
  std::vector<std::int64_t> picked(static_cast<std::size_t>(rows));
  auto copy_out = [&](const torch::Tensor& ids) {
    const auto cpu = ids.to(torch::kCPU, torch::kInt64).contiguous();
    std::copy(cpu.data_ptr<std::int64_t>(), cpu.data_ptr<std::int64_t>() + cpu.numel(), picked.begin());
    return picked;
  };
  // Greedy: argmax on the float row (float to double keeps the order, so the pick is the same).
  if (settings.temperature <= 0) return copy_out(logits.argmax(1));
  std::vector<double> u(static_cast<std::size_t>(rows));
  for (std::int64_t r = 0; r < rows; ++r) u[r] = uniform(seeds[r], steps[r]);
  const auto scaled = logits.to(torch::kFloat64) / settings.temperature;
  const bool top_k = settings.top_k > 0 && settings.top_k < vocab;
  if (!top_k && settings.top_p >= 1.0) {
    // Nothing cut: the inverse CDF over the vocabulary in its own order, on the logits' device.
    const auto cdf = torch::softmax(scaled, 1).cumsum(1);
    const auto target = torch::tensor(u, torch::kFloat64).to(logits.device()) * cdf.select(1, vocab - 1);
    return copy_out(torch::searchsorted(cdf, target.unsqueeze(1), /*out_int32=*/false, /*right=*/true)
                        .squeeze(1)
                        .clamp_max(vocab - 1));
  }
  // Top-k and top-p need the leading tokens in order: a partial selection of the k largest
  // (all top_k of them, or a first guess at the nucleus widened eightfold for the rows whose
  // nucleus it did not reach), with probabilities normalised over the whole vocabulary.
  const auto log_total = torch::logsumexp(scaled, 1, /*keepdim=*/true);
  std::vector<std::int64_t> pending(static_cast<std::size_t>(rows));
  for (std::int64_t r = 0; r < rows; ++r) pending[r] = r;
  std::int64_t candidates = top_k ? settings.top_k : std::min(vocab, kFirstNucleusCandidates);
  while (!pending.empty()) {
    const auto chosen = torch::tensor(pending, torch::kInt64).to(logits.device());
    const auto [values, order] = torch::topk(scaled.index_select(0, chosen), candidates, 1);
    const auto p = (values - log_total.index_select(0, chosen)).exp().to(torch::kCPU).contiguous();
    const auto index = order.to(torch::kCPU).contiguous();
    std::vector<std::int64_t> wider;
    for (std::size_t i = 0; i < pending.size(); ++i) {
      const auto* row_p = p.data_ptr<double>() + i * candidates;
      const auto* row_index = index.data_ptr<std::int64_t>() + i * candidates;
      std::optional<std::int64_t> keep;
      if (settings.top_p < 1.0) {
        double mass = 0;
        for (std::int64_t k = 0; k < candidates && !keep; ++k)
          if ((mass += row_p[k]) >= settings.top_p) keep = k + 1;
      }
      if (!keep && !top_k && candidates < vocab) {
        wider.push_back(pending[i]);
        continue;
      }
      picked[pending[i]] = pick(row_p, row_index, keep.value_or(candidates), u[pending[i]]);
    }
    pending = std::move(wider);
    candidates = std::min(vocab, candidates * 8);
  }
  return picked;
}

std::int64_t sample_token(const torch::Tensor& logits, const SamplingSettings& settings, std::uint64_t seed,
                          std::int64_t step) {
  return sample_tokens(logits.view({1, -1}), settings, {seed}, {step}).front();
}

namespace {

// A distinct prompt's prefill (on top of its prefix, when one is given): its keys and values and
// the logits after its last token, kept while requests with that prompt and prefix are still to
// start.
struct Prefill {
  KvCache cache;
  torch::Tensor logits;  // [1, vocab] float32
  std::size_t waiting = 0;
};

// A request decoding in a slot.
struct Running {
  std::size_t request;
  std::chrono::steady_clock::time_point start;
  bool done = false;  // static batching keeps a finished sequence in its slot until the batch ends
};

}  // namespace

std::vector<GenerationResult> generate(Decoder& decoder, const std::vector<GenerationRequest>& requests,
                                       const SamplingSettings& settings, const StopCheck& stop,
                                       const BatchingSettings& batching) {
  c10::InferenceMode inference;
  std::vector<GenerationResult> results(requests.size());
  if (requests.empty()) return results;
  const auto device = decoder->parameters().front().device();

  // Requests with equal prompts and the same prefix share one prefill. The prefix is compared
  // by identity: two caches of equal paths may differ in rounding (docs/models.md), and a
  // request must continue from its own.
  using PrefillKey = std::pair<std::vector<std::int64_t>, const KvCache*>;
  std::map<PrefillKey, Prefill> prefills;
  const auto key_of = [](const GenerationRequest& r) { return PrefillKey{r.prompt, r.prefix.get()}; };
  std::int64_t longest = 0;
  for (const auto& r : requests) {
    if (r.prompt.empty()) throw std::invalid_argument("a generation request with an empty prompt");
    if (r.prefix && r.prefix->length() >= static_cast<std::int64_t>(r.prompt.size()))
      throw std::invalid_argument("a generation request's prefix cache covers its whole prompt");
    ++prefills[key_of(r)].waiting;
    longest = std::max<std::int64_t>(longest, static_cast<std::int64_t>(r.prompt.size()));
  }
  const auto slots = static_cast<std::int64_t>(batching.slots == 0 ? requests.size() : std::min(batching.slots, requests.size()));
  auto cache = decoder->slot_cache(slots, longest + settings.max_new_tokens);

  std::vector<Running> running;  // running[s] decodes in slot s
  torch::Tensor logits;          // [running, vocab]: each slot's next-token logits
  std::size_t next_request = 0;
  std::vector<torch::Tensor> admitted_logits;
  auto admit = [&](std::size_t request) {
    const auto& r = requests[request];
    const auto& prompt = r.prompt;
    const auto key = key_of(r);
    auto& prefill = prefills.at(key);
    if (!prefill.logits.defined()) {
      // Only the prompt past the prefix runs; the prefix's tensors are the cache's past (read
      // only: the first extend copies them into buffers of the prompt's length).
      const auto length = static_cast<std::int64_t>(prompt.size());
      const std::int64_t past = r.prefix ? r.prefix->length() : 0;
      if (r.prefix) prefill.cache.keys = r.prefix->keys, prefill.cache.values = r.prefix->values;
      prefill.cache.reserve = length;
      const std::vector<std::int64_t> rest(prompt.begin() + past, prompt.end());
      const auto ids = torch::tensor(rest, torch::kInt64).view({1, length - past}).to(device);
      const auto positions = torch::arange(past, length, torch::kInt64).view({1, length - past}).to(device);
      const auto hidden = decoder->hidden(ids, positions, {}, &prefill.cache);
      prefill.logits = decoder->logits(hidden.select(1, length - past - 1));
      results[request].prefilled_tokens = length - past;
    }
    const auto slot = static_cast<std::int64_t>(running.size());
    cache.assign(slot, prefill.cache);
    admitted_logits.push_back(prefill.logits);
    running.push_back({request, std::chrono::steady_clock::now()});
    results[request].prompt_tokens = static_cast<std::int64_t>(prompt.size());
    if (--prefill.waiting == 0) prefills.erase(key);
  };

  while (true) {
    const bool refill = batching.continuous || running.empty();
    while (refill && static_cast<std::int64_t>(running.size()) < slots && next_request < requests.size())
      admit(next_request++);
    if (running.empty()) break;
    if (!admitted_logits.empty()) {
      if (logits.defined()) admitted_logits.insert(admitted_logits.begin(), logits);
      logits = torch::cat(admitted_logits, 0);
      admitted_logits.clear();
    }

    // Every live sequence's next token, each with its own (seed, step).
    std::vector<std::int64_t> live;
    std::vector<std::uint64_t> seeds;
    std::vector<std::int64_t> steps;
    for (std::size_t s = 0; s < running.size(); ++s) {
      if (running[s].done) continue;
      live.push_back(static_cast<std::int64_t>(s));
      seeds.push_back(requests[running[s].request].seed);
      steps.push_back(static_cast<std::int64_t>(results[running[s].request].tokens.size()));
    }
    const auto live_logits = live.size() == running.size()
                                 ? logits
                                 : logits.index_select(0, torch::tensor(live, torch::kInt64).to(logits.device()));
    const auto tokens = sample_tokens(live_logits, settings, seeds, steps);

    std::vector<std::int64_t> next(running.size(), settings.pad_token_id);
    for (std::size_t i = 0; i < live.size(); ++i) {
      const auto s = static_cast<std::size_t>(live[i]);
      const auto token = tokens[i];
      auto& result = results[running[s].request];
      const bool stop_token = std::find(settings.stop_token_ids.begin(), settings.stop_token_ids.end(), token) !=
                              settings.stop_token_ids.end();
      if (!stop_token) result.tokens.push_back(token);
      const bool finished = stop_token || (stop && stop(running[s].request, result.tokens)) ||
                            static_cast<std::int64_t>(result.tokens.size()) >= settings.max_new_tokens;
      next[s] = token;
      if (!finished) continue;
      running[s].done = true;
      result.stopped = stop_token || static_cast<std::int64_t>(result.tokens.size()) < settings.max_new_tokens;
      result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - running[s].start).count();
      // Copied now: static batching goes on decoding padding into a finished sequence's slot.
      if (requests[running[s].request].keep_cache)
        result.cache = std::make_shared<const KvCache>(cache.copy(static_cast<std::int64_t>(s)));
    }

    // Continuous batching frees a finished sequence's slot now: the last busy slot moves into
    // it, so the busy slots stay first. Static batching keeps the batch until all are done.
    const bool all_done = std::all_of(running.begin(), running.end(), [](const Running& r) { return r.done; });
    if (batching.continuous || all_done) {
      for (std::size_t s = 0; s < running.size();) {
        if (!running[s].done) {
          ++s;
          continue;
        }
        const auto last = running.size() - 1;
        if (s != last) {
          cache.move(static_cast<std::int64_t>(last), static_cast<std::int64_t>(s));
          running[s] = running[last];
          next[s] = next[last];
        }
        running.pop_back();
        next.pop_back();
      }
    }
    if (running.empty()) {
      logits = torch::Tensor();
      continue;
    }
    const auto ids = torch::tensor(next, torch::kInt64).to(device);
    logits = decoder->logits(decoder->decode(ids, cache));
  }
  return results;
}

}  // namespace quorum::model
