#include "runtime/aggregation/pool.h"

#include <algorithm>

#include "runtime/aggregation/vote.h"

namespace quorum::aggregation {

std::uint32_t PolicyPool::num_correct(std::size_t j) const {
  std::uint32_t count = 0;
  for (auto r = response_offsets[j]; r < response_offsets[j + 1]; ++r) count += is_correct(j, r);
  return count;
}

std::uint32_t PolicyPool::min_responses() const {
  std::uint32_t least = UINT32_MAX;
  for (std::size_t j = 0; j < num_problems(); ++j) least = std::min(least, num_responses(j));
  return num_problems() ? least : 0;
}

int PolicyPool::prm_index(const std::string& prm) const {
  for (std::size_t i = 0; i < step_scores.size(); ++i)
    if (step_scores[i].prm == prm) return static_cast<int>(i);
  return -1;
}

ReducedScores reduced_scores(const PolicyPool& pool, int prm, Reduction reduction) {
  const auto& steps = pool.step_scores[prm];
  const std::size_t responses = pool.answer_class.size();
  ReducedScores scores{std::vector<double>(responses), std::vector<double>(responses)};
  for (std::size_t r = 0; r < responses; ++r) {
    scores.p[r] = reduce(reduction, steps.values.data() + steps.offsets[r], steps.offsets[r + 1] - steps.offsets[r]);
    scores.logit[r] = clamped_logit(scores.p[r]);
  }
  return scores;
}

}  // namespace quorum::aggregation
