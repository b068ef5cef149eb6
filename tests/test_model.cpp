// The decoder against an independent PyTorch forward pass (tests/reference), the KV cache and
// padding against the plain forward pass, and clean rejection of bad checkpoints.
#include <fstream>

#include <nlohmann/json.hpp>

#include "runtime/model/decoder.h"
#include "runtime/model/generate.h"
#include "runtime/model/prm.h"
#include "runtime/model/task_models.h"
#include "runtime/model/train.h"
#include "runtime/model/safetensors.h"
#include "runtime/model/workers.h"
// libtorch brings glog, whose CHECK would shadow Catch's: torch's headers come first and its
// CHECK goes before Catch defines its own.
#undef CHECK
#include <catch2/catch.hpp>

#include "cli_runner.h"
#include "tiny_config.h"
#include "runtime/aggregation/draws.h"
#include "runtime/common/error.h"

using namespace quorum;
using quorum::testing::TempDir;
using quorum::testing::tiny_config;

namespace {

template <class T>
std::vector<T> read_raw(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<T> values(bytes.size() / sizeof(T));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(T));
  return values;
}

// Writes the reference checkpoint and its outputs into dir (tests/reference/decoder_reference.py);
// compute is the dtype the reference's forward pass runs in.
void make_reference(const TempDir& dir, const std::string& variant, const std::string& dtype,
                    const std::string& compute = "float32") {
  const std::string command = std::string("/usr/bin/python3 ") + QUORUM_TEST_DATA +
                              "/../reference/decoder_reference.py " + dir.path().string() + " " + variant + " " + dtype +
                              " " + compute;
  REQUIRE(std::system(command.c_str()) == 0);
}

torch::Tensor positions_for(std::int64_t batch, std::int64_t steps) {
  return torch::arange(steps, torch::kInt64).unsqueeze(0).expand({batch, steps});
}

double relative_error(const torch::Tensor& got, const torch::Tensor& want) {
  return ((got - want).abs().max() / want.abs().max()).item<double>();
}

// The reference's inputs and logits: ids [B, T], logits [B, T, vocab].
struct Reference {
  torch::Tensor ids, logits;
};

Reference read_reference(const TempDir& dir) {
  const auto meta = nlohmann::json::parse(quorum::testing::read_text(dir.path() / "meta.json"));
  const std::int64_t batch = meta["batch"], steps = meta["steps"], vocab = meta["vocab"];
  return {torch::tensor(read_raw<std::int64_t>(dir.path() / "ids.i64"), torch::kInt64).view({batch, steps}),
          torch::tensor(read_raw<float>(dir.path() / "logits.f32")).view({batch, steps, vocab})};
}

// Every causal-LM variant of the reference script.
const std::vector<std::string> kVariants = {"llama",  "llama-bias", "llama3", "llama-linear", "rope-parameters",
                                            "qwen2", "qwen2-tied", "qwen2-window", "qwen3", "mistral"};

}  // namespace

TEST_CASE("decoder logits match an independent PyTorch forward pass", "[model]") {
  for (const auto& variant : kVariants) {
    for (const std::string dtype : {"F32", "BF16", "F16"}) {
      if (dtype == "F16" && variant != "llama" && variant != "qwen2") continue;
      DYNAMIC_SECTION(variant << " " << dtype) {
        TempDir dir("decoder-" + variant + dtype);
        make_reference(dir, variant, dtype);
        auto decoder = model::load_decoder(dir.path().string());
        const auto reference = read_reference(dir);
        torch::NoGradGuard no_grad;
        const auto& ids = reference.ids;
        const auto got = decoder->logits(decoder->hidden(ids, positions_for(ids.size(0), ids.size(1))));
        CHECK(relative_error(got, reference.logits) < 1e-4);
      }
    }
  }
}

// bfloat16 compute against the reference computed in bfloat16 with transformers' numerics:
// identical here (error 0: the same libtorch kernels as python3-torch); the bound, 1e-2 of the
// largest logit, leaves room for other kernels' summation order (the fused q/k/v and gate/up
// products add their terms as one product). The float32 pass must miss the bfloat16 reference
// by more, or the test would not tell the two computations apart.
TEST_CASE("bfloat16 compute matches the reference computed in bfloat16", "[model]") {
  for (const auto& variant : kVariants) {
    DYNAMIC_SECTION(variant) {
      TempDir dir("decoder-bf16-" + variant);
      make_reference(dir, variant, "BF16", "bfloat16");
      auto decoder = model::load_decoder(dir.path().string(), torch::kCPU, model::WeightDtype::bfloat16);
      for (const auto& p : decoder->parameters()) CHECK(p.scalar_type() == torch::kBFloat16);
      const auto reference = read_reference(dir);
      torch::NoGradGuard no_grad;
      const auto& ids = reference.ids;
      const auto got = decoder->logits(decoder->hidden(ids, positions_for(ids.size(0), ids.size(1))));
      CHECK(got.scalar_type() == torch::kFloat32);
      const double error = relative_error(got, reference.logits);
      INFO("relative error " << error);
      CHECK(error < 1e-2);
      auto float32 = model::load_decoder(dir.path().string());
      const auto wide = float32->logits(float32->hidden(ids, positions_for(ids.size(0), ids.size(1))));
      CHECK(relative_error(wide, reference.logits) > error);
    }
  }
}

