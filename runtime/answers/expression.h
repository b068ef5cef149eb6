// Bounded numeric evaluation of simple closed forms written in normalised LaTeX or plain
// text: numbers, + - * / ^, \cdot \times \div, parentheses and braces, implicit
// multiplication, \frac (and \frac12), \sqrt and \sqrt[n], \pi, scientific notation and
// mixed numbers (2\frac{1}{2}, "2 1/2"), numbers in a base (1011_2), n!, \binom, |x|, e, and
// the functions sin, cos, tan, sec, csc, cot, their inverses, sinh, cosh, tanh, exp, ln, log
// (natural; \log_b with a base) and lg. Single-letter and Greek variables are allowed: such an
// expression is evaluated at several seeded pseudo-random points, so 2x+2 equals 2(x+1).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "runtime/answers/number.h"

namespace quorum::answers {

// Longer expressions are not evaluated (their text is compared instead).
inline constexpr std::size_t kMaxExpressionLength = 512;
// Deepest nesting of groups, roots, fractions and signs the evaluator follows.
inline constexpr int kMaxExpressionDepth = 48;
// Expressions in variables are compared at this many points, drawn from a fixed seed.
inline constexpr int kSamplePoints = 6;
inline constexpr std::uint64_t kSampleSeed = 0x5EED0F0A11ECE5ULL;
// The longest run of letters read as a product of variables ("xy", "abc").
inline constexpr std::size_t kMaxLetterProduct = 3;

struct Evaluation {
  std::uint64_t variables = 0;  // bit i: variable i occurs; 0 for a constant
  // The value at each sample point of the variables (every sample of a constant is the same).
  // A variable has the same value at a given sample in every expression, so two expressions
  // compare sample by sample even when their variables differ (x+y-y against x).
  std::array<Number, kSamplePoints> samples{};
};

// nullopt when the text is not a closed form the evaluator understands, exceeds the bounds,
// or does not evaluate to a finite real number.
std::optional<Evaluation> evaluate(std::string_view expression);

}  // namespace quorum::answers
