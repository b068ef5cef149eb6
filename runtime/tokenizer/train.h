// Training a small byte-level BPE tokenizer from text, for quorum's own demo models. The
// result has the layout of a Qwen2-style tokenizer.json: the 256 byte tokens (ids 0..255, in
// byte order), then one token per learned merge, then the special tokens as added tokens.
#pragma once

#include <string>
#include <vector>

#include "runtime/tokenizer/pretokenize.h"
#include "runtime/tokenizer/tokenizer.h"

namespace quorum::tokenizer {

struct TrainOptions {
  // Total size: 256 byte tokens + merges + special tokens. Training stops early (a smaller
  // vocabulary) only when no adjacent pair is left to merge anywhere in the corpus.
  std::size_t vocab_size = 512;
  // Appended after the learned tokens as special added tokens, in this order; occurrences in
  // the corpus are cut out before counting, so no merge ever spans one.
  std::vector<std::string> special_tokens;
  // The Split pre-tokenizer's regex (before the ByteLevel step).
  std::string split_pattern = kQwen2Pattern;
  int threads = 0;  // 0: one per core
};

// Merges are learned greedily: at each step the adjacent pair with the highest count over all
// pre-tokenized words is merged; ties go to the pair whose left token's bytes, then right
// token's bytes, sort first. The result does not depend on the thread count or text order.
// Throws std::invalid_argument for a vocab_size below 256 + special tokens, empty or repeated
// special tokens, or a bad pattern.
Tokenizer train_bpe(const std::vector<std::string>& texts, const TrainOptions& options);

inline Tokenizer train_bpe(const std::vector<std::string>& texts, std::size_t vocab_size,
                           const std::vector<std::string>& special_tokens,
                           const std::string& split_pattern = kQwen2Pattern) {
  TrainOptions options;
  options.vocab_size = vocab_size;
  options.special_tokens = special_tokens;
  options.split_pattern = split_pattern;
  return train_bpe(texts, options);
}

}  // namespace quorum::tokenizer
