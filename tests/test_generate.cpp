// The sampler's engine: the per-slot KV cache against the plain forward pass, continuous and
// static batching against each other and against generating alone, and sampling without a
// vocabulary sort against a full sort.
#include <algorithm>
#include <numeric>
#include <set>

#include "runtime/model/decoder.h"
#include "runtime/model/generate.h"
#include "runtime/model/train.h"
// libtorch brings glog, whose CHECK would shadow Catch's.
#undef CHECK
#include <catch2/catch.hpp>

#include "runtime/aggregation/draws.h"
#include "tiny_config.h"

using namespace quorum;

namespace {

model::Decoder small_decoder(std::int64_t sliding_window = 0) {
  auto config = quorum::testing::tiny_config(64);
  if (sliding_window > 0) {
    config.sliding_window = sliding_window;
    config.windowed_layers = {true, false};
  }
  model::Decoder decoder(config);
  model::initialize(*decoder, 7);
  decoder->eval();
  return decoder;
}

torch::Tensor forward_logits(model::Decoder& decoder, const std::vector<std::int64_t>& ids) {
  const auto n = static_cast<std::int64_t>(ids.size());
  const auto input = torch::tensor(ids, torch::kInt64).view({1, n});
  return decoder->logits(decoder->hidden(input, torch::arange(n, torch::kInt64).view({1, n}))).view({n, -1});
}

double relative_error(const torch::Tensor& got, const torch::Tensor& want) {
  return ((got - want).abs().max() / want.abs().max()).item<double>();
}

std::vector<std::vector<std::int64_t>> tokens_of(const std::vector<model::GenerationResult>& results) {
  std::vector<std::vector<std::int64_t>> tokens;
  for (const auto& r : results) tokens.push_back(r.tokens);
  return tokens;
}

double uniform(std::uint64_t seed, std::int64_t step) {
  return (aggregation::splitmix64(aggregation::splitmix64(seed) ^ static_cast<std::uint64_t>(step)) >> 11) * 0x1.0p-53;
}

// The definition, with a full sort: temperature, top-k, top-p over probabilities in decreasing
// order, inverse CDF over what is kept (over the vocabulary in its own order when nothing is).
std::int64_t sorted_reference(const torch::Tensor& row, const model::SamplingSettings& s, double u) {
  const auto p = torch::softmax(row.to(torch::kFloat64) / s.temperature, 0).contiguous();
  const auto* prob = p.data_ptr<double>();
  const auto vocab = p.size(0);
  std::vector<std::int64_t> order(static_cast<std::size_t>(vocab));
  std::iota(order.begin(), order.end(), 0);
  const bool cut = (s.top_k > 0 && s.top_k < vocab) || s.top_p < 1.0;
  if (cut) std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return prob[a] > prob[b]; });
  std::int64_t keep = s.top_k > 0 ? std::min(vocab, s.top_k) : vocab;
  if (s.top_p < 1.0) {
    double mass = 0;
    for (std::int64_t k = 0; k < keep; ++k)
      if ((mass += prob[order[k]]) >= s.top_p) {
        keep = k + 1;
        break;
      }
  }
  double total = 0;
  for (std::int64_t k = 0; k < keep; ++k) total += prob[order[k]];
  double cumulative = 0;
  for (std::int64_t k = 0; k < keep; ++k)
    if (u * total < (cumulative += prob[order[k]])) return order[k];
  return order[keep - 1];
}

}  // namespace

TEST_CASE("a slot cache decodes every slot like the plain forward pass over its own sequence", "[model][generate]") {
  for (const std::int64_t window : {0, 4}) {
    DYNAMIC_SECTION("sliding window " << window) {
      auto decoder = small_decoder(window);
      c10::InferenceMode inference;
      // Three sequences of different lengths; their prompts prefilled alone, then decoded together.
      std::vector<std::vector<std::int64_t>> sequences = {
          {5, 9, 12, 3, 44, 17, 8, 30, 2, 11, 60, 7}, {21, 22, 23, 24, 25}, {40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51}};
      const std::vector<std::int64_t> prompt_length = {5, 2, 6};
      auto cache = decoder->slot_cache(3, 16);
      for (std::int64_t s = 0; s < 3; ++s) {
        model::KvCache prefill;
        const auto n = prompt_length[s];
        const std::vector<std::int64_t> prompt(sequences[s].begin(), sequences[s].begin() + n);
        decoder->hidden(torch::tensor(prompt, torch::kInt64).view({1, n}), torch::arange(n).view({1, n}), {}, &prefill);
        cache.assign(s, prefill);
      }
      std::vector<std::size_t> order = {0, 1, 2};  // which sequence each slot holds
      std::vector<std::int64_t> at = prompt_length;
      for (int step = 0; step < 6; ++step) {
        if (step == 3) {  // sequence 1 ends: the last slot moves into its place
          cache.move(2, 1);
          order = {0, 2};
        }
        std::vector<std::int64_t> ids;
        for (auto sequence : order) ids.push_back(sequences[sequence][at[sequence]]);
        const auto logits = decoder->logits(decoder->decode(torch::tensor(ids, torch::kInt64), cache));
        for (std::size_t slot = 0; slot < order.size(); ++slot) {
          const auto sequence = order[slot];
          const std::vector<std::int64_t> prefix(sequences[sequence].begin(), sequences[sequence].begin() + at[sequence] + 1);
          const auto want = forward_logits(decoder, prefix)[at[sequence]];
          CHECK(relative_error(logits[static_cast<std::int64_t>(slot)], want) < 1e-5);
          CHECK(cache.lengths[slot] == at[sequence] + 1);
          ++at[sequence];
        }
      }
    }
  }
}

