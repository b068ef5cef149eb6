// verdicts.jsonl: one row per response saying what was extracted, by which rule, how both
// sides normalised, whether it is correct and which rule decided it (docs/answers.md, "Audit").
#pragma once

#include <cstddef>
#include <ostream>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/answers/answer.h"
#include "runtime/interchange/records.h"

namespace quorum::interchange {

struct VerdictCounts {
  std::size_t problems = 0;
  std::size_t responses = 0;
  std::size_t answered = 0;  // responses with an answer (extracted or given)
  std::size_t correct = 0;
};

// One JSON object per response, problems and responses in input order. A response's own
// "answer" field, when the input has one, is used as given (extraction "given").
std::vector<nlohmann::json> verdict_rows(const Dataset& dataset, const answers::ExtractOptions& extract,
                                         VerdictCounts* counts = nullptr);

// The rows as verdicts.jsonl: one object per line.
VerdictCounts write_verdicts(const Dataset& dataset, const answers::ExtractOptions& extract,
                             std::ostream& out);
void write_verdict_lines(const std::vector<nlohmann::json>& rows, std::ostream& out);

}  // namespace quorum::interchange
