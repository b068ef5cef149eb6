// Benchmark of the models: generation tokens/s at batch 1, 8 and 32 and PRM scoring throughput,
// against a plain eager PyTorch loop with a KV cache over the same weights
// (bench/python_generate.py), run in the same invocation, and the fraction of this CPU's
// measured matrix-multiply rate that generation reaches.
//   bench_generate [POLICY_DIR PRM_DIR]
// Without directories it builds randomly initialised models of the demo policy's size.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <unistd.h>

#include "runtime/model/generate.h"
#include "runtime/model/prm.h"
#include "runtime/model/train.h"

namespace {

using namespace quorum;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

model::ModelConfig demo_sized_config() {
  model::ModelConfig config;
  config.architecture = "Qwen2ForCausalLM";
  config.vocab_size = 512;
  config.hidden_size = 192;
  config.intermediate_size = 512;
  config.num_layers = 4;
  config.num_heads = 6;
  config.num_kv_heads = 2;
  config.head_dim = 32;
  config.qkv_bias = true;
  config.tie_word_embeddings = true;
  return config;
}

double python_rate(const std::string& directory, int batch, int length, const std::string& mode) {
  const std::string command = std::string("/usr/bin/python3 ") + QUORUM_PYTHON_GENERATE + " " + directory + " " +
                              std::to_string(batch) + " " + std::to_string(length) + " " + mode;
  FILE* pipe = popen(command.c_str(), "r");
  double rate = 0;
  if (!pipe || std::fscanf(pipe, "%lf", &rate) != 1) rate = 0;
  if (pipe) pclose(pipe);
  return rate;
}

// Multiply-adds per generated token: every weight matrix once (the output head included).
double flops_per_token(const model::ModelConfig& c) {
  const double attention = c.hidden_size * c.head_dim * (c.num_heads * 2.0 + c.num_kv_heads * 2.0);
  const double mlp = 3.0 * c.hidden_size * c.intermediate_size;
  return 2.0 * (c.num_layers * (attention + mlp) + static_cast<double>(c.hidden_size) * c.vocab_size);
}

double matmul_gflops() {
  const auto a = torch::randn({512, 512}), b = torch::randn({512, 512});
  torch::matmul(a, b);
  const int repeats = 50;
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < repeats; ++r) torch::matmul(a, b);
  return repeats * 2.0 * 512 * 512 * 512 / seconds_since(start) / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  const auto scratch = std::filesystem::temp_directory_path() / ("quorum-bench-generate-" + std::to_string(::getpid()));
  std::string policy_dir = argc > 2 ? argv[1] : (scratch / "policy").string();
  std::string prm_dir = argc > 2 ? argv[2] : (scratch / "prm").string();
  model::PrmSettings prm_settings;
  prm_settings.step_token_id = 2;
  if (argc <= 2) {
    model::Decoder policy(demo_sized_config());
    model::initialize(*policy, 1);
    model::save_decoder(policy, policy_dir);
    model::Decoder backbone(demo_sized_config());
    model::initialize(*backbone, 2);
    model::ProcessRewardModel(backbone, prm_settings, 3).save(prm_dir);
  }
  auto policy = model::load_decoder(policy_dir);
  model::ProcessRewardModel prm(prm_dir, prm_settings);
  const auto& config = policy->config();
  const int prompt = 32, fresh = 64;

  const double peak = matmul_gflops();
  std::printf("models: hidden %ld, %ld layers, vocab %ld; torch threads: %d; 512x512 matmul: %.1f GFLOP/s\n\n",
              config.hidden_size, config.num_layers, config.vocab_size, torch::get_num_threads(), peak);
  std::printf("| work | batch | quorum tokens/s | Python loop tokens/s | ratio | quorum share of matmul rate |\n");
  std::printf("|---|---:|---:|---:|---:|---:|\n");
  for (int batch : {1, 8, 32}) {
    std::vector<model::GenerationRequest> requests;
    for (int b = 0; b < batch; ++b) {
      model::GenerationRequest request;
      for (int t = 0; t < prompt; ++t) request.prompt.push_back(3 + (b * 7 + t * 13) % (config.vocab_size - 3));
      request.seed = static_cast<std::uint64_t>(b);
      requests.push_back(request);
    }
    model::SamplingSettings settings;
    settings.max_new_tokens = fresh;
    settings.temperature = 0;
    model::generate(policy, requests, settings);  // warm-up
    const auto start = std::chrono::steady_clock::now();
    model::generate(policy, requests, settings);
    const double rate = batch * fresh / seconds_since(start);
    const double python = python_rate(policy_dir, batch, prompt, std::to_string(fresh));
    std::printf("| generate | %d | %.0f | %.0f | %.2fx | %.1f%% |\n", batch, rate, python, python > 0 ? rate / python : 0.0,
                100.0 * rate * flops_per_token(config) / (peak * 1e9));
  }
  {
    const int batch = 32, length = 128;
    std::vector<std::vector<std::int64_t>> sequences(batch);
    for (int b = 0; b < batch; ++b)
      for (int t = 0; t < length; ++t) sequences[b].push_back(t % 16 == 15 ? 2 : 3 + (b * 5 + t * 11) % (config.vocab_size - 3));
    prm.score(sequences);  // warm-up
    const auto start = std::chrono::steady_clock::now();
    prm.score(sequences);
    const double rate = batch * length / seconds_since(start);
    const double python = python_rate(prm_dir, batch, length, "score");
    std::printf("| PRM scoring | %d | %.0f | %.0f | %.2fx | |\n", batch, rate, python, python > 0 ? rate / python : 0.0);
  }
  if (argc <= 2) std::filesystem::remove_all(scratch);
  return 0;
}
