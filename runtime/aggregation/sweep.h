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

// What the cells of one pool feed the votes: each response's signal in each cell (computed
// with the calibration its problem may use) and each problem's vote parameters per cell.
struct SweepInputs {
  int cells = 0;
  SignalTable signals;             // responses x cells
  std::vector<VoteParams> params;  // [problem * cells + cell]
};

// Sweeps all cells of one pool together: each draw's permutation and class bookkeeping serve
// every cell. tick, when set, is called (from any worker thread) after each problem.
std::vector<CellAccuracy> sweep_cells(const PolicyPool& pool, const SweepInputs& inputs,
                                      const SweepSettings& settings,
                                      const std::function<void()>& tick = {});

// 1 - C(n - c, N) / C(n, N): the chance that N responses drawn without replacement from n,
// c of them correct, include a correct one.
double pass_at_n(std::uint32_t n, std::uint32_t c, std::uint32_t budget);

}  // namespace quorum::aggregation
