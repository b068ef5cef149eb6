// The search's step policy and step verifier over loaded models (search_steps.h), SearchModels
// over them, and a search lease's rows (search_models.h).
#include "runtime/model/search_models.h"

#include <chrono>
#include <map>
#include <memory>
#include <optional>

#include "runtime/answers/answer.h"
#include "runtime/common/error.h"
#include "runtime/common/text.h"
#include "runtime/model/loading.h"
#include "runtime/model/search_steps.h"
#include "runtime/model/workers.h"
#include "runtime/task/arithmetic.h"

namespace quorum::model {

struct SearchModels::Models {
  config::PolicySpec policy_spec;
  config::PrmSpec prm_spec;
  LoadedPolicy policy;
  std::optional<LoadedPrm> prm;  // none for a `kind: checker` verifier
  std::size_t batch_size;
  PathCaches path_caches = PathCaches::kept;
  std::int64_t prefilled_tokens = 0;  // over every search run
};

PolicySteps::PolicySteps(LoadedPolicy& policy, const config::PolicySpec& spec, std::size_t batch_size,
                         PathCaches path_caches, std::vector<std::int64_t> prompt)
    : policy_(policy), spec_(spec), batch_size_(std::max<std::size_t>(batch_size, 1)), path_caches_(path_caches),
      prompt_(std::move(prompt)) {}

std::vector<search::GeneratedStep> PolicySteps::extend(const std::vector<search::Extension>& extensions) {
  std::vector<search::GeneratedStep> steps(extensions.size());
  // Sampled steps and greedy (lookahead) ones differ only in temperature: one generate() each.
  for (const bool greedy : {false, true}) {
    std::vector<std::size_t> picked;
    for (std::size_t i = 0; i < extensions.size(); ++i)
      if (extensions[i].greedy == greedy) picked.push_back(i);
    if (!picked.empty()) generate_steps(extensions, picked, greedy, steps);
  }
  return steps;
}

// A released node's path and keys and values go: only nodes the search can still extend keep
// theirs, so the caches held are bounded by the candidates of a round and their rollouts.
void PolicySteps::release(const std::vector<search::NodeId>& nodes) {
  for (const auto node : nodes) paths_.erase(node);
}

const PolicySteps::Path& PolicySteps::path(search::NodeId node) const {
  static const Path root;
  if (node == search::kNoNode) return root;
  return paths_.at(node);
}

void PolicySteps::generate_steps(const std::vector<search::Extension>& extensions, const std::vector<std::size_t>& picked,
                                 bool greedy, std::vector<search::GeneratedStep>& steps) {
  const auto& separator = spec_.step_separator;
  const auto& vocabulary = policy_.vocabulary;
  auto sampling = policy_.sampling;
  if (greedy) sampling.temperature = 0;
  sampling.max_new_tokens = 1;
  const bool keep = path_caches_ == PathCaches::kept;
  std::vector<GenerationRequest> requests;
  std::vector<std::int64_t> limits;
  for (const auto i : picked) {
    auto ids = prompt_;
    const auto& before = path(extensions[i].parent);
    ids.insert(ids.end(), before.ids.begin(), before.ids.end());
    // With the parent's cache only the tokens it has not read are prefilled (its last token;
    // the prompt for the first step, whose N requests share one prefill).
    requests.push_back({std::move(ids), extensions[i].seed, keep ? before.cache : nullptr, keep});
    limits.push_back(std::max<std::int64_t>(extensions[i].max_tokens, 1));
    sampling.max_new_tokens = std::max(sampling.max_new_tokens, limits.back());
  }
  // A step ends at its separator or at its token limit; a stop string or a stop token ends
  // the response.
  const auto& stop_strings = spec_.stop;
  std::vector<char> cut(picked.size(), 0);
  const StopCheck stop = [&](std::size_t r, const std::vector<std::int64_t>& generated) {
    const auto text = vocabulary.decode(generated);
    for (const auto& s : stop_strings)
      if (text.find(s) != std::string::npos) return true;
    if (text.find(separator) != std::string::npos || static_cast<std::int64_t>(generated.size()) >= limits[r])
      return cut[r] = 1, true;
    return false;
  };
  const auto results = generate(policy_.decoder, requests, sampling, stop, {batch_size_, true});
  for (std::size_t r = 0; r < picked.size(); ++r) {
    const auto& e = extensions[picked[r]];
    auto text = vocabulary.decode(results[r].tokens);
    for (const auto& end : stop_strings)
      if (const auto at = text.find(end); at != std::string::npos) text.resize(at);
    if (const auto at = text.find(separator); at != std::string::npos) text.resize(at);
    auto& step = steps[picked[r]];
    step.text = trim(text, " \t\r\n\v\f");
    step.tokens = static_cast<std::int64_t>(results[r].tokens.size());
    step.finished = results[r].stopped && !cut[r];
    auto ids = path(e.parent).ids;
    ids.insert(ids.end(), results[r].tokens.begin(), results[r].tokens.end());
    paths_[e.node] = {std::move(ids), step.finished ? nullptr : results[r].cache};
    prefilled_tokens_ += results[r].prefilled_tokens;
  }
}

namespace {

class PrmSteps : public search::StepVerifier {
 public:
  PrmSteps(LoadedPrm& prm, std::size_t batch_size, std::string problem)
      : prm_(prm), batch_size_(batch_size), problem_(std::move(problem)) {}

