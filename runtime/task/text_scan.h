// A forward-only scanner over a string_view for the task's strict little formats (problem text,
// equations, answer lines). Every method looks at each byte at most once or a bounded number of
// times, so parsing is linear and never throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace quorum::task {

inline bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  bool at_end() const { return pos_ == text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }
  void advance() { ++pos_; }

  void skip_blanks() {
    while (!at_end() && is_blank(text_[pos_])) ++pos_;
  }

  // Consumes `word` if the text continues with it.
  bool literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  // A canonical integer: an optional '-', then 1 to 9 digits, no leading zero (except "0"),
  // not "-0", and no digit right after it. Consumes nothing on failure.
  std::optional<std::int64_t> integer() {
    std::size_t p = pos_;
    const bool negative = p < text_.size() && text_[p] == '-';
    if (negative) ++p;
    const std::size_t digits_begin = p;
    std::int64_t value = 0;
    while (p < text_.size() && text_[p] >= '0' && text_[p] <= '9') {
      if (p - digits_begin == 9) return std::nullopt;  // a tenth digit
      value = value * 10 + (text_[p] - '0');
      ++p;
    }
    const std::size_t digits = p - digits_begin;
    if (digits == 0) return std::nullopt;
    if (digits > 1 && text_[digits_begin] == '0') return std::nullopt;
    if (negative && value == 0) return std::nullopt;
    pos_ = p;
    return negative ? -value : value;
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace quorum::task