TEST_CASE("the KV cache gives the reference logits with sliding windows and scaled rotary embeddings", "[model]") {
  for (const std::string variant : {"qwen2-window", "mistral", "llama3", "rope-parameters", "qwen3", "llama-bias"}) {
    DYNAMIC_SECTION(variant) {
      TempDir dir("decoder-cache-" + variant);
      make_reference(dir, variant, "F32");
      auto decoder = model::load_decoder(dir.path().string());
      const auto reference = read_reference(dir);
      const auto& ids = reference.ids;
      const auto batch = ids.size(0), steps = ids.size(1);
      torch::NoGradGuard no_grad;
      // A prefill longer than the window (8), then one token at a time.
      model::KvCache cache;
      const std::int64_t prefill = 20;
      auto step = decoder->logits(decoder->hidden(ids.slice(1, 0, prefill), positions_for(batch, prefill), {}, &cache));
      CHECK(relative_error(step, reference.logits.slice(1, 0, prefill)) < 1e-4);
      for (std::int64_t t = prefill; t < steps; ++t) {
        step = decoder->logits(decoder->hidden(ids.slice(1, t, t + 1), torch::full({batch, 1}, t, torch::kInt64), {}, &cache));
        CHECK(relative_error(step, reference.logits.slice(1, t, t + 1)) < 1e-4);
      }
      // Row 1 shortened by 5 tokens and left-padded: its logits are those of the row alone.
      auto padded = ids.clone();
      padded.index_put_({1, torch::indexing::Slice(0, 5)}, 0);
      auto valid = torch::ones({batch, steps}, torch::kBool);
      valid.index_put_({1, torch::indexing::Slice(0, 5)}, false);
      const auto positions = (valid.to(torch::kInt64).cumsum(1) - 1).clamp_min(0);
      const auto batched = decoder->logits(decoder->hidden(padded, positions, valid));
      const auto alone = decoder->logits(decoder->hidden(ids.slice(0, 1, 2).slice(1, 5, steps), positions_for(1, steps - 5)));
      CHECK(relative_error(batched.slice(0, 1, 2).slice(1, 5, steps), alone) < 1e-5);
      CHECK(relative_error(batched.slice(0, 0, 1), reference.logits.slice(0, 0, 1)) < 1e-4);
    }
  }
}

TEST_CASE("the KV cache and left padding give the plain forward pass's logits", "[model]") {
  TempDir dir("decoder-cache");
  make_reference(dir, "qwen2", "F32");
  auto decoder = model::load_decoder(dir.path().string());
  torch::NoGradGuard no_grad;
  const auto ids = torch::tensor(read_raw<std::int64_t>(dir.path() / "ids.i64"), torch::kInt64).view({2, 11});
  const auto full = decoder->logits(decoder->hidden(ids, positions_for(2, 11)));

  // Prefix of 6 tokens, then one token at a time through the cache.
  model::KvCache cache;
  auto step = decoder->logits(decoder->hidden(ids.slice(1, 0, 6), positions_for(2, 6), {}, &cache));
  CHECK(relative_error(step, full.slice(1, 0, 6)) < 1e-5);
  for (std::int64_t t = 6; t < 11; ++t) {
    const auto position = torch::full({2, 1}, t, torch::kInt64);
    step = decoder->logits(decoder->hidden(ids.slice(1, t, t + 1), position, {}, &cache));
    CHECK(relative_error(step, full.slice(1, t, t + 1)) < 1e-5);
  }

  // Row 1 shortened to 7 tokens and left-padded to 11: its last 7 logits equal those of the
  // 7 tokens alone.
  auto padded = ids.clone();
  padded.index_put_({1, torch::indexing::Slice(0, 4)}, 0);
  auto valid = torch::ones({2, 11}, torch::kBool);
  valid.index_put_({1, torch::indexing::Slice(0, 4)}, false);
  const auto positions = (valid.to(torch::kInt64).cumsum(1) - 1).clamp_min(0);
  const auto batched = decoder->logits(decoder->hidden(padded, positions, valid));
  const auto alone_ids = ids.slice(0, 1, 2).slice(1, 4, 11);
  const auto alone = decoder->logits(decoder->hidden(alone_ids, positions_for(1, 7)));
  CHECK(relative_error(batched.slice(0, 1, 2).slice(1, 4, 11), alone) < 1e-5);
  CHECK(relative_error(batched.slice(0, 0, 1), full.slice(0, 0, 1)) < 1e-5);
}

