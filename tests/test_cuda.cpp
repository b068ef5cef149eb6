// CUDA against the CPU on the same checkpoints: the decoder's logits (float32 and bfloat16, four
// architectures, a left-padded row), greedy generation of a shipped policy, a shipped PRM's step
// scores; and a libtorch built with CUDA must use the GPU of a machine that has one. All tagged
// [cuda]. Without a GPU that libtorch can use, each says why (WARN) and passes: Catch2 2.13 has
// no SKIP. bench/gpu_check.sh builds quorum against a CUDA libtorch and runs them on a GPU.
#include <cstdlib>
#include <filesystem>

#include "runtime/model/decoder.h"
#include "runtime/model/device.h"
#include "runtime/model/generate.h"
#include "runtime/model/loading.h"
#include "runtime/model/task_models.h"
#include "runtime/model/train.h"
// libtorch brings glog, whose CHECK would shadow Catch's.
#undef CHECK
#include <catch2/catch.hpp>

#include "cli_runner.h"
#include "runtime/task/arithmetic.h"

using namespace quorum;
using quorum::testing::TempDir;

namespace {

// True when libtorch can compute on a GPU here; otherwise says why the test is skipped.
bool cuda_or_skip() {
  if (torch::cuda::is_available()) return true;
  WARN("skipped: " << (QUORUM_TORCH_CUDA ? "this libtorch has CUDA, but no GPU is visible"
                                          : "this libtorch is CPU-only (README, \"A GPU build\")"));
  return false;
}

double relative_error(const torch::Tensor& got, const torch::Tensor& want) {
  return ((got - want).abs().max() / want.abs().max()).item<double>();
}

// Small checkpoints of four architectures: Qwen2 (q/k/v biases, tied embeddings), Mistral (a
// sliding window of 8, shorter than the inputs), Qwen3 (q/k norms, head_dim != hidden / heads)
// and Llama 3 (scaled rotary embeddings, original_max_position_embeddings 16).
std::vector<std::pair<std::string, model::ModelConfig>> variants() {
  const auto qwen2 = model::demo_shape("small", 97);
  auto mistral = qwen2;
  mistral.architecture = "MistralForCausalLM", mistral.model_type = "mistral";
  mistral.qkv_bias = false, mistral.tie_word_embeddings = false;
  mistral.sliding_window = 8;
  mistral.windowed_layers.assign(mistral.num_layers, true);
  auto qwen3 = qwen2;
  qwen3.architecture = "Qwen3ForCausalLM", qwen3.model_type = "qwen3";
  qwen3.qkv_bias = false, qwen3.qk_norm = true, qwen3.head_dim = 32;
  auto llama3 = qwen2;
  llama3.architecture = "LlamaForCausalLM", llama3.model_type = "llama";
  llama3.qkv_bias = false, llama3.tie_word_embeddings = false;
  llama3.rope.type = model::RopeSettings::Type::llama3;
  llama3.rope.factor = 8, llama3.rope.low_freq_factor = 1, llama3.rope.high_freq_factor = 4;
  llama3.rope.original_max_position_embeddings = 16;
  return {{"qwen2", qwen2}, {"mistral", mistral}, {"qwen3", qwen3}, {"llama3", llama3}};
}

// Seeded random weights with a standard deviation of 0.1 (five times initialize's), so that
// attention is far from uniform and a wrong mask, window or rotation changes the logits.
void write_random_checkpoint(const model::ModelConfig& config, const std::filesystem::path& dir) {
  model::Decoder decoder(config);
  model::initialize(*decoder, 11);
  torch::NoGradGuard no_grad;
  for (auto& p : decoder->parameters())
    if (p.dim() == 2) p.mul_(5);
  model::save_decoder(decoder, dir.string());
}

// Three rows of 40 tokens, the last left-padded by 6 (masked out), with their positions.
struct Inputs {
  torch::Tensor ids, positions, valid;
};

Inputs random_inputs(std::int64_t vocab) {
  torch::manual_seed(5);
  auto ids = torch::randint(0, vocab, {3, 40}, torch::kInt64);
  auto valid = torch::ones({3, 40}, torch::kBool);
  valid.index_put_({2, torch::indexing::Slice(0, 6)}, false);
  ids.index_put_({2, torch::indexing::Slice(0, 6)}, 0);
  return {ids, (valid.to(torch::kInt64).cumsum(1) - 1).clamp_min(0), valid};
}

// The logits at the valid positions [valid tokens, vocab], on the CPU, computed where the
// decoder's weights are.
torch::Tensor valid_logits(model::Decoder& decoder, const Inputs& in) {
  torch::NoGradGuard no_grad;
  const auto device = decoder->parameters().front().device();
  const auto logits = decoder->logits(decoder->hidden(in.ids.to(device), in.positions.to(device), in.valid.to(device)));
  return logits.cpu().index({in.valid});
}

std::string shipped_model(const char* name) { return std::string(QUORUM_TEST_DATA) + "/../../models/" + name; }

// The CPU's logits for the token after `ids`.
torch::Tensor next_token_logits(model::Decoder& decoder, const std::vector<std::int64_t>& ids) {
  torch::NoGradGuard no_grad;
  const auto n = static_cast<std::int64_t>(ids.size());
  const auto input = torch::tensor(ids, torch::kInt64).view({1, n});
  return decoder->logits(decoder->hidden(input, torch::arange(n, torch::kInt64).view({1, n}))).select(1, n - 1).squeeze(0);
}

}  // namespace

