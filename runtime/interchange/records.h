// Problems and responses as they are read from JSONL (docs/interchange.md), before they are
// flattened into pools.
#pragma once

#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace quorum::interchange {

struct ResponseRecord {
  std::string text;
  std::vector<std::string> steps;
  std::optional<std::string> answer;  // extracted final answer; extracted from text when absent
  double prompt_tokens = NAN;         // NaN: unknown
  double completion_tokens = NAN;
  std::map<std::string, std::vector<float>> scores;  // PRM name -> one score per step
};

struct ProblemRecord {
  std::string problem_id;
  std::string problem;
  std::string gold;
  std::string policy;
  std::string level;  // the row's `level` (runtime/common/level.h); empty when it has none
  std::vector<ResponseRecord> responses;
  std::string file;  // where the row was read, for error messages
  std::size_t line = 0;
};

struct Dataset {
  std::vector<ProblemRecord> problems;
  std::map<std::pair<std::string, std::string>, std::size_t> index;  // (policy, id) -> problem
};

}  // namespace quorum::interchange
