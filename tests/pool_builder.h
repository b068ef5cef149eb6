// Builds small PolicyPools by hand for tests: each response is (answer class, score).
#pragma once

#include <vector>

#include "runtime/aggregation/pool.h"

namespace quorum::testing {

struct HandResponse {
  int answer_class;  // -1: no answer
  float score;
};

struct HandProblem {
  std::vector<HandResponse> responses;
  std::vector<int> correct_classes;  // which classes match the gold answer
  int classes;
};

inline aggregation::PolicyPool hand_pool(const std::vector<HandProblem>& problems) {
  aggregation::PolicyPool pool;
  pool.policy = "policy";
  pool.response_offsets = {0};
  pool.class_offsets = {0};
  pool.step_scores.push_back({"prm", {0}, {}});
  for (std::size_t j = 0; j < problems.size(); ++j) {
    pool.problem_ids.push_back("problem-" + std::to_string(j));
    for (const auto& r : problems[j].responses) {
      pool.answer_class.push_back(r.answer_class);
      pool.step_scores[0].values.push_back(r.score);
      pool.step_scores[0].offsets.push_back(static_cast<std::uint32_t>(pool.step_scores[0].values.size()));
    }
    pool.response_offsets.push_back(static_cast<std::uint32_t>(pool.answer_class.size()));
    std::vector<std::uint8_t> correct(problems[j].classes, 0);
    for (int c : problems[j].correct_classes) correct[c] = 1;
    pool.class_correct.insert(pool.class_correct.end(), correct.begin(), correct.end());
    pool.class_offsets.push_back(static_cast<std::uint32_t>(pool.class_correct.size()));
  }
  return pool;
}

}  // namespace quorum::testing
