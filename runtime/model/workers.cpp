#include "runtime/model/workers.h"

#include <cmath>

#include "runtime/answers/answer.h"
#include "runtime/common/text.h"
#include "runtime/common/error.h"
#include "runtime/common/hash.h"
#include "runtime/model/generate.h"
#include "runtime/model/loading.h"
#include "runtime/model/safetensors.h"
#include "runtime/model/search_steps.h"
#include "runtime/search/search.h"
#include "runtime/task/arithmetic.h"

namespace quorum::model {

std::size_t model_weight_bytes(const std::string& directory, WeightDtype dtype) {
  const auto config = ModelConfig::load(directory);
  auto elements = static_cast<std::size_t>(config.parameter_count());
  // Tensors beside the decoder's (a reward model's score head) are held too; the checkpoint is
  // memory-mapped to read only their headers.
  const CheckpointTensors tensors(directory);
  for (const auto& name : tensors.names()) {
    if (name.rfind("model.", 0) == 0 || name.rfind("lm_head.", 0) == 0) continue;
    const auto& view = tensors.at(name);
    if (view.dtype == DType::f32 || view.dtype == DType::f16 || view.dtype == DType::bf16)
      elements += view.bytes / dtype_size(view.dtype);
  }
  return elements * weight_dtype_bytes(dtype);
}

std::size_t model_weight_bytes(const std::string& directory) {
  return model_weight_bytes(directory, WeightDtype::float32);
}

namespace {

// One forward pass's transients at their peak (decoder.cpp), rows sequences of `queries` new
// tokens against `keys` key positions each, every tensor counted as if all were alive
// together: the residual stream and its norm (4 x hidden), q/k/v and their rotation (the
// projection, the rotated heads and rotate_half's three temporaries), the grouped queries and
// the attention output (twice: permuted copy), the scores in the model's dtype, their float32
// copy, the float32 softmax and its cast back, the float32 and boolean masks (twice with a
// sliding window), and the MLP's gate/up product, activation and output; the rotary angles
// (float32 freqs, angles, cos, sin) and cos/sin in the model's dtype; logits in the model's
// dtype and as float32 at one position per sequence.
double pass_bytes(const ModelConfig& c, double b, double rows, double queries, double keys) {
  const double tokens = rows * queries;
  const double hidden = c.hidden_size, q = c.num_heads * c.head_dim, kv = c.num_kv_heads * c.head_dim;
  const double scores = tokens * c.num_heads * keys;
  const double masks = rows * queries * keys * (4.0 + 1.0) * (c.sliding_window > 0 ? 2 : 1);
  const double attention = tokens * b * (4 * hidden + (q + 2 * kv) + 4 * (q + kv) + 3 * q) + scores * (b + 4 + 4 + b) + masks;
  const double mlp = tokens * b * (4 * hidden + 3.0 * c.intermediate_size + hidden);
  const double rotary = tokens * c.head_dim * (4.0 * 4 + 2 * b);
  const double logits = rows * c.vocab_size * (b + 4);
  return std::max(attention, mlp) + rotary + logits;
}

// A quarter more for allocator slack and kernel workspaces, and a fixed 64 MiB for what is no
// tensor of the pass: the 16 MiB slices loading copies through and the kernel code and buffers
// libtorch maps in on first use (22 MiB beside the weights after loading, measured by
// bench/bench_memory.cpp).
std::size_t with_slack(double transient_bytes) {
  return static_cast<std::size_t>(1.25 * transient_bytes + 64.0 * 1024 * 1024);
}

double kv_bytes_per_token(const ModelConfig& c, double b) { return c.num_layers * 2.0 * c.num_kv_heads * c.head_dim * b; }


}  // namespace

ResidentBytes model_resident_bytes(const std::string& directory, WeightDtype dtype, std::size_t batch,
                                   std::size_t max_tokens) {
  const auto c = ModelConfig::load(directory);
  const double b = static_cast<double>(weight_dtype_bytes(dtype));
  const double n = static_cast<double>(batch), t = static_cast<double>(max_tokens);
  ResidentBytes bytes;
  bytes.weights = model_weight_bytes(directory, dtype);
  bytes.kv_cache = static_cast<std::size_t>(n * t * kv_bytes_per_token(c, b));
  bytes.activations = with_slack(pass_bytes(c, b, n, t, t));
  return bytes;
}

ResidentBytes generation_resident_bytes(const std::string& directory, WeightDtype dtype, std::size_t slots,
                                        std::size_t prompt_tokens, std::size_t new_tokens) {
  const auto c = ModelConfig::load(directory);
  const double b = static_cast<double>(weight_dtype_bytes(dtype));
  const double n = static_cast<double>(slots), p = static_cast<double>(prompt_tokens);
  const double capacity = p + static_cast<double>(new_tokens);
  ResidentBytes bytes;
  bytes.weights = model_weight_bytes(directory, dtype);
  // The slot cache, and the prefills of two prompts (the one being admitted and the one whose
  // requests still wait, when prompts alternate).
  bytes.kv_cache = static_cast<std::size_t>((n * capacity + 2 * p) * kv_bytes_per_token(c, b));
  // Either a prompt's prefill, or a decoding step of every slot against the longest slot
  // together with sampling: the slots' float32 logits and their concatenation with admitted
  // ones, the float64 scaled logits, their softmax and cumulative sums.
  const double prefill = pass_bytes(c, b, 1, p, p);
  const double step = pass_bytes(c, b, n, 1, capacity) + n * c.vocab_size * (2 * 4.0 + 3 * 8.0);
  bytes.activations = with_slack(std::max(prefill, step));
  return bytes;
}

bool cuda_available() { return torch::cuda::is_available(); }


std::size_t policy_resident_bytes(const config::PolicySpec& spec, std::size_t batch_size) {
  const auto dtype = planned_dtype(spec.dtype, spec.path, spec.device);
  return generation_resident_bytes(spec.path, dtype, batch_size, kPromptTokens, static_cast<std::size_t>(spec.max_new_tokens))
      .total();
}

std::size_t prm_resident_bytes(const config::PrmSpec& spec, std::size_t batch_size, std::size_t max_tokens) {
  if (spec.kind == "checker") return 0;  // no weights: it keeps one response's labels at a time
  const auto dtype = planned_dtype(spec.dtype, spec.path, spec.device);
  const auto config = ModelConfig::load(spec.path);
  // A PRM worker's passes are score()'s groups: up to rows_for(T) inputs whose longest has T
  // tokens, batch_size at most. The largest of them over every T an input can have.
  const double b = static_cast<double>(weight_dtype_bytes(dtype));
  const auto budget = ScoringBudget::for_batch(batch_size);
  std::size_t activations = 0;
  for (std::size_t longest = 1; longest <= std::max<std::size_t>(max_tokens, 1); ++longest) {
    const auto rows = budget.rows_for(static_cast<std::int64_t>(longest), config.num_heads);
    activations = std::max(activations, with_slack(pass_bytes(config, b, static_cast<double>(rows), static_cast<double>(longest),
                                                                      static_cast<double>(longest))));
  }
  return model_weight_bytes(spec.path, dtype) + activations;
}

ResidentBytes search_policy_resident_bytes(const config::PolicySpec& policy, const config::SearchRun& run,
                                           std::size_t batch_size) {
  const auto dtype = planned_dtype(policy.dtype, policy.path, policy.device);
  const auto path_tokens = static_cast<std::size_t>(run.max_tokens);
  auto bytes = generation_resident_bytes(policy.path, dtype, batch_size, kPromptTokens, path_tokens);
  const auto config = ModelConfig::load(policy.path);
  const double kept_paths = static_cast<double>(search::kHeldPathsPerLeaf * run.n);
  bytes.kv_cache += static_cast<std::size_t>(kept_paths * static_cast<double>(kPromptTokens + path_tokens) *
                                             kv_bytes_per_token(config, static_cast<double>(weight_dtype_bytes(dtype))));
  return bytes;
}

std::size_t prm_input_tokens(const config::SweepConfig& sweep, const std::string& prm) {
  std::int64_t longest = 0;
  for (const auto& p : sweep.policies) longest = std::max(longest, p.max_new_tokens);
  for (const auto& run : config::search_runs(sweep))
    if (run.prm == prm) longest = std::max(longest, run.max_tokens);
  return kPromptTokens + static_cast<std::size_t>(longest);
}

std::map<std::string, std::size_t> sweep_resident_bytes(const config::SweepConfig& sweep) {
  std::map<std::string, std::size_t> bytes;
  const auto batch = sweep.runtime.batch_size;
  for (const auto& p : sweep.policies) bytes[bus::model_key(true, p.name)] = policy_resident_bytes(p, batch);
  for (const auto& p : sweep.prms) bytes[bus::model_key(false, p.name)] = prm_resident_bytes(p, batch, prm_input_tokens(sweep, p.name));
  for (const auto& run : config::search_runs(sweep)) {
    auto& policy = bytes[bus::model_key(true, run.policy)];
    policy = std::max(policy, search_policy_resident_bytes(config::policy_named(sweep, run.policy), run, batch).total());
  }
  return bytes;
}

std::uint64_t sequence_seed(std::uint64_t seed, const std::string& policy, const std::string& split,
                            const std::string& problem_id, std::int64_t sample_index) {
  return fnv1a64(std::to_string(seed) + '\x1f' + policy + '\x1f' + split + '\x1f' + problem_id + '\x1f' +
                 std::to_string(sample_index));
}

std::vector<std::string> split_steps(const std::string& text, const std::string& separator) {
  std::vector<std::string> steps;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    auto end = separator.empty() ? std::string::npos : text.find(separator, begin);
    if (end == std::string::npos) end = text.size();
    auto step = trim(std::string_view(text).substr(begin, end - begin), " \t\r\n\v\f");
    if (!step.empty()) steps.push_back(std::move(step));
    begin = end + std::max<std::size_t>(separator.size(), 1);
  }
  return steps;
}

