#include "runtime/answers/value.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "runtime/answers/normalize.h"

namespace quorum::answers {
namespace {

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// Brackets of every kind count alike, so that intervals such as [1,2) nest correctly.
// Returns the bracket's length at text[i] and its depth change, or 0 when there is none.
std::size_t bracket_at(std::string_view text, std::size_t i, int& change) {
  static constexpr std::array<std::string_view, 2> kOpeners = {"\\{", "\\langle"};
  static constexpr std::array<std::string_view, 2> kClosers = {"\\}", "\\rangle"};
  const char c = text[i];
  if (c == '(' || c == '[' || c == '{') {
    change = +1;
    return 1;
  }
  if (c == ')' || c == ']' || c == '}') {
    change = -1;
    return 1;
  }
  if (c != '\\') return 0;
  const auto rest = text.substr(i);
  for (const auto opener : kOpeners) {
    if (starts_with(rest, opener)) {
      change = +1;
      return opener.size();
    }
  }
  for (const auto closer : kClosers) {
    if (starts_with(rest, closer)) {
      change = -1;
      return closer.size();
    }
  }
  return 0;
}

// Pieces of text between separators outside every bracket; the whole text as one piece when
// the brackets do not balance.
std::vector<std::string_view> split_top_level(std::string_view text, std::string_view separator) {
  std::vector<std::string_view> pieces;
  int depth = 0;
  std::size_t piece_start = 0;
  for (std::size_t i = 0; i < text.size();) {
    int change = 0;
    if (const std::size_t length = bracket_at(text, i, change)) {
      depth += change;
      if (depth < 0) return {text};
      i += length;
    } else if (depth == 0 && starts_with(text.substr(i), separator)) {
      pieces.push_back(text.substr(piece_start, i - piece_start));
      i += separator.size();
      piece_start = i;
    } else {
      i += text[i] == '\\' ? 2 : 1;  // an escaped character is never a separator
    }
  }
  if (depth != 0) return {text};
  pieces.push_back(text.substr(piece_start));
  return pieces;
}

// Whether the bracket opening text closes exactly at its end, as in "(1,2)" but not in
// "(1)+(2)".
bool wrapped_whole(std::string_view text) {
  int depth = 0;
  for (std::size_t i = 0; i < text.size();) {
    int change = 0;
    const std::size_t length = bracket_at(text, i, change);
    if (length == 0) {
      i += text[i] == '\\' ? 2 : 1;
      continue;
    }
    depth += change;
    i += length;
    if (depth == 0) return i == text.size();
  }
  return false;
}

int infinity_sign(std::string_view text) {
  int sign = +1;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    sign = text[0] == '-' ? -1 : +1;
    text.remove_prefix(1);
  }
  const bool infinite = text == "\\infty" || text == "infty" || text == "inf" || text == "infinity";
  return infinite ? sign : 0;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alphanumeric(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Places after the point of a plain decimal ("-0.333" -> 3), or -1.
int written_decimals(std::string_view text) {
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) text.remove_prefix(1);
  const std::size_t point = text.find('.');
  if (point == std::string_view::npos || point + 1 >= text.size()) return -1;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i != point && !is_digit(text[i])) return -1;
  }
  return static_cast<int>(text.size() - point - 1);
}

// "1011" of "1011_2" or "1011_{2}".
std::optional<std::string> base_digits(std::string_view text) {
  const std::size_t underscore = text.find('_');
  if (underscore == 0 || underscore == std::string_view::npos) return std::nullopt;
  const auto digits = text.substr(0, underscore);
  auto base = text.substr(underscore + 1);
  if (starts_with(base, "{") && ends_with(base, "}")) base = base.substr(1, base.size() - 2);
  const bool valid = std::all_of(digits.begin(), digits.end(), is_alphanumeric) && !base.empty() &&
                     std::all_of(base.begin(), base.end(), is_digit);
  if (!valid) return std::nullopt;
  return std::string(digits);
}