namespace {

// `copies` requests for each of three prompts of different lengths, every one with its own seed
// (from seed_base).
std::vector<model::GenerationRequest> spread_requests(std::uint64_t copies, std::uint64_t seed_base, bool keep_cache) {
  const std::vector<std::vector<std::int64_t>> prompts = {{5, 17, 42, 8, 9, 10}, {8, 1}, {60, 61, 62}};
  std::vector<model::GenerationRequest> requests;
  for (std::uint64_t k = 0; k < copies; ++k)
    for (const auto& prompt : prompts) requests.push_back({prompt, seed_base + k * 7 + prompt.size(), nullptr, keep_cache});
  return requests;
}

}  // namespace

TEST_CASE("a response depends on its request alone, not on slots, order or batching", "[model][generate]") {
  auto decoder = small_decoder(4);
  model::SamplingSettings settings;
  settings.max_new_tokens = 30;
  settings.stop_token_ids = {1, 2, 3};
  const auto requests = spread_requests(5, 100, false);
  for (const auto& [top_p, top_k] : std::vector<std::pair<double, std::int64_t>>{{1.0, 0}, {0.9, 0}, {1.0, 12}}) {
    DYNAMIC_SECTION("top_p " << top_p << ", top_k " << top_k) {
      settings.top_p = top_p;
      settings.top_k = top_k;
      const auto alone_tokens = [&] {
        std::vector<std::vector<std::int64_t>> tokens;
        for (const auto& request : requests) tokens.push_back(model::generate(decoder, {request}, settings).front().tokens);
        return tokens;
      }();
      // The workload is one worth batching: lengths spread, some stop early, some run out.
      std::set<std::size_t> lengths;
      for (const auto& t : alone_tokens) lengths.insert(t.size());
      CHECK(lengths.size() >= 4);
      CHECK(lengths.count(30) == 1);
      for (const std::size_t slots : {0, 1, 4, 7}) {
        for (const bool continuous : {true, false}) {
          const auto results = model::generate(decoder, requests, settings, {}, {slots, continuous});
          CHECK(tokens_of(results) == alone_tokens);
          for (std::size_t i = 0; i < requests.size(); ++i) {
            CHECK(results[i].prompt_tokens == static_cast<std::int64_t>(requests[i].prompt.size()));
            CHECK(results[i].stopped == (results[i].tokens.size() < 30));
          }
        }
      }
      auto reversed = requests;
      std::reverse(reversed.begin(), reversed.end());
      auto reversed_tokens = tokens_of(model::generate(decoder, reversed, settings, {}, {4, true}));
      std::reverse(reversed_tokens.begin(), reversed_tokens.end());
      CHECK(reversed_tokens == alone_tokens);
    }
  }
}

TEST_CASE("a kept cache holds what a prefill of the sequence holds, and a continuation from it decodes the same",
          "[model][generate]") {
  auto decoder = small_decoder(4);
  model::SamplingSettings settings;
  settings.max_new_tokens = 12;
  settings.stop_token_ids = {1, 2, 3};
  const auto requests = spread_requests(3, 300, true);
  for (const bool continuous : {true, false}) {
    DYNAMIC_SECTION((continuous ? "continuous" : "static")) {
      const auto first = model::generate(decoder, requests, settings, {}, {4, continuous});
      std::vector<model::GenerationRequest> kept, recomputed;
      bool some_stopped = false, some_ran_out = false;
      for (std::size_t i = 0; i < first.size(); ++i) {
        const auto& r = first[i];
        REQUIRE(r.cache);
        auto sequence = requests[i].prompt;
        sequence.insert(sequence.end(), r.tokens.begin(), r.tokens.end());
        // Every token read: all of them after a stop token, all but the last sampled otherwise.
        const auto length = static_cast<std::int64_t>(sequence.size()) - (r.stopped ? 0 : 1);
        REQUIRE(r.cache->length() == length);
        (r.stopped ? some_stopped : some_ran_out) = true;
        model::KvCache want;
        {
          c10::InferenceMode inference;
          const auto n = static_cast<std::int64_t>(sequence.size());
          decoder->hidden(torch::tensor(sequence, torch::kInt64).view({1, n}), torch::arange(n).view({1, n}), {}, &want);
        }
        for (std::size_t layer = 0; layer < want.keys.size(); ++layer) {
          CHECK(relative_error(r.cache->keys[layer], want.keys[layer].narrow(2, 0, length)) < 1e-5);
          CHECK(relative_error(r.cache->values[layer], want.values[layer].narrow(2, 0, length)) < 1e-5);
        }
        if (r.stopped) continue;  // a stopped sequence is not continued (its prefix would cover it all)
        kept.push_back({sequence, 900 + i, r.cache, false});
        kept.push_back({sequence, 950 + i, r.cache, false});  // a sibling shares the prefill
        recomputed.push_back({sequence, 900 + i});
        recomputed.push_back({sequence, 950 + i});
      }
      CHECK(some_stopped);
      CHECK(some_ran_out);
      const auto from_cache = model::generate(decoder, kept, settings, {}, {3, continuous});
      const auto from_prefill = model::generate(decoder, recomputed, settings, {}, {3, continuous});
      CHECK(tokens_of(from_cache) == tokens_of(from_prefill));
      for (std::size_t i = 0; i < kept.size(); i += 2) {
        // Only the last token is prefilled on the cache, once for both siblings.
        CHECK(from_cache[i].prefilled_tokens == 1);
        CHECK(from_cache[i + 1].prefilled_tokens == 0);
        CHECK(from_prefill[i].prefilled_tokens == static_cast<std::int64_t>(kept[i].prompt.size()));
        CHECK(!from_cache[i].cache);
      }
    }
  }
  // A prefix must leave the prompt's last token to prefill: its logits give the first sample.
  auto whole = requests.front();
  const auto answered = model::generate(decoder, {requests.front()}, settings).front();
  whole.prefix = answered.cache;
  whole.prompt.insert(whole.prompt.end(), answered.tokens.begin(), answered.tokens.end());
  whole.prompt.resize(static_cast<std::size_t>(whole.prefix->length()));
  CHECK_THROWS_AS(model::generate(decoder, {whole}, settings), std::invalid_argument);
}