TEST_CASE("a saved decoder loads back with the same logits, in the Hugging Face layout", "[model]") {
  for (const std::string variant : {"llama", "llama-bias", "llama3", "qwen2-window", "qwen3", "mistral"}) {
    DYNAMIC_SECTION(variant) {
      TempDir dir("decoder-save-" + variant);
      make_reference(dir, variant, "F32");
      auto decoder = model::load_decoder(dir.path().string());
      const auto saved = dir.path() / "saved";
      model::save_decoder(decoder, saved.string());
      // The same tensor names and shapes as the published layout: no fused names.
      const model::CheckpointTensors original(dir.path().string()), written(saved.string());
      CHECK(written.names() == original.names());
      for (const auto& name : original.names()) CHECK(written.at(name).shape == original.at(name).shape);
      auto again = model::load_decoder(saved.string());
      CHECK(again->config().to_json() == decoder->config().to_json());
      torch::NoGradGuard no_grad;
      const auto ids = read_reference(dir).ids;
      const auto positions = positions_for(ids.size(0), ids.size(1));
      CHECK(torch::equal(decoder->logits(decoder->hidden(ids, positions)), again->logits(again->hidden(ids, positions))));
    }
  }
}

TEST_CASE("weights are held once, fused, in the dtype chosen at load", "[model]") {
  for (const std::string variant : {"qwen2", "qwen3", "llama-bias"}) {
    DYNAMIC_SECTION(variant) {
      TempDir dir("decoder-once-" + variant);
      make_reference(dir, variant, "BF16");
      for (auto dtype : {model::WeightDtype::float32, model::WeightDtype::bfloat16}) {
        auto decoder = model::load_decoder(dir.path().string(), torch::kCPU, dtype);
        std::int64_t elements = 0;
        for (const auto& p : decoder->named_parameters()) {
          elements += p.value().numel();
          CHECK(p.value().scalar_type() == model::torch_dtype(dtype));
          // Only the fused projections exist: no q/k/v or gate/up beside them.
          for (const char* separate : {"q_proj", "k_proj", "v_proj", "gate_proj", "up_proj"})
            CHECK(p.key().find(std::string(".") + separate + ".") == std::string::npos);
        }
        // Every checkpoint weight once: the checkpoint's element count, and what the memory bound counts.
        const model::CheckpointTensors checkpoint(dir.path().string());
        std::int64_t stored = 0;
        for (const auto& name : checkpoint.names()) stored += static_cast<std::int64_t>(checkpoint.at(name).bytes / 2);
        CHECK(elements == stored);
        CHECK(elements == decoder->config().parameter_count());
        CHECK(model::model_weight_bytes(dir.path().string(), dtype) ==
              static_cast<std::size_t>(elements) * model::weight_dtype_bytes(dtype));
      }
      CHECK(model::model_weight_bytes(dir.path().string()) ==
            model::model_weight_bytes(dir.path().string(), model::WeightDtype::float32));
    }
  }
}

TEST_CASE("resident bytes count weights, the KV cache and one forward pass", "[model]") {
  TempDir dir("decoder-resident");
  make_reference(dir, "qwen3", "F32");
  const auto config = model::ModelConfig::load(dir.path().string());
  const auto bytes = model::model_resident_bytes(dir.path().string(), model::WeightDtype::bfloat16, 3, 100);
  CHECK(bytes.weights == model::model_weight_bytes(dir.path().string(), model::WeightDtype::bfloat16));
  CHECK(bytes.kv_cache == static_cast<std::size_t>(config.num_layers * 2 * 3 * config.num_kv_heads * 100 * config.head_dim * 2));
  // The activations estimate covers at least the attention scores and the float32 softmax of one layer.
  CHECK(bytes.activations > static_cast<std::size_t>(3 * config.num_heads * 100 * 100 * (2 + 4)));
  CHECK(bytes.total() == bytes.weights + bytes.kv_cache + bytes.activations);
}