// The position of the only top-level "=" of an equation, or npos ("<=", ">=", "!=" are not).
std::size_t equation_sign(std::string_view text) {
  std::size_t found = std::string_view::npos;
  int depth = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '(' || c == '[' || c == '{') ++depth;
    if (c == ')' || c == ']' || c == '}') --depth;
    if (depth != 0 || c != '=') continue;
    const bool part_of_other =
        (i > 0 && (text[i - 1] == '<' || text[i - 1] == '>' || text[i - 1] == '!')) ||
        (i + 1 < text.size() && text[i + 1] == '=');
    if (part_of_other || found != std::string_view::npos) return std::string_view::npos;
    found = i;
  }
  return found;
}

ParsedValue scalar_value(std::string_view text, bool evaluate_it) {
  ParsedValue value;
  Scalar& scalar = value.scalar;
  if (ends_with(text, "%")) {
    scalar.percent = true;
    text.remove_suffix(1);
  }
  scalar.text = std::string(text);
  scalar.infinity = infinity_sign(text);
  if (!evaluate_it || scalar.infinity != 0) return value;
  scalar.written_decimals = written_decimals(text);
  scalar.base_digits = base_digits(text);
  scalar.evaluation = evaluate(text);
  const std::size_t sign = equation_sign(text);
  if (!scalar.evaluation && sign != std::string_view::npos && sign > 0 && sign + 1 < text.size()) {
    const auto lhs = text.substr(0, sign);
    const auto rhs = text.substr(sign + 1);
    scalar.equation = evaluate("(" + std::string(lhs) + ")-(" + std::string(rhs) + ")");
    const auto left = evaluate(lhs);
    if (left && left->variables == 0) scalar.right_side = evaluate(rhs);
  }
  return value;
}

ParsedValue parse_nested(std::string_view text, int depth);

ParsedValue elements_value(ParsedValue::Kind kind, const std::vector<std::string_view>& pieces,
                           int depth) {
  ParsedValue value;
  value.kind = kind;
  value.elements.reserve(pieces.size());
  for (const auto piece : pieces) value.elements.push_back(parse_nested(piece, depth + 1));
  return value;
}

// The sequence's bracket at one end of text, or 0.
char opening_bracket(std::string_view text) {
  if (starts_with(text, "(")) return '(';
  if (starts_with(text, "[")) return '[';
  if (starts_with(text, "\\langle")) return '<';
  return 0;
}

char closing_bracket(std::string_view text) {
  if (ends_with(text, ")")) return ')';
  if (ends_with(text, "]")) return ']';
  if (ends_with(text, "\\rangle")) return '>';
  return 0;
}

std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

// A bare list: "1,2", "1, 2, and 3", "1 and 2", "x=1 or x=2". The words only separate when no
// comma does, and a leading "and"/"or" of an element is dropped.
std::vector<std::string_view> list_pieces(std::string_view text) {
  auto pieces = split_top_level(text, ",");
  if (pieces.size() == 1) {
    for (const std::string_view word : {" and ", " or "}) {
      pieces = split_top_level(text, word);
      if (pieces.size() > 1) break;
    }
  }
  for (auto& piece : pieces) {
    piece = trim_spaces(piece);
    for (const std::string_view word : {"and ", "or "}) {
      if (starts_with(piece, word)) piece.remove_prefix(word.size());
    }
  }
  return pieces;
}

