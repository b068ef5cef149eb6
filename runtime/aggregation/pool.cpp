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

PolicyPool subset(const PolicyPool& pool, const std::vector<std::size_t>& problems) {
  PolicyPool out;
  out.policy = pool.policy;
  out.response_offsets = {0};
  out.class_offsets = {0};
  const bool tokens = !pool.sampled_tokens.empty();
  for (const auto& scores : pool.step_scores) out.step_scores.push_back({scores.prm, {0}, {}});
  for (const auto j : problems) {
    out.problem_ids.push_back(pool.problem_ids.at(j));
    for (auto r = pool.response_offsets[j]; r < pool.response_offsets[j + 1]; ++r) {
      out.answer_class.push_back(pool.answer_class[r]);
      if (tokens) out.sampled_tokens.push_back(pool.sampled_tokens[r]), out.scored_tokens.push_back(pool.scored_tokens[r]);
      for (std::size_t k = 0; k < pool.step_scores.size(); ++k) {
        const auto& from = pool.step_scores[k];
        auto& to = out.step_scores[k];
        to.values.insert(to.values.end(), from.values.begin() + from.offsets[r], from.values.begin() + from.offsets[r + 1]);
        to.offsets.push_back(static_cast<std::uint32_t>(to.values.size()));
      }
    }
    out.response_offsets.push_back(static_cast<std::uint32_t>(out.answer_class.size()));
    out.class_correct.insert(out.class_correct.end(), pool.class_correct.begin() + pool.class_offsets[j],
                             pool.class_correct.begin() + pool.class_offsets[j + 1]);
    out.class_offsets.push_back(static_cast<std::uint32_t>(out.class_correct.size()));
  }
  return out;
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
