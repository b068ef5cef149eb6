// Benchmark of generation and PRM scoring: quorum with continuous batching, quorum with static
// batching and a plain eager PyTorch loop with a KV cache over the same weights
// (bench/python_generate.py, Hugging Face generate's static batches), in the same invocation,
// on the same work: 16 samples of each of a few prompts at temperature 1, up to 256 new tokens
// or an end-of-sequence token. Reported: useful tokens per second (generated, eos excluded),
// the ratios, and the share of this machine's measured limits reached: the matrix-multiply rate
// (large batches are compute-bound) and, at batch 1, the memory bandwidth against the weight
// bytes read per token. Also PRM scoring throughput, and the peak resident memory of a sampler
// at batch 64 beside the bound workers.h accounts for it.
//
//   bench_generate [--device cpu|cuda] [--dtype float32|bfloat16] [--batch N] [--quick]
//                  [--no-python] [POLICY_DIR PRM_DIR]
//
// Two models: a demo-sized one (the quick part; POLICY_DIR PRM_DIR replace it with checkpoints,
// e.g. the shipped models, which stop at their config's eos token by themselves) and one of
// Qwen2.5-0.5B's shape (skipped by --quick). Both have random weights, written to a temporary
// directory so that the Python side loads the very same ones, and removed at the end.
// Every quorum measurement runs in a fresh child process (this binary with --child), as the
// Python one does, which also gives each its own peak resident memory. Progress goes to stderr.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench/qwen25_config.h"
#include "runtime/common/error.h"
#include "runtime/model/device.h"
#include "runtime/model/generate.h"
#include "runtime/model/prm.h"
#include "runtime/model/train.h"
#include "runtime/model/workers.h"

namespace {

using namespace quorum;
using Clock = std::chrono::steady_clock;
using TokenLists = std::vector<std::vector<std::int64_t>>;

const auto kStart = Clock::now();

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

void progress(const std::string& what) {
  std::fprintf(stderr, "[bench_generate %6.0fs] %s\n", seconds_since(kStart), what.c_str());
}

struct Options {
  std::string device = "cpu";
  std::string dtype = "float32";
  std::size_t batch = 0;  // 0: every batch size of the table
  std::int64_t prompts = 0;  // prompts per row (16 samples each); 0: generation_work's sizing
  bool quick = false;
  bool python = true;
  std::string policy_dir, prm_dir;  // empty: the demo-sized random models
  std::vector<std::string> child;   // --child ARGS...: one quorum measurement (internal)
};

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "bench_generate: %s\nusage: bench_generate [--device cpu|cuda] [--dtype float32|bfloat16] [--batch N] "
               "[--prompts N] [--quick] [--no-python] [POLICY_DIR PRM_DIR]\n",
               problem.c_str());
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options options;
  std::vector<std::string> directories;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--device") options.device = value();
    else if (arg == "--dtype") options.dtype = value();
    else if (arg == "--batch") {
      const auto text = value();
      char* end = nullptr;
      const auto batch = std::strtoll(text.c_str(), &end, 10);
      if (*end != '\0' || batch < 1) usage("--batch needs a positive integer, not '" + text + "'");
      options.batch = static_cast<std::size_t>(batch);
    } else if (arg == "--prompts") {
      const auto text = value();
      char* end = nullptr;
      options.prompts = std::strtoll(text.c_str(), &end, 10);
      if (*end != '\0' || options.prompts < 1) usage("--prompts needs a positive integer, not '" + text + "'");
    } else if (arg == "--quick") options.quick = true;
    else if (arg == "--no-python") options.python = false;
    else if (arg == "--child") {
      options.child.assign(argv + i + 1, argv + argc);
      break;
    } else if (arg.rfind("--", 0) == 0) usage("unknown option " + arg);
    else directories.push_back(arg);
  }
  if (options.device != "cpu" && options.device != "cuda") usage("--device is cpu or cuda, not '" + options.device + "'");
  if (options.dtype != "float32" && options.dtype != "bfloat16")
    usage("--dtype is float32 or bfloat16, not '" + options.dtype + "'");
  if (!directories.empty() && directories.size() != 2) usage("give both POLICY_DIR and PRM_DIR, or neither");
  if (directories.size() == 2) options.policy_dir = directories[0], options.prm_dir = directories[1];
  // The CUDA comparison with transformers is another script's; the eager loop here is CPU-only.
  if (options.device == "cuda") options.python = false;
  return options;
}

