// Numbers of answer evaluation: exact rationals while their 128-bit parts fit, long double
// approximations otherwise (irrational values such as sqrt(2) or pi, or rationals too large).
// Every operation reports failure (nullopt) instead of producing inf/nan or overflowing.
#pragma once

#include <optional>

namespace quorum::answers {

__extension__ typedef __int128 Int128;

class Number {
 public:
  Number() = default;  // exact zero
  static Number integer(Int128 value);
  // nullopt when den is 0.
  static std::optional<Number> ratio(Int128 num, Int128 den);
  // nullopt when value is not finite.
  static std::optional<Number> approximate(long double value);

  bool exact() const { return exact_; }
  bool is_integer() const { return exact_ && den_ == 1; }
  Int128 numerator() const { return num_; }    // meaningful only when exact()
  Int128 denominator() const { return den_; }  // > 0, meaningful only when exact()
  long double value() const;
  bool negative() const;

 private:
  bool exact_ = true;
  Int128 num_ = 0;
  Int128 den_ = 1;
  long double approx_ = 0;
};

std::optional<Number> negate(const Number& x);
std::optional<Number> add(const Number& a, const Number& b);
std::optional<Number> subtract(const Number& a, const Number& b);
std::optional<Number> multiply(const Number& a, const Number& b);
std::optional<Number> divide(const Number& a, const Number& b);
// base^exponent; exact when both are exact and the result is rational and fits. Fails for
// negative bases with non-integer exponents and for results that are not finite.
std::optional<Number> power(const Number& base, const Number& exponent);
// The principal index-th root (index >= 1); odd roots of negative numbers are allowed.
std::optional<Number> root(const Number& x, int index);

// Relative tolerance for comparisons in which at least one side is approximate.
inline constexpr long double kRelativeTolerance = 1e-6L;
// Exact numbers compare exactly; otherwise |a-b| <= 1e-6 max(|a|,|b|) (or |a-b| <= 1e-12
// absolutely, so that approximate zeros such as sqrt(2)-sqrt(2) equal 0).
bool nearly_equal(const Number& a, const Number& b);

}  // namespace quorum::answers