// ----- policies ---------------------------------------------------------------------------

struct PolicyWorker::Model {
  explicit Model(LoadedPolicy p) : policy(std::move(p)) {}
  LoadedPolicy policy;
};

// One problem's search on this policy: its live nodes' paths and caches.
struct PolicyWorker::Session {
  PolicySteps steps;
};

PolicyWorker::PolicyWorker(config::PolicySpec spec, std::size_t batch_size)
    : spec_(std::move(spec)), batch_size_(std::max<std::size_t>(batch_size, 1)) {}
PolicyWorker::~PolicyWorker() = default;

void PolicyWorker::release() {
  sessions_.clear();  // their caches first: they reference the model
  model_.reset();
}

PolicyWorker::Model& PolicyWorker::model() {
  if (!model_) model_ = std::make_unique<Model>(load_policy(spec_));
  return *model_;
}

std::vector<search::GeneratedStep> PolicyWorker::extend(const std::string& session, const std::string& problem,
                                                        const std::vector<search::Extension>& extensions) {
  auto found = sessions_.find(session);
  if (found == sessions_.end()) {
    if (spec_.step_separator.empty())
      throw InputError("", 0, "step_separator", "policy " + spec_.name + " has no step separator: a search needs one");
    auto& m = model().policy;
    found = sessions_.emplace(session, std::make_unique<Session>(Session{
                                           PolicySteps(m, spec_, batch_size_, PathCaches::kept, m.prompt_ids(problem))}))
                .first;
  }
  return found->second->steps.extend(extensions);
}