TEST_CASE("the stop check sees each request by its own index under continuous batching", "[model][generate]") {
  auto decoder = small_decoder();
  model::SamplingSettings settings;
  settings.max_new_tokens = 20;
  std::vector<model::GenerationRequest> requests;
  for (std::uint64_t k = 0; k < 6; ++k) requests.push_back({{4, 5, 6}, k});
  // Request i stops after i + 1 tokens.
  const auto results = model::generate(
      decoder, requests, settings,
      [](std::size_t request, const std::vector<std::int64_t>& tokens) { return tokens.size() == request + 1; }, {2, true});
  for (std::size_t i = 0; i < requests.size(); ++i) {
    CHECK(results[i].tokens.size() == i + 1);
    CHECK(results[i].stopped);
  }
  CHECK_THROWS_AS(model::generate(decoder, {{{}, 1}}, settings), std::invalid_argument);
}

TEST_CASE("sampling without a vocabulary sort picks what the full sort picks", "[model][generate]") {
  torch::manual_seed(3);
  const std::int64_t rows = 24, vocab = 1000;
  // Peaked rows (a real model's), and flat ones whose nucleus holds most of the vocabulary.
  const auto logits = torch::cat({torch::randn({rows / 2, vocab}) * 4, torch::randn({rows / 2, vocab}) * 0.05});
  std::vector<std::uint64_t> seeds;
  std::vector<std::int64_t> steps;
  for (std::int64_t r = 0; r < rows; ++r) seeds.push_back(1000 + r), steps.push_back(r % 5);
  struct Case {
    double temperature, top_p;
    std::int64_t top_k;
  };
  for (const auto& c : {Case{1.0, 1.0, 0}, Case{0.7, 0.95, 0}, Case{1.3, 0.5, 0}, Case{1.0, 1.0, 40}, Case{1.0, 0.9, 100},
                        Case{1.0, 0.999, 0}}) {
    model::SamplingSettings settings;
    settings.temperature = c.temperature, settings.top_p = c.top_p, settings.top_k = c.top_k;
    const auto picked = model::sample_tokens(logits, settings, seeds, steps);
    for (std::int64_t r = 0; r < rows; ++r) {
      INFO("temperature " << c.temperature << ", top_p " << c.top_p << ", top_k " << c.top_k << ", row " << r);
      CHECK(picked[r] == sorted_reference(logits[r], settings, uniform(seeds[r], steps[r])));
      CHECK(picked[r] == model::sample_token(logits[r], settings, seeds[r], steps[r]));
    }
  }
  // Over many draws the frequencies follow the kept probabilities.
  model::SamplingSettings settings;
  settings.top_p = 0.8;
  const auto row = torch::tensor({2.0, 1.5, 1.0, 0.0, -1.0, -3.0});
  std::vector<int> counts(6, 0);
  const int draws = 20000;
  for (int i = 0; i < draws; ++i) ++counts[model::sample_token(row, settings, 77, i)];
  const auto p = torch::softmax(row.to(torch::kFloat64), 0);
  const double kept = p[0].item<double>() + p[1].item<double>() + p[2].item<double>();  // 0.91 >= 0.8
  for (int t = 0; t < 3; ++t) CHECK(counts[t] / double(draws) == Approx(p[t].item<double>() / kept).margin(0.015));
  CHECK(counts[3] + counts[4] + counts[5] == 0);
}
