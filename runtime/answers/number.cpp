#include "runtime/answers/number.h"

#include <cmath>

namespace quorum::answers {
namespace {

Int128 absolute(Int128 x) { return x < 0 ? -x : x; }

Int128 gcd(Int128 a, Int128 b) {
  a = absolute(a);
  b = absolute(b);
  while (b != 0) {
    const Int128 r = a % b;
    a = b;
    b = r;
  }
  return a;
}

// The most negative Int128 has no positive counterpart; keeping both parts above it lets
// negation and sign normalisation never overflow.
constexpr Int128 kMinInt128 = static_cast<Int128>(static_cast<unsigned __int128>(1) << 127);

bool representable(Int128 x) { return x != kMinInt128; }

std::optional<Int128> checked_power(Int128 base, Int128 exponent) {
  Int128 result = 1;
  while (exponent > 0) {
    if (exponent & 1) {
      if (__builtin_mul_overflow(result, base, &result)) return std::nullopt;
    }
    exponent >>= 1;
    if (exponent > 0 && __builtin_mul_overflow(base, base, &base)) return std::nullopt;
  }
  return result;
}

// The exact index-th root of v >= 0, when v is a perfect power.
std::optional<Int128> exact_root(Int128 v, int index) {
  if (v < 2 || index == 1) return v;
  const long double estimate = std::pow(static_cast<long double>(v), 1.0L / index);
  const auto rounded = static_cast<Int128>(std::round(estimate));
  for (Int128 candidate = rounded - 1; candidate <= rounded + 1; ++candidate) {
    if (candidate < 0) continue;
    const auto p = checked_power(candidate, index);
    if (p && *p == v) return candidate;
  }
  return std::nullopt;
}

// An exact result when the parts are representable, else the approximation.
std::optional<Number> exact_or(bool overflowed, Int128 num, Int128 den, long double fallback) {
  if (!overflowed && representable(num) && representable(den)) return Number::ratio(num, den);
  return Number::approximate(fallback);
}

}  // namespace

Number Number::integer(Int128 value) {
  Number n;
  n.num_ = value;
  return n;
}

std::optional<Number> Number::ratio(Int128 num, Int128 den) {
  if (den == 0) return std::nullopt;
  if (!representable(num) || !representable(den)) {
    return approximate(static_cast<long double>(num) / static_cast<long double>(den));
  }
  if (den < 0) {
    num = -num;
    den = -den;
  }
  const Int128 g = gcd(num, den);
  Number n;
  n.num_ = num / g;
  n.den_ = den / g;
  return n;
}

std::optional<Number> Number::approximate(long double value) {
  if (!std::isfinite(value)) return std::nullopt;
  Number n;
  n.exact_ = false;
  n.approx_ = value;
  return n;
}

long double Number::value() const {
  return exact_ ? static_cast<long double>(num_) / static_cast<long double>(den_) : approx_;
}

bool Number::negative() const { return exact_ ? num_ < 0 : approx_ < 0; }

std::optional<Number> negate(const Number& x) {
  if (x.exact()) return Number::ratio(-x.numerator(), x.denominator());
  return Number::approximate(-x.value());
}

std::optional<Number> add(const Number& a, const Number& b) {
  const long double fallback = a.value() + b.value();
  if (!a.exact() || !b.exact()) return Number::approximate(fallback);
  const Int128 g = gcd(a.denominator(), b.denominator());
  Int128 left = 0, right = 0, num = 0, den = 1;
  const bool overflowed = __builtin_mul_overflow(a.numerator(), b.denominator() / g, &left) ||
                          __builtin_mul_overflow(b.numerator(), a.denominator() / g, &right) ||
                          __builtin_add_overflow(left, right, &num) ||
                          __builtin_mul_overflow(a.denominator() / g, b.denominator(), &den);
  return exact_or(overflowed, num, den, fallback);
}

std::optional<Number> subtract(const Number& a, const Number& b) {
  const auto minus_b = negate(b);
  if (!minus_b) return std::nullopt;
  return add(a, *minus_b);
}

std::optional<Number> multiply(const Number& a, const Number& b) {
  const long double fallback = a.value() * b.value();
  if (!a.exact() || !b.exact()) return Number::approximate(fallback);
  // Cancelling across first keeps the products as small as the result allows.
  const Int128 g1 = gcd(a.numerator(), b.denominator());
  const Int128 g2 = gcd(b.numerator(), a.denominator());
  Int128 num = 0, den = 1;
  // Denominators are positive, so both gcds are too.
  const bool overflowed = __builtin_mul_overflow(a.numerator() / g1, b.numerator() / g2, &num) ||
                          __builtin_mul_overflow(a.denominator() / g2, b.denominator() / g1, &den);
  return exact_or(overflowed, num, den, fallback);
}

std::optional<Number> divide(const Number& a, const Number& b) {
  if (b.exact()) {
    if (b.numerator() == 0) return std::nullopt;
    const auto reciprocal = Number::ratio(b.denominator(), b.numerator());
    if (!reciprocal) return std::nullopt;
    return multiply(a, *reciprocal);
  }
  if (b.value() == 0) return std::nullopt;
  return Number::approximate(a.value() / b.value());
}

std::optional<Number> power(const Number& base, const Number& exponent) {
  if (exponent.is_integer()) {
    const Int128 e = exponent.numerator();
    const long double fallback = std::pow(base.value(), static_cast<long double>(e));
    if (!base.exact()) return Number::approximate(fallback);
    if (e < 0 && base.numerator() == 0) return std::nullopt;
    const auto num = checked_power(base.numerator(), absolute(e));
    const auto den = checked_power(base.denominator(), absolute(e));
    if (!num || !den) return Number::approximate(fallback);
    return e < 0 ? exact_or(false, *den, *num, fallback) : exact_or(false, *num, *den, fallback);
  }
  // A rational exponent p/q with a small q: an exact q-th root keeps the result exact (8^{2/3}).
  if (exponent.exact() && exponent.denominator() <= 64) {
    const auto rooted = root(base, static_cast<int>(exponent.denominator()));
    if (!rooted) return std::nullopt;
    return power(*rooted, Number::integer(exponent.numerator()));
  }
  if (base.negative()) return std::nullopt;  // not a real number
  return Number::approximate(std::pow(base.value(), exponent.value()));
}

std::optional<Number> root(const Number& x, int index) {
  if (index < 1) return std::nullopt;
  const bool negative = x.negative();
  if (negative && index % 2 == 0) return std::nullopt;
  if (x.exact()) {
    const auto num = exact_root(absolute(x.numerator()), index);
    const auto den = exact_root(x.denominator(), index);
    if (num && den) return Number::ratio(negative ? -*num : *num, *den);
  }
  const long double magnitude = std::pow(std::fabs(x.value()), 1.0L / index);
  return Number::approximate(negative ? -magnitude : magnitude);
}

bool nearly_equal(const Number& a, const Number& b) {
  if (a.exact() && b.exact()) {
    return a.numerator() == b.numerator() && a.denominator() == b.denominator();
  }
  const long double x = a.value();
  const long double y = b.value();
  const long double difference = std::fabs(x - y);
  return difference <= 1e-12L ||
         difference <= kRelativeTolerance * std::fmax(std::fabs(x), std::fabs(y));
}

}  // namespace quorum::answers
