// Voting over the responses drawn so far in one draw of one problem, for several cells at
// once. Responses are added one at a time in draw order; at each budget the strategies read
// the class totals. Every weighted vote is a function of a few per-class sums, so one pass
// serves all strategies:
//   weighted   sum p                      linear_wv  sum p - b n
//   logit_wv   sum logit p - logit(b) n   kde_wv     sum llr(p) + n log(q(m-1)/(1-q))
// Ties are credited fractionally: with k classes tied for the top, c of them correct, the
// draw scores c/k.
//
// The cells of a policy (its PRMs x reductions) see the same draws and the same answer classes
// and differ only in scores, so the class bookkeeping (counts, which classes are present) is
// done once per response and only the sums are kept per cell.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "runtime/aggregation/strategy.h"

namespace quorum::aggregation {

// What one response contributes to one cell. llr and q are the kde_wv calibration's values at p.
struct ResponseSignal {
  double p = 0;      // reduced PRM score
  double logit = 0;  // logit of p (clamped)
  double llr = 0;    // log f1(p)/f0(p)
  double q = 0;      // calibrated P(correct | p)
};

// Calibrated parameters the weighted votes need.
struct VoteParams {
  double linear_b = 0.0;
  double logit_offset = 0.0;  // logit(b) of logit_wv
};

// One class's sums in one cell.
struct ClassSums {
  double sum_p, sum_logit, sum_llr, max_p;
};

// Every response's signal in every cell. A response's row holds each field for all cells
// contiguously (p of every cell, then logit, llr and q), so adding a response to all cells is
// four loops over contiguous doubles.
class SignalTable {
 public:
  static constexpr int kFields = 4;  // p, logit, llr, q
  SignalTable() = default;
  SignalTable(std::size_t responses, int cells)
      : cells_(cells), values_(responses * kFields * static_cast<std::size_t>(cells)) {}

  int cells() const { return cells_; }
  void set(std::size_t response, int cell, const ResponseSignal& signal) {
    double* row = values_.data() + response * kFields * cells_;
    row[cell] = signal.p;
    row[cells_ + cell] = signal.logit;
    row[2 * cells_ + cell] = signal.llr;
    row[3 * cells_ + cell] = signal.q;
  }
  const double* row(std::size_t response) const { return values_.data() + response * kFields * cells_; }

 private:
  int cells_ = 0;
  std::vector<double> values_;
};

class DrawState {
 public:
  // class_correct: per answer class of the problem.
  void reset(const std::uint8_t* class_correct, std::uint32_t num_classes, int cells = 1);
  // row: the response's SignalTable row. answer_class -1: the response has no answer; it
  // counts towards the budget and q only.
  void add(std::int32_t answer_class, const double* row);

  // Credit in [0, 1] of every strategy at the current budget in one cell, indexed by Strategy,
  // in one pass over the classes (pass_at_n is not a draw strategy: its slot is left 0).
  void credits(int cell, const VoteParams& params, double (&out)[kStrategyCount]) const;
  // The two halves of credits(): the strategies that read only counts and labels (majority,
  // oracle), the same in every cell, and those that read a cell's scores.
  void count_credits(double (&out)[kStrategyCount]) const;
  void score_credits(int cell, const VoteParams& params, double (&out)[kStrategyCount]) const;
  double credit(Strategy strategy, const VoteParams& params, int cell = 0) const;

  int drawn() const { return drawn_; }
  const std::vector<std::int32_t>& present() const { return present_; }
  int count(std::int32_t cls) const { return count_[cls]; }
  bool correct(std::int32_t cls) const { return correct_[cls] != 0; }
  ClassSums sums(std::int32_t cls, int cell) const {
    const double* s = sums_.data() + static_cast<std::size_t>(cls) * SignalTable::kFields * cells_;
    return {s[cell], s[cells_ + cell], s[2 * cells_ + cell], s[3 * cells_ + cell]};
  }

 private:
  int cells_ = 1;
  std::vector<int> count_;               // per class
  std::vector<std::uint8_t> correct_;    // per class
  std::vector<double> sums_;             // per class: sum_p, sum_logit, sum_llr, max_p of every cell
  std::vector<double> sum_q_;            // per cell, over every drawn response
  std::vector<std::int32_t> present_;    // classes with at least one drawn response
  int drawn_ = 0;
  int correct_drawn_ = 0;
};

// Inline: it runs once per drawn response, the sweep's innermost step.
inline void DrawState::add(std::int32_t answer_class, const double* row) {
  const int n = cells_;
  const double* p = row;
  const double* logit = row + n;
  const double* llr = row + 2 * n;
  const double* q = row + 3 * n;
  ++drawn_;
  for (int c = 0; c < n; ++c) sum_q_[c] += q[c];
  if (answer_class < 0) return;
  double* sums = sums_.data() + static_cast<std::size_t>(answer_class) * SignalTable::kFields * n;
  double* sum_p = sums;
  double* sum_logit = sums + n;
  double* sum_llr = sums + 2 * n;
  double* max_p = sums + 3 * n;
  if (count_[answer_class]++ == 0) {
    present_.push_back(answer_class);
    std::copy(p, p + n, sum_p);
    std::copy(logit, logit + n, sum_logit);
    std::copy(llr, llr + n, sum_llr);
    std::copy(p, p + n, max_p);
  } else {
    for (int c = 0; c < n; ++c) sum_p[c] += p[c];
    for (int c = 0; c < n; ++c) sum_logit[c] += logit[c];
    for (int c = 0; c < n; ++c) sum_llr[c] += llr[c];
    for (int c = 0; c < n; ++c) max_p[c] = std::max(max_p[c], p[c]);
  }
  correct_drawn_ += correct_[answer_class];
}

// logit with p clamped to [1e-6, 1 - 1e-6], so that 0 and 1 stay finite.
double clamped_logit(double p);

}  // namespace quorum::aggregation