TEST_CASE("CUDA: a libtorch built with CUDA uses the GPU of a machine that has one", "[cuda]") {
  // The NVIDIA driver publishes this wherever it runs (containers included); CUDA_VISIBLE_DEVICES
  // set empty hides every GPU on purpose.
  const bool driver = std::filesystem::exists("/proc/driver/nvidia/version");
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  if (!QUORUM_TORCH_CUDA || !driver || (visible && !*visible)) {
    WARN("skipped: " << (!QUORUM_TORCH_CUDA ? "this libtorch is CPU-only (README, \"A GPU build\")"
                         : !driver          ? "no NVIDIA driver here (/proc/driver/nvidia/version)"
                                            : "CUDA_VISIBLE_DEVICES is empty"));
    return;
  }
  // False here means libtorch_cuda was not loaded (linked --as-needed away) or the driver is
  // older than this libtorch's CUDA: `device: auto` would silently run on the CPU.
  REQUIRE(torch::cuda::is_available());
  CHECK(torch::cuda::device_count() >= 1);
  CHECK(model::resolve_device("auto") == torch::Device(torch::kCUDA, 0));
}

TEST_CASE("CUDA: the decoder's logits are the CPU's, in float32 and bfloat16", "[cuda]") {
  for (const auto& [name, config] : variants()) {
    DYNAMIC_SECTION(name) {
      TempDir dir("cuda-logits-" + name);
      write_random_checkpoint(config, dir.path());
      const auto in = random_inputs(config.vocab_size);
      auto cpu = model::load_decoder(dir.path().string());
      auto cpu_bfloat16 = model::load_decoder(dir.path().string(), torch::kCPU, model::WeightDtype::bfloat16);
      const auto want = valid_logits(cpu, in);
      const double cpu_bfloat16_error = relative_error(valid_logits(cpu_bfloat16, in), want);
      if (!cuda_or_skip()) return;

      const auto device = model::resolve_device("auto");
      auto gpu = model::load_decoder(dir.path().string(), device);
      auto gpu_bfloat16 = model::load_decoder(dir.path().string(), device, model::WeightDtype::bfloat16);
      for (const auto& p : gpu->parameters()) REQUIRE(p.device() == device);
      for (const auto& p : gpu_bfloat16->parameters()) REQUIRE(p.scalar_type() == torch::kBFloat16);
      const double error = relative_error(valid_logits(gpu, in), want);
      const double bfloat16_error = relative_error(valid_logits(gpu_bfloat16, in), want);
      INFO("largest error relative to the largest logit: float32 " << error << ", bfloat16 " << bfloat16_error
                                                                   << " (bfloat16 on the CPU: " << cpu_bfloat16_error << ")");
      // float32 as in tests/test_model.cpp against the PyTorch reference (cuBLAS computes float32
      // products in float32 unless TF32 is allowed, and libtorch does not allow it by default);
      // bfloat16 about as far from float32 as the CPU's bfloat16 is.
      CHECK(error < 1e-4);
      CHECK(bfloat16_error < 2 * cpu_bfloat16_error + 1e-3);
    }
  }
}