TEST_CASE("a policy serving a search counts the KV caches of the paths the search keeps", "[model][search]") {
  TempDir dir("search-resident");
  make_reference(dir, "qwen2", "F32");
  const auto config = model::ModelConfig::load(dir.path().string());
  quorum::config::PolicySpec policy;
  policy.name = "p", policy.path = dir.path().string(), policy.device = "cpu", policy.max_new_tokens = 64;
  quorum::config::SearchRun run;
  run.n = 8, run.m = 2, run.max_tokens = 100;
  const auto batch = std::size_t{4};
  const auto steps = model::generation_resident_bytes(policy.path, model::WeightDtype::float32, batch,
                                                      model::kPromptTokens, 100);
  const auto searching = model::search_policy_resident_bytes(policy, run, batch);
  const std::size_t token_bytes = config.num_layers * 2 * config.num_kv_heads * config.head_dim * 4;
  // Beside the slots' cache: kHeldPathsPerLeaf x n paths of prompt + path tokens each.
  CHECK(searching.kv_cache - steps.kv_cache == 3 * 8 * (model::kPromptTokens + 100) * token_bytes);
  CHECK(searching.weights == steps.weights);
  CHECK(searching.activations == steps.activations);
  // A larger budget keeps more paths.
  run.n = 16;
  CHECK(model::search_policy_resident_bytes(policy, run, batch).kv_cache - searching.kv_cache ==
        3 * 8 * (model::kPromptTokens + 100) * token_bytes);
}

TEST_CASE("the dtype setting resolves auto to the checkpoint's dtype on CUDA and float32 on the CPU", "[model]") {
  TempDir dir("decoder-dtype");
  make_reference(dir, "qwen2", "BF16");
  const auto path = dir.path().string();
  CHECK(model::resolve_weight_dtype("auto", path, false) == model::WeightDtype::float32);
  CHECK(model::resolve_weight_dtype("auto", path, true) == model::WeightDtype::float32);  // config names none
  CHECK(model::resolve_weight_dtype("bfloat16", path, false) == model::WeightDtype::bfloat16);
  CHECK(model::resolve_weight_dtype("float16", path, true) == model::WeightDtype::float16);
  CHECK_THROWS_AS(model::resolve_weight_dtype("int8", path, true), InputError);
  auto config = nlohmann::json::parse(quorum::testing::read_text(dir.path() / "config.json"));
  config["torch_dtype"] = "bfloat16";
  std::ofstream(dir.path() / "config.json") << config.dump();
  CHECK(model::resolve_weight_dtype("auto", path, true) == model::WeightDtype::bfloat16);
  CHECK(model::resolve_weight_dtype("auto", path, false) == model::WeightDtype::float32);
  config.erase("torch_dtype");
  config["dtype"] = "float16";  // the name newer transformers write
  std::ofstream(dir.path() / "config.json") << config.dump();
  CHECK(model::resolve_weight_dtype("auto", path, true) == model::WeightDtype::float16);
}

TEST_CASE("config fields that change the computation and are not supported are refused by name", "[model]") {
  TempDir dir("decoder-config");
  make_reference(dir, "llama", "F32");
  const auto file = dir.path() / "config.json";
  const auto original = nlohmann::json::parse(quorum::testing::read_text(file));
  auto refused = [&](const nlohmann::json& config, const std::string& field) {
    std::ofstream(file) << config.dump();
    try {
      model::load_decoder(dir.path().string());
      FAIL("loaded a config with an unsupported " << field);
    } catch (const InputError& e) {
      INFO(e.what());
      CHECK(e.file() == file.string());
      CHECK(e.field() == field);
    }
  };
  auto with = [&](const std::string& key, const nlohmann::json& value) {
    auto config = original;
    config[key] = value;
    return config;
  };
  const nlohmann::json llama3 = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                                 {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 16}};
  refused(with("rope_scaling", {{"rope_type", "dynamic"}, {"factor", 2.0}}), "rope_scaling.rope_type");
  refused(with("rope_scaling", {{"type", "yarn"}, {"factor", 2.0}}), "rope_scaling.type");
  refused(with("rope_scaling", {{"rope_type", "longrope"}, {"factor", 2.0}}), "rope_scaling.rope_type");
  auto missing = llama3;
  missing.erase("original_max_position_embeddings");
  refused(with("rope_scaling", missing), "rope_scaling.original_max_position_embeddings");
  auto extra = llama3;
  extra["attention_factor"] = 1.5;
  refused(with("rope_scaling", extra), "rope_scaling.attention_factor");
  auto no_theta = with("rope_parameters", {{"rope_type", "default"}});
  no_theta.erase("rope_theta");
  refused(no_theta, "rope_theta");
  refused(with("rope_parameters", {{"rope_type", "yarn"}, {"rope_theta", 1e4}, {"factor", 4.0}}), "rope_parameters.rope_type");
  refused(with("rope_parameters", {{"full_attention", {{"rope_type", "default"}, {"rope_theta", 1e4}}}}),
          "rope_parameters.full_attention");
  refused(with("hidden_act", "gelu"), "hidden_act");
  refused(with("partial_rotary_factor", 0.5), "partial_rotary_factor");
  refused(with("qk_layernorm", true), "qk_layernorm");
  refused(with("quantization_config", {{"quant_method", "awq"}}), "quantization_config");
  refused(with("attn_logit_softcapping", 50.0), "attn_logit_softcapping");
  auto qwen2 = with("model_type", "qwen2");
  qwen2["architectures"] = {"Qwen2ForCausalLM"};
  auto qwen2_mlp_bias = qwen2;
  qwen2_mlp_bias["mlp_bias"] = true;
  refused(qwen2_mlp_bias, "mlp_bias");
  auto qwen2_layers = qwen2;
  qwen2_layers["use_sliding_window"] = true;
  qwen2_layers["sliding_window"] = 8;
  qwen2_layers["layer_types"] = {"full_attention", "chunked_attention"};
  refused(qwen2_layers, "layer_types");
  auto mistral = with("model_type", "mistral");
  mistral["architectures"] = {"MistralForCausalLM"};
  mistral["attention_bias"] = true;
  refused(mistral, "attention_bias");
  auto mismatch = with("model_type", "qwen3");
  refused(mismatch, "model_type");
  // An unknown architecture is refused naming both it and the model_type.
  auto unknown = with("model_type", "gpt2");
  unknown["architectures"] = {"GPT2LMHeadModel"};
  std::ofstream(file) << unknown.dump();
  try {
    model::load_decoder(dir.path().string());
    FAIL("loaded GPT-2");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find("GPT2LMHeadModel") != std::string::npos);
    CHECK(std::string(e.what()).find("gpt2") != std::string::npos);
  }
  // float16 compute on a CPU whose libtorch cannot multiply float16 matrices is refused up front.
  std::ofstream(file) << original.dump();
  bool cpu_half = true;
  try {
    torch::nn::functional::linear(torch::zeros({1, 2}, torch::kFloat16), torch::zeros({2, 2}, torch::kFloat16));
  } catch (const c10::Error&) {
    cpu_half = false;
  }
  if (!cpu_half) CHECK_THROWS_AS(model::load_decoder(dir.path().string(), torch::kCPU, model::WeightDtype::float16), InputError);
}

