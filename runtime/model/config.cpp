#include "runtime/model/config.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include <nlohmann/json.hpp>

#include "runtime/common/error.h"
#include "runtime/common/json_depth.h"
#include "runtime/common/json_integer.h"

namespace quorum::model {
namespace {

using nlohmann::json;

// Architecture class names per model_type: "<Prefix><Head>".
struct Family {
  const char* model_type;
  const char* prefix;
};
constexpr Family kFamilies[] = {{"llama", "Llama"}, {"mistral", "Mistral"}, {"qwen2", "Qwen2"}, {"qwen3", "Qwen3"}};
// The causal LM carries lm_head; the other heads are reward models whose score head the PRM
// code loads beside the backbone.
constexpr const char* kLanguageModelHead = "ForCausalLM";
constexpr const char* kRewardHeads[] = {"ForProcessRewardModel", "ForRewardModel", "ForPrmModel",
                                        "ForSequenceClassification", "ForTokenClassification"};

// The field when present and not null.
const json* given(const json& root, const char* field) {
  auto it = root.find(field);
  return it == root.end() || it->is_null() ? nullptr : &*it;
}

std::int64_t positive(const json& root, const char* field, const std::string& file, bool required = true,
                      std::int64_t fallback = 0) {
  const json* value = given(root, field);
  if (!value) {
    if (required) throw InputError(file, 0, field, "missing");
    return fallback;
  }
  if (!value->is_number_integer() || value->get<std::int64_t>() <= 0)
    throw InputError(file, 0, field, "expected a positive integer, got " + value->dump());
  return value->get<std::int64_t>();
}

double number(const json& value, const std::string& file, const std::string& field) {
  if (!value.is_number()) throw InputError(file, 0, field, "expected a number, got " + value.dump());
  return value.get<double>();
}

bool boolean(const json& root, const char* field, const std::string& file, bool fallback) {
  const json* value = given(root, field);
  if (!value) return fallback;
  if (!value->is_boolean()) throw InputError(file, 0, field, "expected true or false, got " + value->dump());
  return value->get<bool>();
}

// rope_theta and the scaling, from `rope_parameters` (newer transformers: one object with
// rope_type, rope_theta and the scaling fields) or from `rope_theta` and `rope_scaling`.
RopeSettings parse_rope(const json& root, const std::string& file) {
  const json* parameters = given(root, "rope_parameters");
  const json* scaling = given(root, "rope_scaling");
  const json* source = parameters ? parameters : scaling;
  const std::string where = parameters ? "rope_parameters" : "rope_scaling";
  if (source && !source->is_object()) throw InputError(file, 0, where, "expected an object, got " + source->dump());
  if (parameters) {
    for (auto it = parameters->begin(); it != parameters->end(); ++it)
      if (it->is_object())
        throw InputError(file, 0, "rope_parameters." + it.key(),
                         "RoPE parameters per layer type are not supported (one set for all layers only)");
    if (scaling) {
      if (!scaling->is_object()) throw InputError(file, 0, "rope_scaling", "expected an object, got " + scaling->dump());
      for (auto it = scaling->begin(); it != scaling->end(); ++it)
        if (!parameters->contains(it.key()) || (*parameters)[it.key()] != *it)
          throw InputError(file, 0, "rope_scaling." + it.key(), "disagrees with rope_parameters");
    }
  }
  RopeSettings rope;
  const json* top_theta = given(root, "rope_theta");
  const json* inner_theta = source ? given(*source, "rope_theta") : nullptr;
  if (inner_theta && top_theta && number(*inner_theta, file, where + ".rope_theta") != number(*top_theta, file, "rope_theta"))
    throw InputError(file, 0, "rope_theta", "disagrees with " + where + ".rope_theta");
  if (inner_theta) rope.theta = number(*inner_theta, file, where + ".rope_theta");
  else if (top_theta) rope.theta = number(*top_theta, file, "rope_theta");
  else throw InputError(file, 0, "rope_theta", "missing (neither rope_theta nor rope_parameters.rope_theta is given)");
  if (!(rope.theta > 0)) throw InputError(file, 0, "rope_theta", "must be positive");
  if (!source) return rope;

  // "type" is the older name of "rope_type".
  std::string type = "default";
  const json* rope_type = given(*source, "rope_type");
  const json* old_type = given(*source, "type");
  if (rope_type && old_type && *rope_type != *old_type)
    throw InputError(file, 0, where + ".type", "disagrees with " + where + ".rope_type");
  if (const json* t = rope_type ? rope_type : old_type) {
    if (!t->is_string()) throw InputError(file, 0, where + ".rope_type", "expected a string, got " + t->dump());
    type = t->get<std::string>();
  }
  const std::string type_field = where + (rope_type || !old_type ? ".rope_type" : ".type");
  std::set<std::string> used;
  if (type == "default") {
    rope.type = RopeSettings::Type::standard;
  } else if (type == "linear") {
    rope.type = RopeSettings::Type::linear;
    used = {"factor"};
  } else if (type == "llama3") {
    rope.type = RopeSettings::Type::llama3;
    used = {"factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"};
  } else {
    throw InputError(file, 0, type_field,
                     "RoPE type '" + type + "' is not supported (supported: default, linear, llama3)");
  }
  for (auto it = source->begin(); it != source->end(); ++it) {
    const auto& key = it.key();
    if (key == "rope_type" || key == "type" || key == "rope_theta" || used.count(key)) continue;
    if (key == "partial_rotary_factor" && !it->is_null() && number(*it, file, where + "." + key) == 1.0) continue;
    throw InputError(file, 0, where + "." + key,
                     "not supported with RoPE type '" + type + "' (it would change the rotary frequencies)");
  }
  auto required = [&](const char* key) -> const json& {
    const json* value = given(*source, key);
    if (!value) throw InputError(file, 0, where + "." + key, "missing (needed by RoPE type '" + type + "')");
    return *value;
  };
  if (rope.type == RopeSettings::Type::standard) return rope;
  rope.factor = number(required("factor"), file, where + ".factor");
  if (!(rope.factor > 0)) throw InputError(file, 0, where + ".factor", "must be positive");
  if (rope.type == RopeSettings::Type::llama3) {
    rope.low_freq_factor = number(required("low_freq_factor"), file, where + ".low_freq_factor");
    rope.high_freq_factor = number(required("high_freq_factor"), file, where + ".high_freq_factor");
    if (!(rope.low_freq_factor > 0) || !(rope.high_freq_factor > rope.low_freq_factor))
      throw InputError(file, 0, where + ".high_freq_factor", "must exceed low_freq_factor, which must be positive");
    required("original_max_position_embeddings");
    rope.original_max_position_embeddings = positive(*source, "original_max_position_embeddings", file);
  }
  return rope;
}

// Which layers attend within a sliding window, as transformers' configs decide it.
void parse_sliding_window(const json& root, const std::string& file, const std::string& family, ModelConfig& config) {
  if (family == "llama") return;  // LlamaConfig has no window
  auto window_field = [&](std::int64_t absent) -> std::int64_t {
    if (!root.contains("sliding_window")) return absent;
    if (root["sliding_window"].is_null()) return 0;
    return positive(root, "sliding_window", file);
  };
  if (family == "mistral") {
    // MistralConfig: an int (every layer) or null; 4096 when the field is absent.
    config.sliding_window = window_field(4096);
    if (config.sliding_window > 0) config.windowed_layers.assign(config.num_layers, true);
    return;
  }
  // Qwen2Config / Qwen3Config: the window only with use_sliding_window; then the layers named
  // "sliding_attention" by layer_types, or without it the layers from max_window_layers on.
  const bool use = boolean(root, "use_sliding_window", file, false);
  const std::int64_t window = window_field(4096);
  config.max_window_layers = 28;
  if (root.contains("max_window_layers") && !root["max_window_layers"].is_null()) {
    const auto layers = json_integer<std::int64_t>(root["max_window_layers"]);
    if (!layers) throw InputError(file, 0, "max_window_layers", "expected an integer");
    config.max_window_layers = *layers;
  }
  if (config.max_window_layers < 0) throw InputError(file, 0, "max_window_layers", "must not be negative");
  std::vector<bool> windowed(config.num_layers);
  if (const json* types = given(root, "layer_types")) {
    if (!types->is_array() || static_cast<std::int64_t>(types->size()) != config.num_layers)
      throw InputError(file, 0, "layer_types", "expected a list of num_hidden_layers entries");
    for (std::size_t i = 0; i < types->size(); ++i) {
      const auto& type = (*types)[i];
      if (type == "sliding_attention") windowed[i] = true;
      else if (type != "full_attention")
        throw InputError(file, 0, "layer_types", "entry " + std::to_string(i) + " is " + type.dump() +
                                                     " (supported: full_attention, sliding_attention)");
    }
  } else {
    for (std::int64_t i = config.max_window_layers; i < config.num_layers; ++i) windowed[i] = true;
  }
  if (use && window > 0) {
    config.sliding_window = window;
    config.windowed_layers = windowed;
  }
}

std::string family_of_architecture(const std::string& architecture) {
  for (const auto& family : kFamilies) {
    const std::string prefix = family.prefix;
    if (architecture.rfind(prefix, 0) != 0) continue;
    const auto head = architecture.substr(prefix.size());
    if (head == kLanguageModelHead) return family.model_type;
    for (const char* reward : kRewardHeads)
      if (head == reward) return family.model_type;
  }
  return "";
}

}  // namespace

std::size_t weight_dtype_bytes(WeightDtype dtype) { return dtype == WeightDtype::float32 ? 4 : 2; }

const char* weight_dtype_name(WeightDtype dtype) {
  switch (dtype) {
    case WeightDtype::float32: return "float32";
    case WeightDtype::bfloat16: return "bfloat16";
    case WeightDtype::float16: return "float16";
  }
  return "?";
}

WeightDtype parse_weight_dtype(const std::string& name, const std::string& file, const std::string& field) {
  if (name == "float32" || name == "float" || name == "fp32") return WeightDtype::float32;
  if (name == "bfloat16" || name == "bf16") return WeightDtype::bfloat16;
  if (name == "float16" || name == "half" || name == "fp16") return WeightDtype::float16;
  throw InputError(file, 0, field, "dtype '" + name + "' is not supported (float32, bfloat16 or float16)");
}

WeightDtype resolve_weight_dtype(const std::string& spec, const std::string& directory, bool on_cuda) {
  if (spec != "auto") return parse_weight_dtype(spec, "", "dtype");
  if (!on_cuda) return WeightDtype::float32;
  const auto config = ModelConfig::load(directory);
  if (config.stored_dtype.empty()) return WeightDtype::float32;
  return parse_weight_dtype(config.stored_dtype, (std::filesystem::path(directory) / "config.json").string(),
                            "torch_dtype");
}

std::string ModelConfig::family() const {
  if (!model_type.empty()) return model_type;
  for (const auto& family : kFamilies)
    if (architecture.rfind(family.prefix, 0) == 0) return family.model_type;
  return "";
}

ModelConfig ModelConfig::load(const std::string& directory) {
  const std::string file = (std::filesystem::path(directory) / "config.json").string();
  std::ifstream in(file);
  if (!in) throw InputError(file, 0, "", "cannot open (is this a Hugging Face model directory?)");
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (const auto problem = json_depth_problem(text); !problem.empty()) throw InputError(file, 0, "", problem);
  json root;
  try {
    root = json::parse(text);
  } catch (const json::exception& e) {
    throw InputError(file, 0, "", std::string("malformed JSON: ") + e.what());
  }
  if (!root.is_object()) throw InputError(file, 0, "", "expected a JSON object");
  ModelConfig config;

  // Which family: model_type and the architecture's class name must agree.
  if (const json* architectures = given(root, "architectures")) {
    if (!architectures->is_array() || architectures->empty() || !(*architectures)[0].is_string())
      throw InputError(file, 0, "architectures", "expected a list of class names");
    if (architectures->size() > 1) throw InputError(file, 0, "architectures", "more than one architecture");
    config.architecture = (*architectures)[0].get<std::string>();
  }
  if (const json* type = given(root, "model_type")) {
    if (!type->is_string()) throw InputError(file, 0, "model_type", "expected a string");
    config.model_type = type->get<std::string>();
  }
  const auto from_architecture = family_of_architecture(config.architecture);
  const std::string unsupported = "unsupported architecture '" + config.architecture + "' (model_type '" +
                                  config.model_type + "'); quorum runs Llama, Mistral, Qwen2 and Qwen3 decoders";
  if (!config.architecture.empty() && from_architecture.empty()) throw InputError(file, 0, "architectures", unsupported);
  if (!config.model_type.empty()) {
    const bool known = std::any_of(std::begin(kFamilies), std::end(kFamilies),
                                   [&](const Family& f) { return config.model_type == f.model_type; });
    if (!known) throw InputError(file, 0, "model_type", unsupported);
    if (!from_architecture.empty() && from_architecture != config.model_type)
      throw InputError(file, 0, "model_type", "'" + config.model_type + "' does not match architecture '" +
                                                  config.architecture + "'");
  } else if (from_architecture.empty()) {
    throw InputError(file, 0, "architectures", "missing: neither architectures nor model_type is given");
  } else {
    config.model_type = from_architecture;
  }
  if (config.architecture.empty())
    for (const auto& f : kFamilies)
      if (config.model_type == f.model_type) config.architecture = std::string(f.prefix) + kLanguageModelHead;
  const std::string family = config.model_type;
  config.lm_head = config.architecture.size() >= 11 &&
                   config.architecture.compare(config.architecture.size() - 11, 11, kLanguageModelHead) == 0;

  // Fields that would change the computation in ways quorum does not compute.
  if (const json* act = given(root, "hidden_act"); act && *act != "silu")
    throw InputError(file, 0, "hidden_act", "activation " + act->dump() + " is not supported (only silu)");
  if (const json* factor = given(root, "partial_rotary_factor"); factor && number(*factor, file, "partial_rotary_factor") != 1.0)
    throw InputError(file, 0, "partial_rotary_factor", "partial rotary embeddings are not supported");
  for (const char* field : {"qk_layernorm", "use_qk_norm"})
    if (boolean(root, field, file, false)) throw InputError(file, 0, field, "query/key layer norms of this kind are not supported");
  for (const char* field : {"attn_logit_softcapping", "final_logit_softcapping"})
    if (given(root, field)) throw InputError(file, 0, field, "logit soft-capping is not supported");
  if (given(root, "quantization_config"))
    throw InputError(file, 0, "quantization_config", "quantized checkpoints are not supported");

  config.vocab_size = positive(root, "vocab_size", file);
  config.hidden_size = positive(root, "hidden_size", file);
  config.intermediate_size = positive(root, "intermediate_size", file);
  config.num_layers = positive(root, "num_hidden_layers", file);
  config.num_heads = positive(root, "num_attention_heads", file);
  config.num_kv_heads = positive(root, "num_key_value_heads", file, false, config.num_heads);
  if (config.num_heads % config.num_kv_heads != 0)
    throw InputError(file, 0, "num_key_value_heads", "must divide num_attention_heads");
  if (given(root, "head_dim")) {
    config.head_dim = positive(root, "head_dim", file);
  } else if (family == "qwen3") {
    config.head_dim = 128;  // Qwen3Config's own default, not hidden_size / num_attention_heads
  } else {
    if (config.hidden_size % config.num_heads != 0)
      throw InputError(file, 0, "num_attention_heads", "must divide hidden_size");
    config.head_dim = config.hidden_size / config.num_heads;
  }
  if (config.head_dim % 2 != 0) throw InputError(file, 0, "head_dim", "must be even for rotary embeddings");
  if (const json* eps = given(root, "rms_norm_eps")) config.rms_norm_eps = number(*eps, file, "rms_norm_eps");
  config.rope = parse_rope(root, file);

  // Biases: Qwen2 always has q/k/v biases (and no o_proj bias); Llama and Qwen3 have q/k/v and
  // o_proj biases when attention_bias says so; Mistral has none.
  const bool attention_bias = boolean(root, "attention_bias", file, family == "qwen2");
  if (family == "qwen2") {
    if (!attention_bias)
      throw InputError(file, 0, "attention_bias", "false, but transformers' Qwen2 attention always has q/k/v biases");
    config.qkv_bias = true;
  } else if (family == "mistral") {
    if (attention_bias)
      throw InputError(file, 0, "attention_bias", "true, but transformers' Mistral attention has no biases");
  } else {
    config.qkv_bias = config.o_bias = attention_bias;
  }
  const bool mlp_bias = boolean(root, "mlp_bias", file, false);
  if (mlp_bias && family != "llama")
    throw InputError(file, 0, "mlp_bias", "true, but transformers' " + family + " MLP has no biases");
  config.mlp_bias = mlp_bias;
  config.qk_norm = family == "qwen3";
  parse_sliding_window(root, file, family, config);

  config.tie_word_embeddings = boolean(root, "tie_word_embeddings", file, false);
  config.max_position_embeddings = positive(root, "max_position_embeddings", file, false, 2048);
  if (const json* eos = given(root, "eos_token_id")) {
    // A float there was cast with undefined behaviour (1e46), a string escaped as nlohmann's
    // type_error (found by fuzz_model_config).
    const auto token_id = [&](const json& id) {
      const auto x = json_integer<std::int64_t>(id);
      if (!x || *x < 0)
        throw InputError(file, 0, "eos_token_id", "expected a token id (a non-negative integer) or a list of them, got " +
                                                      (id.is_number() ? id.dump() : std::string(id.type_name())));
      return *x;
    };
    if (eos->is_array())
      for (const auto& id : *eos) config.eos_token_ids.push_back(token_id(id));
    else
      config.eos_token_ids.push_back(token_id(*eos));
  }
  for (const char* field : {"dtype", "torch_dtype"})
    if (const json* dtype = given(root, field); dtype && dtype->is_string() && config.stored_dtype.empty()) {
      config.stored_dtype = dtype->get<std::string>();
      parse_weight_dtype(config.stored_dtype, file, field);
    }
  return config;
}

std::int64_t ModelConfig::parameter_count() const {
  const std::int64_t q = num_heads * head_dim, kv = num_kv_heads * head_dim;
  std::int64_t attention = hidden_size * (q + 2 * kv) + q * hidden_size;
  if (qkv_bias) attention += q + 2 * kv;
  if (o_bias) attention += hidden_size;
  if (qk_norm) attention += 2 * head_dim;
  std::int64_t mlp = 3 * hidden_size * intermediate_size;
  if (mlp_bias) mlp += 2 * intermediate_size + hidden_size;
  const std::int64_t layer = attention + mlp + 2 * hidden_size;
  std::int64_t total = vocab_size * hidden_size + num_layers * layer + hidden_size;
  if (lm_head && !tie_word_embeddings) total += vocab_size * hidden_size;
  return total;
}

std::string ModelConfig::to_json() const {
  const auto type = family();
  json root{{"architectures", {architecture}},
            {"model_type", type},
            {"vocab_size", vocab_size},
            {"hidden_size", hidden_size},
            {"intermediate_size", intermediate_size},
            {"num_hidden_layers", num_layers},
            {"num_attention_heads", num_heads},
            {"num_key_value_heads", num_kv_heads},
            {"head_dim", head_dim},
            {"hidden_act", "silu"},
            {"rms_norm_eps", rms_norm_eps},
            {"rope_theta", rope.theta},
            {"tie_word_embeddings", tie_word_embeddings},
            {"max_position_embeddings", max_position_embeddings},
            {"torch_dtype", "float32"}};
  if (rope.type == RopeSettings::Type::linear) root["rope_scaling"] = {{"rope_type", "linear"}, {"factor", rope.factor}};
  if (rope.type == RopeSettings::Type::llama3)
    root["rope_scaling"] = {{"rope_type", "llama3"},
                            {"factor", rope.factor},
                            {"low_freq_factor", rope.low_freq_factor},
                            {"high_freq_factor", rope.high_freq_factor},
                            {"original_max_position_embeddings", rope.original_max_position_embeddings}};
  if (type == "llama" || type == "qwen3") root["attention_bias"] = qkv_bias;
  if (type == "llama") root["mlp_bias"] = mlp_bias;
  const json window = sliding_window > 0 ? json(sliding_window) : json(nullptr);
  if (type == "mistral") root["sliding_window"] = window;
  if (type == "qwen2" || type == "qwen3") {
    root["use_sliding_window"] = sliding_window > 0;
    root["sliding_window"] = window;
    root["max_window_layers"] = max_window_layers;
    if (sliding_window > 0) {
      json types = json::array();
      for (std::int64_t i = 0; i < num_layers; ++i) types.push_back(windowed(i) ? "sliding_attention" : "full_attention");
      root["layer_types"] = types;
    }
  }
  if (!eos_token_ids.empty()) root["eos_token_id"] = eos_token_ids.size() == 1 ? json(eos_token_ids[0]) : json(eos_token_ids);
  return root.dump(2) + "\n";
}

}  // namespace quorum::model
