// verdicts.jsonl: one row per response saying what was extracted, by which rule, how both
// sides normalised, whether it is correct and which rule decided it (docs/answers.md, "Audit").
#pragma once

#include <cstddef>
#include <ostream>

#include "runtime/answers/answer.h"
#include "runtime/interchange/records.h"

namespace quorum::interchange {

struct VerdictCounts {
  std::size_t problems = 0;
  std::size_t responses = 0;
  std::size_t answered = 0;  // responses with an answer (extracted or given)
  std::size_t correct = 0;
};

// Writes one JSON object per response, problems and responses in input order. A response's
// own "answer" field, when the input has one, is used as given (extraction "given").
VerdictCounts write_verdicts(const Dataset& dataset, const answers::ExtractOptions& extract,
                             std::ostream& out);

}  // namespace quorum::interchange
