#include "runtime/answers/value.h"

#include <array>

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

ParsedValue scalar_value(std::string_view text, bool evaluate_it) {
  ParsedValue value;
  Scalar& scalar = value.scalar;
  if (ends_with(text, "%")) {
    scalar.percent = true;
    text.remove_suffix(1);
  }
  scalar.text = std::string(text);
  scalar.infinity = infinity_sign(text);
  if (evaluate_it && scalar.infinity == 0) scalar.evaluation = evaluate(text);
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
    return elements_value(ParsedValue::Kind::collection, split_top_level(inner, ","), depth);
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
      sequence.open = open;
      sequence.close = close;
      return sequence;
    }
  }
  const auto listed = split_top_level(text, ",");
  if (listed.size() > 1) return elements_value(ParsedValue::Kind::collection, listed, depth);
  return scalar_value(text, true);
}

bool numbers_equivalent(const Number& a, bool a_percent, const Number& b, bool b_percent) {
  if (a_percent == b_percent) return nearly_equal(a, b);
  // p% matches p and p/100.
  const Number& with_percent = a_percent ? a : b;
  const Number& without = a_percent ? b : a;
  if (nearly_equal(with_percent, without)) return true;
  const auto fraction = divide(with_percent, Number::integer(100));
  return fraction && nearly_equal(*fraction, without);
}

bool scalars_equivalent(const Scalar& a, const Scalar& b) {
  if (a.infinity != 0 || b.infinity != 0) return a.infinity == b.infinity;
  if (a.text == b.text) return true;
  if (!a.evaluation || !b.evaluation) return false;
  const Evaluation& x = *a.evaluation;
  const Evaluation& y = *b.evaluation;
  if (x.variables != y.variables) return false;
  if (x.variables == 0) return numbers_equivalent(x.samples[0], a.percent, y.samples[0], b.percent);
  if (a.percent != b.percent) return false;
  for (int sample = 0; sample < kSamplePoints; ++sample) {
    if (!nearly_equal(x.samples[sample], y.samples[sample])) return false;
  }
  return true;
}

bool in_order_equivalent(const std::vector<ParsedValue>& a, const std::vector<ParsedValue>& b) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!values_equivalent(a[i], b[i])) return false;
  }
  return true;
}

// Each element of a matched to a distinct equivalent element of b, first fit.
bool unordered_equivalent(const std::vector<ParsedValue>& a, const std::vector<ParsedValue>& b) {
  if (a.size() > kMaxCollectionSize) return in_order_equivalent(a, b);
  std::vector<bool> used(b.size(), false);
  for (const auto& element : a) {
    bool matched = false;
    for (std::size_t j = 0; j < b.size() && !matched; ++j) {
      if (!used[j] && values_equivalent(element, b[j])) used[j] = matched = true;
    }
    if (!matched) return false;
  }
  return true;
}

}  // namespace

ParsedValue parse_value(std::string_view text) { return parse_nested(text, 0); }

bool values_equivalent(const ParsedValue& a, const ParsedValue& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case ParsedValue::Kind::scalar:
      return scalars_equivalent(a.scalar, b.scalar);
    case ParsedValue::Kind::sequence:
      return a.open == b.open && a.close == b.close && a.elements.size() == b.elements.size() &&
             in_order_equivalent(a.elements, b.elements);
    case ParsedValue::Kind::collection:
    case ParsedValue::Kind::interval_union:
      return a.elements.size() == b.elements.size() && unordered_equivalent(a.elements, b.elements);
  }
  return false;
}

}  // namespace quorum::answers
