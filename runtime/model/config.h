// config.json of a Hugging Face decoder checkpoint of the Llama / Qwen2 family, validated.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace quorum::model {

struct ModelConfig {
  std::string architecture;     // "LlamaForCausalLM", "Qwen2ForCausalLM", ...
  std::int64_t vocab_size = 0;
  std::int64_t hidden_size = 0;
  std::int64_t intermediate_size = 0;
  std::int64_t num_layers = 0;
  std::int64_t num_heads = 0;
  std::int64_t num_kv_heads = 0;
  std::int64_t head_dim = 0;    // hidden_size / num_heads unless given
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  bool qkv_bias = false;        // Qwen2 always; Llama when attention_bias is set
  bool tie_word_embeddings = false;
  bool lm_head = true;          // false for reward models (…ForProcessRewardModel): a score head instead
  std::int64_t max_position_embeddings = 2048;
  std::vector<std::int64_t> eos_token_ids;

  // Reads and validates DIR/config.json; throws InputError naming the file and field.
  static ModelConfig load(const std::string& directory);
  // The config.json text for this config (what quorum's trainer writes).
  std::string to_json() const;
};

}  // namespace quorum::model