// ---------------------------------------------------------------------------------------------
// Models

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
  config.eos_token_ids = {1};
  return config;
}

// Qwen2.5-0.5B's config.json as published, read as quorum reads it.
model::ModelConfig qwen25_half_billion_config(const std::string& scratch) {
  const auto directory = scratch + "/qwen2.5-0.5b-config";
  std::filesystem::create_directories(directory);
  std::ofstream(directory + "/config.json") << bench::kQwen25Config;
  return model::ModelConfig::load(directory);
}

// The work: kSamplesPerPrompt responses to each prompt of kShortestPrompt-kLongestPrompt tokens.
constexpr std::int64_t kSamplesPerPrompt = 16;
constexpr std::int64_t kMaxNewTokens = 256;
constexpr std::int64_t kShortestPrompt = 32, kLongestPrompt = 64;

// Qwen2.5-Math-PRM's step token, "<extra_0>".
constexpr std::int64_t kQwenStepToken = 151651;
constexpr std::int64_t kDemoStepToken = 2;
constexpr std::int64_t kPad = 0;

// Random tokens in [3, vocab) other than the given ones (ids 0-2 stand for pad, eos and step
// token in the demo vocabulary).
class TokenDraw {
 public:
  TokenDraw(std::int64_t vocab, std::vector<std::int64_t> excluded, std::uint64_t seed)
      : excluded_(std::move(excluded)), token_(3, vocab - 1), random_(seed) {}
  std::int64_t token() {
    for (;;) {
      const auto t = token_(random_);
      if (std::find(excluded_.begin(), excluded_.end(), t) == excluded_.end()) return t;
    }
  }
  std::int64_t between(std::int64_t low, std::int64_t high) {
    return std::uniform_int_distribution<std::int64_t>(low, high)(random_);
  }
  std::vector<std::int64_t> tokens(std::int64_t count) {
    std::vector<std::int64_t> out;
    for (std::int64_t i = 0; i < count; ++i) out.push_back(token());
    return out;
  }

 private:
  std::vector<std::int64_t> excluded_;
  std::uniform_int_distribution<std::int64_t> token_;
  std::mt19937_64 random_;
};

// The eos token's probability at each of a forward pass's positions, as a function of how much
// the eos row of the (tied) head is raised in one hidden dimension.
class StopProbability {
 public:
  StopProbability(const torch::Tensor& hidden, const torch::Tensor& logits, std::int64_t eos, std::int64_t dimension)
      : eos_logit_(logits.select(1, eos).clone()), entry_(hidden.select(1, dimension).clone()) {
    auto others = logits.clone();
    others.select(1, eos).fill_(-std::numeric_limits<float>::infinity());
    others_ = torch::logsumexp(others, 1);
  }
  double mean(double raise) const { return torch::sigmoid(eos_logit_ + entry_ * raise - others_).mean().item<double>(); }
  // The raise at which the mean probability is target (bisection; the mean grows with the raise
  // because the entry is positive at nearly every position).
  double raise_for(double target) const {
    double low = 0, high = 1;
    while (mean(high) < target) high *= 2;
    for (int i = 0; i < 60; ++i) {
      const double middle = (low + high) / 2;
      (mean(middle) < target ? low : high) = middle;
    }
    return high;
  }
  const torch::Tensor& entry() const { return entry_; }

 private:
  torch::Tensor eos_logit_, entry_, others_;
};