ParsedValue parse_nested(std::string_view text, int depth) {
  if (depth > kMaxStructureDepth || text.size() > kMaxStructuredLength) {
    return scalar_value(text, false);
  }
  const auto united = split_top_level(text, "\\cup");
  if (united.size() > 1) return elements_value(ParsedValue::Kind::interval_union, united, depth);

  if (text == "\\emptyset" || text == "\\{\\}") {
    ParsedValue empty;
    empty.kind = ParsedValue::Kind::collection;
    return empty;
  }
  if (starts_with(text, "\\{") && ends_with(text, "\\}") && wrapped_whole(text)) {
    const auto inner = text.substr(2, text.size() - 4);
    return elements_value(ParsedValue::Kind::collection, list_pieces(inner), depth);
  }
  if (starts_with(text, "\\matrix(") && wrapped_whole(text.substr(7))) {
    const auto inner = text.substr(8, text.size() - 9);
    ParsedValue matrix =
        elements_value(ParsedValue::Kind::sequence, split_top_level(inner, ","), depth);
    matrix.open = matrix.close = 'M';
    return matrix;
  }
  const char open = opening_bracket(text);
  const char close = closing_bracket(text);
  if (open != 0 && close != 0 && wrapped_whole(text)) {
    const std::size_t open_length = open == '<' ? 7 : 1;
    const std::size_t close_length = close == '>' ? 7 : 1;
    const auto inner = text.substr(open_length, text.size() - open_length - close_length);
    const auto pieces = split_top_level(inner, ",");
    if (pieces.size() > 1) {
      ParsedValue sequence = elements_value(ParsedValue::Kind::sequence, pieces, depth);
      // A vector in angle brackets is the same vector in parentheses.
      sequence.open = open == '<' ? '(' : open;
      sequence.close = close == '>' ? ')' : close;
      return sequence;
    }
  }
  const auto listed = list_pieces(text);
  if (listed.size() > 1) {
    ParsedValue list;
    list.kind = ParsedValue::Kind::collection;
    list.labelled = true;
    for (const auto piece : listed) {
      // Each element may be labelled on its own: "x=1, y=2".
      const std::string value = assigned_value(piece);
      list.labelled = list.labelled && value != piece;
      list.elements.push_back(parse_nested(value, depth + 1));
    }
    return list;
  }
  // "2\pm\sqrt{3}": both solutions.
  const auto plus_minus = split_top_level(text, "\\pm");
  if (plus_minus.size() == 2) {
    const std::string left(plus_minus[0]), right(plus_minus[1]);
    ParsedValue both;
    both.kind = ParsedValue::Kind::collection;
    both.elements.push_back(parse_nested(left + "+" + right, depth + 1));
    both.elements.push_back(parse_nested(left + "-" + right, depth + 1));
    return both;
  }
  return scalar_value(text, true);
}

// ---- Comparison.

class Comparer {
 public:
  explicit Comparer(long max_steps) : steps_left_(max_steps) {}

  Verdict compare(const ParsedValue& a, const ParsedValue& b) {
    if (--steps_left_ < 0) return {false, "comparison budget exhausted"};
    // A set or list of one element is that element.
    if (a.kind == ParsedValue::Kind::collection && a.elements.size() == 1 &&
        b.kind != ParsedValue::Kind::collection) {
      return compare(a.elements[0], b);
    }
    if (b.kind == ParsedValue::Kind::collection && b.elements.size() == 1 &&
        a.kind != ParsedValue::Kind::collection) {
      return compare(a, b.elements[0]);
    }
    if (labelled_tuple(a, b) || labelled_tuple(b, a)) {
      const auto verdict = in_order(a.elements, b.elements);
      if (!verdict.equivalent) return verdict;
      return {true, "labelled values as a tuple, in order"};
    }
    if (a.kind != b.kind) {
      return {false, "different kinds: " + kind_name(a) + " and " + kind_name(b)};
    }
    switch (a.kind) {
      case ParsedValue::Kind::scalar:
        return scalars(a.scalar, b.scalar);
      case ParsedValue::Kind::sequence: {
        if (a.open != b.open || a.close != b.close) return {false, "different brackets"};
        if (a.elements.size() != b.elements.size()) return {false, "different lengths"};
        const auto verdict = in_order(a.elements, b.elements);
        if (!verdict.equivalent) return verdict;
        return {true, a.open == 'M' ? "matrix, element-wise" : "ordered, element-wise"};
      }
      case ParsedValue::Kind::collection:
      case ParsedValue::Kind::interval_union:
        if (a.elements.size() != b.elements.size()) return {false, "different numbers of elements"};
        return unordered(a.elements, b.elements);
    }
    return {false, "unknown kind"};
  }

