#include "runtime/aggregation/vote.h"

#include <algorithm>
#include <cmath>

namespace quorum::aggregation {

double clamped_logit(double p) {
  constexpr double kEps = 1e-6;
  p = std::clamp(p, kEps, 1.0 - kEps);
  return std::log(p / (1.0 - p));
}

void DrawState::reset(const std::uint8_t* class_correct, std::uint32_t num_classes, int cells) {
  cells_ = cells;
  count_.assign(num_classes, 0);
  correct_.assign(class_correct, class_correct + num_classes);
  sums_.resize(static_cast<std::size_t>(num_classes) * SignalTable::kFields * cells);  // set on first add
  sum_q_.assign(cells, 0.0);
  present_.clear();
  drawn_ = 0;
  correct_drawn_ = 0;
}

namespace {

// The running top of one strategy's vote: best score, classes tied at it, correct ones among them.
struct Top {
  double best = -INFINITY;
  int tied = 0, tied_correct = 0;

  void offer(double score, bool correct) {
    if (score > best) {
      best = score;
      tied = 1;
      tied_correct = correct;
    } else if (score == best) {
      ++tied;
      tied_correct += correct;
    }
  }
  double credit() const { return tied ? static_cast<double>(tied_correct) / tied : 0.0; }
};

constexpr int index(Strategy s) { return static_cast<int>(s); }

}  // namespace

void DrawState::count_credits(double (&out)[kStrategyCount]) const {
  Top majority;
  for (auto cls : present_) majority.offer(count_[cls], correct_[cls] != 0);
  out[index(Strategy::majority)] = majority.credit();
  out[index(Strategy::oracle)] = correct_drawn_ > 0 ? 1.0 : 0.0;
  out[index(Strategy::pass_at_n)] = 0.0;
}

void DrawState::score_credits(int cell, const VoteParams& params, double (&out)[kStrategyCount]) const {
  constexpr Strategy kScored[] = {Strategy::best_of_n, Strategy::weighted, Strategy::linear_wv,
                                  Strategy::logit_wv, Strategy::kde_wv};
  // With at most one candidate answer every vote picks it (and kde_wv's m = 1 guard holds).
  if (present_.size() <= 1) {
    const double only = present_.empty() ? 0.0 : correct_[present_.front()];
    for (Strategy s : kScored) out[index(s)] = only;
    return;
  }
  // kde_wv's prior term log(q(m-1)/(1-q)) per response, q guarded away from 0 and 1.
  const auto m = static_cast<double>(present_.size());
  const double q = std::clamp(sum_q_[cell] / drawn_, 1e-6, 1.0 - 1e-6);
  const double prior = std::log(q * (m - 1.0) / (1.0 - q));
  Top best_of_n, weighted, linear, logit, kde;
  for (auto cls : present_) {
    const ClassSums t = sums(cls, cell);
    const int n = count_[cls];
    const bool correct = correct_[cls] != 0;
    best_of_n.offer(t.max_p, correct);
    weighted.offer(t.sum_p, correct);
    linear.offer(t.sum_p - params.linear_b * n, correct);
    logit.offer(t.sum_logit - params.logit_offset * n, correct);
    kde.offer(t.sum_llr + prior * n, correct);
  }
  out[index(Strategy::best_of_n)] = best_of_n.credit();
  out[index(Strategy::weighted)] = weighted.credit();
  out[index(Strategy::linear_wv)] = linear.credit();
  out[index(Strategy::logit_wv)] = logit.credit();
  out[index(Strategy::kde_wv)] = kde.credit();
}

void DrawState::credits(int cell, const VoteParams& params, double (&out)[kStrategyCount]) const {
  count_credits(out);
  score_credits(cell, params, out);
}

double DrawState::credit(Strategy strategy, const VoteParams& params, int cell) const {
  double all[kStrategyCount];
  credits(cell, params, all);
  return all[static_cast<int>(strategy)];
}

}  // namespace quorum::aggregation
