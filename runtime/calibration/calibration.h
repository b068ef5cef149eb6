// Calibration of the weighted votes for one (policy, PRM, reduction), fitted on labelled
// problems that the evaluation never sees (a separate split, or the other folds).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "runtime/aggregation/pool.h"
#include "runtime/aggregation/vote.h"
#include "runtime/calibration/kde.h"

namespace quorum::calibration {

struct CalibrationSettings {
  std::vector<std::uint32_t> budgets;  // ascending; the sweep's budgets
  int draws = 8;                        // draws per problem scoring each grid value of b
  std::uint64_t seed = 0;
  int threads = 0;
};

// The grid searches of linear_wv (b in [-1, 1]) and logit_wv (b in (0, 1)).
const std::vector<double>& linear_grid();
const std::vector<double>& logit_grid();

// For every problem and grid value of b: the mean fractional credit of linear_wv and logit_wv
// over the calibration draws at every budget the problem has responses for. The grid search
// maximises their sum over the calibration problems; computed once, summed per fold.
struct OffsetCredit {
  std::size_t problems = 0;
  std::vector<double> linear;  // [problem * linear_grid().size() + g]
  std::vector<double> logit;   // [problem * logit_grid().size() + g]
};
// One OffsetCredit per score vector (per PRM and reduction); the draws are shared. tick, when
// set, is called (from any worker thread) after each problem.
std::vector<OffsetCredit> offset_credit(const aggregation::PolicyPool& pool,
                                        const std::vector<aggregation::ReducedScores>& scores,
                                        const CalibrationSettings& settings,
                                        const std::function<void()>& tick = {});

struct Calibration {
  double linear_b = 0.0;
  double logit_b = 0.5;
  std::vector<double> linear_accuracy;  // calibration accuracy per linear_grid() value
  std::vector<double> logit_accuracy;   // per logit_grid() value
  KdeRatio kde;
  BinnedCalibrator q;
  std::size_t problems = 0, responses = 0, correct_responses = 0;

  aggregation::VoteParams vote_params() const;
  aggregation::ResponseSignal signal(double p, double logit) const;
  // The per-response weight w(p) of a calibrated strategy; kde_wv's is log f1/f0 (its prior
  // term depends on the draw and is reported through the q calibrator).
  double weight(aggregation::Strategy strategy, double p) const;
};

// Fits on the problems j of pool with use[j] != 0.
Calibration fit(const aggregation::PolicyPool& pool, const aggregation::ReducedScores& scores,
                const OffsetCredit& credit, const std::vector<std::uint8_t>& use);

}  // namespace quorum::calibration