 private:
  static std::string kind_name(const ParsedValue& v) {
    switch (v.kind) {
      case ParsedValue::Kind::scalar:
        return "value";
      case ParsedValue::Kind::sequence:
        return v.open == 'M' ? "matrix" : "tuple";
      case ParsedValue::Kind::collection:
        return "set";
      case ParsedValue::Kind::interval_union:
        return "union";
    }
    return "?";
  }

  // "a=2, b=3" against the tuple (2,3).
  static bool labelled_tuple(const ParsedValue& list, const ParsedValue& tuple) {
    return list.kind == ParsedValue::Kind::collection && list.labelled &&
           tuple.kind == ParsedValue::Kind::sequence && tuple.open == '(' && tuple.close == ')' &&
           list.elements.size() == tuple.elements.size();
  }

  Verdict in_order(const std::vector<ParsedValue>& a, const std::vector<ParsedValue>& b) {
    for (std::size_t i = 0; i < a.size(); ++i) {
      const auto verdict = compare(a[i], b[i]);
      if (!verdict.equivalent) {
        return {false, "element " + std::to_string(i + 1) + " differs: " + verdict.rule};
      }
    }
    return {true, "in order"};
  }

  // Each element of a matched to a distinct equivalent element of b, first fit.
  Verdict unordered(const std::vector<ParsedValue>& a, const std::vector<ParsedValue>& b) {
    if (a.size() > kMaxCollectionSize) {
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (!compare(a[i], b[i]).equivalent) {
          return {false,
                  "element " + std::to_string(i + 1) + " differs (large sets compare in order)"};
        }
      }
      return {true, "in order (large sets)"};
    }
    std::vector<bool> used(b.size(), false);
    for (std::size_t i = 0; i < a.size(); ++i) {
      bool matched = false;
      for (std::size_t j = 0; j < b.size() && !matched; ++j) {
        if (used[j]) continue;
        const auto verdict = compare(a[i], b[j]);
        if (steps_left_ < 0) return {false, "comparison budget exhausted"};
        if (verdict.equivalent) used[j] = matched = true;
      }
      if (!matched) return {false, "no match for element " + std::to_string(i + 1)};
    }
    return {true, "unordered, element-wise"};
  }

  static bool terminating(const Number& x) {
    if (!x.exact()) return false;
    Int128 den = x.denominator();
    while (den % 2 == 0) den /= 2;
    while (den % 5 == 0) den /= 5;
    return den == 1;
  }

  // A written decimal against an irrational or repeating value: the value rounded or
  // truncated to the places written gives the decimal, and they are within the relative
  // tolerance (so that 3.14 is not \pi).
  static bool agrees_to_written_precision(const Number& decimal, int places, const Number& other) {
    if (places < 1 || terminating(other)) return false;
    const long double x = decimal.value(), y = other.value();
    if ((x < 0) != (y < 0)) return false;
    const long double written = std::fabs(x), value = std::fabs(y);
    const long double unit = std::pow(10.0L, -places);
    constexpr long double kSlack = 1 + 1e-9L;  // decimal fractions are inexact in binary
    const bool rounded_or_truncated =
        value >= written - unit / 2 * kSlack && value < written + unit * kSlack;
    return rounded_or_truncated &&
           std::fabs(x - y) <= kWrittenPrecisionTolerance * std::fmax(written, value) * kSlack;
  }

  static std::optional<std::string> numbers(const Number& x, const Scalar& a, const Number& y,
                                            const Scalar& b) {
    if (nearly_equal(x, y)) {
      return std::string(x.exact() && y.exact() ? "exact rational" : "within relative 1e-6");
    }
    if (agrees_to_written_precision(x, a.written_decimals, y) ||
        agrees_to_written_precision(y, b.written_decimals, x)) {
      return std::string("decimal to its written precision (relative 1e-4)");
    }
    return std::nullopt;
  }

  static Verdict constants(const Number& x, const Scalar& a, const Number& y, const Scalar& b) {
    if (a.percent == b.percent) {
      if (const auto rule = numbers(x, a, y, b)) return {true, *rule};
      return {false, "different numbers"};
    }
    // p% matches p and p/100.
    const Number& with_percent = a.percent ? x : y;
    const Number& without = a.percent ? y : x;
    if (nearly_equal(with_percent, without)) return {true, "percent: p% = p"};
    const auto fraction = divide(with_percent, Number::integer(100));
    if (fraction && nearly_equal(*fraction, without)) return {true, "percent: p% = p/100"};
    return {false, "different numbers"};
  }

  static Verdict expressions(const Evaluation& x, const Evaluation& y) {
    for (int sample = 0; sample < kSamplePoints; ++sample) {
      if (!nearly_equal(x.samples[sample], y.samples[sample])) {
        return {false, "different values at sample point " + std::to_string(sample + 1)};
      }
    }
    return {true, "equal at " + std::to_string(kSamplePoints) + " seeded sample points"};
  }

  // lhs-rhs of one equation is a non-zero constant multiple of the other's.
  static Verdict equations(const Evaluation& x, const Evaluation& y) {
    if (x.variables == 0 || y.variables == 0) return {false, "an equation without variables"};
    std::optional<long double> ratio;
    for (int sample = 0; sample < kSamplePoints; ++sample) {
      const long double u = x.samples[sample].value(), v = y.samples[sample].value();
      if (std::fabs(v) <= 1e-12L) {
        if (std::fabs(u) > 1e-12L) return {false, "different equations"};
        continue;
      }
      if (!ratio) ratio = u / v;
      if (std::fabs(u - *ratio * v) > 1e-6L * std::fmax(std::fabs(u), std::fabs(*ratio * v))) {
        return {false, "different equations"};
      }
    }
    if (!ratio || std::fabs(*ratio) <= 1e-12L) return {false, "a degenerate equation"};
    return {true, "same equation up to a constant factor"};
  }

  Verdict scalars(const Scalar& a, const Scalar& b) {
    if (a.infinity != 0 || b.infinity != 0) {
      return {a.infinity == b.infinity,
              a.infinity == b.infinity ? "infinity" : "different infinities"};
    }
    if (a.text == b.text && a.percent == b.percent) return {true, "same text"};
    if (a.base_digits && *a.base_digits == b.text) return {true, "same digits, base written"};
    if (b.base_digits && *b.base_digits == a.text) return {true, "same digits, base written"};
    if (a.equation && b.equation) return equations(*a.equation, *b.equation);
    // "2+3=5" against "5": the right side.
    if (a.right_side && b.evaluation)
      return constants(a.right_side->samples[0], a, b.evaluation->samples[0], b);
    if (b.right_side && a.evaluation)
      return constants(a.evaluation->samples[0], a, b.right_side->samples[0], b);
    if (!a.evaluation || !b.evaluation) return {false, "different text"};
    const Evaluation& x = *a.evaluation;
    const Evaluation& y = *b.evaluation;
    if (x.variables == 0 && y.variables == 0) return constants(x.samples[0], a, y.samples[0], b);
    if (a.percent != b.percent) return {false, "percent on one side only"};
    return expressions(x, y);
  }

  long steps_left_;
};

}  // namespace

ParsedValue parse_value(std::string_view text) { return parse_nested(text, 0); }

Verdict compare_values(const ParsedValue& a, const ParsedValue& b, long max_steps) {
  return Comparer(max_steps).compare(a, b);
}

}  // namespace quorum::answers
