// Finding the final answer in a response: the last complete \boxed{} / \fbox{}, else the
// configured patterns line by line, else the last number.
#include <algorithm>
#include <map>
#include <memory>
#include <regex>
#include <stdexcept>

#include "runtime/answers/answer.h"

namespace quorum::answers {
namespace {

// An unterminated box (a truncated response) is skipped for the one before it; looking at
// more than a few keeps the scan linear even for text made of unclosed boxes.
constexpr int kMaxBoxesTried = 8;
// A math environment only counts as the answer when it ends within this many characters of
// the end of the response: earlier ones are working, not the conclusion.
constexpr std::size_t kFinalPartLength = 300;
// libstdc++'s default regex executor backtracks, recursively: exponential time for patterns
// such as (a+)+b and stack depth growing with the input. Its Thompson-NFA executor (the
// __polynomial extension) runs in time polynomial in the input with stack depth bounded by the
// pattern; patterns with back-references are refused under it. Patterns also only ever see a
// bounded window: the last characters of each line, where final answers sit.
#ifdef __GLIBCXX__
constexpr auto kPatternSyntax = std::regex::ECMAScript | std::regex_constants::__polynomial;
#else
constexpr auto kPatternSyntax = std::regex::ECMAScript;
#endif
constexpr std::size_t kPatternWindow = 1024;
// The number of compiled patterns a thread keeps.
constexpr std::size_t kMaxCachedPatterns = 64;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim_answer(std::string_view text) {
  auto strip = [](char c) { return is_space(c) || c == '*'; };  // markdown bold: **42**
  while (!text.empty() && strip(text.front())) text.remove_prefix(1);
  while (!text.empty() && (strip(text.back()) || text.back() == '.')) text.remove_suffix(1);
  return text;
}

// The start of the last "\boxed" or "\fbox" command that begins before `end`.
std::size_t last_box_before(std::string_view text, std::size_t end) {
  std::size_t best = std::string_view::npos;
  for (const std::string_view name : {"\\boxed", "\\fbox"}) {
    std::size_t at =
        end < name.size() ? std::string_view::npos : text.rfind(name, end - name.size());
    // Skip longer commands that merely start with the name (\boxedtext).
    while (at != std::string_view::npos && at + name.size() < text.size() &&
           is_letter(text[at + name.size()])) {
      at = at == 0 ? std::string_view::npos : text.rfind(name, at - 1);
    }
    if (at != std::string_view::npos && (best == std::string_view::npos || at > best)) best = at;
  }
  return best;
}

// The content of the box at text[at...]: "{...}" with nested braces (escaped braces do not
// count), or the unbraced token of "\boxed 5". nullopt when the brace never closes.
std::optional<std::string_view> box_content(std::string_view text, std::size_t at) {
  std::size_t i = at + 1;
  while (i < text.size() && is_letter(text[i])) ++i;
  while (i < text.size() && is_space(text[i])) ++i;
  if (i >= text.size()) return std::nullopt;
  if (text[i] != '{') {
    std::size_t end = i;
    while (end < text.size() && !is_space(text[end]) && text[end] != '$') ++end;
    return text.substr(i, end - i);
  }
  const std::size_t open = i;
  int depth = 0;
  for (; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;
    } else if (text[i] == '{') {
      ++depth;
    } else if (text[i] == '}' && --depth == 0) {
      return text.substr(open + 1, i - open - 1);
    }
  }
  return std::nullopt;
}

// Whether the text between two boxes only joins them into one list of answers: spaces, math
// delimiters, commas, semicolons, "and"/"or" (also inside \text{}), \quad.
bool joins_list(std::string_view between) {
  std::size_t i = 0;
  while (i < between.size()) {
    const auto rest = between.substr(i);
    bool matched = false;
    for (const std::string_view joint : {" ", "\n", "$", ",", ";", "\\quad", "\\qquad", "\\text{",
                                         "}", "\\(", "\\)", "and", "or"}) {
      if (rest.substr(0, joint.size()) == joint) {
        i += joint.size();
        matched = true;
        break;
      }
    }
    if (!matched) return false;
  }
  return true;
}

// The last complete, non-empty box; with the boxes just before it that only a list's joints
// separate ("$\boxed{2}$ and $\boxed{3}$"), one list "2, 3" (repeated boxes counted once).
std::optional<Extraction> boxed_answer(std::string_view text) {
  std::size_t end = text.size();
  std::vector<std::string> answers;  // last first
  std::size_t previous_start = std::string_view::npos;
  for (int tried = 0; tried < kMaxBoxesTried; ++tried) {
    const std::size_t at = last_box_before(text, end);
    if (at == std::string_view::npos) break;
    const auto content = box_content(text, at);
    end = at;
    if (!content) {
      if (answers.empty()) continue;  // a truncated last box gives way to the one before
      break;
    }
    const auto answer = trim_answer(*content);
    if (answer.empty()) {
      if (answers.empty()) continue;
      break;
    }
    if (!answers.empty()) {
      const std::size_t box_end =
          static_cast<std::size_t>(content->data() - text.data()) + content->size() + 1;
      if (box_end > previous_start || !joins_list(text.substr(box_end, previous_start - box_end))) {
        break;
      }
    }
    if (std::find(answers.begin(), answers.end(), answer) == answers.end()) {
      answers.emplace_back(answer);
    }
    previous_start = at;
  }
  if (answers.empty()) return std::nullopt;
  if (answers.size() == 1) return Extraction{answers[0], ExtractionRule::boxed};
  std::string list;
  for (auto it = answers.rbegin(); it != answers.rend(); ++it) {
    if (!list.empty()) list += ", ";
    list += *it;
  }
  return Extraction{list, ExtractionRule::boxed_list};
}

// Whether the delimiter at text[at] cannot end a math environment: \$ inside math is a dollar
// sign; a single $ closes only after a non-space and not before a digit (Pandoc's rule), so
// "$5 and $10" holds no math.
bool not_a_closer(std::string_view text, std::size_t at, std::string_view close) {
  if (close[0] != '$') return false;
  if (text[at - 1] == '\\') return true;
  if (close.size() == 1) {
    if (text.substr(at, 2) == "$$") return true;  // a display delimiter, not ours
    if (is_space(text[at - 1])) return true;
    if (at + 1 < text.size() && is_digit(text[at + 1])) return true;
  }
  return false;
}

// The content of the last math environment ($...$, $$...$$, \(...\), \[...\]) that ends in
// the final part of the response; escaped dollars (\$5) are not delimiters.
std::optional<std::string> last_math_environment(std::string_view text) {
  std::optional<std::string_view> last;
  std::size_t last_end = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::string_view open, close;
    if (text[i] == '\\' && i + 1 < text.size()) {
      const char next = text[i + 1];
      if (next == '(') {
        open = "\\(";
        close = "\\)";
      } else if (next == '[') {
        open = "\\[";
        close = "\\]";
      } else {
        i += 2;  // an escaped character, \$ included
        continue;
      }
    } else if (text[i] == '$') {
      open = close = text.substr(i, 2) == "$$" ? "$$" : "$";
      // Pandoc's rule for a single $: it opens only before a non-space, so that the
      // currency of "costs $5 per hour and $10 on Sundays" is no math.
      if (open == "$" && (i + 1 >= text.size() || is_space(text[i + 1]))) {
        ++i;
        continue;
      }
    } else {
      ++i;
      continue;
    }
    const std::size_t content_start = i + open.size();
    std::size_t end = content_start;
    while (true) {
      end = text.find(close, end);
      if (end == std::string_view::npos || !not_a_closer(text, end, close)) break;
      ++end;
    }
    // Never closed (a truncated response): no later opener can close either, since whether a
    // $ closes does not depend on where the environment opened.
    if (end == std::string_view::npos) break;
    const auto content = trim_answer(text.substr(content_start, end - content_start));
    if (!content.empty()) {
      last = content;
      last_end = end + close.size();
    }
    i = end + close.size();
  }
  if (!last || text.size() - last_end > kFinalPartLength) return std::nullopt;
  return std::string(*last);
}

