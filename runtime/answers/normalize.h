// Text normalisation of a final answer: LaTeX wrappers and spacing removed, fractions spelled
// one way, units, degrees, dollars and "x =" prefixes stripped, thousands separators dropped.
// Every step is a single pass over the text, so normalising costs linear time whatever the input.
#pragma once

#include <string>
#include <string_view>

namespace quorum::answers {

// The canonical text of an answer; empty when nothing is left (no answer).
std::string normalize_answer(std::string_view raw);

}  // namespace quorum::answers
