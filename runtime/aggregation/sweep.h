// The budget sweep of (policy, PRM, reduction) cells: for every budget N, D seeded draws of
// N responses without replacement per problem, every strategy applied to every draw, credit
// averaged per problem; then the mean over problems and a bootstrap confidence interval.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "runtime/aggregation/pool.h"
#include "runtime/aggregation/vote.h"

namespace quorum::aggregation {

struct SweepSettings {
  std::vector<std::uint32_t> budgets;  // ascending, each at most every problem's response count
  std::vector<Strategy> strategies;
  int draws = 200;
  std::uint64_t seed = 0;
  int bootstrap_resamples = 1000;
  int threads = 0;
};

struct CellAccuracy {
  std::size_t problems = 0;
  // [(s * budgets + b) * problems + j]: problem j's mean credit over the draws.
  std::vector<double> per_problem;
  // [s * budgets + b]
  std::vector<double> accuracy, ci_low, ci_high;
};

// What one cell feeds the votes: signals, one per response of the pool (computed with the
// calibration that the response's problem may use), and params, one per problem, likewise.
struct CellSignals {
  std::vector<ResponseSignal> signals;
  std::vector<VoteParams> params;
};

// Sweeps all cells of one pool together: each draw's permutation is made once and serves every
// cell. tick, when set, is called (from any worker thread) after each problem.
std::vector<CellAccuracy> sweep_cells(const PolicyPool& pool, const std::vector<CellSignals>& cells,
                                      const SweepSettings& settings,
                                      const std::function<void()>& tick = {});

// 1 - C(n - c, N) / C(n, N): the chance that N responses drawn without replacement from n,
// c of them correct, include a correct one.
double pass_at_n(std::uint32_t n, std::uint32_t c, std::uint32_t budget);

}  // namespace quorum::aggregation
