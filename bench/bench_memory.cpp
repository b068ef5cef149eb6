// Memory accounting against measurement: for a model of a real shape (Qwen2.5-0.5B's
// config.json, with random weights written at run time as BF16, as the published checkpoint
// stores them) and a few batch shapes, the bytes model_resident_bytes accounts (weights, KV
// cache, one forward pass) beside the peak resident memory (VmHWM) of a fresh process that
// loads the model in float32 or bfloat16 and runs that batch: a prefill of max_tokens - 1
// tokens per sequence into a KV cache, then one decoding step (what a PRM's scoring pass
// holds). Then the same for the sampler's engine: generation_resident_bytes beside the peak of
// generate() with SLOTS slots on 2 x SLOTS requests of two PROMPT-token prompts sampling NEW
// tokens each (temperature 1, no stop token, so every slot runs to the end). Then a PRM of that
// backbone with Qwen2.5-Math-PRM's reward head: the bytes prm_resident_bytes accounts for a PRM
// worker at a batch size and inputs of up to max tokens, beside the peak of a process scoring a
// lease as that worker does: full scoring groups (prm.h) at max tokens / 4, / 2 and max tokens.
//   bench_memory [BATCH:TOKENS ...] [SLOTS:PROMPT:NEW ...] [prm:BATCH:TOKENS ...]
//                 (default 1:64 8:256 4:1024, 8:256:16 64:64:16 and prm:8:1024)
// The child processes are this binary, run as: bench_memory --measure DIR DTYPE BATCH TOKENS,
// --generate DIR DTYPE SLOTS PROMPT NEW or --measure-prm DIR DTYPE BATCH TOKENS.
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include "bench/qwen25_config.h"
#include "runtime/model/decoder.h"
#include "runtime/model/generate.h"
#include "runtime/model/prm.h"
#include "runtime/model/safetensors.h"
#include "runtime/model/workers.h"

namespace {

using namespace quorum;

// A field of /proc/self/status in bytes ("VmRSS", "VmHWM").
std::size_t status_bytes(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0) return std::stoull(line.substr(prefix.size())) * 1024;
  return 0;
}

// Random BF16 weights of the config's shapes under the Hugging Face names, written as
// DIR/model.safetensors beside DIR/config.json; with reward_head, as a
// Qwen2ForProcessRewardModel with its score head (score.0, score.2).
void write_random_checkpoint(const std::string& directory, bool reward_head) {
  std::filesystem::create_directories(directory);
  std::string config_text = bench::kQwen25Config;
  if (reward_head) {
    const std::string causal = "Qwen2ForCausalLM";
    config_text.replace(config_text.find(causal), causal.size(), "Qwen2ForProcessRewardModel");
  }
  std::ofstream(std::filesystem::path(directory) / "config.json") << config_text;
  const auto config = model::ModelConfig::load(directory);
  const auto h = config.hidden_size, q = config.num_heads * config.head_dim, kv = config.num_kv_heads * config.head_dim;
  const auto inter = config.intermediate_size;
  std::vector<std::pair<std::string, std::vector<std::int64_t>>> shapes = {{"model.embed_tokens.weight", {config.vocab_size, h}},
                                                                           {"model.norm.weight", {h}}};
  for (std::int64_t i = 0; i < config.num_layers; ++i) {
    const auto p = "model.layers." + std::to_string(i) + ".";
    for (const auto& [name, shape] : std::vector<std::pair<std::string, std::vector<std::int64_t>>>{
             {"self_attn.q_proj.weight", {q, h}}, {"self_attn.q_proj.bias", {q}},
             {"self_attn.k_proj.weight", {kv, h}}, {"self_attn.k_proj.bias", {kv}},
             {"self_attn.v_proj.weight", {kv, h}}, {"self_attn.v_proj.bias", {kv}},
             {"self_attn.o_proj.weight", {h, q}}, {"mlp.gate_proj.weight", {inter, h}},
             {"mlp.up_proj.weight", {inter, h}}, {"mlp.down_proj.weight", {h, inter}},
             {"input_layernorm.weight", {h}}, {"post_attention_layernorm.weight", {h}}})
      shapes.emplace_back(p + name, shape);
  }
  if (reward_head)
    shapes.insert(shapes.end(), {{"score.0.weight", {h, h}}, {"score.0.bias", {h}}, {"score.2.weight", {2, h}}, {"score.2.bias", {2}}});
  torch::manual_seed(0);
  std::vector<model::TensorData> tensors;
  for (const auto& [name, shape] : shapes) {
    const auto value = (torch::randn(shape) * 0.02).to(torch::kBFloat16).contiguous();
    model::TensorData data{name, model::DType::bf16, shape, {}};
    data.bytes.resize(value.numel() * 2);
    std::memcpy(data.bytes.data(), value.data_ptr(), data.bytes.size());
    tensors.push_back(std::move(data));
  }
  model::write_safetensors((std::filesystem::path(directory) / "model.safetensors").string(), tensors);
  tensors.clear();
  // The freed buffers would otherwise stay resident in this process (about 1 GB, measured),
  // beside the children it measures.
  ::malloc_trim(0);
}

