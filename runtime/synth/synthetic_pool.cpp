#include "runtime/synth/synthetic_pool.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "runtime/aggregation/draws.h"
#include "runtime/common/error.h"
#include "runtime/common/files.h"

namespace quorum::synth {
namespace {

// A counter-based generator: the same seed gives the same pool with any compiler or library.
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(aggregation::splitmix64(seed)) {}
  std::uint64_t next() { return state_ = aggregation::splitmix64(state_); }
  double uniform() { return (next() >> 11) * 0x1.0p-53; }
  double normal() {
    const double u = std::max(uniform(), 1e-300), v = uniform();
    return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * M_PI * v);
  }
  int below(int n) { return static_cast<int>(uniform() * n); }

 private:
  std::uint64_t state_;
};

struct PolicyTraits {
  const char* name;
  double skill;         // mean logit of a problem's solve rate
  double spread;        // how much problems differ in difficulty
  double clustering;    // Zipf exponent of wrong answers: high = one dominant wrong answer
};
constexpr PolicyTraits kPolicies[] = {
    {"policy-small", -0.4, 1.6, 1.6},
    {"policy-large", 0.9, 1.4, 0.8},
    {"policy-medium", 0.2, 2.0, 1.2},
};

struct PrmTraits {
  const char* name;
  double good_mean, bad_mean;  // logit of step scores before / after the first wrong step
  double noise;                // per-step noise on the logit
  double miss_rate;            // chance that a wrong step is scored as a good one
};
constexpr PrmTraits kPrms[] = {
    {"prm-sharp", 2.5, -2.0, 1.0, 0.10},
    {"prm-noisy", 1.0, -0.3, 1.6, 0.30},
    {"prm-overconfident", 4.5, 2.2, 0.8, 0.15},
    {"prm-lenient", 2.0, -1.0, 1.2, 0.55},
};

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace

interchange::Dataset synthetic_dataset(const SyntheticSpec& spec) {
  if (spec.policies < 1 || spec.policies > 3) throw InputError("", 0, "--policies", "must be 1 to 3");
  if (spec.prms < 1 || spec.prms > 4) throw InputError("", 0, "--prms", "must be 1 to 4");
  if (spec.problems < 1 || spec.responses < 1) throw InputError("", 0, "--problems", "must be positive");
  interchange::Dataset dataset;
  for (int p = 0; p < spec.policies; ++p) {
    const auto& policy = kPolicies[p];
    for (int j = 0; j < spec.problems; ++j) {
      Random random(spec.seed * 1000003 + p * 7919 + j);
      Random difficulty(spec.seed * 1000003 + j);  // problems are equally hard for everyone
      interchange::ProblemRecord problem;
      problem.problem_id = "synthetic-" + std::to_string(j);
      const int gold = 10 + (j * 37) % 990;
      problem.problem = "Synthetic problem " + std::to_string(j);
      problem.gold = std::to_string(gold);
      problem.policy = policy.name;
      problem.file = "synthetic";
      problem.line = static_cast<std::size_t>(j + 1);
      const double solve_rate = sigmoid(policy.skill + policy.spread * difficulty.normal());
      // Wrong answers: a few distractors with Zipf weights.
      std::vector<double> distractor_weight;
      double total_weight = 0;
      for (int k = 0; k < 6; ++k) total_weight += distractor_weight.emplace_back(std::pow(k + 1.0, -policy.clustering));
      for (int i = 0; i < spec.responses; ++i) {
        interchange::ResponseRecord response;
        const bool correct = random.uniform() < solve_rate;
        const int steps = 3 + random.below(5);
        const int first_wrong = correct ? steps : random.below(steps);
        int answer = gold;
        if (!correct) {
          double pick = random.uniform() * total_weight;
          int k = 0;
          while (k < 5 && (pick -= distractor_weight[k]) > 0) ++k;
          answer = gold + (k % 2 ? -1 : 1) * (k + 1) * 3;
        }
        for (int s = 0; s < steps; ++s)
          response.steps.push_back("step " + std::to_string(s + 1) + (s < first_wrong ? ": valid" : ": flawed"));
        const bool abstains = random.uniform() < 0.01;
        response.steps.back() += abstains ? " (no final answer)" : " so the answer is \\boxed{" + std::to_string(answer) + "}";
        for (const auto& step : response.steps) response.text += (response.text.empty() ? "" : "\n\n") + step;
        response.prompt_tokens = 40 + (j % 40);
        response.completion_tokens = steps * (12 + random.below(10));
        for (int m = 0; m < spec.prms; ++m) {
          const auto& prm = kPrms[m];
          std::vector<float> scores;
          bool derailed = false;
          for (int s = 0; s < steps; ++s) {
            derailed = derailed || (s >= first_wrong && random.uniform() >= prm.miss_rate);
            const double mean = derailed ? prm.bad_mean : prm.good_mean;
            scores.push_back(static_cast<float>(sigmoid(mean + prm.noise * random.normal())));
          }
          response.scores[prm.name] = std::move(scores);
        }
        problem.responses.push_back(std::move(response));
      }
      dataset.index.emplace(std::make_pair(problem.policy, problem.problem_id), dataset.problems.size());
      dataset.problems.push_back(std::move(problem));
    }
  }
  return dataset;
}

void write_jsonl(const interchange::Dataset& dataset, const std::string& path) {
  std::string text;
  for (const auto& problem : dataset.problems) {
    nlohmann::json row{{"problem_id", problem.problem_id}, {"problem", problem.problem},
                       {"answer", problem.gold}, {"policy", problem.policy}};
    auto& responses = row["responses"] = nlohmann::json::array();
    for (const auto& response : problem.responses) {
      nlohmann::json item{{"text", response.text}, {"steps", response.steps},
                          {"prompt_tokens", response.prompt_tokens},
                          {"completion_tokens", response.completion_tokens}};
      if (response.answer) item["answer"] = *response.answer;
      item["scores"] = response.scores;
      responses.push_back(std::move(item));
    }
    text += row.dump() + "\n";
  }
  write_file_atomically(path, text);
}

}  // namespace quorum::synth
