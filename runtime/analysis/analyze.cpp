#include "runtime/analysis/analyze.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <cmath>
#include <numeric>
#include <set>

#include "runtime/common/error.h"
#include "runtime/common/hash.h"
#include "runtime/common/parallel.h"

namespace quorum::analysis {

using aggregation::PolicyPool;
using aggregation::Strategy;

namespace {

std::vector<std::uint32_t> default_budgets(std::uint32_t largest) {
  std::vector<std::uint32_t> budgets;
  for (std::uint32_t n = 1; n <= largest; n *= 2) budgets.push_back(n);
  if (budgets.back() != largest) budgets.push_back(largest);
  return budgets;
}

void resolve(AnalysisSettings& settings, const std::vector<PolicyPool>& pools) {
  if (pools.empty()) throw InputError("", 0, "--input", "no problems to analyze");
  std::uint32_t smallest = UINT32_MAX;
  for (const auto& pool : pools) smallest = std::min(smallest, pool.min_responses());
  if (settings.budgets.empty()) settings.budgets = default_budgets(smallest);
  std::sort(settings.budgets.begin(), settings.budgets.end());
  settings.budgets.erase(std::unique(settings.budgets.begin(), settings.budgets.end()),
                         settings.budgets.end());
  if (settings.budgets.front() == 0) throw InputError("", 0, "--budgets", "a budget must be at least 1");
  for (const auto& pool : pools)
    for (std::size_t j = 0; j < pool.num_problems(); ++j)
      if (pool.num_responses(j) < settings.budgets.back())
        throw InputError("", 0, "--budgets",
                         "budget " + std::to_string(settings.budgets.back()) + " exceeds the " +
                             std::to_string(pool.num_responses(j)) + " responses of problem '" +
                             pool.problem_ids[j] + "' (policy '" + pool.policy + "')");
  for (const auto& pool : pools)
    for (std::size_t j = 0; j < pool.num_problems(); ++j)
      if (pool.num_responses(j) > 65536)
        throw InputError("", 0, "--input", "problem '" + pool.problem_ids[j] + "' has " +
                                               std::to_string(pool.num_responses(j)) +
                                               " responses; at most 65536 per problem are supported");
  if (settings.strategies.empty()) settings.strategies = aggregation::all_strategies();
  const bool reference_evaluated =
      std::find(settings.strategies.begin(), settings.strategies.end(), settings.reference) != settings.strategies.end();
  if (!reference_evaluated && settings.reference_given)
    throw InputError("", 0, "--reference", "the savings reference '" + std::string(aggregation::name(settings.reference)) +
                                               "' must be among the evaluated strategies");
  if (!reference_evaluated &&
      std::none_of(settings.strategies.begin(), settings.strategies.end(), aggregation::is_deployable))
    throw InputError("", 0, "--strategies",
                     "no deployable strategy to measure the compute saving against; add one, or give --reference "
                     "and evaluate it");
  if (settings.reductions.empty()) settings.reductions = aggregation::all_reductions();
  if (settings.draws < 1) throw InputError("", 0, "--draws", "must be at least 1");
  if (settings.bootstrap_resamples < 2) throw InputError("", 0, "--bootstrap", "must be at least 2");
  if (settings.calibration_draws < 1) throw InputError("", 0, "--calibration-draws", "must be at least 1");
}

const PolicyPool* find_policy(const std::vector<PolicyPool>& pools, const std::string& policy) {
  for (const auto& pool : pools)
    if (pool.policy == policy) return &pool;
  return nullptr;
}

double mean_of(const std::vector<double>& values) {
  if (values.empty()) return NAN;
  return std::accumulate(values.begin(), values.end(), 0.0) / values.size();
}

// The deployable strategy with the highest accuracy at the largest budget, averaged over the
// cells (the first in --strategies order on a tie), and a sentence saying so.
void choose_reference(Analysis& analysis, Strategy preferred) {
  const std::size_t nb = analysis.settings.budgets.size();
  const auto& strategies = analysis.settings.strategies;
  std::size_t best = SIZE_MAX;
  double best_accuracy = -1;
  for (std::size_t s = 0; s < strategies.size(); ++s) {
    if (!aggregation::is_deployable(strategies[s])) continue;
    std::vector<double> accuracies;
    for (const auto& cell : analysis.cells) accuracies.push_back(cell.accuracy.accuracy[s * nb + nb - 1]);
    const double accuracy = mean_of(accuracies);
    if (best == SIZE_MAX || accuracy > best_accuracy) {
      best = s;
      best_accuracy = accuracy;
    }
  }
  analysis.settings.reference = strategies[best];
  analysis.reference_choice = std::string(aggregation::name(strategies[best])) +
                              ", the best evaluated deployable strategy (mean accuracy " +
                              std::to_string(best_accuracy) + " at N = " +
                              std::to_string(analysis.settings.budgets.back()) + "), since " +
                              std::string(aggregation::name(preferred)) + " was not evaluated";
}

std::vector<Saving> compute_savings(const Analysis& analysis, const CellResult& cell) {
  const auto& budgets = analysis.settings.budgets;
  const std::size_t reference = analysis.strategy_index(analysis.settings.reference);
  if (reference == SIZE_MAX) return {};
  const std::size_t nb = budgets.size();
  const double target = cell.accuracy.accuracy[reference * nb + nb - 1];
  auto cost_per_sample = [&](Strategy s) {
    return cell.mean_sampled_tokens + (aggregation::uses_prm(s) ? cell.mean_scored_tokens : 0.0);
  };
  std::vector<Saving> savings;
  for (std::size_t s = 0; s < analysis.settings.strategies.size(); ++s) {
    const Strategy strategy = analysis.settings.strategies[s];
    if (!aggregation::is_deployable(strategy)) continue;
    Saving saving{strategy};
    saving.budget = budget_reaching(budgets, cell.accuracy.accuracy.data() + s * nb, target);
    saving.sample_fraction = saving.budget / budgets.back();
    saving.token_fraction = saving.budget * cost_per_sample(strategy) /
                            (budgets.back() * cost_per_sample(analysis.settings.reference));
    savings.push_back(saving);
  }
  return savings;
}

}  // namespace

std::size_t Analysis::strategy_index(Strategy s) const {
  auto it = std::find(settings.strategies.begin(), settings.strategies.end(), s);
  return it == settings.strategies.end() ? SIZE_MAX : it - settings.strategies.begin();
}

std::vector<int> assign_folds(const PolicyPool& pool, int folds) {
  std::vector<std::size_t> order(pool.num_problems());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return fnv1a64(pool.problem_ids[a]) < fnv1a64(pool.problem_ids[b]);
  });
  std::vector<int> fold(pool.num_problems());
  for (std::size_t rank = 0; rank < order.size(); ++rank) fold[order[rank]] = static_cast<int>(rank % folds);
  return fold;
}