void PolicyWorker::drop(const std::string& session, const std::vector<search::NodeId>& nodes) {
  if (const auto found = sessions_.find(session); found != sessions_.end()) found->second->steps.release(nodes);
}

void PolicyWorker::end(const std::string& session) { sessions_.erase(session); }

std::int64_t PolicyWorker::prompt_tokens(const std::string& session) const {
  const auto found = sessions_.find(session);
  return found == sessions_.end() ? 0 : found->second->steps.prompt_tokens();
}

bus::Result PolicyWorker::run(const bus::SampleWork& work, const std::string& unit_id) {
  auto& m = model().policy;
  struct Slot {
    std::size_t problem;
    std::int64_t sample;
  };
  std::vector<GenerationRequest> requests;
  std::vector<Slot> slots;
  for (std::size_t p = 0; p < work.problems.size(); ++p) {
    const auto prompt = m.prompt_ids(work.problems[p].text);
    for (std::int64_t k = 0; k < work.samples; ++k) {
      requests.push_back({prompt, sequence_seed(work.seed, work.policy, work.split, work.problems[p].id, k)});
      slots.push_back({p, k});
    }
  }
  // Stop strings end a sequence as soon as its decoded text contains one.
  StopCheck stop;
  if (!spec_.stop.empty())
    stop = [&](std::size_t, const std::vector<std::int64_t>& generated) {
      const auto text = m.vocabulary.decode(generated);
      for (const auto& s : spec_.stop)
        if (text.find(s) != std::string::npos) return true;
      return false;
    };
  bus::Result result;
  result.unit_id = unit_id;
  const auto generated = generate(m.decoder, requests, m.sampling, stop, {batch_size_, true});
  for (std::size_t i = 0; i < generated.size(); ++i) {
    const auto& slot = slots[i];
    const auto& problem = work.problems[slot.problem];
    auto text = m.vocabulary.decode(generated[i].tokens);
    for (const auto& s : spec_.stop)
      if (const auto at = text.find(s); at != std::string::npos) text.resize(at);
    store::ResponseRow row;
    row.id = store::response_id(work.policy, work.split, problem.id, slot.sample);
    row.policy = work.policy, row.split = work.split, row.problem_id = problem.id;
    row.sample_index = slot.sample;
    row.steps = split_steps(text, spec_.step_separator);
    // Every response is one step at least, so every PRM scores every response.
    if (row.steps.empty()) row.steps.push_back("");
    row.answer = answers::extract_answer(text);
    row.text = std::move(text);
    row.prompt_tokens = generated[i].prompt_tokens;
    row.completion_tokens = static_cast<std::int64_t>(generated[i].tokens.size());
    row.seconds = generated[i].seconds;
    result.responses.push_back(std::move(row));
  }
  return result;
}

