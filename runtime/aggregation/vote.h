// Voting over the responses drawn so far in one draw of one problem. Responses are added one
// at a time in draw order; at each budget the strategies read the class totals. Every weighted
// vote is a function of a few per-class sums, so one pass serves all strategies:
//   weighted   sum p                      linear_wv  sum p - b n
//   logit_wv   sum logit p - logit(b) n   kde_wv     sum llr(p) + n log(q(m-1)/(1-q))
// Ties are credited fractionally: with k classes tied for the top, c of them correct, the
// draw scores c/k.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "runtime/aggregation/strategy.h"

namespace quorum::aggregation {

// What one response contributes. llr and q are the kde_wv calibration's values at p.
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

struct ClassTotals {
  int count = 0;
  double sum_p = 0, sum_logit = 0, sum_llr = 0, max_p = 0;
  bool correct = false;
};

class DrawState {
 public:
  // class_correct: per answer class of the problem.
  void reset(const std::uint8_t* class_correct, std::uint32_t num_classes);
  // answer_class -1: the response has no answer; it counts towards the budget and q only.
  void add(std::int32_t answer_class, const ResponseSignal& signal);

  // Credit in [0, 1] of every strategy at the current budget, indexed by Strategy, in one pass
  // over the classes (pass_at_n is not a draw strategy: its slot is left 0).
  void credits(const VoteParams& params, double (&out)[kStrategyCount]) const;
  double credit(Strategy strategy, const VoteParams& params) const;

  int drawn() const { return drawn_; }
  const std::vector<std::int32_t>& present() const { return present_; }
  const ClassTotals& totals(std::int32_t cls) const { return classes_[cls]; }

 private:
  std::vector<ClassTotals> classes_;
  std::vector<std::int32_t> present_;  // classes with at least one drawn response
  int drawn_ = 0;
  int correct_drawn_ = 0;
  double sum_q_ = 0;
};

// Inline: it runs once per drawn response per cell, the sweep's innermost step.
inline void DrawState::add(std::int32_t answer_class, const ResponseSignal& signal) {
  ++drawn_;
  sum_q_ += signal.q;
  if (answer_class < 0) return;
  auto& totals = classes_[answer_class];
  if (totals.count == 0) {
    present_.push_back(answer_class);
    totals.max_p = signal.p;
  } else {
    totals.max_p = std::max(totals.max_p, signal.p);
  }
  ++totals.count;
  totals.sum_p += signal.p;
  totals.sum_logit += signal.logit;
  totals.sum_llr += signal.llr;
  correct_drawn_ += totals.correct;
}

// logit with p clamped to [1e-6, 1 - 1e-6], so that 0 and 1 stay finite.
double clamped_logit(double p);

}  // namespace quorum::aggregation
