// `quorum analyze`: every (policy, PRM, reduction) cell of a response pool through
// calibration, the budget sweep, confidence intervals and the compute saving.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "runtime/aggregation/pool.h"
#include "runtime/aggregation/sweep.h"
#include "runtime/calibration/calibration.h"

namespace quorum::analysis {

struct AnalysisSettings {
  std::vector<std::uint32_t> budgets;               // empty: powers of two up to the smallest pool
  std::vector<aggregation::Strategy> strategies;    // empty: all
  std::vector<aggregation::Reduction> reductions;   // empty: all
  int folds = 5;               // cross-fitting folds when there is no separate calibration split
  int draws = 200;
  int calibration_draws = 8;
  int bootstrap_resamples = 1000;
  std::uint64_t seed = 0;
  int threads = 0;
  aggregation::Strategy reference = aggregation::Strategy::weighted;  // of the compute saving
  // false: `reference` is only the preferred default; when it is not among the strategies, the
  // best evaluated deployable strategy becomes the reference (Analysis::reference_choice).
  bool reference_given = true;
};

// The smallest budget at which a strategy reaches the reference's accuracy at the largest
// budget, interpolated linearly in log2(budget) between grid budgets.
struct Saving {
  aggregation::Strategy strategy;
  double budget = NAN;           // NaN: never reached on the grid
  double sample_fraction = NAN;  // budget / largest budget
  double token_fraction = NAN;   // tokens sampled plus scored, against the reference's; NaN: unknown
};

struct ScoreHistogram {
  static constexpr int kBins = 10;
  std::vector<double> correct = std::vector<double>(kBins, 0.0);
  std::vector<double> incorrect = std::vector<double>(kBins, 0.0);
};

struct CellResult {
  std::string policy, prm;
  aggregation::Reduction reduction;
  aggregation::CellAccuracy accuracy;
  std::vector<calibration::Calibration> calibrations;  // one per fold, or the one separate fit
  std::vector<Saving> savings;
  ScoreHistogram histogram;      // reduced scores of the evaluated responses
  double mean_sampled_tokens = NAN, mean_scored_tokens = NAN;
};

struct Analysis {
  AnalysisSettings settings;  // resolved: budgets, strategies and reductions filled in
  std::string calibration_mode;
  // Non-empty when the savings reference was chosen because the preferred one was not
  // evaluated: says which, and why.
  std::string reference_choice;
  std::size_t problems = 0, responses = 0;
  std::vector<CellResult> cells;

  std::size_t strategy_index(aggregation::Strategy s) const;  // npos when not evaluated
};

// Called with problems passed through calibration and the sweep so far, never concurrently.
using Progress = std::function<void(std::size_t done, std::size_t total)>;

// calibration_pools empty: k-fold cross-fitting over the evaluated problems. Throws InputError
// for settings the pools cannot satisfy.
Analysis analyze(const std::vector<aggregation::PolicyPool>& pools,
                 const std::vector<aggregation::PolicyPool>& calibration_pools,
                 AnalysisSettings settings, const Progress& progress = {});

// Fold of each problem: problems ordered by a hash of their id, dealt round-robin, so a
// problem keeps its fold across policies and runs.
std::vector<int> assign_folds(const aggregation::PolicyPool& pool, int folds);

// The smallest budget whose accuracy reaches target, interpolated linearly in log2(budget)
// between the grid budgets around it; NaN when no budget reaches it.
double budget_reaching(const std::vector<std::uint32_t>& budgets, const double* accuracy, double target);

// Where w(p) changes sign, interpolated linearly between grid points.
std::vector<double> zero_crossings(const std::vector<double>& p, const std::vector<double>& w);

}  // namespace quorum::analysis
