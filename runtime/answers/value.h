// The structure of a normalised answer: a scalar, an ordered sequence (tuple, interval,
// vector), an unordered collection (set, or a bare list of solutions "1,2"), or a union of
// intervals; and the element-wise equivalence of two such structures.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/answers/expression.h"

namespace quorum::answers {

// Longer answers are not split into structure (their text is compared instead).
inline constexpr std::size_t kMaxStructuredLength = 4096;
// Deepest nesting of tuples and sets followed, and most elements matched as a collection.
inline constexpr int kMaxStructureDepth = 8;
inline constexpr std::size_t kMaxCollectionSize = 64;

struct Scalar {
  std::string text;                      // normalised text, the percent sign removed
  bool percent = false;                  // written with a percent sign
  int infinity = 0;                      // +1 or -1 for (+/-)\infty; 0 otherwise
  std::optional<Evaluation> evaluation;  // nullopt: not a closed form, compared as text
};

struct ParsedValue {
  enum class Kind { scalar, sequence, collection, interval_union };
  Kind kind = Kind::scalar;
  Scalar scalar;                      // kind == scalar
  char open = 0, close = 0;           // kind == sequence: '(' '[' '<' and ')' ']' '>'
  std::vector<ParsedValue> elements;  // every other kind
};

// text: the output of normalize_answer.
ParsedValue parse_value(std::string_view text);

bool values_equivalent(const ParsedValue& a, const ParsedValue& b);

}  // namespace quorum::answers
