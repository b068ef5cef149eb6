#include "runtime/aggregation/pool.h"

#include <algorithm>

namespace quorum::aggregation {

bool PolicyPool::is_correct(std::size_t response) const {
  const auto cls = answer_class[response];
  if (cls < 0) return false;
  auto j = static_cast<std::size_t>(
      std::upper_bound(response_offsets.begin(), response_offsets.end(), response) -
      response_offsets.begin() - 1);
  return class_correct[class_offsets[j] + cls] != 0;
}

std::uint32_t PolicyPool::num_correct(std::size_t j) const {
  std::uint32_t count = 0;
  const auto* correct = class_correct.data() + class_offsets[j];
  for (auto r = response_offsets[j]; r < response_offsets[j + 1]; ++r)
    count += answer_class[r] >= 0 && correct[answer_class[r]];
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

std::vector<double> reduced_scores(const PolicyPool& pool, int prm, Reduction reduction) {
  const auto& steps = pool.step_scores[prm];
  std::vector<double> scores(pool.answer_class.size());
  for (std::size_t r = 0; r < scores.size(); ++r)
    scores[r] = reduce(reduction, steps.values.data() + steps.offsets[r],
                       steps.offsets[r + 1] - steps.offsets[r]);
  return scores;
}

}  // namespace quorum::aggregation