// ----- PRMs -------------------------------------------------------------------------------

struct PrmWorker::Model {
  explicit Model(LoadedPrm p) : prm(std::move(p)) {}
  LoadedPrm prm;
};

PrmWorker::PrmWorker(config::PrmSpec spec, std::size_t batch_size)
    : spec_(std::move(spec)), batch_size_(std::max<std::size_t>(batch_size, 1)) {}
PrmWorker::~PrmWorker() = default;
void PrmWorker::release() { model_.reset(); }

namespace {

// A checker PRM scores with the built-in task's checker: nothing to load, no tokens read.
bus::Result score_with_checker(const bus::ScoreWork& work, const std::string& unit_id) {
  std::map<std::string, task::Problem> problems;
  for (const auto& p : work.problems) {
    auto problem = task::parse_problem(p.text);
    // The config refuses a checker for other problem sets; a store edited by hand could still.
    if (!problem) throw std::runtime_error("score unit " + unit_id + ": problem " + p.id + " is no problem of the built-in task");
    problems.emplace(p.id, std::move(*problem));
  }
  bus::Result result;
  result.unit_id = unit_id;
  for (const auto& response : work.responses) {
    const auto problem = problems.find(response.problem_id);
    if (problem == problems.end())
      throw std::runtime_error("score unit " + unit_id + " lacks problem " + response.problem_id);
    const auto start = std::chrono::steady_clock::now();
    auto scores = task::prefix_correct_scores(problem->second, response.steps);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.scores.push_back({response.response_id, work.prm, std::move(scores), 0, seconds});
  }
  return result;
}

}  // namespace

search::ScoredPaths PrmWorker::score_paths(const std::string& problem, const std::vector<std::vector<std::string>>& paths) {
  if (spec_.kind != "checker" && !model_) model_ = std::make_unique<Model>(load_prm(spec_));
  return step_verifier(spec_, model_ ? &model_->prm : nullptr, batch_size_, problem)->score(paths);
}

bus::Result PrmWorker::run(const bus::ScoreWork& work, const std::string& unit_id) {
  if (spec_.kind == "checker") return score_with_checker(work, unit_id);
  if (!model_) model_ = std::make_unique<Model>(load_prm(spec_));
  auto& m = model_->prm;
  std::map<std::string, const bus::ProblemInput*> problems;
  for (const auto& p : work.problems) problems[p.id] = &p;
  std::vector<prompts::ScoringInput> inputs;
  for (const auto& response : work.responses) {
    const auto problem = problems.find(response.problem_id);
    if (problem == problems.end())
      throw std::runtime_error("score unit " + unit_id + " lacks problem " + response.problem_id);
    inputs.push_back(m.inputs.scores_outcome() ? m.inputs.build_outcome(problem->second->text, response.text)
                                               : m.inputs.build(problem->second->text, response.steps));
  }
  // The whole lease at once: score() groups it by length within the budget.
  std::vector<double> seconds;
  auto scores = m.prm->score(inputs, ScoringBudget::for_batch(batch_size_), &seconds);
  // An outcome model's raw reward becomes a probability (check_prm made sure it is asked to).
  if (spec_.score_transform == "sigmoid")
    for (auto& response : scores)
      for (auto& score : response) score = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(score))));
  bus::Result result;
  result.unit_id = unit_id;
  for (std::size_t i = 0; i < inputs.size(); ++i)
    result.scores.push_back({work.responses[i].response_id, work.prm, scores[i],
                             static_cast<std::int64_t>(inputs[i].ids.size()), seconds[i]});
  return result;
}

}  // namespace quorum::model