const std::regex& compiled(const std::string& pattern) {
  thread_local std::map<std::string, std::unique_ptr<std::regex>> cache;
  auto it = cache.find(pattern);
  if (it != cache.end()) return *it->second;
  if (cache.size() >= kMaxCachedPatterns) cache.clear();
  std::unique_ptr<std::regex> regex;
  try {
    regex = std::make_unique<std::regex>(pattern, kPatternSyntax);
  } catch (const std::regex_error& e) {
    throw std::invalid_argument("invalid answer pattern '" + pattern + "': " + e.what());
  }
  if (regex->mark_count() < 1) {
    throw std::invalid_argument("answer pattern '" + pattern + "' has no capture group");
  }
  return *cache.emplace(pattern, std::move(regex)).first->second;
}

// The first capture of the pattern's last match, scanning lines from the end.
std::optional<std::string> pattern_answer(std::string_view text, const std::regex& regex) {
  std::size_t line_end = text.size();
  while (true) {
    const std::size_t newline =
        line_end == 0 ? std::string_view::npos : text.rfind('\n', line_end - 1);
    const std::size_t line_start = newline == std::string_view::npos ? 0 : newline + 1;
    const std::size_t window_start =
        std::max(line_start, line_end - std::min(line_end, kPatternWindow));
    const auto window = text.substr(window_start, line_end - window_start);
    std::optional<std::string> last;
    for (auto it = std::cregex_iterator(window.data(), window.data() + window.size(), regex);
         it != std::cregex_iterator(); ++it) {
      const auto answer = trim_answer(std::string_view((*it)[1].first, (*it)[1].length()));
      if (!answer.empty()) last = std::string(answer);
    }
    if (last) return last;
    if (newline == std::string_view::npos) return std::nullopt;
    line_end = newline;
  }
}

