// A model configuration small enough for the tests to build, train and run in moments.
#pragma once

#include <cstdint>

#include "runtime/model/config.h"

namespace quorum::testing {

// A Qwen2-layout decoder: hidden 32, 2 layers, 4 query heads over 2 key/value heads of 8.
inline model::ModelConfig tiny_config(std::int64_t vocab) {
  model::ModelConfig config;
  config.architecture = "Qwen2ForCausalLM";
  config.vocab_size = vocab;
  config.hidden_size = 32;
  config.intermediate_size = 64;
  config.num_layers = 2;
  config.num_heads = 4;
  config.num_kv_heads = 2;
  config.head_dim = 8;
  config.qkv_bias = true;
  config.tie_word_embeddings = true;
  return config;
}

}  // namespace quorum::testing