// A shape of work: a forward pass (batch, tokens) or generation (slots, prompt, new tokens).
struct Shape {
  bool generation;
  std::vector<std::int64_t> sizes;
};

// The child: baseline resident bytes, peak after loading, peak after the work.
int measure(const std::string& directory, const std::string& dtype_name, const Shape& shape) {
  const auto dtype = model::parse_weight_dtype(dtype_name, "", "dtype");
  torch::NoGradGuard no_grad;
  (torch::ones({4, 4}) + 1).sum().item<float>();  // libtorch's allocator and thread pool up
  const auto baseline = status_bytes("VmRSS");
  auto decoder = model::load_decoder(directory, torch::kCPU, dtype);
  const auto after_load = status_bytes("VmHWM");
  if (shape.generation) {
    const auto slots = shape.sizes[0], prompt = shape.sizes[1];
    model::SamplingSettings settings;
    settings.max_new_tokens = shape.sizes[2];
    std::vector<model::GenerationRequest> requests;
    for (std::int64_t r = 0; r < 2 * slots; ++r) {
      std::vector<std::int64_t> ids(static_cast<std::size_t>(prompt));
      for (std::int64_t t = 0; t < prompt; ++t) ids[t] = 1000 + (r % 2) * 7 + t;
      requests.push_back({ids, static_cast<std::uint64_t>(r)});
    }
    const auto results = model::generate(decoder, requests, settings, {}, {static_cast<std::size_t>(slots), true});
    for (const auto& r : results)
      if (static_cast<std::int64_t>(r.tokens.size()) != settings.max_new_tokens) return 1;
  } else {
    const auto batch = shape.sizes[0], tokens = shape.sizes[1];
    c10::InferenceMode inference;
    const auto vocab = decoder->config().vocab_size;
    const auto ids = torch::randint(vocab, {batch, tokens - 1}, torch::kInt64);
    const auto positions = torch::arange(tokens - 1, torch::kInt64).unsqueeze(0).expand({batch, tokens - 1});
    model::KvCache cache;
    cache.reserve = tokens;
    const auto first = decoder->logits(decoder->hidden(ids, positions, {}, &cache).select(1, tokens - 2));
    const auto next = first.argmax(-1).view({batch, 1});
    const auto last = decoder->logits(
        decoder->hidden(next, torch::full({batch, 1}, tokens - 1, torch::kInt64), {}, &cache).select(1, 0));
    if (!torch::isfinite(last).all().item<bool>()) return 1;
  }
  std::printf("%zu %zu %zu\n", baseline, after_load, status_bytes("VmHWM"));
  return 0;
}

