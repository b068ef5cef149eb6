// Batched sampling with a KV cache. Every sequence carries its own seed, and its random numbers
// come from a counter-based generator keyed by (seed, step), so what a sequence generates does
// not depend on which other sequences share its batch (design.md section 5).
#pragma once

#include <cstdint>
#include <functional>
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

struct GenerationRequest {
  std::vector<std::int64_t> prompt;
  std::uint64_t seed = 0;
};

struct GenerationResult {
  std::vector<std::int64_t> tokens;  // generated tokens, stop token excluded
  std::int64_t prompt_tokens = 0;
  bool stopped = false;              // by a stop token or the stop callback (else: max_new_tokens)
  double seconds = 0;                // from the start of the batch until this sequence finished
};

// Called after each new token of a sequence with its generated tokens so far; returning true
// ends the sequence there (stop strings are checked this way, on decoded text).
using StopCheck = std::function<bool(std::size_t sequence, const std::vector<std::int64_t>& tokens)>;

std::vector<GenerationResult> generate(Decoder& decoder, const std::vector<GenerationRequest>& requests,
                                       const SamplingSettings& settings, const StopCheck& stop = {});

// The next token from one row of logits (on the CPU), with the sequence's own random number
// for this step: temperature, then top-k, then top-p, then inverse-CDF sampling.
std::int64_t sample_token(const torch::Tensor& logits, const SamplingSettings& settings, std::uint64_t seed,
                          std::int64_t step);

}  // namespace quorum::model
