// Memory accounting against measurement: for a model of a real shape (Qwen2.5-0.5B's
// config.json, with random weights written at run time as BF16, as the published checkpoint
// stores them) and a few batch shapes, the bytes model_resident_bytes accounts (weights, KV
// cache, one forward pass) beside the peak resident memory (VmHWM) of a fresh process that
// loads the model in float32 or bfloat16 and runs that batch: a prefill of max_tokens - 1
// tokens per sequence into a KV cache, then one decoding step (what a PRM's scoring pass
// holds). Then the same for the sampler's engine: generation_resident_bytes beside the peak of
// generate() with SLOTS slots on 2 x SLOTS requests of two PROMPT-token prompts sampling NEW
// tokens each (temperature 1, no stop token, so every slot runs to the end).
//   bench_memory [BATCH:TOKENS ...] [SLOTS:PROMPT:NEW ...]
//                 (default 1:64 8:256 4:1024 and 8:256:16 64:64:16)
// The child processes are this binary, run as: bench_memory --measure DIR DTYPE BATCH TOKENS
// or bench_memory --generate DIR DTYPE SLOTS PROMPT NEW.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bench/qwen25_config.h"
#include "runtime/model/decoder.h"
#include "runtime/model/generate.h"
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
// DIR/model.safetensors beside DIR/config.json.
void write_random_checkpoint(const std::string& directory) {
  std::filesystem::create_directories(directory);
  std::ofstream(std::filesystem::path(directory) / "config.json") << bench::kQwen25Config;
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

double mib(std::size_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

std::string sizes_text(const Shape& shape, const char* separator) {
  std::string text;
  for (std::size_t i = 0; i < shape.sizes.size(); ++i) text += (i ? separator : "") + std::to_string(shape.sizes[i]);
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 6 && (std::string(argv[1]) == "--measure" || std::string(argv[1]) == "--generate")) {
    Shape shape{std::string(argv[1]) == "--generate", {}};
    for (int i = 4; i < argc; ++i) shape.sizes.push_back(std::atoll(argv[i]));
    if (shape.sizes.size() != (shape.generation ? 3u : 2u)) return 2;
    return measure(argv[2], argv[3], shape);
  }
  std::vector<Shape> shapes;
  for (int i = 1; i < argc; ++i) {
    Shape shape{false, {}};
    std::string arg = argv[i];
    for (std::size_t colon; (colon = arg.find(':')) != std::string::npos; arg = arg.substr(colon + 1))
      shape.sizes.push_back(std::atoll(arg.substr(0, colon).c_str()));
    shape.sizes.push_back(std::atoll(arg.c_str()));
    shape.generation = shape.sizes.size() == 3;
    if (shape.sizes.size() < 2 || shape.sizes.size() > 3) {
      std::fprintf(stderr, "usage: bench_memory [BATCH:TOKENS ...] [SLOTS:PROMPT:NEW ...]\n");
      return 2;
    }
    shapes.push_back(shape);
  }
  if (shapes.empty())
    shapes = {{false, {1, 64}}, {false, {8, 256}}, {false, {4, 1024}}, {true, {8, 256, 16}}, {true, {64, 64, 16}}};
  const auto directory =
      (std::filesystem::temp_directory_path() / ("quorum-bench-memory-" + std::to_string(::getpid()))).string();
  write_random_checkpoint(directory);
  const auto config = model::ModelConfig::load(directory);
  std::printf("Qwen2.5-0.5B shape (hidden 896, 24 layers, 14 heads, 2 KV heads, intermediate 4864, vocab 151936, tied),\n"
              "random BF16 weights on disk; %lld parameters. MiB; baseline = VmRSS of the fresh process with libtorch\n"
              "initialised, before loading; peak = VmHWM after the work. forward B:T = one pass of B sequences of\n"
              "T tokens through a KV cache; generate S:P:N = generate() with S slots, 2S requests of P-token prompts, N new tokens.\n\n",
              static_cast<long long>(config.parameter_count()));
  std::printf("| dtype | work | weights | KV cache | activations | accounted | baseline | peak after load | peak | peak - baseline | within account |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
  int failures = 0;
  for (const char* dtype_name : {"float32", "bfloat16"}) {
    const auto dtype = model::parse_weight_dtype(dtype_name, "", "dtype");
    for (const auto& shape : shapes) {
      const auto& n = shape.sizes;
      const auto accounted = shape.generation ? model::generation_resident_bytes(directory, dtype, n[0], n[1], n[2])
                                              : model::model_resident_bytes(directory, dtype, n[0], n[1]);
      const auto work = (shape.generation ? "generate " : "forward ") + sizes_text(shape, ":");
      const std::string command = "'" + std::string(argv[0]) + (shape.generation ? "' --generate '" : "' --measure '") +
                                  directory + "' " + dtype_name + " " + sizes_text(shape, " ");
      std::size_t baseline = 0, after_load = 0, peak = 0;
      FILE* pipe = ::popen(command.c_str(), "r");
      const bool read = pipe && std::fscanf(pipe, "%zu %zu %zu", &baseline, &after_load, &peak) == 3;
      if (pipe) ::pclose(pipe);
      if (!read) {
        std::printf("| %s | %s | measurement failed |\n", dtype_name, work.c_str());
        ++failures;
        continue;
      }
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
  return failures == 0 ? 0 : 1;
}