double budget_reaching(const std::vector<std::uint32_t>& budgets, const double* accuracy, double target) {
  for (std::size_t b = 0; b < budgets.size(); ++b) {
    if (accuracy[b] < target) continue;
    if (b == 0 || accuracy[b] == accuracy[b - 1]) return budgets[b];
    const double t = (target - accuracy[b - 1]) / (accuracy[b] - accuracy[b - 1]);
    const double lo = std::log2(budgets[b - 1]), hi = std::log2(budgets[b]);
    return std::exp2(lo + t * (hi - lo));
  }
  return NAN;
}

std::vector<double> zero_crossings(const std::vector<double>& p, const std::vector<double>& w) {
  std::vector<double> crossings;
  for (std::size_t k = 1; k < p.size(); ++k) {
    if (w[k - 1] == 0.0 && (k == 1 || w[k - 2] != 0.0)) crossings.push_back(p[k - 1]);
    if ((w[k - 1] < 0) != (w[k] < 0) && w[k - 1] != 0.0 && w[k] != 0.0)
      crossings.push_back(p[k - 1] + (p[k] - p[k - 1]) * w[k - 1] / (w[k - 1] - w[k]));
  }
  return crossings;
}

Analysis analyze(const std::vector<PolicyPool>& pools, const std::vector<PolicyPool>& calibration_pools,
                 AnalysisSettings settings, const Progress& progress) {
  resolve(settings, pools);
  Analysis analysis;
  analysis.settings = settings;
  const bool separate = !calibration_pools.empty();
  const bool calibrate = std::any_of(settings.strategies.begin(), settings.strategies.end(),
                                     aggregation::is_calibrated);
  for (const auto& pool : pools) {
    analysis.problems += pool.num_problems();
    analysis.responses += pool.answer_class.size();
    if (!calibrate) continue;
    if (separate) {
      const PolicyPool* split = find_policy(calibration_pools, pool.policy);
      if (!split)
        throw InputError("", 0, "--calibration", "no calibration data for policy '" + pool.policy + "'");
      for (const auto& steps : pool.step_scores)
        if (split->prm_index(steps.prm) < 0)
          throw InputError("", 0, "--calibration", "no calibration scores from PRM '" + steps.prm +
                                                       "' for policy '" + pool.policy + "'");
      const std::set<std::string> calibration_ids(split->problem_ids.begin(), split->problem_ids.end());
      for (const auto& id : pool.problem_ids)
        if (calibration_ids.count(id))
          throw InputError("", 0, "--calibration",
                           "problem '" + id + "' of policy '" + pool.policy +
                               "' is both evaluated and in the calibration split; calibration must "
                               "never see an evaluated problem");
    } else if (settings.folds < 2 || static_cast<std::size_t>(settings.folds) > pool.num_problems()) {
      throw InputError("", 0, "--folds", "needs between 2 and " + std::to_string(pool.num_problems()) +
                                             " folds (the problems of policy '" + pool.policy + "')");
    }
  }
  if (!calibrate) analysis.calibration_mode = "none (no calibrated strategy)";
  else if (separate) analysis.calibration_mode = "separate calibration split";
  else analysis.calibration_mode = std::to_string(settings.folds) + "-fold cross-fitting over problems";

  // Progress counts problems passed through calibration and through the sweep.
  std::size_t total = 0;
  for (const auto& pool : pools) {
    total += pool.num_problems();
    if (calibrate) total += separate ? find_policy(calibration_pools, pool.policy)->num_problems() : pool.num_problems();
  }
  std::atomic<std::size_t> done{0};
  std::mutex progress_mutex;
  const std::function<void()> tick = [&] {
    const std::size_t now = ++done;
    if (!progress) return;
    std::lock_guard<std::mutex> lock(progress_mutex);
    progress(now, total);
  };

  calibration::CalibrationSettings calibration_settings;
  calibration_settings.budgets = settings.budgets;
  calibration_settings.draws = settings.calibration_draws;
  calibration_settings.seed = settings.seed;
  calibration_settings.threads = settings.threads;
  aggregation::SweepSettings sweep_settings;
  sweep_settings.budgets = settings.budgets;
  sweep_settings.strategies = settings.strategies;
  sweep_settings.draws = settings.draws;
  sweep_settings.seed = settings.seed;
  sweep_settings.bootstrap_resamples = settings.bootstrap_resamples;
  sweep_settings.threads = settings.threads;

  for (const auto& pool : pools) {
    // The cells of this policy: every PRM with every reduction.
    std::vector<CellResult> cells;
    for (std::size_t prm = 0; prm < pool.step_scores.size(); ++prm)
      for (auto reduction : settings.reductions) {
        CellResult cell;
        cell.policy = pool.policy;
        cell.prm = pool.step_scores[prm].prm;
        cell.reduction = reduction;
        cells.push_back(std::move(cell));
      }
    const std::size_t num_cells = cells.size();
    std::vector<aggregation::ReducedScores> cell_scores(num_cells);
    parallel_for(num_cells, settings.threads, [&](std::size_t c, int) {
      cell_scores[c] = aggregation::reduced_scores(pool, pool.prm_index(cells[c].prm), cells[c].reduction);
    });

    const std::vector<int> fold = separate || !calibrate ? std::vector<int>(pool.num_problems(), 0)
                                                         : assign_folds(pool, settings.folds);
    if (!calibrate) {
      for (auto& cell : cells) cell.calibrations.emplace_back();
    } else {
      // Calibrate on the separate split, or on the other folds of the evaluated pool.
      const PolicyPool& source = separate ? *find_policy(calibration_pools, pool.policy) : pool;
      std::vector<aggregation::ReducedScores> source_scores;
      if (separate) {
        source_scores.resize(num_cells);
        parallel_for(num_cells, settings.threads, [&](std::size_t c, int) {
          source_scores[c] = aggregation::reduced_scores(source, source.prm_index(cells[c].prm), cells[c].reduction);
        });
      }
      const auto& fit_scores = separate ? source_scores : cell_scores;
      const auto credits = calibration::offset_credit(source, fit_scores, calibration_settings, tick);
      const int fits = separate ? 1 : settings.folds;
      for (auto& cell : cells) cell.calibrations.resize(fits);
      parallel_for(num_cells * fits, settings.threads, [&](std::size_t task, int) {
        const std::size_t c = task / fits;
        const int f = static_cast<int>(task % fits);
        std::vector<std::uint8_t> use(source.num_problems(), 1);
        if (!separate)
          for (std::size_t j = 0; j < use.size(); ++j) use[j] = fold[j] != f;
        cells[c].calibrations[f] = calibration::fit(source, fit_scores[c], credits[c], use);
      });
    }

    aggregation::SweepInputs inputs;
    inputs.cells = static_cast<int>(num_cells);
    inputs.signals = aggregation::SignalTable(pool.answer_class.size(), inputs.cells);
    inputs.params.resize(pool.num_problems() * num_cells);
    parallel_for(pool.num_problems(), settings.threads, [&](std::size_t j, int) {
      for (std::size_t c = 0; c < num_cells; ++c) {
        const auto& fit = cells[c].calibrations[fold[j]];
        const auto& scores = cell_scores[c];
        inputs.params[j * num_cells + c] = fit.vote_params();
        for (auto r = pool.response_offsets[j]; r < pool.response_offsets[j + 1]; ++r)
          inputs.signals.set(r, static_cast<int>(c), fit.signal(scores.p[r], scores.logit[r]));
      }
    });
    for (std::size_t c = 0; c < num_cells; ++c)
      for (std::size_t j = 0; j < pool.num_problems(); ++j) {
        for (auto r = pool.response_offsets[j]; r < pool.response_offsets[j + 1]; ++r) {
          const int bin = std::clamp(static_cast<int>(cell_scores[c].p[r] * ScoreHistogram::kBins), 0,
                                     ScoreHistogram::kBins - 1);
          (pool.is_correct(j, r) ? cells[c].histogram.correct : cells[c].histogram.incorrect)[bin] += 1;
        }
      }
    auto accuracies = aggregation::sweep_cells(pool, inputs, sweep_settings, tick);
    for (std::size_t c = 0; c < cells.size(); ++c) {
      auto& cell = cells[c];
      cell.accuracy = std::move(accuracies[c]);
      cell.mean_sampled_tokens = mean_of(pool.sampled_tokens);
      cell.mean_scored_tokens = mean_of(pool.scored_tokens);
      analysis.cells.push_back(std::move(cell));
    }
  }
  // Savings need the reference, which may be chosen from every cell's accuracy.
  if (analysis.strategy_index(analysis.settings.reference) == SIZE_MAX)
    choose_reference(analysis, analysis.settings.reference);
  for (auto& cell : analysis.cells) cell.savings = compute_savings(analysis, cell);
  return analysis;
}

}  // namespace quorum::analysis
