#include "runtime/aggregation/sweep.h"

#include "runtime/aggregation/bootstrap.h"
#include "runtime/aggregation/draws.h"
#include "runtime/common/multiversion.h"
#include "runtime/common/parallel.h"

namespace quorum::aggregation {

double pass_at_n(std::uint32_t n, std::uint32_t c, std::uint32_t budget) {
  if (n - c < budget) return 1.0;
  // C(n-c, N)/C(n, N) = prod_{i<N} (n-c-i)/(n-i)
  double none_correct = 1.0;
  for (std::uint32_t i = 0; i < budget; ++i)
    none_correct *= static_cast<double>(n - c - i) / static_cast<double>(n - i);
  return 1.0 - none_correct;
}

namespace {

struct WalkContext {
  const PolicyPool& pool;
  const SweepInputs& inputs;
  const SweepSettings& settings;
  const std::vector<std::size_t>& drawn_strategies;  // indexes into settings.strategies
};

// Walks problem j's responses in one order (nullptr: pool order), adding every cell's credit of
// every drawn strategy at each budget in [first_budget, last_budget), times `weight`, to sums
// ([cell][strategy][budget]). This is the sweep's inner loop: where the processor has AVX2 its
// loops over cells run twice as wide (the version is picked once at load time; no fused
// multiply-add is allowed, so results are the same bit for bit).
QUORUM_AVX2_CLONES
void walk(const WalkContext& context, DrawState& state, double* sums, std::size_t j,
          const std::uint16_t* order, std::size_t first_budget, std::size_t last_budget, double weight) {
  const PolicyPool& pool = context.pool;
  const auto& budgets = context.settings.budgets;
  const auto& strategies = context.settings.strategies;
  const int cells = context.inputs.cells;
  const VoteParams* params = context.inputs.params.data() + j * cells;
  const std::uint32_t first = pool.response_offsets[j];
  state.reset(pool.class_correct.data() + pool.class_offsets[j], pool.num_classes(j), cells);
  std::size_t b = first_budget;
  for (std::uint32_t k = 0; k < budgets[last_budget - 1]; ++k) {
    const std::uint32_t r = first + (order ? order[k] : k);
    state.add(pool.answer_class[r], context.inputs.signals.row(r));
    if (k + 1 != budgets[b]) continue;
    double credit[kStrategyCount];
    state.count_credits(credit);
    for (int c = 0; c < cells; ++c) {
      state.score_credits(c, params[c], credit);
      double* cell_sums = sums + c * strategies.size() * budgets.size();
      for (auto si : context.drawn_strategies)
        cell_sums[si * budgets.size() + b] += weight * credit[static_cast<int>(strategies[si])];
    }
    ++b;
  }
}

}  // namespace

std::vector<CellAccuracy> sweep_cells(const PolicyPool& pool, const SweepInputs& inputs,
                                      const SweepSettings& settings, const std::function<void()>& tick) {
  const std::size_t problems = pool.num_problems();
  const std::size_t budgets = settings.budgets.size();
  const std::size_t strategies = settings.strategies.size();
  auto slot = [&](std::size_t s, std::size_t b, std::size_t j) {
    return (s * budgets + b) * problems + j;
  };
  const int num_cells = inputs.cells;
  std::vector<CellAccuracy> cells(num_cells);
  for (auto& cell : cells) {
    cell.problems = problems;
    cell.per_problem.assign(strategies * budgets * problems, 0.0);
  }

  std::vector<std::size_t> drawn_strategies;  // pass_at_n needs no draws
  for (std::size_t s = 0; s < strategies; ++s) {
    if (settings.strategies[s] != Strategy::pass_at_n) {
      drawn_strategies.push_back(s);
      continue;
    }
    for (std::size_t b = 0; b < budgets; ++b)
      for (std::size_t j = 0; j < problems; ++j) {
        const double coverage = pass_at_n(pool.num_responses(j), pool.num_correct(j), settings.budgets[b]);
        for (auto& cell : cells) cell.per_problem[slot(s, b, j)] = coverage;
      }
  }

  struct Scratch {
    std::vector<std::uint16_t> order;
    std::vector<std::uint64_t> keys;
    DrawState state;
    // This problem's credit sums, [cell][strategy][budget]: contiguous, unlike per_problem,
    // whose problem-minor layout would cost a cache miss per update.
    std::vector<double> sums;
  };
  std::vector<Scratch> scratch(resolve_threads(settings.threads));
  const std::uint64_t stream = stream_key(settings.seed, Stream::evaluation);
  const WalkContext context{pool, inputs, settings, drawn_strategies};

  parallel_for(problems, settings.threads, [&](std::size_t j, int worker) {
    Scratch& s = scratch[worker];
    const std::uint32_t n = pool.num_responses(j);
    if (!drawn_strategies.empty()) {
      s.sums.assign(num_cells * strategies * budgets, 0.0);
      // A budget equal to the pool size draws the whole pool every time: vote on it once.
      const bool whole_pool_last = settings.budgets.back() == n;
      const std::size_t drawn_budgets = budgets - whole_pool_last;
      s.order.resize(n);
      for (int d = 0; d < settings.draws && drawn_budgets > 0; ++d) {
        draw_permutation(stream, j, d, n, settings.budgets[drawn_budgets - 1], s.order.data(), s.keys);
        walk(context, s.state, s.sums.data(), j, s.order.data(), 0, drawn_budgets, 1.0);
      }
      if (whole_pool_last) walk(context, s.state, s.sums.data(), j, nullptr, budgets - 1, budgets, settings.draws);
      for (int c = 0; c < num_cells; ++c)
        for (auto si : drawn_strategies)
          for (std::size_t b = 0; b < budgets; ++b)
            cells[c].per_problem[slot(si, b, j)] = s.sums[(c * strategies + si) * budgets + b] / settings.draws;
    }
    if (tick) tick();
  });

  // Means, and intervals from one bootstrap pass over every series of every cell.
  const std::size_t series = strategies * budgets;
  std::vector<double> all_series;
  all_series.reserve(cells.size() * series * problems);
  for (auto& cell : cells) {
    all_series.insert(all_series.end(), cell.per_problem.begin(), cell.per_problem.end());
    cell.accuracy.assign(series, 0.0);
    for (std::size_t k = 0; k < series; ++k) {
      double sum = 0;
      for (std::size_t j = 0; j < problems; ++j) sum += cell.per_problem[k * problems + j];
      cell.accuracy[k] = sum / problems;
    }
  }
  const Bootstrap bootstrap(problems, settings.bootstrap_resamples, settings.seed);
  const auto intervals = bootstrap.intervals(all_series.data(), cells.size() * series, settings.threads);
  for (std::size_t c = 0; c < cells.size(); ++c) {
    cells[c].ci_low.resize(series);
    cells[c].ci_high.resize(series);
    for (std::size_t k = 0; k < series; ++k) {
      cells[c].ci_low[k] = intervals[c * series + k].low;
      cells[c].ci_high[k] = intervals[c * series + k].high;
    }
  }
  return cells;
}

}  // namespace quorum::aggregation
