// The config of a tiny Qwen2-style decoder for tests that build their models in memory.
#pragma once

#include "runtime/model/config.h"

namespace quorum::testing {

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
