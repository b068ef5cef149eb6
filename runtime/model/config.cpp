#include "runtime/model/config.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "runtime/common/error.h"

namespace quorum::model {
namespace {

using nlohmann::json;

std::int64_t positive(const json& root, const char* field, const std::string& file, bool required = true,
                      std::int64_t fallback = 0) {
  auto it = root.find(field);
  if (it == root.end() || it->is_null()) {
    if (required) throw InputError(file, 0, field, "missing");
    return fallback;
  }
  if (!it->is_number_integer() || it->get<std::int64_t>() <= 0)
    throw InputError(file, 0, field, "expected a positive integer, got " + it->dump());
  return it->get<std::int64_t>();
}

}  // namespace

ModelConfig ModelConfig::load(const std::string& directory) {
  const std::string file = (std::filesystem::path(directory) / "config.json").string();
  std::ifstream in(file);
  if (!in) throw InputError(file, 0, "", "cannot open (is this a Hugging Face model directory?)");
  json root;
  try {
    root = json::parse(in);
  } catch (const json::exception& e) {
    throw InputError(file, 0, "", std::string("malformed JSON: ") + e.what());
  }
  ModelConfig config;
  if (root.contains("architectures") && root["architectures"].is_array() && !root["architectures"].empty())
    config.architecture = root["architectures"][0].get<std::string>();
  const std::string type = root.value("model_type", "");
  const bool qwen2 = config.architecture.rfind("Qwen2", 0) == 0 || type == "qwen2";
  const bool llama = config.architecture.rfind("Llama", 0) == 0 || type == "llama";
  if (!qwen2 && !llama)
    throw InputError(file, 0, "architectures",
                     "unsupported architecture '" + config.architecture + "' (model_type '" + type +
                         "'); quorum runs the Llama and Qwen2 decoder family");
  config.vocab_size = positive(root, "vocab_size", file);
  config.hidden_size = positive(root, "hidden_size", file);
  config.intermediate_size = positive(root, "intermediate_size", file);
  config.num_layers = positive(root, "num_hidden_layers", file);
  config.num_heads = positive(root, "num_attention_heads", file);
  config.num_kv_heads = positive(root, "num_key_value_heads", file, false, config.num_heads);
  config.head_dim = positive(root, "head_dim", file, false, config.hidden_size / config.num_heads);
  if (config.num_heads % config.num_kv_heads != 0)
    throw InputError(file, 0, "num_key_value_heads", "must divide num_attention_heads");
  if (!root.contains("head_dim") && config.hidden_size % config.num_heads != 0)
    throw InputError(file, 0, "num_attention_heads", "must divide hidden_size");
  if (config.head_dim % 2 != 0) throw InputError(file, 0, "head_dim", "must be even for rotary embeddings");
  config.rms_norm_eps = root.value("rms_norm_eps", 1e-6);
  config.rope_theta = root.value("rope_theta", 10000.0);
  if (root.contains("rope_scaling") && !root["rope_scaling"].is_null())
    throw InputError(file, 0, "rope_scaling", "rope scaling is not supported yet");
  // Qwen2 checkpoints carry QKV biases without saying so; Llama's say attention_bias.
  config.qkv_bias = root.contains("attention_bias") ? root["attention_bias"].get<bool>() : qwen2;
  config.tie_word_embeddings = root.value("tie_word_embeddings", false);
  config.lm_head = config.architecture.find("RewardModel") == std::string::npos;
  config.max_position_embeddings = positive(root, "max_position_embeddings", file, false, 2048);
  if (auto it = root.find("eos_token_id"); it != root.end() && !it->is_null()) {
    if (it->is_array())
      for (const auto& id : *it) config.eos_token_ids.push_back(id.get<std::int64_t>());
    else
      config.eos_token_ids.push_back(it->get<std::int64_t>());
  }
  return config;
}

std::string ModelConfig::to_json() const {
  json root{{"architectures", {architecture}},
            {"model_type", architecture.rfind("Qwen2", 0) == 0 ? "qwen2" : "llama"},
            {"vocab_size", vocab_size},
            {"hidden_size", hidden_size},
            {"intermediate_size", intermediate_size},
            {"num_hidden_layers", num_layers},
            {"num_attention_heads", num_heads},
            {"num_key_value_heads", num_kv_heads},
            {"head_dim", head_dim},
            {"rms_norm_eps", rms_norm_eps},
            {"rope_theta", rope_theta},
            {"attention_bias", qkv_bias},
            {"tie_word_embeddings", tie_word_embeddings},
            {"max_position_embeddings", max_position_embeddings},
            {"torch_dtype", "float32"}};
  if (!eos_token_ids.empty()) root["eos_token_id"] = eos_token_ids.size() == 1 ? json(eos_token_ids[0]) : json(eos_token_ids);
  return root.dump(2) + "\n";
}

}  // namespace quorum::model
