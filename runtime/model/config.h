// config.json of a Hugging Face decoder checkpoint (Llama, Mistral, Qwen2, Qwen3), validated
// and read as transformers reads it. Every field that changes the computation is either
// computed exactly or refused with an InputError naming the file and the field; nothing the
// checkpoint says is silently replaced by a default of quorum's own. No libtorch here, so the
// coordinator and the sweep config can use it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace quorum::model {

// The dtype a model's weights are held and computed in.
enum class WeightDtype { float32, bfloat16, float16 };
std::size_t weight_dtype_bytes(WeightDtype dtype);
const char* weight_dtype_name(WeightDtype dtype);  // "float32", "bfloat16", "float16"
// "float32" / "bfloat16" / "float16" (and transformers' aliases "float", "bf16", "half",
// "fp16", "fp32"); throws InputError(file, field) otherwise.
WeightDtype parse_weight_dtype(const std::string& name, const std::string& file, const std::string& field);
// The sweep's `dtype` setting: "float32", "bfloat16", "float16" as given; "auto" is the
// checkpoint's own dtype (config.json `torch_dtype`, or `dtype` as newer transformers write it)
// on CUDA, and float32 on the CPU (and float32 when the checkpoint names none).
WeightDtype resolve_weight_dtype(const std::string& spec, const std::string& directory, bool on_cuda);

// Rotary position embedding frequencies as transformers' ROPE_INIT_FUNCTIONS compute them.
struct RopeSettings {
  enum class Type { standard, linear, llama3 };  // "default", "linear", "llama3"
  Type type = Type::standard;
  double theta = 10000.0;
  double factor = 1.0;                                // linear and llama3
  double low_freq_factor = 0, high_freq_factor = 0;   // llama3
  std::int64_t original_max_position_embeddings = 0;  // llama3
};

struct ModelConfig {
  std::string architecture;     // "LlamaForCausalLM", "Qwen2ForCausalLM", ...
  std::string model_type;       // "llama", "mistral", "qwen2", "qwen3"; empty: from the architecture
  std::int64_t vocab_size = 0;
  std::int64_t hidden_size = 0;
  std::int64_t intermediate_size = 0;
  std::int64_t num_layers = 0;
  std::int64_t num_heads = 0;
  std::int64_t num_kv_heads = 0;
  std::int64_t head_dim = 0;    // hidden_size / num_heads unless given
  double rms_norm_eps = 1e-6;
  RopeSettings rope;
  bool qkv_bias = false;        // Qwen2 always; Llama and Qwen3 when attention_bias is set
  bool o_bias = false;          // Llama and Qwen3 when attention_bias is set (transformers biases o_proj too)
  bool mlp_bias = false;        // Llama's mlp_bias: gate, up and down projections
  bool qk_norm = false;         // Qwen3: RMSNorm over head_dim of each query and key head before RoPE
  bool tie_word_embeddings = false;
  bool lm_head = true;          // false for reward models (…ForProcessRewardModel): a score head instead
  std::int64_t max_position_embeddings = 2048;
  // Sliding-window attention: query i sees key j only when i - j < sliding_window, in the
  // layers marked here (empty: no layer has a window).
  std::int64_t sliding_window = 0;
  std::vector<bool> windowed_layers;
  std::int64_t max_window_layers = 0;  // Qwen2/Qwen3, kept for config.json round trips
  std::vector<std::int64_t> eos_token_ids;
  std::string stored_dtype;     // config.json torch_dtype / dtype, "" when absent

  // Reads and validates DIR/config.json; throws InputError naming the file and field.
  static ModelConfig load(const std::string& directory);
  // The model_type: the field when set, else derived from the architecture's name.
  std::string family() const;
  // Elements of the decoder's weights as load_decoder holds them (no reward head).
  std::int64_t parameter_count() const;
  bool windowed(std::int64_t layer) const {
    return sliding_window > 0 && layer < static_cast<std::int64_t>(windowed_layers.size()) && windowed_layers[layer];
  }
  // The config.json text for this config (what quorum's trainer writes), loadable by
  // transformers and by load().
  std::string to_json() const;
};

}  // namespace quorum::model
