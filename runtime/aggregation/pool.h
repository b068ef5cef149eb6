// The response pool of one policy, flattened problem by problem so that the sweep's inner
// loops touch contiguous arrays. Every (PRM, reduction) cell of the policy shares it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/aggregation/strategy.h"

namespace quorum::aggregation {

// Per-step scores of every response of a pool from one PRM.
struct StepScores {
  std::string prm;
  std::vector<std::uint32_t> offsets;  // response r's steps are values[offsets[r]..offsets[r+1])
  std::vector<float> values;
};

struct PolicyPool {
  std::string policy;
  std::vector<std::string> problem_ids;          // per problem
  std::vector<std::uint32_t> response_offsets;   // problem j owns responses [off[j], off[j+1])
  std::vector<std::int32_t> answer_class;        // per response; -1: no answer, abstains
  std::vector<std::uint32_t> class_offsets;      // problem j owns classes [off[j], off[j+1])
  std::vector<std::uint8_t> class_correct;       // per class: equivalent to the gold answer
  std::vector<double> sampled_tokens;            // per response; empty when unknown
  std::vector<double> scored_tokens;             // per response (prompt + response); empty when unknown
  std::vector<StepScores> step_scores;           // one per PRM

  std::size_t num_problems() const { return problem_ids.size(); }
  std::uint32_t num_responses(std::size_t j) const {
    return response_offsets[j + 1] - response_offsets[j];
  }
  std::uint32_t num_classes(std::size_t j) const { return class_offsets[j + 1] - class_offsets[j]; }
  // Whether response r of problem j answers correctly (an abstaining response does not).
  bool is_correct(std::size_t j, std::uint32_t r) const {
    return answer_class[r] >= 0 && class_correct[class_offsets[j] + answer_class[r]] != 0;
  }
  // Responses of problem j whose answer is correct.
  std::uint32_t num_correct(std::size_t j) const;
  std::uint32_t min_responses() const;
  int prm_index(const std::string& prm) const;  // -1 when absent
};

// The pool of the problems `problems` (indices into pool, in the order given): their responses,
// classes, tokens and step scores exactly as in the pool. For analysing a subset, e.g. one
// difficulty level, without reading and grading the responses again.
PolicyPool subset(const PolicyPool& pool, const std::vector<std::size_t>& problems);

// One reduced score per response for (PRM index, reduction), with its clamped logit: computed
// once per cell, read by calibration and the sweep.
struct ReducedScores {
  std::vector<double> p;
  std::vector<double> logit;
};
ReducedScores reduced_scores(const PolicyPool& pool, int prm, Reduction reduction);

}  // namespace quorum::aggregation
