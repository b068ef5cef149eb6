// The aggregation strategies and the step-score reductions (design.md section 2).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace quorum::aggregation {

enum class Strategy {
  majority,   // answer class with most responses
  best_of_n,  // answer of the highest-scored response
  weighted,   // answer class with the largest sum of scores
  linear_wv,  // sum of (p - b), b calibrated
  logit_wv,   // sum of (logit p - logit b), b calibrated
  kde_wv,     // optimal weighted vote: log f1/f0 (KDE) + log(q(m-1)/(1-q))
  oracle,     // correct whenever a correct response is among the drawn ones
  pass_at_n,  // exact coverage 1 - C(L-c, N)/C(L, N), no draws
};
inline constexpr int kStrategyCount = 8;

enum class Reduction { last, min, prod, mean, max };
inline constexpr int kReductionCount = 5;

std::string_view name(Strategy s);
std::string_view name(Reduction r);
// nullopt-free parsing: throw std::invalid_argument naming the valid choices.
Strategy parse_strategy(std::string_view text);
Reduction parse_reduction(std::string_view text);
std::vector<Strategy> all_strategies();
std::vector<Reduction> all_reductions();

// Whether a strategy needs PRM scores (and so pays for scoring tokens).
bool uses_prm(Strategy s);
// Whether a strategy is fitted on calibration data.
bool is_calibrated(Strategy s);
// Whether a strategy can be deployed (needs no gold labels at test time).
bool is_deployable(Strategy s);

// One score per response from its per-step scores. steps must be non-empty.
double reduce(Reduction r, const float* step_scores, std::size_t steps);

}  // namespace quorum::aggregation