// The PRM child: as measure, for a lease scored as a PRM worker at batch_size scores it.
int measure_prm(const std::string& directory, const std::string& dtype_name, std::int64_t batch_size, std::int64_t tokens) {
  const auto dtype = model::parse_weight_dtype(dtype_name, "", "dtype");
  torch::NoGradGuard no_grad;
  (torch::ones({4, 4}) + 1).sum().item<float>();
  const auto baseline = status_bytes("VmRSS");
  model::ProcessRewardModel prm(directory, model::PrmSettings{}, torch::kCPU, dtype);
  const auto after_load = status_bytes("VmHWM");
  model::ScoringBudget budget;
  budget.rows = batch_size;
  const auto& config = prm.decoder()->config();
  std::vector<prompts::ScoringInput> lease;
  for (const auto length : {tokens / 4, tokens / 2, tokens})
    for (std::int64_t r = 0; r < budget.rows_for(length, config.num_heads); ++r) {
      const auto ids = torch::randint(config.vocab_size, {length}, torch::kInt64);
      prompts::ScoringInput input{{ids.data_ptr<std::int64_t>(), ids.data_ptr<std::int64_t>() + length}, {}};
      for (std::int64_t t = 31; t < length; t += 32) input.positions.push_back(t);
      input.positions.push_back(length - 1);
      lease.push_back(std::move(input));
    }
  for (const auto& scores : prm.score(lease, budget))
    for (const auto score : scores)
      if (!(score >= 0 && score <= 1)) return 1;
  std::printf("%zu %zu %zu %zu\n", baseline, after_load, status_bytes("VmHWM"), lease.size());
  return 0;
}