TEST_CASE("published config layouts load with the architecture transformers would build", "[model]") {
  TempDir dir("decoder-published");
  make_reference(dir, "llama", "F32");
  const auto file = dir.path() / "config.json";
  auto load = [&](const nlohmann::json& config) {
    std::ofstream(file) << config.dump();
    return model::ModelConfig::load(dir.path().string());
  };
  // Qwen2.5-0.5B-Instruct's config.json: use_sliding_window false means full attention everywhere.
  const auto qwen25 = load(nlohmann::json::parse(R"({
    "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643, "eos_token_id": 151645,
    "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02, "intermediate_size": 4864,
    "max_position_embeddings": 32768, "max_window_layers": 21, "model_type": "qwen2", "num_attention_heads": 14,
    "num_hidden_layers": 24, "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
    "sliding_window": 32768, "tie_word_embeddings": true, "torch_dtype": "bfloat16", "transformers_version": "4.43.1",
    "use_cache": true, "use_sliding_window": false, "vocab_size": 151936})"));
  CHECK(qwen25.sliding_window == 0);
  CHECK(qwen25.qkv_bias);
  CHECK(!qwen25.o_bias);
  CHECK(qwen25.head_dim == 64);
  CHECK(qwen25.stored_dtype == "bfloat16");
  // Llama 3.1's rope_scaling.
  const auto llama31 = load(nlohmann::json::parse(R"({
    "architectures": ["LlamaForCausalLM"], "attention_bias": false, "hidden_act": "silu", "hidden_size": 4096,
    "intermediate_size": 14336, "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama",
    "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8, "pretraining_tp": 1,
    "rms_norm_eps": 1e-05, "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
    "original_max_position_embeddings": 8192, "rope_type": "llama3"}, "rope_theta": 500000.0,
    "tie_word_embeddings": false, "torch_dtype": "bfloat16", "vocab_size": 128256})"));
  CHECK(llama31.rope.type == model::RopeSettings::Type::llama3);
  CHECK(llama31.rope.original_max_position_embeddings == 8192);
  CHECK(llama31.rope.theta == 500000.0);
  // Qwen3-0.6B: explicit head_dim (128) with 16 heads of a 1024 hidden size.
  const auto qwen3 = load(nlohmann::json::parse(R"({
    "architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "head_dim": 128, "hidden_act": "silu",
    "hidden_size": 1024, "intermediate_size": 3072, "max_position_embeddings": 40960, "max_window_layers": 28,
    "model_type": "qwen3", "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 8,
    "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 1000000, "sliding_window": null,
    "tie_word_embeddings": true, "torch_dtype": "bfloat16", "use_sliding_window": false, "vocab_size": 151936})"));
  CHECK(qwen3.qk_norm);
  CHECK(qwen3.head_dim == 128);
  CHECK(!qwen3.qkv_bias);
  // Mistral-7B-v0.1: a 4096-token window in every layer.
  const auto mistral = load(nlohmann::json::parse(R"({
    "architectures": ["MistralForCausalLM"], "hidden_act": "silu", "hidden_size": 4096, "intermediate_size": 14336,
    "max_position_embeddings": 32768, "model_type": "mistral", "num_attention_heads": 32, "num_hidden_layers": 32,
    "num_key_value_heads": 8, "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "sliding_window": 4096,
    "tie_word_embeddings": false, "torch_dtype": "bfloat16", "vocab_size": 32000})"));
  CHECK(mistral.sliding_window == 4096);
  CHECK(mistral.windowed(0));
  CHECK(mistral.windowed(31));
  // Qwen2 with the window on: layers from max_window_layers on.
  auto windowed = nlohmann::json::parse(R"({"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
    "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4, "num_hidden_layers": 4,
    "rope_theta": 10000.0, "vocab_size": 10, "use_sliding_window": true, "sliding_window": 16, "max_window_layers": 3})");
  const auto qwen2 = load(windowed);
  CHECK(!qwen2.windowed(2));
  CHECK(qwen2.windowed(3));
  // rope_parameters as transformers 5 writes it.
  auto v5 = windowed;
  v5.erase("rope_theta");
  v5["use_sliding_window"] = false;
  v5["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 1000000.0}};
  CHECK(load(v5).rope.theta == 1000000.0);
}