// Random weights give the eos token a probability of about 1/vocab per step, so sampled
// responses would practically all run to max_new_tokens, unlike a real model's, whose lengths
// spread. To get real sampling's spread of lengths (and so the work continuous batching
// exists for), the weights are shaped, and nothing else is changed:
//  1. every embedding row gets a common offset in one hidden dimension. All logits gain the
//     same amount from it (the head is tied to the embedding), so sampling is unchanged; but the
//     residual stream of every token now carries a large common component there, which the
//     final norm turns into a hidden-state entry of stable sign and size at every position;
//  2. the eos row's entry in that dimension is raised, which adds (that entry x raise) to the
//     eos logit alone: the raise is calibrated on one forward pass (over random tokens, at the
//     positions where generation samples) so that the eos probability averages
//     target_probability per step. The eos row is only read as the head's (eos never is an input), so that pass
//     sees exactly the hidden states generation will.
// The spread of lengths actually obtained is measured and printed with the table.
// The offset is large against the residual stream's own entries (about 1 on Qwen2.5-0.5B's shape
// with these random weights), so that entry varies by about 1% over positions; with an offset
// of 1 it drifted with the position, and the mean probability came from the first positions.
void shape_stop_probability(model::Decoder& decoder, std::int64_t eos, double target_probability) {
  constexpr std::int64_t kDimension = 0;
  constexpr double kOffset = 10.0;
  constexpr std::int64_t kPositions = kLongestPrompt + kMaxNewTokens, kFirstSampled = kShortestPrompt - 1;
  torch::NoGradGuard no_grad;
  auto embedding = decoder->named_parameters()["model.embed_tokens.weight"];
  embedding.select(1, kDimension).add_(kOffset);
  const auto& config = decoder->config();
  const auto ids = torch::tensor(TokenDraw(config.vocab_size, {eos}, 7).tokens(kPositions), torch::kInt64).view({1, -1});
  const auto hidden = decoder->hidden(ids, torch::arange(kPositions, torch::kInt64).view({1, -1}))[0]
                          .narrow(0, kFirstSampled, kPositions - kFirstSampled)
                          .to(torch::kFloat32);
  const StopProbability stop(hidden, decoder->logits(hidden), eos, kDimension);
  const double raise = stop.raise_for(target_probability);
  embedding[eos][kDimension].add_(raise);
  std::ostringstream note;
  note << "eos row raised by " << raise << " in dimension " << kDimension << " (final hidden entry there: mean "
       << stop.entry().mean().item<double>() << ", std " << stop.entry().std().item<double>()
       << "); mean eos probability per step " << stop.mean(raise);
  progress(note.str());
}

struct BenchModels {
  std::string description, policy_dir, prm_dir;
  std::int64_t eos = -1;  // -1: none (no stop token)
  std::int64_t step_token = kDemoStepToken;
  std::int64_t vocab = 0;
  // Sized for a bounded run time: only as many requests as fill the slots (see generation_work).
  bool large = false;
};

// A policy of the config's shape with random weights and a shaped stop probability, and a
// reward-head PRM on the same backbone, saved under directory.
BenchModels make_random_models(const model::ModelConfig& config, const std::string& directory,
                               const std::string& description, std::int64_t step_token, bool large) {
  progress("initialising " + description);
  model::Decoder policy(config);
  model::initialize(*policy, 1);
  shape_stop_probability(policy, config.eos_token_ids.front(), 1.0 / 90);
  BenchModels models{description, directory + "/policy", directory + "/prm", config.eos_token_ids.front(), step_token,
                     config.vocab_size, large};
  model::save_decoder(policy, models.policy_dir);
  model::PrmSettings prm_settings;
  prm_settings.step_token_id = step_token;
  model::ProcessRewardModel(policy, prm_settings, 3).save(models.prm_dir);
  return models;
}

BenchModels given_models(const Options& options) {
  const auto config = model::ModelConfig::load(options.policy_dir);
  return {options.policy_dir + " and " + options.prm_dir,
          options.policy_dir,
          options.prm_dir,
          config.eos_token_ids.empty() ? -1 : config.eos_token_ids.front(),
          kDemoStepToken,
          config.vocab_size,
          false};
}

// ---------------------------------------------------------------------------------------------
// Work

struct GenerationWork {
  std::size_t batch = 0;
  TokenLists prompts;
  std::int64_t samples = kSamplesPerPrompt;
  std::size_t requests() const { return prompts.size() * static_cast<std::size_t>(samples); }
};

// How much work a batch size gets: enough requests to fill its slots, and on the real-shape
// model no more, for the whole bench to stay within about 20 minutes on a 2-core machine;
// batch 1 there samples one prompt twice.
// `prompts` (when positive) overrides the count, e.g. to give the real-shape model more requests
// than slots, so that continuous batching has pending requests to fill freed slots with.
GenerationWork generation_work(const BenchModels& models, std::size_t batch, std::int64_t prompts) {
  GenerationWork work;
  work.batch = batch;
  if (prompts <= 0 && models.large) {
    prompts = std::max<std::int64_t>(1, static_cast<std::int64_t>(batch) / kSamplesPerPrompt);
    if (batch == 1) work.samples = 2;
  } else if (prompts <= 0) {
    prompts = std::max<std::int64_t>(1, static_cast<std::int64_t>(batch) / 4);
  }
  TokenDraw draw(models.vocab, {models.eos, models.step_token}, 11);
  for (std::int64_t p = 0; p < prompts; ++p) work.prompts.push_back(draw.tokens(draw.between(kShortestPrompt, kLongestPrompt)));
  return work;
}

