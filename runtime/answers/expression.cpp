#include "runtime/answers/expression.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

namespace quorum::answers {
namespace {

constexpr long double kPi = 3.141592653589793238462643383279502884L;

// Greek letters that answers use as variables; \pi is the constant.
constexpr std::array<std::string_view, 12> kGreekVariables = {"alpha", "beta",   "gamma", "delta",
                                                              "theta", "lambda", "mu",    "phi",
                                                              "rho",   "sigma",  "tau",   "omega"};
constexpr int kFirstGreekVariable = 52;  // after a-z and A-Z

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

int letter_variable(char c) { return c >= 'a' ? c - 'a' : 26 + (c - 'A'); }

int greek_variable(std::string_view name) {
  for (std::size_t i = 0; i < kGreekVariables.size(); ++i) {
    if (kGreekVariables[i] == name) return kFirstGreekVariable + static_cast<int>(i);
  }
  return -1;
}

constexpr long double kE = 2.718281828459045235360287471352662498L;

// Functions applied to one argument, by LaTeX command or plain-text name.
struct Function {
  std::string_view name;
  long double (*apply)(long double);
};

constexpr std::array<Function, 16> kFunctions = {{
    {"sin", [](long double x) { return std::sin(x); }},
    {"cos", [](long double x) { return std::cos(x); }},
    {"tan", [](long double x) { return std::tan(x); }},
    {"sec", [](long double x) { return 1 / std::cos(x); }},
    {"csc", [](long double x) { return 1 / std::sin(x); }},
    {"cot", [](long double x) { return std::cos(x) / std::sin(x); }},
    {"arcsin", [](long double x) { return std::asin(x); }},
    {"arccos", [](long double x) { return std::acos(x); }},
    {"arctan", [](long double x) { return std::atan(x); }},
    {"sinh", [](long double x) { return std::sinh(x); }},
    {"cosh", [](long double x) { return std::cosh(x); }},
    {"tanh", [](long double x) { return std::tanh(x); }},
    {"exp", [](long double x) { return std::exp(x); }},
    {"ln", [](long double x) { return std::log(x); }},
    {"log", [](long double x) { return std::log(x); }},  // natural, as in sympy
    {"lg", [](long double x) { return std::log10(x); }},
}};

const Function* function_named(std::string_view name) {
  for (const auto& f : kFunctions) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

// splitmix64: a fixed seed gives the same points on every run and machine.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// Pseudo-random points in [1.1, 2.9), seeded per variable and sample: positive (so square
// roots and logarithms of the variable are real), away from the zeros and poles typical
// answers have (0, 1, -1), and unlikely to hit any other by accident.
long double sample_value(int variable, int sample) {
  const std::uint64_t bits = mix(kSampleSeed ^ (static_cast<std::uint64_t>(variable) << 8) ^
                                 static_cast<std::uint64_t>(sample));
  return 1.1L + 1.8L * static_cast<long double>(bits >> 11) / static_cast<long double>(1ULL << 53);
}

// An integer written with at most 30 digits (so it fits an Int128) at text[pos...].
std::optional<Int128> read_small_integer(std::string_view text, std::size_t& pos) {
  const std::size_t start = pos;
  Int128 value = 0;
  while (pos < text.size() && is_digit(text[pos]) && pos - start < 30) {
    value = value * 10 + (text[pos] - '0');
    ++pos;
  }
  if (pos == start || (pos < text.size() && is_digit(text[pos]))) return std::nullopt;
  return value;
}

// The argument of \frac in a mixed number: {digits} or a single digit.
std::optional<Int128> read_integer_argument(std::string_view text, std::size_t& pos) {
  if (pos < text.size() && text[pos] == '{') {
    ++pos;
    const auto value = read_small_integer(text, pos);
    if (!value || pos >= text.size() || text[pos] != '}') return std::nullopt;
    ++pos;
    return value;
  }
  if (pos < text.size() && is_digit(text[pos])) return text[pos++] - '0';
  return std::nullopt;
}

// "2 1/2", "2\frac{1}{2}", "-2\frac12": a whole number followed by a proper fraction means
// their sum (MATH's convention), not the product that LaTeX juxtaposition would suggest.
std::optional<Number> mixed_number(std::string_view text) {
  std::size_t pos = 0;
  const bool negative = !text.empty() && text[0] == '-';
  if (negative) ++pos;
  const auto whole = read_small_integer(text, pos);
  if (!whole) return std::nullopt;
  std::optional<Int128> numerator, denominator;
  if (pos < text.size() && text[pos] == ' ') {
    ++pos;
    numerator = read_small_integer(text, pos);
    if (!numerator || pos >= text.size() || text[pos] != '/') return std::nullopt;
    ++pos;
    denominator = read_small_integer(text, pos);
  } else if (text.substr(pos, 5) == "\\frac") {
    pos += 5;
    numerator = read_integer_argument(text, pos);
    if (numerator) denominator = read_integer_argument(text, pos);
  }
  if (!numerator || !denominator || pos != text.size()) return std::nullopt;
  if (*denominator == 0 || *numerator >= *denominator) return std::nullopt;
  const auto magnitude = Number::ratio(*whole * *denominator + *numerator, *denominator);
  if (!magnitude) return std::nullopt;
  return negative ? negate(*magnitude) : magnitude;
}

// Recursive descent over one expression at one sample point of its variables:
//   sum      := product (('+' | '-') product)*
//   product  := signed (('*' | \cdot | \times | '/' | \div) signed | implicit-factor)*
//   signed   := ('-' | '+') signed | power
//   power    := primary ('^' exponent)*
//   primary  := literal | (sum) | {sum} | [sum] | \frac arg arg | \sqrt[n] arg | \pi
//             | variable | sqrt arg | pi
// Every recursion passes through a depth guard, so nesting cannot exhaust the stack.
class Parser {
 public:
  // letter_products: a run of letters such as "xy" is a product of variables; only allowed in
  // text that is more than letters, so that words ("odd", "Evelyn") never evaluate.
  Parser(std::string_view text, int sample, bool letter_products)
      : text_(text), sample_(sample), letter_products_(letter_products) {}

  std::optional<Number> parse() {
    auto value = sum();
    skip_spaces();
    if (!value || pos_ != text_.size()) return std::nullopt;
    return value;
  }

  std::uint64_t variables() const { return variables_; }

 private:
  class DepthGuard {
   public:
    explicit DepthGuard(Parser& parser) : parser_(parser) { ++parser_.depth_; }
    ~DepthGuard() { --parser_.depth_; }
    bool too_deep() const { return parser_.depth_ > kMaxExpressionDepth; }

   private:
    Parser& parser_;
  };

  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  void skip_spaces() {
    while (peek() == ' ') ++pos_;
  }

  bool consume(char c) {
    skip_spaces();
    if (peek() != c) return false;
    ++pos_;
    return true;
  }

  // The name of the command at pos_ ("frac" for "\frac{"), without consuming it.
  std::string_view command_at_pos() const {
    if (peek() != '\\') return {};
    std::size_t end = pos_ + 1;
    while (end < text_.size() && is_letter(text_[end])) ++end;
    return text_.substr(pos_ + 1, end - pos_ - 1);
  }

  bool consume_command(std::string_view name) {
    skip_spaces();
    if (command_at_pos() != name) return false;
    pos_ += 1 + name.size();
    return true;
  }

  static bool is_value_command(std::string_view name) {
    return name == "frac" || name == "dfrac" || name == "tfrac" || name == "sqrt" || name == "pi" ||
           name == "binom" || greek_variable(name) >= 0 || function_named(name) != nullptr;
  }

  // Juxtaposition multiplies (2\pi, 3x, 2(x+1)), except before a number literal: "2 3" is not 6.
  bool starts_implicit_factor() const {
    const char c = peek();
    if (c == '(' || c == '{' || is_letter(c) || (c == '|' && !in_absolute_)) return true;
    return c == '\\' && is_value_command(command_at_pos());
  }

  std::optional<Number> sum() {
    DepthGuard guard(*this);
    if (guard.too_deep()) return std::nullopt;
    auto left = product();
    while (left) {
      skip_spaces();
      const char op = peek();
      if (op != '+' && op != '-') break;
      ++pos_;
      const auto right = product();
      if (!right) return std::nullopt;
      left = op == '+' ? add(*left, *right) : subtract(*left, *right);
    }
    return left;
  }

  std::optional<Number> product() {
    auto left = signed_factor();
    while (left) {
      skip_spaces();
      if (consume('*') || consume_command("cdot") || consume_command("times")) {
        const auto right = signed_factor();
        if (!right) return std::nullopt;
        left = multiply(*left, *right);
      } else if (consume('/') || consume_command("div")) {
        const auto right = signed_factor();
        if (!right) return std::nullopt;
        left = divide(*left, *right);
      } else if (starts_implicit_factor()) {
        const auto right = power_of_primary();
        if (!right) return std::nullopt;
        left = multiply(*left, *right);
      } else {
        break;
      }
    }
    return left;
  }

  std::optional<Number> signed_factor() {
    DepthGuard guard(*this);
    if (guard.too_deep()) return std::nullopt;
    if (consume('-')) {
      const auto operand = signed_factor();
      return operand ? negate(*operand) : std::nullopt;
    }
    if (consume('+')) return signed_factor();
    return power_of_primary();
  }

  std::optional<Number> power_of_primary() {
    auto base = primary();
    if (base && peek() == '!') {
      ++pos_;
      base = factorial(*base);
    }
    while (base && consume('^')) {
      const auto e = exponent();
      if (!e) return std::nullopt;
      base = power(*base, *e);
    }
    return base;
  }

  // Plain-text exponents take a whole number (2^10 is 1024), LaTeX ones a braced group.
  std::optional<Number> exponent() {
    DepthGuard guard(*this);
    if (guard.too_deep()) return std::nullopt;
    skip_spaces();
    if (consume('{')) return closed_group('}');
    if (consume('-')) {
      const auto operand = exponent();
      return operand ? negate(*operand) : std::nullopt;
    }
    if (consume('+')) return exponent();
    if (is_digit(peek()) || peek() == '.') return literal();
    return primary();
  }

  // The rest of a group whose opening bracket was consumed.
  std::optional<Number> closed_group(char close) {
    const auto value = sum();
    if (!value || !consume(close)) return std::nullopt;
    return value;
  }

  std::optional<Number> primary() {
    skip_spaces();
    const char c = peek();
    if (is_digit(c)) {
      if (auto based = based_literal()) return based;
    }
    if (is_digit(c) || c == '.') return literal();
    if (c == '|' && !in_absolute_) {
      ++pos_;
      in_absolute_ = true;
      const auto inside = closed_group('|');
      in_absolute_ = false;
      if (!inside) return std::nullopt;
      return inside->negative() ? negate(*inside) : inside;
    }
    if (consume('(')) return closed_group(')');
    if (consume('{')) return closed_group('}');
    if (consume('[')) return closed_group(']');
    if (c == '\\') {
      const auto name = command_at_pos();
      pos_ += 1 + name.size();
      return command(name);
    }
    if (is_letter(c)) return word();
    return std::nullopt;
  }

  // A run of letters: one letter is a variable; "pi" and "sqrt" are read as their LaTeX
  // commands; any other word (a name, a unit) is not a closed form.
  std::optional<Number> word() {
    const std::size_t start = pos_;
    while (is_letter(peek())) ++pos_;
    const auto letters = text_.substr(start, pos_ - start);
    if (letters == "pi" || letters == "sqrt" || function_named(letters) != nullptr) {
      return command(letters);
    }
    // In a product such as "ab^2" each letter is its own factor (the power binds to b only),
    // so only the first letter is consumed; the run's length is checked at its start.
    const bool run_start = start == 0 || !is_letter(text_[start - 1]);
    if (letters.size() > 1 &&
        !(letter_products_ && (!run_start || letters.size() <= kMaxLetterProduct))) {
      return std::nullopt;
    }
    pos_ = start + 1;
    if (letters[0] == 'e') return Number::approximate(kE);
    return variable(letter_variable(letters[0]));
  }

  // "1011_2", "1011_{2}", "2A_{16}": digits in a base from 2 to 36, an exact integer. nullopt
  // (and nothing consumed) when the text at pos_ is not such a number.
  std::optional<Number> based_literal() {
    std::size_t end = pos_;
    while (end < text_.size() && (is_digit(text_[end]) || is_letter(text_[end]))) ++end;
    if (end >= text_.size() || text_[end] != '_') return std::nullopt;
    std::size_t base_pos = end + 1;
    const bool braced = base_pos < text_.size() && text_[base_pos] == '{';
    if (braced) ++base_pos;
    const auto base = read_small_integer(text_, base_pos);
    if (!base || *base < 2 || *base > 36) return std::nullopt;
    if (braced) {
      if (base_pos >= text_.size() || text_[base_pos] != '}') return std::nullopt;
      ++base_pos;
    }
    Int128 value = 0;
    for (std::size_t i = pos_; i < end; ++i) {
      const char c = text_[i];
      const int digit = is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
      if (digit >= *base || __builtin_mul_overflow(value, *base, &value) ||
          __builtin_add_overflow(value, digit, &value)) {
        return std::nullopt;
      }
    }
    pos_ = base_pos;
    return Number::integer(value);
  }

  // n! for exact integers up to 33 (the largest whose factorial fits 128 bits).
  static std::optional<Number> factorial(const Number& n) {
    if (!n.is_integer() || n.numerator() < 0 || n.numerator() > 33) return std::nullopt;
    Int128 result = 1;
    for (Int128 k = 2; k <= n.numerator(); ++k) result *= k;
    return Number::integer(result);
  }

  // A function's argument: a bracketed group, or else the juxtaposed factors that follow
  // ("\sin 2x" is sin(2x), as written by hand), stopping at any operator.
  std::optional<Number> function_argument() {
    DepthGuard guard(*this);
    if (guard.too_deep()) return std::nullopt;
    skip_spaces();
    if (consume('(')) return closed_group(')');
    if (consume('{')) return closed_group('}');
    auto value = power_of_primary();
    while (value && starts_implicit_factor() && function_named(command_at_pos()) == nullptr) {
      const auto factor = power_of_primary();
      if (!factor) return std::nullopt;
      value = multiply(*value, *factor);
    }
    return value;
  }

  // \sin^2 x, \log_2 8, \ln(x): an optional power and base, then the argument.
  std::optional<Number> apply_function(const Function& function) {
    std::optional<Number> exponent_value;
    std::optional<Number> log_base;
    if (consume('^')) {
      exponent_value = exponent();
      if (!exponent_value) return std::nullopt;
    }
    if (function.name == "log" && consume('_')) {
      log_base = argument();
      if (!log_base) return std::nullopt;
    }
    const auto x = function_argument();
    if (!x) return std::nullopt;
    auto value = Number::approximate(function.apply(x->value()));
    if (value && log_base) {
      const auto denominator = Number::approximate(std::log(log_base->value()));
      value = denominator ? divide(*value, *denominator) : std::nullopt;
    }
    if (value && exponent_value) value = power(*value, *exponent_value);
    return value;
  }

  std::optional<Number> command(std::string_view name) {
    if (name == "frac" || name == "dfrac" || name == "tfrac") {
      const auto numerator = argument();
      if (!numerator) return std::nullopt;
      const auto denominator = argument();
      if (!denominator) return std::nullopt;
      return divide(*numerator, *denominator);
    }
    if (name == "sqrt") {
      int index = 2;
      if (consume('[')) {
        const auto n = closed_group(']');
        if (!n || !n->is_integer() || n->numerator() < 1 || n->numerator() > 64) {
          return std::nullopt;
        }
        index = static_cast<int>(n->numerator());
      }
      const auto radicand = argument();
      return radicand ? root(*radicand, index) : std::nullopt;
    }
    if (name == "pi") return Number::approximate(kPi);
    if (name == "binom") {
      const auto n = argument();
      const auto k = n ? argument() : std::nullopt;
      if (!k) return std::nullopt;
      return binomial(*n, *k);
    }
    if (const Function* function = function_named(name)) return apply_function(*function);
    const int greek = greek_variable(name);
    if (greek >= 0) return variable(greek);
    return std::nullopt;
  }

  // A LaTeX macro argument: a braced group, or a single digit, letter or command (\frac12);
  // plain text's sqrt(2) passes a parenthesised one.
  std::optional<Number> argument() {
    DepthGuard guard(*this);
    if (guard.too_deep()) return std::nullopt;
    skip_spaces();
    const char c = peek();
    if (consume('{')) return closed_group('}');
    if (consume('(')) return closed_group(')');
    if (is_digit(c)) {
      ++pos_;
      return Number::integer(c - '0');
    }
    if (is_letter(c)) {
      ++pos_;
      return c == 'e' ? Number::approximate(kE) : variable(letter_variable(c));  // as in word()
    }
    if (c == '\\') {
      const auto name = command_at_pos();
      pos_ += 1 + name.size();
      return command(name);
    }
    return std::nullopt;
  }

  // 42, 0.5, .5, 1.5e3, 2E-4: exact while the digits fit; a decimal too long to be exact is
  // approximated, an integer too long to be exact is not evaluated (its text is compared).
  std::optional<Number> literal() {
    const std::size_t start = pos_;
    Int128 mantissa = 0;
    bool overflowed = false;
    int digits = 0;
    int decimals = 0;
    bool in_fraction = false;
    for (; pos_ < text_.size(); ++pos_) {
      const char c = text_[pos_];
      if (c == '.' && !in_fraction) {
        in_fraction = true;
        continue;
      }
      if (!is_digit(c)) break;
      ++digits;
      if (in_fraction) ++decimals;
      overflowed = overflowed || __builtin_mul_overflow(mantissa, 10, &mantissa) ||
                   __builtin_add_overflow(mantissa, c - '0', &mantissa);
    }
    if (digits == 0) return std::nullopt;
    if (in_fraction && !overflowed && text_.substr(pos_, 10) == "\\overline{") {
      return repeating_decimal(mantissa, decimals);
    }
    long scale = 0;
    const bool scientific = read_scientific_exponent(scale);
    if (overflowed) {
      if (!in_fraction && !scientific) return std::nullopt;
      const std::string written(text_.substr(start, pos_ - start));
      return Number::approximate(std::strtold(written.c_str(), nullptr));
    }
    const auto ten_power = power(Number::integer(10), Number::integer(scale - decimals));
    if (!ten_power) return std::nullopt;
    return multiply(Number::integer(mantissa), *ten_power);
  }

  // 0.1\\overline{6} = 1/6: the written digits (mantissa, `decimals` of them after the point)
  // followed by a repeating block r of k digits is (mantissa * 10^k + r - mantissa) /
  // (10^decimals * (10^k - 1)), exact. pos_ is at "\\overline{".
  std::optional<Number> repeating_decimal(Int128 mantissa, int decimals) {
    std::size_t end = pos_ + 10;
    const auto block = read_small_integer(text_, end);
    const std::size_t block_digits = end - (pos_ + 10);
    if (!block || block_digits > 18 || end >= text_.size() || text_[end] != '}') {
      return std::nullopt;
    }
    pos_ = end + 1;
    const auto shift =
        power(Number::integer(10), Number::integer(static_cast<Int128>(block_digits)));
    const auto scale = power(Number::integer(10), Number::integer(decimals));
    if (!shift || !scale) return std::nullopt;
    const auto shifted = multiply(Number::integer(mantissa), *shift);
    const auto full = shifted ? add(*shifted, Number::integer(*block)) : std::nullopt;
    const auto numerator = full ? subtract(*full, Number::integer(mantissa)) : std::nullopt;
    const auto nines = subtract(*shift, Number::integer(1));
    const auto denominator = nines ? multiply(*scale, *nines) : std::nullopt;
    if (!numerator || !denominator) return std::nullopt;
    return divide(*numerator, *denominator);
  }

  // The "e3" / "E-4" of scientific notation, when present and followed by digits.
  bool read_scientific_exponent(long& scale) {
    if (peek() != 'e' && peek() != 'E') return false;
    std::size_t end = pos_ + 1;
    const bool negative = end < text_.size() && text_[end] == '-';
    if (end < text_.size() && (text_[end] == '-' || text_[end] == '+')) ++end;
    if (end >= text_.size() || !is_digit(text_[end])) return false;
    long value = 0;
    for (; end < text_.size() && is_digit(text_[end]); ++end) {
      value = std::min(value * 10 + (text_[end] - '0'), 1000000L);  // saturate: inf fails later
    }
    pos_ = end;
    scale = negative ? -value : value;
    return true;
  }

  // C(n, k) for exact integers; the running product stays an integer at every step.
  static std::optional<Number> binomial(const Number& n, const Number& k) {
    if (!n.is_integer() || !k.is_integer() || k.numerator() < 0 || n.numerator() < 0 ||
        n.numerator() > 1000) {
      return std::nullopt;
    }
    if (k.numerator() > n.numerator()) return Number::integer(0);
    Int128 result = 1;
    for (Int128 i = 1; i <= k.numerator(); ++i) {
      if (__builtin_mul_overflow(result, n.numerator() - k.numerator() + i, &result)) {
        return std::nullopt;
      }
      result /= i;
    }
    return Number::integer(result);
  }

  std::optional<Number> variable(int index) {
    variables_ |= std::uint64_t{1} << index;
    return Number::approximate(sample_value(index, sample_));
  }

  std::string_view text_;
  int sample_;
  bool letter_products_ = false;
  bool in_absolute_ = false;  // inside |...|: a bar closes, it does not open
  std::size_t pos_ = 0;
  int depth_ = 0;
  std::uint64_t variables_ = 0;
};

}  // namespace

std::optional<Evaluation> evaluate(std::string_view expression) {
  if (expression.empty() || expression.size() > kMaxExpressionLength) return std::nullopt;
  Evaluation result;
  if (const auto mixed = mixed_number(expression)) {
    result.samples.fill(*mixed);
    return result;
  }
  const bool letter_products = std::any_of(expression.begin(), expression.end(),
                                           [](char c) { return !is_letter(c) && c != ' '; });
  for (int sample = 0; sample < kSamplePoints; ++sample) {
    Parser parser(expression, sample, letter_products);
    const auto value = parser.parse();
    if (!value) return std::nullopt;
    result.samples[sample] = *value;
    result.variables = parser.variables();
    if (result.variables == 0) {  // a constant: one evaluation is enough
      result.samples.fill(*value);
      break;
    }
  }
  return result;
}

}  // namespace quorum::answers
