#include "runtime/calibration/calibration.h"

#include <algorithm>
#include <cmath>

#include "runtime/aggregation/draws.h"
#include "runtime/common/parallel.h"

namespace quorum::calibration {

using aggregation::DrawState;
using aggregation::PolicyPool;
using aggregation::ResponseSignal;
using aggregation::Strategy;

const std::vector<double>& linear_grid() {
  static const std::vector<double> grid = [] {
    std::vector<double> g;
    for (int i = -100; i <= 100; ++i) g.push_back(i / 100.0);
    return g;
  }();
  return grid;
}

const std::vector<double>& logit_grid() {
  static const std::vector<double> grid = [] {
    std::vector<double> g;
    for (int i = 1; i <= 99; ++i) g.push_back(i / 100.0);
    return g;
  }();
  return grid;
}

namespace {

// Classes that drew the same number of responses compete only through their sums, so for
// any b the winner is among each count's best sum: the grid loop runs over counts, not classes.
struct CountGroup {
  int count;
  double best_sum;
  int tied;
  int tied_correct;
};

template <class SumOf>
void group_by_count(const DrawState& state, SumOf sum_of, std::vector<CountGroup>& groups) {
  groups.clear();
  for (auto cls : state.present()) {
    const double sum = sum_of(cls);
    const int count = state.count(cls);
    const bool correct = state.correct(cls);
    auto it = std::find_if(groups.begin(), groups.end(), [&](const CountGroup& g) { return g.count == count; });
    if (it == groups.end()) {
      groups.push_back({count, sum, 1, correct});
    } else if (sum > it->best_sum) {
      *it = {count, sum, 1, correct};
    } else if (sum == it->best_sum) {
      ++it->tied;
      it->tied_correct += correct;
    }
  }
}

// The vote sum - c * count at one offset c, over all groups, with fractional ties. Returns the
// credit and sets `leader` to the top group with the smallest count: the one still on top
// just above c.
double vote_at(const std::vector<CountGroup>& groups, double c, std::size_t& leader) {
  double best = 0;
  int tied = 0, tied_correct = 0;
  for (std::size_t k = 0; k < groups.size(); ++k) {
    const auto& group = groups[k];
    const double score = group.best_sum - c * group.count;
    if (tied == 0 || score > best) {
      best = score;
      tied = group.tied;
      tied_correct = group.tied_correct;
      leader = k;
    } else if (score == best) {
      tied += group.tied;
      tied_correct += group.tied_correct;
      if (group.count < groups[leader].count) leader = k;
    }
  }
  return static_cast<double>(tied_correct) / tied;
}

// Adds, for every offset c in offsets (ascending), weight times the credit of the vote
// sum - c * count. As c grows only groups with smaller counts can overtake the leader, and the
// first to do so crosses it at c* = min (S_leader - S_g) / (n_leader - n_g); below c* the
// leader stays alone on top, so only offsets near a crossing are voted on group by group
// (exactly as a full evaluation would), and the stretch up to c* takes the leader's credit,
// added as a step to `steps` (steps[g] - steps[g+1] apply from g on; summed later).
void add_offset_credit(const std::vector<CountGroup>& groups, const std::vector<double>& offsets,
                       double weight, double* credit, double* steps) {
  if (groups.empty()) return;  // no drawn response has an answer: nothing is credited at any offset
  std::size_t g = 0;
  while (g < offsets.size()) {
    std::size_t leader = 0;
    credit[g] += weight * vote_at(groups, offsets[g], leader);
    ++g;
    const CountGroup& top = groups[leader];
    double crossing = INFINITY;
    for (const auto& other : groups)
      if (other.count < top.count)
        crossing = std::min(crossing, (top.best_sum - other.best_sum) / (top.count - other.count));
    // No group with a smaller count: the leader keeps the top for every larger offset.
    const double until = std::isinf(crossing) ? INFINITY : crossing - 1e-9 * (1.0 + std::abs(crossing));
    const std::size_t start = g;
    g = std::lower_bound(offsets.begin() + g, offsets.end(), until) - offsets.begin();
    if (g == start || top.tied_correct == 0) continue;
    const double leader_credit = weight * top.tied_correct / top.tied;
    steps[start] += leader_credit;
    steps[g] -= leader_credit;
  }
}

const std::vector<double>& logit_offsets() {
  static const std::vector<double> offsets = [] {
    std::vector<double> o;
    for (double b : logit_grid()) o.push_back(std::log(b / (1.0 - b)));
    return o;
  }();
  return offsets;
}

// The grid value with the best accuracy; among values within rounding of the best, the one
// nearest the uncalibrated vote (neutral), so flat stretches do not drift to the grid's edge.
double best_on_grid(const std::vector<double>& grid, const std::vector<double>& accuracy,
                    double neutral) {
  const double best = *std::max_element(accuracy.begin(), accuracy.end());
  double chosen = grid.front();
  bool found = false;
  for (std::size_t g = 0; g < grid.size(); ++g) {
    if (accuracy[g] < best - 1e-12) continue;
    if (!found || std::abs(grid[g] - neutral) < std::abs(chosen - neutral) - 1e-12) chosen = grid[g];
    found = true;
  }
  return chosen;
}

}  // namespace

std::vector<OffsetCredit> offset_credit(const PolicyPool& pool, const std::vector<aggregation::ReducedScores>& scores,
                                        const CalibrationSettings& settings, const std::function<void()>& tick) {
  const std::size_t problems = pool.num_problems();
  const int cells = static_cast<int>(scores.size());
  const auto& linear = linear_grid();
  const auto& logit = logit_offsets();
  std::vector<OffsetCredit> credits(cells);
  for (auto& credit : credits) {
    credit.problems = problems;
    credit.linear.assign(problems * linear.size(), 0.0);
    credit.logit.assign(problems * logit.size(), 0.0);
  }
  const std::uint64_t stream = aggregation::stream_key(settings.seed, aggregation::Stream::calibration);
  // [response * cells + cell]: p and its logit; the grid searches need no llr or q.
  aggregation::SignalTable signals(pool.answer_class.size(), cells);
  for (int c = 0; c < cells; ++c)
    for (std::size_t r = 0; r < pool.answer_class.size(); ++r) {
      ResponseSignal signal;
      signal.p = scores[c].p[r];
      signal.logit = scores[c].logit[r];
      signals.set(r, c, signal);
    }

  struct Scratch {
    std::vector<std::uint16_t> order;
    std::vector<std::uint64_t> keys;
    std::vector<CountGroup> groups;
    DrawState state;
    std::vector<double> steps;  // [cell][linear grid + 1, logit grid + 1]: see add_offset_credit
  };
  std::vector<Scratch> scratch(resolve_threads(settings.threads));
  const std::size_t steps_per_cell = linear.size() + 1 + logit.size() + 1;

  // Walks one ordering of problem j's responses (nullptr: pool order), adding every cell's
  // credit of every grid value at each of budgets[first_budget, last_budget), times `weight`.
  auto walk = [&](Scratch& s, std::size_t j, const std::uint16_t* order, std::size_t first_budget,
                  std::size_t last_budget, double weight) {
    const std::uint32_t first = pool.response_offsets[j];
    s.state.reset(pool.class_correct.data() + pool.class_offsets[j], pool.num_classes(j), cells);
    std::size_t b = first_budget;
    for (std::uint32_t k = 0; k < settings.budgets[last_budget - 1]; ++k) {
      const std::uint32_t r = first + (order ? order[k] : k);
      s.state.add(pool.answer_class[r], signals.row(r));
      if (k + 1 != settings.budgets[b]) continue;
      ++b;
      for (int c = 0; c < cells; ++c) {
        double* steps = s.steps.data() + c * steps_per_cell;
        group_by_count(s.state, [&](std::int32_t cls) { return s.state.sums(cls, c).sum_p; }, s.groups);
        add_offset_credit(s.groups, linear, weight, credits[c].linear.data() + j * linear.size(), steps);
        group_by_count(s.state, [&](std::int32_t cls) { return s.state.sums(cls, c).sum_logit; }, s.groups);
        add_offset_credit(s.groups, logit, weight, credits[c].logit.data() + j * logit.size(),
                          steps + linear.size() + 1);
      }
    }
  };

  parallel_for(problems, settings.threads, [&](std::size_t j, int worker) {
    Scratch& s = scratch[worker];
    const std::uint32_t n = pool.num_responses(j);
    // Budgets above this problem's pool are skipped; one equal to it draws the whole pool every
    // time, so it is voted on once.
    const std::size_t usable = std::upper_bound(settings.budgets.begin(), settings.budgets.end(), n) -
                               settings.budgets.begin();
    const bool whole_pool_last = usable > 0 && settings.budgets[usable - 1] == n;
    const std::size_t drawn_budgets = usable - whole_pool_last;
    s.order.resize(n);
    s.steps.assign(cells * steps_per_cell, 0.0);
    for (int d = 0; d < settings.draws && drawn_budgets > 0; ++d) {
      aggregation::draw_permutation(stream, j, d, n, settings.budgets[drawn_budgets - 1], s.order.data(), s.keys);
      walk(s, j, s.order.data(), 0, drawn_budgets, 1.0);
    }
    if (whole_pool_last) walk(s, j, nullptr, usable - 1, usable, settings.draws);
    const double evaluations = static_cast<double>(settings.draws) * usable;
    for (int c = 0; c < cells; ++c) {
      double* linear_credit = credits[c].linear.data() + j * linear.size();
      double* logit_credit = credits[c].logit.data() + j * logit.size();
      const double* steps = s.steps.data() + c * steps_per_cell;
      double level = 0;
      for (std::size_t g = 0; g < linear.size(); ++g) linear_credit[g] += (level += steps[g]);
      level = 0;
      for (std::size_t g = 0; g < logit.size(); ++g) logit_credit[g] += (level += steps[linear.size() + 1 + g]);
      for (std::size_t g = 0; usable > 0 && g < linear.size(); ++g) linear_credit[g] /= evaluations;
      for (std::size_t g = 0; usable > 0 && g < logit.size(); ++g) logit_credit[g] /= evaluations;
    }
    if (tick) tick();
  });
  return credits;
}

Calibration fit(const PolicyPool& pool, const aggregation::ReducedScores& scores,
                const OffsetCredit& credit, const std::vector<std::uint8_t>& use) {
  Calibration calibration;
  const auto& linear = linear_grid();
  const auto& logit = logit_grid();
  calibration.linear_accuracy.assign(linear.size(), 0.0);
  calibration.logit_accuracy.assign(logit.size(), 0.0);
  std::vector<double> correct_logits, incorrect_logits;
  for (std::size_t j = 0; j < pool.num_problems(); ++j) {
    if (!use[j]) continue;
    ++calibration.problems;
    for (std::size_t g = 0; g < linear.size(); ++g)
      calibration.linear_accuracy[g] += credit.linear[j * linear.size() + g];
    for (std::size_t g = 0; g < logit.size(); ++g)
      calibration.logit_accuracy[g] += credit.logit[j * logit.size() + g];
    for (auto r = pool.response_offsets[j]; r < pool.response_offsets[j + 1]; ++r) {
      const bool correct = pool.is_correct(j, r);
      (correct ? correct_logits : incorrect_logits).push_back(scores.logit[r]);
      calibration.q.add(scores.p[r], correct);
      ++calibration.responses;
      calibration.correct_responses += correct;
    }
  }
  if (calibration.problems > 0) {
    for (double& a : calibration.linear_accuracy) a /= calibration.problems;
    for (double& a : calibration.logit_accuracy) a /= calibration.problems;
    calibration.linear_b = best_on_grid(linear, calibration.linear_accuracy, 0.0);
    calibration.logit_b = best_on_grid(logit, calibration.logit_accuracy, 0.5);
  }
  calibration.kde = KdeRatio::fit(correct_logits, incorrect_logits);
  return calibration;
}

aggregation::VoteParams Calibration::vote_params() const {
  aggregation::VoteParams params;
  params.linear_b = linear_b;
  params.logit_offset = std::log(logit_b / (1.0 - logit_b));
  return params;
}

aggregation::ResponseSignal Calibration::signal(double p, double logit) const {
  ResponseSignal signal;
  signal.p = p;
  signal.logit = logit;
  signal.llr = kde.at(signal.logit);
  signal.q = q.at(p);
  return signal;
}

double Calibration::weight(Strategy strategy, double p) const {
  switch (strategy) {
    case Strategy::linear_wv:
      return p - linear_b;
    case Strategy::logit_wv:
      return aggregation::clamped_logit(p) - vote_params().logit_offset;
    case Strategy::kde_wv:
      return kde.at(aggregation::clamped_logit(p));
    default:
      return p;
  }
}

}  // namespace quorum::calibration
