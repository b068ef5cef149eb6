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

void DrawState::add(std::int32_t answer_class, const ResponseSignal& signal) {
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

template <class ScoreOf>
double DrawState::top_credit(ScoreOf score_of) const {
  double best = 0;
  int tied = 0, tied_correct = 0;
  for (auto cls : present_) {
    const auto& totals = classes_[cls];
    const double score = score_of(totals);
    if (tied == 0 || score > best) {
      best = score;
      tied = 1;
      tied_correct = totals.correct;
    } else if (score == best) {
      ++tied;
      tied_correct += totals.correct;
    }
  }
  return tied ? static_cast<double>(tied_correct) / tied : 0.0;
}

double DrawState::credit(Strategy strategy, const VoteParams& params) const {
  switch (strategy) {
    case Strategy::majority:
      return top_credit([](const ClassTotals& t) { return static_cast<double>(t.count); });
    case Strategy::best_of_n:
      return top_credit([](const ClassTotals& t) { return t.max_p; });
    case Strategy::weighted:
      return top_credit([](const ClassTotals& t) { return t.sum_p; });
    case Strategy::linear_wv:
      return top_credit(
          [b = params.linear_b](const ClassTotals& t) { return t.sum_p - b * t.count; });
    case Strategy::logit_wv:
      return top_credit([c = params.logit_offset](const ClassTotals& t) {
        return t.sum_logit - c * t.count;
      });
    case Strategy::kde_wv: {
      // One candidate answer: nothing to weigh (the guard for m = 1).
      const auto m = static_cast<double>(present_.size());
      if (present_.size() <= 1) return top_credit([](const ClassTotals&) { return 0.0; });
      // Guard q away from 0 and 1, where the prior term is infinite.
      const double q = std::clamp(sum_q_ / drawn_, 1e-6, 1.0 - 1e-6);
      const double prior = std::log(q * (m - 1.0) / (1.0 - q));
      return top_credit(
          [prior](const ClassTotals& t) { return t.sum_llr + prior * t.count; });
    }
    case Strategy::oracle:
      return correct_drawn_ > 0 ? 1.0 : 0.0;
    case Strategy::pass_at_n:
      break;
  }
  return 0.0;
}

}  // namespace quorum::aggregation