// PRM inputs of mixed lengths: a prompt, then steps of 8-40 tokens each followed by the step
// token, 16-256 response tokens in all.
TokenLists scoring_work(const BenchModels& models, std::int64_t sequences) {
  TokenDraw draw(models.vocab, {models.eos, models.step_token}, 13);
  TokenLists work;
  for (std::int64_t s = 0; s < sequences; ++s) {
    auto sequence = draw.tokens(draw.between(kShortestPrompt, kLongestPrompt));
    const auto response = draw.between(16, kMaxNewTokens);
    for (std::int64_t used = 0; used < response;) {
      const auto step = std::min(draw.between(8, 40), response - used);
      const auto tokens = draw.tokens(step - 1);
      sequence.insert(sequence.end(), tokens.begin(), tokens.end());
      sequence.push_back(models.step_token);
      used += step;
    }
    work.push_back(sequence);
  }
  return work;
}

void write_token_lists(const std::string& path, const TokenLists& lists) {
  std::ofstream out(path);
  for (const auto& list : lists) {
    for (std::size_t i = 0; i < list.size(); ++i) out << (i ? " " : "") << list[i];
    out << "\n";
  }
  if (!out) throw std::runtime_error("cannot write " + path);
}

TokenLists read_token_lists(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path, 0, "", "cannot read");
  TokenLists lists;
  for (std::string line; std::getline(in, line);) {
    std::istringstream tokens(line);
    lists.emplace_back(std::istream_iterator<std::int64_t>(tokens), std::istream_iterator<std::int64_t>());
  }
  return lists;
}

// ---------------------------------------------------------------------------------------------
// Measurements

// A field of /proc/self/status in bytes ("VmRSS", "VmHWM").
std::size_t status_bytes(const char* field) {
  std::ifstream in("/proc/self/status");
  const std::string prefix = std::string(field) + ":";
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) return std::stoull(line.substr(prefix.size())) * 1024;
  return 0;
}

// Lowers VmHWM to the current VmRSS, so that a later VmHWM is the peak from here on.
void reset_peak_resident() { std::ofstream("/proc/self/clear_refs") << "5"; }

// What one measurement printed: "TOKENS SECONDS MEAN MIN MAX", then from quorum's children
// "BEFORE_LOAD LOADED PEAK" resident bytes (peak: from the start of the work).
struct Measurement {
  double tokens = 0, seconds = 0, mean_length = 0, min_length = 0, max_length = 0;
  double before_load = 0, loaded = 0, peak = 0;
  double rate() const { return tokens / seconds; }
};

std::optional<Measurement> run_measurement(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  Measurement m;
  const int read = !pipe ? 0 : std::fscanf(pipe, "%lf %lf %lf %lf %lf %lf %lf %lf", &m.tokens, &m.seconds, &m.mean_length,
                               &m.min_length, &m.max_length, &m.before_load, &m.loaded, &m.peak);
  const int status = pipe ? ::pclose(pipe) : -1;
  if (status == 0 && read >= 5 && m.seconds > 0) return m;
  progress("FAILED (shown as - in the table): " + command);
  return std::nullopt;
}

std::string quoted(const std::string& text) { return "'" + text + "'"; }

class Contenders {
 public:
  Contenders(const Options& options, std::string scratch) : options_(options), scratch_(std::move(scratch)) {}

  std::optional<Measurement> quorum_generation(const BenchModels& models, const GenerationWork& work, bool continuous) {
    progress(std::string("quorum ") + (continuous ? "continuous" : "static") + " batching, batch " +
             std::to_string(work.batch) + ", " + std::to_string(work.requests()) + " requests");
    return run_measurement(self() + " --child generate " + quoted(models.policy_dir) + " " + tokens_file(work.prompts) +
                           " " + std::to_string(work.samples) + " " + std::to_string(models.eos) + " " +
                           std::to_string(work.batch) + " " + (continuous ? "continuous" : "static"));
  }
  std::optional<Measurement> python_generation(const BenchModels& models, const GenerationWork& work) {
    if (!options_.python) return std::nullopt;
    progress("Python loop, batch " + std::to_string(work.batch) + ", " + std::to_string(work.requests()) + " requests");
    return run_measurement(python("generate", models.policy_dir, work.prompts, work.batch) + " --samples " +
                           std::to_string(work.samples) + " --max-new-tokens " + std::to_string(kMaxNewTokens) +
                           " --eos " + std::to_string(models.eos));
  }
  std::optional<Measurement> quorum_scoring(const BenchModels& models, const TokenLists& sequences) {
    progress("quorum PRM scoring, " + std::to_string(sequences.size()) + " sequences");
    return run_measurement(self() + " --child score " + quoted(models.prm_dir) + " " + tokens_file(sequences) + " " +
                           std::to_string(models.step_token));
  }
  std::optional<Measurement> python_scoring(const BenchModels& models, const TokenLists& sequences, std::size_t batch) {
    if (!options_.python) return std::nullopt;
    progress("Python PRM scoring, " + std::to_string(sequences.size()) + " sequences");
    return run_measurement(python("score", models.prm_dir, sequences, batch));
  }