TEST_CASE("bad checkpoints are rejected with the file and tensor named", "[model]") {
  TempDir dir("decoder-bad");
  make_reference(dir, "qwen2", "F32");
  const auto weights = dir.path() / "model.safetensors";
  const auto original = quorum::testing::read_text(weights);
  auto expect_error = [&](const std::string& fragment) {
    try {
      model::load_decoder(dir.path().string());
      FAIL("loaded a bad checkpoint");
    } catch (const InputError& e) {
      INFO(e.what());
      CHECK(std::string(e.what()).find(fragment) != std::string::npos);
    }
  };
  SECTION("truncated data") {
    std::ofstream(weights, std::ios::binary | std::ios::trunc) << original.substr(0, original.size() - 100);
    expect_error("fall outside the");
  }
  SECTION("truncated header") {
    std::ofstream(weights, std::ios::binary | std::ios::trunc) << original.substr(0, 5);
    expect_error("truncated");
  }
  SECTION("wrong header length") {
    auto corrupt = original;
    corrupt[6] = '\x7f';
    std::ofstream(weights, std::ios::binary | std::ios::trunc) << corrupt;
    expect_error("bad header");
  }
  SECTION("garbage header") {
    auto corrupt = original;
    corrupt[9] = '#';
    std::ofstream(weights, std::ios::binary | std::ios::trunc) << corrupt;
    expect_error("bad header");
  }
  SECTION("shape that does not fit the config") {
    auto config = quorum::testing::read_text(dir.path() / "config.json");
    config.replace(config.find("\"intermediate_size\": 112"), 24, "\"intermediate_size\": 128");
    std::ofstream(dir.path() / "config.json") << config;
    expect_error("model.layers.0.mlp.gate_proj.weight");
  }
  SECTION("missing tensor") {
    model::SafetensorsFile file(weights.string());
    std::vector<model::TensorData> kept;
    for (const auto& [name, view] : file.tensors())
      if (name != "model.norm.weight")
        kept.push_back({name, view.dtype, view.shape, std::vector<std::uint8_t>(view.data, view.data + view.bytes)});
    model::write_safetensors((dir.path() / "rewritten").string(), kept);
    std::filesystem::rename(dir.path() / "rewritten", weights);
    expect_error("field 'model.norm.weight': missing tensor");
  }
  SECTION("unsupported architecture") {
    auto config = quorum::testing::read_text(dir.path() / "config.json");
    config.replace(config.find("Qwen2ForCausalLM"), 16, "GPT2LMHeadModel0");
    config.replace(config.find("\"qwen2\""), 7, "\"gpt2\" ");
    std::ofstream(dir.path() / "config.json") << config;
    expect_error("unsupported architecture");
  }
}