double mib(std::size_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

std::string sizes_text(const Shape& shape, const char* separator) {
  std::string text;
  for (std::size_t i = 0; i < shape.sizes.size(); ++i) text += (i ? separator : "") + std::to_string(shape.sizes[i]);
  return text;
}

// Runs a child measurement and reads its numbers; false when it failed.
bool measure_in_child(const std::string& command, std::vector<std::size_t>& values) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return false;
  bool read = true;
  for (auto& value : values) read = read && std::fscanf(pipe, "%zu", &value) == 1;
  return ::pclose(pipe) == 0 && read;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 6 && (std::string(argv[1]) == "--measure" || std::string(argv[1]) == "--generate")) {
    Shape shape{std::string(argv[1]) == "--generate", {}};
    for (int i = 4; i < argc; ++i) shape.sizes.push_back(std::atoll(argv[i]));
    if (shape.sizes.size() != (shape.generation ? 3u : 2u)) return 2;
    return measure(argv[2], argv[3], shape);
  }
  if (argc == 6 && std::string(argv[1]) == "--measure-prm")
    return measure_prm(argv[2], argv[3], std::atoll(argv[4]), std::atoll(argv[5]));
  std::vector<Shape> shapes;
  std::vector<std::pair<std::int64_t, std::int64_t>> prm_shapes;
  for (int i = 1; i < argc; ++i) {
    Shape shape{false, {}};
    std::string arg = argv[i];
    const bool prm = arg.rfind("prm:", 0) == 0;
    if (prm) arg = arg.substr(4);
    for (std::size_t colon; (colon = arg.find(':')) != std::string::npos; arg = arg.substr(colon + 1))
      shape.sizes.push_back(std::atoll(arg.substr(0, colon).c_str()));
    shape.sizes.push_back(std::atoll(arg.c_str()));
    shape.generation = shape.sizes.size() == 3;
    if (shape.sizes.size() < 2 || shape.sizes.size() > 3 || (prm && shape.generation)) {
      std::fprintf(stderr, "usage: bench_memory [BATCH:TOKENS ...] [SLOTS:PROMPT:NEW ...] [prm:BATCH:TOKENS ...]\n");
      return 2;
    }
    if (prm)
      prm_shapes.emplace_back(shape.sizes[0], shape.sizes[1]);
    else
      shapes.push_back(shape);
  }
  if (shapes.empty() && prm_shapes.empty()) {
    shapes = {{false, {1, 64}}, {false, {8, 256}}, {false, {4, 1024}}, {true, {8, 256, 16}}, {true, {64, 64, 16}}};
    prm_shapes = {{8, 1024}};
  }
  // One checkpoint on disk at a time: each is 1 GB of page cache beside the measured processes.
  const auto directory =
      (std::filesystem::temp_directory_path() / ("quorum-bench-memory-" + std::to_string(::getpid()))).string();
  write_random_checkpoint(directory, false);
  const auto config = model::ModelConfig::load(directory);
  std::printf("Qwen2.5-0.5B shape (hidden 896, 24 layers, 14 heads, 2 KV heads, intermediate 4864, vocab 151936, tied),\n"
              "random BF16 weights on disk; %lld parameters. MiB; baseline = VmRSS of the fresh process with libtorch\n"
              "initialised, before loading; peak = VmHWM after the work. forward B:T = one pass of B sequences of\n"
              "T tokens through a KV cache; generate S:P:N = generate() with S slots, 2S requests of P-token prompts, N new tokens.\n\n",
              static_cast<long long>(config.parameter_count()));
  int failures = 0;
  if (!shapes.empty()) {
    std::printf("| dtype | work | weights | KV cache | activations | accounted | baseline | peak after load | peak | peak - baseline | within account |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
  }
  for (const char* dtype_name : {"float32", "bfloat16"}) {
    const auto dtype = model::parse_weight_dtype(dtype_name, "", "dtype");
    for (const auto& shape : shapes) {
      const auto& n = shape.sizes;
      const auto accounted = shape.generation ? model::generation_resident_bytes(directory, dtype, n[0], n[1], n[2])
                                              : model::model_resident_bytes(directory, dtype, n[0], n[1]);
      const auto work = (shape.generation ? "generate " : "forward ") + sizes_text(shape, ":");
      std::vector<std::size_t> measured(3);  // baseline, peak after load, peak
      if (!measure_in_child("'" + std::string(argv[0]) + (shape.generation ? "' --generate '" : "' --measure '") +
                                directory + "' " + dtype_name + " " + sizes_text(shape, " "),
                            measured)) {
        std::printf("| %s | %s | measurement failed |\n", dtype_name, work.c_str());
        ++failures;
        continue;
      }
      const auto [baseline, after_load, peak] = std::tuple(measured[0], measured[1], measured[2]);
      const bool within = peak - baseline <= accounted.total();
      failures += !within;
      std::printf("| %s | %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %s |\n", dtype_name,
                  work.c_str(), mib(accounted.weights),
                  mib(accounted.kv_cache), mib(accounted.activations), mib(accounted.total()), mib(baseline),
                  mib(after_load), mib(peak), mib(peak - baseline), within ? "yes" : "NO");
      std::fflush(stdout);
    }
  }
  std::filesystem::remove_all(directory);
  if (prm_shapes.empty()) return failures == 0 ? 0 : 1;
  const auto& prm_directory = directory;
  write_random_checkpoint(prm_directory, true);
  std::printf("\nPRM (the same backbone, a reward head): prm_resident_bytes for a worker at the batch size and inputs of up\n"
              "to max tokens, against a lease of full scoring groups at max tokens / 4, / 2 and max tokens.\n\n");
  std::printf("| dtype | batch | max tokens | lease inputs | weights | activations | accounted | baseline | peak after load | peak | peak - baseline | within account |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const char* dtype_name : {"float32", "bfloat16"}) {
    const auto dtype = model::parse_weight_dtype(dtype_name, "", "dtype");
    for (const auto& [batch, tokens] : prm_shapes) {
      config::PrmSpec spec;
      spec.path = prm_directory, spec.dtype = dtype_name, spec.device = "cpu";
      const auto accounted = model::prm_resident_bytes(spec, batch, tokens);
      const auto weights = model::model_weight_bytes(prm_directory, dtype);
      std::vector<std::size_t> measured(4);  // baseline, peak after load, peak, lease inputs
      if (!measure_in_child("'" + std::string(argv[0]) + "' --measure-prm '" + prm_directory + "' " + dtype_name + " " +
                                std::to_string(batch) + " " + std::to_string(tokens),
                            measured)) {
        std::printf("| %s | %lld | %lld | measurement failed |\n", dtype_name, static_cast<long long>(batch),
                    static_cast<long long>(tokens));
        ++failures;
        continue;
      }
      const auto [baseline, after_load, peak, inputs] = std::tuple(measured[0], measured[1], measured[2], measured[3]);
      const bool within = peak - baseline <= accounted;
      failures += !within;
      std::printf("| %s | %lld | %lld | %zu | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %s |\n", dtype_name,
                  static_cast<long long>(batch), static_cast<long long>(tokens), inputs, mib(weights),
                  mib(accounted - weights), mib(accounted), mib(baseline), mib(after_load), mib(peak),
                  mib(peak - baseline), within ? "yes" : "NO");
      std::fflush(stdout);
    }
  }
  std::filesystem::remove_all(prm_directory);
  return failures == 0 ? 0 : 1;
}