 private:
  std::string self() const {
    return quoted(std::filesystem::read_symlink("/proc/self/exe").string()) + " --device " + options_.device +
           " --dtype " + options_.dtype;
  }
  std::string python(const std::string& mode, const std::string& directory, const TokenLists& tokens,
                     std::size_t batch) {
    return std::string("/usr/bin/python3 ") + QUORUM_PYTHON_GENERATE + " " + mode + " " + quoted(directory) + " " +
           tokens_file(tokens) + " --batch " + std::to_string(batch) + " --threads " +
           std::to_string(torch::get_num_threads()) + " --dtype " + options_.dtype;
  }
  std::string tokens_file(const TokenLists& tokens) {
    const auto path = scratch_ + "/tokens-" + std::to_string(files_++) + ".txt";
    write_token_lists(path, tokens);
    return quoted(path);
  }
  const Options& options_;
  std::string scratch_;
  int files_ = 0;
};

// The child side of one quorum measurement: the lengths of what was produced (responses, or
// scored sequences), the seconds the work took, and the resident bytes once the model was loaded.
struct ChildWork {
  std::vector<double> lengths;
  double seconds = 0;
  std::size_t loaded = 0;
};

// args: generate POLICY_DIR PROMPTS_FILE SAMPLES EOS SLOTS continuous|static
ChildWork child_generation(const std::vector<std::string>& args, const torch::Device& device, model::WeightDtype dtype) {
  ChildWork done;
  auto decoder = model::load_decoder(args[1], device, dtype);
  done.loaded = status_bytes("VmRSS");
  model::SamplingSettings settings;
  settings.max_new_tokens = kMaxNewTokens;
  settings.temperature = 1.0;
  settings.pad_token_id = kPad;
  if (std::stoll(args[4]) >= 0) settings.stop_token_ids = {std::stoll(args[4])};
  std::vector<model::GenerationRequest> requests;
  for (const auto& prompt : read_token_lists(args[2]))
    for (std::int64_t s = 0; s < std::stoll(args[3]); ++s)
      requests.push_back({prompt, static_cast<std::uint64_t>(requests.size())});
  const model::BatchingSettings batching{std::stoul(args[5]), args[6] == "continuous"};
  auto warm_up = settings;
  warm_up.max_new_tokens = 2;
  model::generate(decoder, {requests.front()}, warm_up);
  reset_peak_resident();
  const auto start = Clock::now();
  const auto results = model::generate(decoder, requests, settings, {}, batching);
  done.seconds = seconds_since(start);
  for (const auto& result : results) done.lengths.push_back(static_cast<double>(result.tokens.size()));
  return done;
}

// args: score PRM_DIR SEQUENCES_FILE STEP_TOKEN
ChildWork child_scoring(const std::vector<std::string>& args, const torch::Device& device, model::WeightDtype dtype) {
  ChildWork done;
  model::PrmSettings settings;
  settings.step_token_id = std::stoll(args[3]);
  settings.pad_token_id = kPad;
  model::ProcessRewardModel prm(args[1], settings, device, dtype);
  done.loaded = status_bytes("VmRSS");
  const auto sequences = read_token_lists(args[2]);
  prm.score({sequences.front()});  // warm-up
  reset_peak_resident();
  const auto start = Clock::now();
  prm.score(sequences);
  done.seconds = seconds_since(start);
  for (const auto& sequence : sequences) done.lengths.push_back(static_cast<double>(sequence.size()));
  return done;
}