TEST_CASE("CUDA: greedy generation of a shipped policy gives the CPU's tokens", "[cuda]") {
  config::PolicySpec spec;
  spec.name = "policy-medium", spec.path = shipped_model("policy-medium");
  spec.device = "cpu", spec.dtype = "float32", spec.temperature = 0, spec.max_new_tokens = 48;
  auto cpu = model::load_policy(spec);
  std::vector<model::GenerationRequest> requests;
  for (const auto& problem : task::generate_set(2, 21, 8)) requests.push_back({cpu.prompt_ids(task::problem_text(problem)), 0});
  const auto want = model::generate(cpu.decoder, requests, cpu.sampling);
  if (!cuda_or_skip()) return;

  spec.device = "auto";  // the sweep's default: the GPU when there is one
  auto gpu = model::load_policy(spec);
  REQUIRE(gpu.decoder->parameters().front().device().is_cuda());
  const auto got = model::generate(gpu.decoder, requests, gpu.sampling);
  REQUIRE(got.size() == want.size());
  std::size_t compared = 0, total = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const auto& a = want[i].tokens;
    const auto& b = got[i].tokens;
    total += a.size();
    std::size_t k = 0;
    while (k < a.size() && k < b.size() && a[k] == b[k]) ++k;
    compared += k;
    if (k == a.size() && k == b.size()) {
      CHECK(got[i].stopped == want[i].stopped);
      continue;
    }
    // The two may part only where the CPU's two candidates are tied to float32 rounding; the
    // rest of that sequence then follows another prefix and is not compared.
    REQUIRE(k < a.size());
    REQUIRE(k < b.size());
    auto prefix = requests[i].prompt;
    prefix.insert(prefix.end(), a.begin(), a.begin() + static_cast<std::ptrdiff_t>(k));
    const auto logits = next_token_logits(cpu.decoder, prefix);
    const double margin = (logits[a[k]] - logits[b[k]]).item<double>() / logits.abs().max().item<double>();
    INFO("sequence " << i << " parts at token " << k << ": CPU " << a[k] << ", CUDA " << b[k] << ", margin " << margin);
    CHECK(margin < 1e-4);
  }
  // A trained policy's greedy tokens have clear margins: nearly all of them are compared.
  CHECK(compared >= 0.9 * static_cast<double>(total));
}

TEST_CASE("CUDA: a shipped PRM's step scores are the CPU's", "[cuda]") {
  config::PrmSpec spec;
  spec.name = "prm-small", spec.path = shipped_model("prm-small"), spec.device = "cpu", spec.dtype = "float32";
  const auto cpu = model::load_prm(spec);
  // Reference solutions, and the same with a wrong result in the first step.
  std::vector<prompts::ScoringInput> inputs;
  for (const auto& problem : task::generate_set(3, 22, 4)) {
    auto steps = task::solution_steps(problem);
    inputs.push_back(cpu.inputs.build(task::problem_text(problem), steps));
    steps.front() += "1";
    inputs.push_back(cpu.inputs.build(task::problem_text(problem), steps));
  }
  const auto want = cpu.prm->score(inputs);
  if (!cuda_or_skip()) return;

  spec.device = "auto";
  const auto gpu = model::load_prm(spec);
  REQUIRE(gpu.prm->decoder()->parameters().front().device().is_cuda());
  const auto got = gpu.prm->score(inputs);
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    REQUIRE(got[i].size() == want[i].size());
    for (std::size_t s = 0; s < want[i].size(); ++s) CHECK(std::abs(got[i][s] - want[i][s]) < 1e-4);
  }
}