  search::ScoredPaths score(const std::vector<std::vector<std::string>>& paths) override {
    std::vector<prompts::ScoringInput> inputs;
    search::ScoredPaths scored;
    for (const auto& steps : paths) {
      inputs.push_back(prm_.inputs.build(problem_, steps));
      scored.tokens_read += static_cast<std::int64_t>(inputs.back().ids.size());
    }
    for (const auto& scores : prm_.prm->score(inputs, ScoringBudget::for_batch(batch_size_)))
      scored.scores.emplace_back(scores.begin(), scores.end());
    return scored;
  }

 private:
  LoadedPrm& prm_;
  std::size_t batch_size_;
  std::string problem_;
};

// The built-in task's checker as the verifier (task::prefix_correct_scores); it reads no tokens.
class CheckerSteps : public search::StepVerifier {
 public:
  explicit CheckerSteps(task::Problem problem) : problem_(std::move(problem)) {}

  search::ScoredPaths score(const std::vector<std::vector<std::string>>& paths) override {
    search::ScoredPaths scored;
    for (const auto& steps : paths) {
      const auto scores = task::prefix_correct_scores(problem_, steps);
      scored.scores.emplace_back(scores.begin(), scores.end());
    }
    return scored;
  }

 private:
  task::Problem problem_;
};

}  // namespace

std::unique_ptr<search::StepVerifier> step_verifier(const config::PrmSpec& spec, LoadedPrm* prm, std::size_t batch_size,
                                                    const std::string& problem) {
  if (prm) {
    if (prm->inputs.scores_outcome())
      throw InputError(spec.path, 0, "kind", "an outcome_head model scores whole responses: it cannot score a search's steps");
    return std::make_unique<PrmSteps>(*prm, std::max<std::size_t>(batch_size, 1), problem);
  }
  auto parsed = task::parse_problem(problem);
  if (!parsed) throw InputError("", 0, "kind", "a checker verifies only the built-in task's problems, not: " + problem);
  return std::make_unique<CheckerSteps>(std::move(*parsed));
}

SearchModels::SearchModels(const config::PolicySpec& policy, const config::PrmSpec& prm, std::size_t batch_size,
                           PathCaches path_caches) {
  if (policy.step_separator.empty())
    throw InputError("", 0, "step_separator", "policy " + policy.name + " has no step separator: a search needs one");
  models_ = std::make_unique<Models>(
      Models{policy, prm, load_policy(policy), std::nullopt, std::max<std::size_t>(batch_size, 1), path_caches});
  if (prm.kind != "checker") models_->prm = load_prm(prm);
}

SearchModels::~SearchModels() = default;

std::int64_t SearchModels::prefilled_tokens() const { return models_->prefilled_tokens; }

std::size_t SearchModels::prompt_tokens(const std::string& problem) const {
  return models_->policy.prompt_ids(problem).size();
}

search::SearchResult SearchModels::run(const search::SearchSettings& settings, std::uint64_t seed,
                                       const std::string& problem) {
  auto& m = *models_;
  PolicySteps policy(m.policy, m.policy_spec, m.batch_size, m.path_caches, m.policy.prompt_ids(problem));
  const auto verifier = step_verifier(m.prm_spec, m.prm ? &*m.prm : nullptr, m.batch_size, problem);
  auto found = search::run_search(settings, seed, policy, *verifier);
  m.prefilled_tokens += policy.prefilled_tokens();
  return found;
}

bus::Result run_search_lease(const bus::SearchWork& work, const std::string& unit_id, const std::string& step_separator,
                             const ProblemSearch& search_problem) {
  const auto& run = work.run;
  search::SearchSettings settings;
  const auto method = search::parse_method(run.method);
  if (!method || *method == search::Method::best_of_n)
    throw InputError("", 0, "search.method", "'" + run.method + "' is not a search method of a sweep (beam_search, dvts)");
  settings.method = *method;
  settings.n = run.n, settings.m = run.m, settings.lookahead = run.lookahead;
  settings.max_steps = run.max_steps, settings.max_tokens = run.max_tokens;
  search::validate(settings, "search " + run.label);
  // Its share of a total spread over n leaves, the first ones taking the remainder.
  const auto share = [&](std::int64_t total, std::int64_t leaf) { return total / run.n + (leaf < total % run.n ? 1 : 0); };
  bus::Result result;
  result.unit_id = unit_id;
  for (const auto& problem : work.problems) {
    const auto start = std::chrono::steady_clock::now();
    const auto seed = sequence_seed(work.seed, run.label, work.split, problem.id, 0);
    std::int64_t prompt = 0;
    const auto found = search_problem(settings, seed, problem, prompt);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (static_cast<std::int64_t>(found.leaves.size()) != run.n)
      throw std::logic_error("search " + run.label + " returned " + std::to_string(found.leaves.size()) + " leaves, not " +
                             std::to_string(run.n));
    for (std::int64_t i = 0; i < run.n; ++i) {
      const auto& leaf = found.leaves[static_cast<std::size_t>(i)];
      store::ResponseRow row;
      row.id = store::response_id(run.label, work.split, problem.id, i);
      row.policy = run.label, row.split = work.split, row.problem_id = problem.id, row.sample_index = i;
      for (const auto& step : leaf.steps) row.text += (row.text.empty() ? "" : step_separator) + step;
      row.steps = leaf.steps;
      row.answer = answers::extract_answer(row.text);
      row.prompt_tokens = prompt;
      row.completion_tokens = share(found.policy_tokens, i);
      row.seconds = seconds / static_cast<double>(run.n);
      std::vector<float> scores(leaf.step_scores.begin(), leaf.step_scores.end());
      result.scores.push_back({row.id, run.prm, std::move(scores), share(found.verifier_tokens, i), 0.0});
      result.responses.push_back(std::move(row));
    }
  }
  return result;
}

}  // namespace quorum::model