TEST_CASE("batched generation equals generating each sequence alone, token for token", "[model][generate]") {
  TempDir dir("decoder-generate");
  make_reference(dir, "qwen2", "F32");
  auto decoder = model::load_decoder(dir.path().string());
  model::SamplingSettings settings;
  settings.max_new_tokens = 24;
  settings.temperature = 0.9;
  settings.top_p = 0.95;
  settings.top_k = 40;
  settings.stop_token_ids = {3};
  std::vector<model::GenerationRequest> requests = {
      {{5, 17, 42}, 11}, {{8, 1, 2, 3, 4, 5, 6, 7}, 12}, {{60}, 13}, {{9, 9, 9, 9, 9}, 14}};
  const auto together = model::generate(decoder, requests, settings);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto alone = model::generate(decoder, {requests[i]}, settings);
    CHECK(alone.front().tokens == together[i].tokens);
    CHECK(together[i].prompt_tokens == static_cast<std::int64_t>(requests[i].prompt.size()));
  }
  // Another seed gives another sample; the same seed the same one.
  auto reseeded = requests;
  reseeded[0].seed = 99;
  CHECK(model::generate(decoder, reseeded, settings)[0].tokens != together[0].tokens);
  CHECK(model::generate(decoder, requests, settings)[1].tokens == together[1].tokens);
}

TEST_CASE("greedy generation follows the argmax of the plain forward pass", "[model][generate]") {
  TempDir dir("decoder-greedy");
  make_reference(dir, "llama", "F32");
  auto decoder = model::load_decoder(dir.path().string());
  model::SamplingSettings settings;
  settings.max_new_tokens = 8;
  settings.temperature = 0;
  const auto result = model::generate(decoder, {{{4, 8, 15, 16, 23, 42}, 0}}, settings).front();
  REQUIRE(result.tokens.size() == 8);
  std::vector<std::int64_t> sequence = {4, 8, 15, 16, 23, 42};
  torch::NoGradGuard no_grad;
  for (auto token : result.tokens) {
    const auto ids = torch::tensor(sequence, torch::kInt64).view({1, -1});
    const auto logits = decoder->logits(decoder->hidden(ids, positions_for(1, ids.size(1))));
    CHECK(logits[0][-1].argmax().item<std::int64_t>() == token);
    sequence.push_back(token);
  }
  // A stop check ends the sequence where it says so.
  const auto stopped = model::generate(decoder, {{{4, 8, 15, 16, 23, 42}, 0}}, settings,
                                       [](std::size_t, const std::vector<std::int64_t>& t) { return t.size() == 3; });
  CHECK(stopped.front().tokens.size() == 3);
  CHECK(stopped.front().stopped);
}

TEST_CASE("sampling honours top-k, top-p and temperature", "[model][generate]") {
  const auto logits = torch::tensor({0.0, 3.0, 2.0, 1.0, -5.0});
  model::SamplingSettings settings;
  settings.temperature = 0;
  CHECK(model::sample_token(logits, settings, 1, 0) == 1);
  settings.temperature = 1.0;
  settings.top_k = 2;
  for (int step = 0; step < 200; ++step) {
    const auto token = model::sample_token(logits, settings, 5, step);
    CHECK((token == 1 || token == 2));
  }
  settings.top_k = 0;
  settings.top_p = 0.5;  // the most likely token alone holds over half the mass
  for (int step = 0; step < 50; ++step) CHECK(model::sample_token(logits, settings, 5, step) == 1);
}

TEST_CASE("a reward-head PRM scores each step like the independent reference", "[model][prm]") {
  TempDir dir("prm-head");
  make_reference(dir, "qwen2-prm", "BF16");
  model::PrmSettings settings;
  settings.step_token_id = 5;
  model::ProcessRewardModel prm(dir.path().string(), settings);
  const auto ids = read_raw<std::int64_t>(dir.path() / "ids.i64");
  const auto want = read_raw<float>(dir.path() / "prm.f32");
  std::vector<std::vector<std::int64_t>> sequences = {{ids.begin(), ids.begin() + 11}, {ids.begin() + 11, ids.end()}};
  sequences[1].resize(9);  // a shorter second sequence: right padding must not change its scores
  const auto scores = prm.score(sequences);
  REQUIRE(scores.size() == 2);
  REQUIRE(scores[0].size() == 3);  // step tokens at 3, 7, 10
  REQUIRE(scores[1].size() == 2);  // at 3 and 7
  const std::vector<std::pair<int, int>> at = {{0, 3}, {0, 7}, {0, 10}, {1, 3}, {1, 7}};
  std::size_t k0 = 0, k1 = 0;
  for (auto [row, t] : at) {
    const float got = row == 0 ? scores[0][k0++] : scores[1][k1++];
    CHECK(got == Approx(want[row * 11 + t]).epsilon(1e-4));
    CHECK((got >= 0 && got <= 1));
  }
}

