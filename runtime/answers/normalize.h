// Text normalisation of a final answer: LaTeX wrappers and spacing removed, fractions spelled
// one way, units, degrees, dollars and "x =" prefixes stripped, thousands separators dropped.
// Every step is a single pass over the text, so normalising costs linear time whatever the input.
#pragma once

#include <string>
#include <string_view>

namespace quorum::answers {

// The canonical text of an answer; empty when nothing is left (no answer).
std::string normalize_answer(std::string_view raw);

// The value of a normalised "name = value" ("x=5" -> "5", "(a,b)=(2,3)" -> "(2,3)"); the text
// itself when it is not such an assignment. Used on each element of a list ("x=1,y=2").
std::string assigned_value(std::string_view text);

}  // namespace quorum::answers
