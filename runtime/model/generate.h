// Sampling with a per-slot KV cache and continuous batching. Every sequence carries its own
// seed, and its random numbers come from a counter-based generator keyed by (seed, step), so
// what a sequence generates does not depend on which other sequences share its batch, on the
// number of slots or on the order they are filled in (design.md section 5; docs/models.md
// says where floating-point rounding of batched products can still reach a token).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "runtime/model/decoder.h"

namespace quorum::model {

struct SamplingSettings {
  std::int64_t max_new_tokens = 256;
  double temperature = 1.0;  // 0: greedy
  double top_p = 1.0;        // nucleus: smallest set of tokens whose probability reaches top_p
  std::int64_t top_k = 0;    // 0: no limit
  std::vector<std::int64_t> stop_token_ids;  // e.g. end-of-sequence; not included in the output
  std::int64_t pad_token_id = 0;
};

// How sequences share the decoder: slots sequences are decoded together (0: all requests at
// once). Continuous batching gives a sequence's slot to the next pending request as soon as it
// stops; static batching (what quorum did before, kept for comparison in bench_generate) waits
// until every sequence of the batch has stopped, decoding the stopped ones along.
struct BatchingSettings {
  std::size_t slots = 0;
  bool continuous = true;
};

struct GenerationRequest {
  std::vector<std::int64_t> prompt;
  std::uint64_t seed = 0;
  // Keys and values already computed for the first prefix->length() ids of prompt (an earlier
  // result's cache: a search step continues its parent's path without running that path
  // again). Only the rest of the prompt is prefilled, into a copy; the prefix is never written.
  // It must be shorter than the prompt: the last prompt token's logits give the first sample.
  std::shared_ptr<const KvCache> prefix;
  // Return the sequence's keys and values in its result (GenerationResult::cache).
  bool keep_cache = false;

  // Brace-initialised as {prompt, seed} for a request that prefills its whole prompt.
  GenerationRequest(std::vector<std::int64_t> prompt = {}, std::uint64_t seed = 0,
                    std::shared_ptr<const KvCache> prefix = nullptr, bool keep_cache = false)
      : prompt(std::move(prompt)), seed(seed), prefix(std::move(prefix)), keep_cache(keep_cache) {}
};

struct GenerationResult {
  std::vector<std::int64_t> tokens;  // generated tokens, stop token excluded
  std::int64_t prompt_tokens = 0;
  bool stopped = false;              // by a stop token or the stop callback (else: max_new_tokens)
  double seconds = 0;                // from the sequence's first decoding step until it finished
  // Tokens its prefill ran through the decoder: the prompt past its prefix, or 0 when it shared
  // the prefill of an earlier request with the same prompt and prefix.
  std::int64_t prefilled_tokens = 0;
  // With keep_cache: the keys and values of every token the decoder read for this sequence, a
  // batch-1 KvCache holding the first cache->length() ids of prompt followed by tokens. That is
  // all of them except the last token sampled when it was not a stop token (it was never fed
  // back), so a continuation's request gives prompt + tokens as its prompt and this as prefix.
  std::shared_ptr<const KvCache> cache;
};

// Called after each new token of a sequence with its generated tokens so far; returning true
// ends the sequence there (stop strings are checked this way, on decoded text). sequence is the
// request's index.
using StopCheck = std::function<bool(std::size_t sequence, const std::vector<std::int64_t>& tokens)>;

// Generates a response to every request, results in request order. Requests with the same
// prompt and the same prefix (the same object) share one prefill: the prompt's keys and values
// are computed once and copied into each of their slots.
std::vector<GenerationResult> generate(Decoder& decoder, const std::vector<GenerationRequest>& requests,
                                       const SamplingSettings& settings, const StopCheck& stop = {},
                                       const BatchingSettings& batching = {});

// The next token of each row of logits [rows, vocab] (float32, on any device), row r with the
// random number of (seeds[r], steps[r]): temperature, then top-k, then top-p, then
// inverse-CDF sampling over the kept tokens in order of decreasing probability (over the whole
// vocabulary in vocabulary order when nothing is cut). No row's whole vocabulary is sorted:
// top-k and top-p take a partial top-k selection, widened only while the nucleus is not
// reached.
std::vector<std::int64_t> sample_tokens(const torch::Tensor& logits, const SamplingSettings& settings,
                                        const std::vector<std::uint64_t>& seeds, const std::vector<std::int64_t>& steps);
// One row of logits [vocab].
std::int64_t sample_token(const torch::Tensor& logits, const SamplingSettings& settings, std::uint64_t seed,
                          std::int64_t step);

}  // namespace quorum::model