TEST_CASE("a good-token PRM scores P(good) / (P(good) + P(bad)) at each step tag", "[model][prm]") {
  TempDir dir("prm-token");
  make_reference(dir, "llama", "F32");
  model::PrmSettings settings;
  settings.kind = model::PrmSettings::Kind::good_token;
  settings.step_token_id = 5;
  settings.good_token_id = 10;
  settings.bad_token_id = 11;
  model::ProcessRewardModel prm(dir.path().string(), settings);
  const auto ids = read_raw<std::int64_t>(dir.path() / "ids.i64");
  const auto logits = read_raw<float>(dir.path() / "logits.f32");
  const auto scores = prm.score({{ids.begin(), ids.begin() + 11}});
  REQUIRE(scores.front().size() == 3);
  std::size_t k = 0;
  for (int t : {3, 7, 10}) {
    const double good = logits[t * 97 + 10], bad = logits[t * 97 + 11];
    CHECK(scores.front()[k++] == Approx(1.0 / (1.0 + std::exp(bad - good))).epsilon(1e-4));
  }
  settings.good_token_id = 500;
  CHECK_THROWS_AS(model::ProcessRewardModel(dir.path().string(), settings), InputError);
}

TEST_CASE("the trainer teaches a tiny policy a counting task, and the schedule warms up then decays", "[model][train]") {
  model::TrainSettings settings;
  settings.steps = 150;
  settings.batch_size = 16;
  settings.learning_rate = 1e-2;
  settings.warmup_steps = 15;
  CHECK(model::learning_rate_at(settings, 0) == Approx(1e-2 / 15));
  CHECK(model::learning_rate_at(settings, 14) == Approx(1e-2));
  CHECK(model::learning_rate_at(settings, 149) < 1e-4);

  // Sequences start anywhere and count up by one (mod 20): after the first token every next
  // token is determined.
  std::vector<model::LanguageExample> examples;
  for (int start = 1; start < 20; ++start) {
    model::LanguageExample example;
    for (int t = 0; t < 12; ++t) {
      example.tokens.push_back(1 + (start + t) % 19);
      example.target.push_back(t > 0);
    }
    examples.push_back(example);
  }
  model::Decoder decoder(tiny_config(21));
  model::initialize(*decoder, 3);
  const double loss = model::train_language_model(decoder, examples, settings);
  CHECK(loss < 0.3);
  model::SamplingSettings greedy;
  greedy.temperature = 0;
  greedy.max_new_tokens = 5;
  CHECK(model::generate(decoder, {{{4, 5, 6}, 0}}, greedy).front().tokens == std::vector<std::int64_t>{7, 8, 9, 10, 11});
}

TEST_CASE("the trainer teaches a reward head which steps are good, and the PRM saves and loads", "[model][train]") {
  // Step token 2 follows each step; a step is good when the token before the step token is odd.
  std::vector<model::StepExample> examples;
  std::uint64_t state = 9;
  for (int i = 0; i < 64; ++i) {
    model::StepExample example;
    for (int step = 0; step < 4; ++step) {
      state = aggregation::splitmix64(state);
      const auto token = static_cast<std::int64_t>(3 + state % 16);
      example.tokens.insert(example.tokens.end(), {static_cast<std::int64_t>(3 + (state >> 8) % 16), token, 2});
      example.labels.push_back(token % 2 == 1 ? 1.0f : 0.0f);
    }
    examples.push_back(example);
  }
  model::Decoder backbone(tiny_config(20));
  model::initialize(*backbone, 4);
  model::PrmSettings prm_settings;
  prm_settings.step_token_id = 2;
  model::ProcessRewardModel prm(backbone, prm_settings, 5);
  model::TrainSettings settings;
  settings.steps = 120;
  settings.batch_size = 16;
  settings.learning_rate = 5e-3;
  settings.warmup_steps = 10;
  CHECK(model::train_reward_model(prm, examples, settings) < 0.2);

  TempDir dir("prm-trained");
  prm.save(dir.path().string());
  model::ProcessRewardModel loaded(dir.path().string(), prm_settings);
  const std::vector<std::vector<std::int64_t>> probe = {{5, 7, 2, 5, 8, 2}};
  const auto scores = loaded.score(probe);
  REQUIRE(scores.front().size() == 2);
  CHECK(scores.front()[0] > 0.8f);  // 7 is odd: good
  CHECK(scores.front()[1] < 0.2f);  // 8 is even: bad
  CHECK(prm.score(probe) == scores);
}

TEST_CASE("step AUC is the Mann-Whitney statistic with ties counted half", "[model][train]") {
  CHECK(model::step_auc({0.1f, 0.4f, 0.35f, 0.8f}, {0, 0, 1, 1}) == Approx(0.75));
  CHECK(model::step_auc({0.5f, 0.5f}, {0, 1}) == Approx(0.5));
  CHECK(model::step_auc({0.9f, 0.1f}, {1, 0}) == Approx(1.0));
  CHECK(std::isnan(model::step_auc({0.3f, 0.4f}, {1, 1})));
}
