#include "runtime/aggregation/vote.h"

#include <algorithm>
#include <cmath>

namespace quorum::aggregation {

double clamped_logit(double p) {
  constexpr double kEps = 1e-6;
  p = std::clamp(p, kEps, 1.0 - kEps);
  return std::log(p / (1.0 - p));
}

void DrawState::reset(const std::uint8_t* class_correct, std::uint32_t num_classes) {
  classes_.assign(num_classes, ClassTotals{});
  for (std::uint32_t c = 0; c < num_classes; ++c) classes_[c].correct = class_correct[c] != 0;
  present_.clear();
  drawn_ = 0;
  correct_drawn_ = 0;
  sum_q_ = 0;
}

namespace {

// The running top of one strategy's vote: best score, classes tied at it, correct ones among them.
struct Top {
  double best = 0;
  int tied = 0, tied_correct = 0;

  void offer(double score, bool correct) {
    if (tied == 0 || score > best) {
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

}  // namespace

void DrawState::credits(const VoteParams& params, double (&out)[kStrategyCount]) const {
  // kde_wv's prior term log(q(m-1)/(1-q)) per response, q guarded away from 0 and 1. With a
  // single candidate answer (m = 1) there is nothing to weigh: every score is 0.
  const auto m = static_cast<double>(present_.size());
  double prior = 0;
  if (present_.size() > 1) {
    const double q = std::clamp(sum_q_ / drawn_, 1e-6, 1.0 - 1e-6);
    prior = std::log(q * (m - 1.0) / (1.0 - q));
  }
  const bool single = present_.size() <= 1;
  Top majority, best_of_n, weighted, linear, logit, kde;
  for (auto cls : present_) {
    const ClassTotals& t = classes_[cls];
    majority.offer(t.count, t.correct);
    best_of_n.offer(t.max_p, t.correct);
    weighted.offer(t.sum_p, t.correct);
    linear.offer(t.sum_p - params.linear_b * t.count, t.correct);
    logit.offer(t.sum_logit - params.logit_offset * t.count, t.correct);
    kde.offer(single ? 0.0 : t.sum_llr + prior * t.count, t.correct);
  }
  out[static_cast<int>(Strategy::majority)] = majority.credit();
  out[static_cast<int>(Strategy::best_of_n)] = best_of_n.credit();
  out[static_cast<int>(Strategy::weighted)] = weighted.credit();
  out[static_cast<int>(Strategy::linear_wv)] = linear.credit();
  out[static_cast<int>(Strategy::logit_wv)] = logit.credit();
  out[static_cast<int>(Strategy::kde_wv)] = kde.credit();
  out[static_cast<int>(Strategy::oracle)] = correct_drawn_ > 0 ? 1.0 : 0.0;
  out[static_cast<int>(Strategy::pass_at_n)] = 0.0;
}

double DrawState::credit(Strategy strategy, const VoteParams& params) const {
  double all[kStrategyCount];
  credits(params, all);
  return all[static_cast<int>(strategy)];
}

}  // namespace quorum::aggregation