// Runs one child measurement and prints it as run_measurement reads it.
int run_child(const Options& options) {
  const auto& args = options.child;
  const bool generating = args.size() == 7 && args[0] == "generate";
  if (!generating && !(args.size() == 4 && args[0] == "score")) usage("bad --child arguments");
  const auto device = model::resolve_device(options.device);
  const auto dtype = model::parse_weight_dtype(options.dtype, "", "dtype");
  (torch::ones({4, 4}) + 1).sum().item<float>();  // libtorch's allocator and thread pool up
  const auto before_load = status_bytes("VmRSS");
  const auto done = generating ? child_generation(args, device, dtype) : child_scoring(args, device, dtype);
  double total = 0;
  for (const auto length : done.lengths) total += length;
  std::printf("%.0f %.6f %.3f %.0f %.0f %zu %zu %zu\n", total, done.seconds, total / static_cast<double>(done.lengths.size()),
              *std::min_element(done.lengths.begin(), done.lengths.end()),
              *std::max_element(done.lengths.begin(), done.lengths.end()), before_load, done.loaded,
              status_bytes("VmHWM"));
  return 0;
}

// This machine's limits, measured in the bench's dtype on its device.
struct Limits {
  double matmul_flops = 0;      // per second, a large square matrix product, best of a few
  double read_bytes = 0;        // per second, summing a 1 GiB buffer, best of a few
  std::int64_t matmul_size = 0;
};

template <class Work>
double best_seconds(Work&& work) {
  work();  // warm-up
  double best = 1e30;
  for (int run = 0; run < 3; ++run) {
    const auto start = Clock::now();
    work();
    best = std::min(best, seconds_since(start));
  }
  return best;
}

Limits measure_limits(const torch::Device& device, torch::Dtype dtype) {
  c10::InferenceMode inference;
  Limits limits;
  limits.matmul_size = device.is_cuda() ? 8192 : 2048;
  const auto options = torch::TensorOptions().device(device).dtype(dtype);
  const auto a = torch::randn({limits.matmul_size, limits.matmul_size}, options);
  const auto b = torch::randn({limits.matmul_size, limits.matmul_size}, options);
  // Reading one element back waits for the device to finish.
  const double multiply = best_seconds([&] { torch::matmul(a, b)[0][0].item<float>(); });
  limits.matmul_flops = 2.0 * std::pow(static_cast<double>(limits.matmul_size), 3) / multiply;
  const auto buffer = torch::ones({std::int64_t{1} << 28}, torch::TensorOptions().device(device).dtype(torch::kFloat32));
  limits.read_bytes = static_cast<double>(buffer.nbytes()) / best_seconds([&] { buffer.sum().item<float>(); });
  return limits;
}

// Multiply-adds x 2 per token: every weight matrix once (the vocabulary head when generating).
double flops_per_token(const model::ModelConfig& c, bool vocabulary_head) {
  const double attention = static_cast<double>(c.hidden_size) * c.head_dim * (c.num_heads * 2.0 + c.num_kv_heads * 2.0);
  const double mlp = 3.0 * c.hidden_size * c.intermediate_size;
  return 2.0 * (c.num_layers * (attention + mlp) + (vocabulary_head ? static_cast<double>(c.hidden_size) * c.vocab_size : 0.0));
}

// ---------------------------------------------------------------------------------------------
// Tables

std::string rate_text(const std::optional<Measurement>& m) {
  if (!m) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", m->rate());
  return text;
}

// "mean (min-max)" of the response or sequence lengths.
std::string lengths_text(const std::optional<Measurement>& m) {
  if (!m) return "-";
  char text[64];
  std::snprintf(text, sizeof text, "%.0f (%.0f-%.0f)", m->mean_length, m->min_length, m->max_length);
  return text;
}

std::string ratio_text(const std::optional<Measurement>& top, const std::optional<Measurement>& bottom) {
  if (!top || !bottom) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.2fx", top->rate() / bottom->rate());
  return text;
}

std::string percent_text(double share, const char* limit) {
  char text[64];
  std::snprintf(text, sizeof text, "%.1f%% of %s", 100.0 * share, limit);
  return text;
}

double mib(double bytes) { return bytes / (1024.0 * 1024.0); }

class Bench {
 public:
  Bench(const Options& options, const std::string& scratch)
      : options_(options),
        dtype_(model::parse_weight_dtype(options.dtype, "", "dtype")),
        limits_(measure_limits(model::resolve_device(options.device), model::torch_dtype(dtype_))),
        contenders_(options, scratch) {}

  void print_machine() const {
    std::printf("Device %s, dtype %s, torch threads %d (the Python loop uses as many). Limits measured here: %ldx%ld "
                "matrix product %.1f GFLOP/s (best of 3); memory read %.1f GB/s (sum of a 1 GiB buffer, best of 3).\n\n",
                options_.device.c_str(), options_.dtype.c_str(), torch::get_num_threads(), limits_.matmul_size,
                limits_.matmul_size, limits_.matmul_flops / 1e9, limits_.read_bytes / 1e9);
  }

