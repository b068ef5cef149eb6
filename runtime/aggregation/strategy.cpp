#include "runtime/aggregation/strategy.h"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace quorum::aggregation {
namespace {

constexpr std::array<std::string_view, kStrategyCount> kStrategyNames = {
    "majority", "best_of_n", "weighted", "linear_wv", "logit_wv", "kde_wv", "oracle", "pass_at_n"};
constexpr std::array<std::string_view, kReductionCount> kReductionNames = {"last", "min", "prod",
                                                                           "mean", "max"};

template <std::size_t N>
int index_of(const std::array<std::string_view, N>& names, std::string_view text,
             const char* what) {
  for (std::size_t i = 0; i < N; ++i)
    if (names[i] == text) return static_cast<int>(i);
  std::string choices;
  for (auto n : names) choices += (choices.empty() ? "" : ", ") + std::string(n);
  throw std::invalid_argument("unknown " + std::string(what) + " '" + std::string(text) +
                              "' (choose from " + choices + ")");
}

}  // namespace

std::string_view name(Strategy s) { return kStrategyNames[static_cast<int>(s)]; }
std::string_view name(Reduction r) { return kReductionNames[static_cast<int>(r)]; }

Strategy parse_strategy(std::string_view text) {
  return static_cast<Strategy>(index_of(kStrategyNames, text, "strategy"));
}
Reduction parse_reduction(std::string_view text) {
  return static_cast<Reduction>(index_of(kReductionNames, text, "reduction"));
}

std::vector<Strategy> all_strategies() {
  std::vector<Strategy> all;
  for (int i = 0; i < kStrategyCount; ++i) all.push_back(static_cast<Strategy>(i));
  return all;
}
std::vector<Reduction> all_reductions() {
  std::vector<Reduction> all;
  for (int i = 0; i < kReductionCount; ++i) all.push_back(static_cast<Reduction>(i));
  return all;
}

bool uses_prm(Strategy s) {
  return s != Strategy::majority && s != Strategy::oracle && s != Strategy::pass_at_n;
}
bool is_calibrated(Strategy s) {
  return s == Strategy::linear_wv || s == Strategy::logit_wv || s == Strategy::kde_wv;
}
bool is_deployable(Strategy s) { return s != Strategy::oracle && s != Strategy::pass_at_n; }

double reduce(Reduction r, const float* step_scores, std::size_t steps) {
  switch (r) {
    case Reduction::last:
      return step_scores[steps - 1];
    case Reduction::min:
      return *std::min_element(step_scores, step_scores + steps);
    case Reduction::max:
      return *std::max_element(step_scores, step_scores + steps);
    case Reduction::prod: {
      double product = 1.0;
      for (std::size_t i = 0; i < steps; ++i) product *= step_scores[i];
      return product;
    }
    case Reduction::mean: {
      double sum = 0.0;
      for (std::size_t i = 0; i < steps; ++i) sum += step_scores[i];
      return sum / static_cast<double>(steps);
    }
  }
  return 0.0;
}

}  // namespace quorum::aggregation
