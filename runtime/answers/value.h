// The structure of a normalised answer: a scalar, an ordered sequence (tuple, interval,
// vector, matrix), an unordered collection (set, or a bare list of solutions "1,2" / "1 and 2"),
// or a union of intervals; and the element-wise comparison of two such structures, which says
// which rule decided it.
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
// Most element comparisons one verdict may make (nested collections multiply); past it the
// answers are "not equivalent" with the reason said.
inline constexpr long kMaxComparisonSteps = 100000;
// A decimal written with d places matches an irrational or non-terminating value when it is
// within one unit of its last place (rounded or truncated) and within this relative distance:
// 0.3333 and 0.333333 match 1/3, 0.33 does not; 3.1416 matches \pi, 3.14 does not.
inline constexpr long double kWrittenPrecisionTolerance = 1e-4L;

struct Scalar {
  std::string text;                        // normalised text, the percent sign removed
  bool percent = false;                    // written with a percent sign
  int infinity = 0;                        // +1 or -1 for (+/-)\infty; 0 otherwise
  int written_decimals = -1;               // a plain decimal such as "0.333": places written
  std::optional<std::string> base_digits;  // "1011" of "1011_2"
  std::optional<Evaluation> evaluation;    // nullopt: not a closed form, compared as text
  // An equation "lhs=rhs" left by normalisation (its left side is not a plain name): the
  // value of lhs-rhs, and of rhs alone when lhs is a constant ("2+3=5").
  std::optional<Evaluation> equation;
  std::optional<Evaluation> right_side;
};

struct ParsedValue {
  enum class Kind { scalar, sequence, collection, interval_union };
  Kind kind = Kind::scalar;
  Scalar scalar;  // kind == scalar
  // kind == sequence: '(' '[' '<' and ')' ']' '>'; 'M' for both ends of a matrix.
  char open = 0, close = 0;
  std::vector<ParsedValue> elements;  // every other kind
  // kind == collection: every element was labelled ("a=2, b=3"), so the list may also stand
  // for the tuple of its values in the order written.
  bool labelled = false;
};

// text: the output of normalize_answer.
ParsedValue parse_value(std::string_view text);

struct Verdict {
  bool equivalent = false;
  std::string rule;  // what decided it, e.g. "exact rational" or "element 2 differs: ..."
};

Verdict compare_values(const ParsedValue& a, const ParsedValue& b,
                       long max_steps = kMaxComparisonSteps);

}  // namespace quorum::answers