// The last number written in the text: "-12", "1,000", "3.5", "3/4".
std::optional<std::string> last_number(std::string_view text) {
  std::size_t end = text.size();
  while (end > 0 && !is_digit(text[end - 1])) --end;
  if (end == 0) return std::nullopt;
  std::size_t start = end;
  while (start > 0 && is_digit(text[start - 1])) --start;
  std::size_t group_length = end - start;
  // Extend left over thousands groups, one decimal point and one fraction bar.
  bool comma_seen = false, decimal_seen = false, fraction_seen = false;
  while (start >= 2 && is_digit(text[start - 2])) {
    const char joint = text[start - 1];
    if (joint == ',') {
      if (group_length != 3) break;
      comma_seen = true;
    } else if (joint == '.') {
      if (decimal_seen || comma_seen || fraction_seen) break;
      decimal_seen = true;
    } else if (joint == '/') {
      if (fraction_seen || comma_seen) break;
      fraction_seen = true;
    } else {
      break;
    }
    const std::size_t run_end = start - 1;
    start = run_end;
    while (start > 0 && is_digit(text[start - 1])) --start;
    group_length = run_end - start;
  }
  // A minus sign, unless it is a hyphen or a subtraction ("3-5", "x-5").
  if (start > 0 && text[start - 1] == '-' &&
      (start == 1 || !(is_digit(text[start - 2]) || is_letter(text[start - 2])))) {
    --start;
  }
  return std::string(text.substr(start, end - start));
}

}  // namespace

// The answer phrases capture up to the end of their sentence, so that in "The answer is 3.
// No wait, the answer is 4." the second match, 4, wins; "3.5" does not end a sentence.
std::vector<std::string> ExtractOptions::default_fallback_patterns() {
  return {
      R"(####\s*(.+))",
      R"((?:[Tt]he|[Mm]y)\s+(?:[Ff]inal\s+)?[Aa]nswer\s+is\s*:?\s*(.+?)(?:\.(?:\s|$)|$))",
      R"([Ff]inal\s+[Aa]nswer\s*:\s*(.+?)(?:\.(?:\s|$)|$))",
  };
}

std::string_view rule_name(ExtractionRule rule) {
  switch (rule) {
    case ExtractionRule::boxed:
      return "boxed";
    case ExtractionRule::boxed_list:
      return "several boxed";
    case ExtractionRule::math_environment:
      return "last math environment";
    case ExtractionRule::pattern:
      return "pattern";
    case ExtractionRule::last_number:
      return "last number";
    case ExtractionRule::none:
      return "none";
  }
  return "none";
}

Extraction extract(std::string_view text, const ExtractOptions& options) {
  if (auto boxed = boxed_answer(text)) return *boxed;
  if (options.math_environment_fallback) {
    if (auto math = last_math_environment(text)) {
      return {std::move(*math), ExtractionRule::math_environment};
    }
  }
  for (std::size_t i = 0; i < options.fallback_patterns.size(); ++i) {
    if (auto matched = pattern_answer(text, compiled(options.fallback_patterns[i]))) {
      return {std::move(*matched), ExtractionRule::pattern, static_cast<int>(i)};
    }
  }
  if (options.last_number_fallback) {
    if (auto number = last_number(text)) return {std::move(*number), ExtractionRule::last_number};
  }
  return {};
}

std::optional<std::string> extract_answer(std::string_view text, const ExtractOptions& options) {
  auto extraction = extract(text, options);
  return std::move(extraction.answer);
}

}  // namespace quorum::answers