  void generation_table(const BenchModels& models, const std::vector<std::size_t>& batches) {
    const auto config = model::ModelConfig::load(models.policy_dir);
    std::printf("### Generation: %s\n\n", models.description.c_str());
    std::printf("%lld samples per prompt (fewer where the requests column says so), prompts of %lld-%lld tokens, "
                "temperature 1, at most %lld new tokens, stop at eos (token %lld). Tokens/s counts generated tokens, eos "
                "excluded. Share of limit: quorum continuous at batch 1 against memory bandwidth (%.0f MiB of weights "
                "read per token), else against the matrix-product rate (%.1f MFLOP per token).\n\n",
                static_cast<long long>(kSamplesPerPrompt), static_cast<long long>(kShortestPrompt),
                static_cast<long long>(kLongestPrompt), static_cast<long long>(kMaxNewTokens),
                static_cast<long long>(models.eos), mib(model::model_weight_bytes(models.policy_dir, dtype_)),
                flops_per_token(config, true) / 1e6);
    std::printf("| batch | requests | response length mean (min-max), quorum continuous / Python | quorum continuous tokens/s | quorum static tokens/s "
                "| Python loop tokens/s | continuous/static | quorum/Python | share of limit |\n");
    std::printf("|---:|---|---|---:|---:|---:|---:|---:|---|\n");
    for (const auto batch : batches) {
      const auto work = generation_work(models, batch, options_.prompts);
      const auto continuous = contenders_.quorum_generation(models, work, true);
      const auto fixed = contenders_.quorum_generation(models, work, false);
      const auto python = contenders_.python_generation(models, work);
      if (!continuous || !fixed || (options_.python && !python)) ++failures_;
      const auto lengths = lengths_text(continuous) + " / " + lengths_text(python);
      std::string share = "-";
      if (continuous)
        share = batch == 1 ? percent_text(continuous->rate() * model::model_weight_bytes(models.policy_dir, dtype_) /
                                              limits_.read_bytes, "bandwidth")
                           : percent_text(continuous->rate() * flops_per_token(config, true) / limits_.matmul_flops,
                                          "matmul rate");
      std::printf("| %zu | %zu (%zu x %lld) | %s | %s | %s | %s | %s | %s | %s |\n", batch, work.requests(),
                  work.prompts.size(), static_cast<long long>(work.samples), lengths.c_str(), rate_text(continuous).c_str(),
                  rate_text(fixed).c_str(), rate_text(python).c_str(), ratio_text(continuous, fixed).c_str(),
                  ratio_text(continuous, python).c_str(), share.c_str());
      std::fflush(stdout);
      if (continuous && batch == 64) sampler_memory_ = {models, *continuous, work};
    }
    std::printf("\n");
  }

  void scoring_table(const BenchModels& models, std::int64_t sequences, std::size_t python_batch) {
    const auto work = scoring_work(models, sequences);
    const auto quorum = contenders_.quorum_scoring(models, work);
    const auto python = contenders_.python_scoring(models, work, python_batch);
    if (!quorum || (options_.python && !python)) ++failures_;
    const auto config = model::ModelConfig::load(models.prm_dir);
    std::printf("### PRM scoring: %s\n\n", models.description.c_str());
    std::printf("| sequences | length mean (min-max) | quorum tokens/s | Python loop tokens/s (batches of %zu) | "
                "quorum/Python | share of matmul rate |\n|---:|---|---:|---:|---:|---|\n",
                python_batch);
    std::printf("| %lld | %s | %s | %s | %s | %s |\n\n", static_cast<long long>(sequences), lengths_text(quorum).c_str(),
                rate_text(quorum).c_str(), rate_text(python).c_str(), ratio_text(quorum, python).c_str(),
                quorum ? percent_text(quorum->rate() * flops_per_token(config, false) / limits_.matmul_flops, "matmul rate").c_str()
                       : "-");
    std::fflush(stdout);
  }

  // The resident memory of the batch-64 continuous sampler's child beside model_resident_bytes.
  void memory_table() const {
    if (!sampler_memory_) return;
    const auto& [models, m, work] = *sampler_memory_;
    std::size_t longest_prompt = 0;
    for (const auto& prompt : work.prompts) longest_prompt = std::max(longest_prompt, prompt.size());
    const auto bound = model::model_resident_bytes(models.policy_dir, dtype_, work.batch,
                                                   longest_prompt + static_cast<std::size_t>(kMaxNewTokens));
    std::printf("### Resident memory of a sampler: %s, batch %zu, %s\n\n", models.description.c_str(), work.batch,
                options_.device.c_str());
    std::printf("MiB, of the child process that ran quorum continuous at batch %zu (VmRSS, VmHWM; peak reset after "
                "loading and a warm-up, so the generation's peak is its own). Bound: workers.h model_resident_bytes "
                "for %zu sequences of %zu tokens.%s\n\n",
                work.batch, work.batch, longest_prompt + static_cast<std::size_t>(kMaxNewTokens),
                options_.device == "cuda" ? " On CUDA the model lives in GPU memory, which this does not see." : "");
    std::printf("| | measured | bound |\n|---|---:|---:|\n");
    std::printf("| weights (resident after loading - before) | %.1f | %.1f |\n", mib(m.loaded - m.before_load),
                mib(static_cast<double>(bound.weights)));
    std::printf("| generation (peak - resident after loading) | %.1f | %.1f (KV cache %.1f + activations %.1f) |\n",
                mib(m.peak - m.loaded), mib(static_cast<double>(bound.kv_cache + bound.activations)),
                mib(static_cast<double>(bound.kv_cache)), mib(static_cast<double>(bound.activations)));
    std::printf("| total (peak - before loading) | %.1f | %.1f |\n\n", mib(m.peak - m.before_load),
                mib(static_cast<double>(bound.total())));
  }

  int failures() const { return failures_; }

 private:
  struct SamplerMemory {
    BenchModels models;
    Measurement measurement;
    GenerationWork work;
  };
  const Options& options_;
  model::WeightDtype dtype_;
  Limits limits_;
  Contenders contenders_;
  std::optional<SamplerMemory> sampler_memory_;
  int failures_ = 0;
};

// The temporary directory of the random models (about 4 GB with the real-shape ones) and the
// token files, removed when the bench ends. A run killed by a signal cannot remove its own, so
// each run first removes those of runs whose process is gone.
class ScratchDirectory {
 public:
  ScratchDirectory() {
    const auto temporary = std::filesystem::temp_directory_path();
    for (const auto& entry : std::filesystem::directory_iterator(temporary)) {
      const auto name = entry.path().filename().string();
      if (name.rfind(kPrefix, 0) != 0) continue;
      const auto pid = std::strtol(name.c_str() + std::strlen(kPrefix), nullptr, 10);
      if (pid > 0 && !std::filesystem::exists("/proc/" + std::to_string(pid))) std::filesystem::remove_all(entry.path());
    }
    path = (temporary / (kPrefix + std::to_string(::getpid()))).string();
    std::filesystem::create_directories(path);
  }
  ~ScratchDirectory() { std::filesystem::remove_all(path); }
  std::string path;

 private:
  static constexpr const char* kPrefix = "quorum-bench-generate-";
};

std::vector<std::size_t> batches_of(const Options& options, std::vector<std::size_t> table) {
  if (options.batch) return {options.batch};
  return table;
}

}  // namespace

int main(int argc, char** argv) {
  const auto options = parse_options(argc, argv);
  try {
    if (!options.child.empty()) return run_child(options);
    model::resolve_device(options.device);  // a clear error now for a CUDA device that is not there
    const ScratchDirectory scratch_directory;
    const auto& scratch = scratch_directory.path;
    progress("measuring this machine's matrix-product rate and memory bandwidth");
    Bench bench(options, scratch);
    bench.print_machine();
    const auto demo = options.policy_dir.empty()
                          ? make_random_models(demo_sized_config(), scratch + "/demo", "demo-sized model, random weights",
                                               kDemoStepToken, false)
                          : given_models(options);
    bench.generation_table(demo, batches_of(options, {1, 8, 32}));
    bench.scoring_table(demo, 32, 32);
    if (!options.quick) {
      const auto real = make_random_models(qwen25_half_billion_config(scratch), scratch + "/qwen2.5-0.5b",
                                           "Qwen2.5-0.5B's shape, random weights", kQwenStepToken, true);
      bench.generation_table(real, batches_of(options, {1, 8, 32, 64}));
      bench.scoring_table(real, 16, 8);
    }
    bench.memory_table();
    progress("done");
    return bench.failures() == 0 ? 0 : 1;
  } catch (const InputError& error) {
    std::fprintf(stderr, "bench_generate: %s\n", error.what());
    return 2;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_generate: %s\n", error.what());
    return 1;
  }
}
