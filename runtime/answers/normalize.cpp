#include "runtime/answers/normalize.h"

#include <algorithm>
#include <array>
#include <optional>
#include <vector>

namespace quorum::answers {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

template <std::size_t N>
bool one_of(std::string_view word, const std::array<std::string_view, N>& words) {
  return std::find(words.begin(), words.end(), word) != words.end();
}

// ---- Unicode: the symbols models write instead of their LaTeX commands.

struct Replacement {
  std::string_view from;
  std::string_view to;
};

constexpr std::array<Replacement, 18> kUnicodeReplacements = {{
    {"\xC2\xB0", " "},                // degree sign: the unit is dropped
    {"\xC2\xA0", " "},                // no-break space
    {"\xE2\x80\x89", " "},            // thin space
    {"\xE2\x80\xAF", " "},            // narrow no-break space (a thousands separator)
    {"\xE2\x89\xA4", "\\le "},        // less-than or equal
    {"\xE2\x89\xA5", "\\ge "},        // greater-than or equal
    {"\xE2\x89\x88", "\\approx "},    // almost equal
    {"\xE2\x88\xA9", "\\cap "},       // intersection
    {"\xE2\x88\x92", "-"},            // minus sign
    {"\xC3\x97", "\\times "},         // multiplication sign
    {"\xC2\xB7", "\\cdot "},          // middle dot
    {"\xE2\x8B\x85", "\\cdot "},      // dot operator
    {"\xC3\xB7", "\\div "},           // division sign
    {"\xCF\x80", "\\pi "},            // pi
    {"\xE2\x88\x9A", "\\sqrt "},      // square root
    {"\xE2\x88\x9E", "\\infty "},     // infinity
    {"\xE2\x88\xAA", "\\cup "},       // union
    {"\xE2\x88\x85", "\\emptyset "},  // empty set
}};

std::string replace_unicode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    bool replaced = false;
    if (static_cast<unsigned char>(text[i]) >= 0x80) {
      for (const auto& r : kUnicodeReplacements) {
        if (starts_with(text.substr(i), r.from)) {
          out += r.to;
          i += r.from.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += text[i++];
  }
  return out;
}

// ---- LaTeX: one pass that drops presentation commands and unwraps text-like groups.

// Commands that only size, style or space what follows; "\left." and "\right." also drop
// the dot.
constexpr std::array<std::string_view, 32> kDroppedCommands = {
    "left",    "right",        "middle",    "big",         "Big",      "bigg",     "Bigg",
    "bigl",    "bigr",         "Bigl",      "Bigr",        "biggl",    "biggr",    "Biggl",
    "Biggr",   "displaystyle", "textstyle", "scriptstyle", "limits",   "nolimits", "circ",
    "degree",  "rm",           "bf",        "it",          "noindent", "quad",     "qquad",
    "enspace", "thinspace",    "medspace",  "thickspace"};

// Commands whose braced argument is dropped with them.
constexpr std::array<std::string_view, 3> kDroppedWithArgument = {"hspace", "vspace", "phantom"};

// Commands whose braced argument stays as plain content: \text{cm} reads as " cm ".
constexpr std::array<std::string_view, 22> kUnwrappedCommands = {
    "text",   "textbf", "textit",       "textrm", "textsf", "texttt",     "textnormal", "textup",
    "mathrm", "mathbf", "mathit",       "mathsf", "mathtt", "mathnormal", "mbox",       "hbox",
    "boxed",  "fbox",   "operatorname", "emph",   "bm",     "boldsymbol"};

struct Renamed {
  std::string_view from;
  std::string_view to;
};

constexpr std::array<Renamed, 16> kRenamedCommands = {{
    {"dfrac", "\\frac"},
    {"tfrac", "\\frac"},
    {"cfrac", "\\frac"},
    {"lbrace", "\\{"},
    {"rbrace", "\\}"},
    {"varnothing", "\\emptyset"},
    {"leq", "\\le"},
    {"geq", "\\ge"},
    {"leqslant", "\\le"},
    {"geqslant", "\\ge"},
    {"lt", "<"},
    {"gt", ">"},
    {"lor", " or "},
    {"vee", " or "},
    {"land", " and "},
    {"wedge", " and "},
}};

// Index just past the group that opens with '{' at text[open] (nested braces honoured), or
// text.size() when it never closes.
std::size_t skip_group(std::string_view text, std::size_t open) {
  int depth = 0;
  for (std::size_t i = open; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;
    } else if (text[i] == '{') {
      ++depth;
    } else if (text[i] == '}' && --depth == 0) {
      return i + 1;
    }
  }
  return text.size();
}

std::size_t skip_spaces(std::string_view text, std::size_t i) {
  while (i < text.size() && is_space(text[i])) ++i;
  return i;
}

// "^\circ" and "^{\circ}" at text[i] (the '^'): the index past them, or i when absent.
std::size_t skip_degree_mark(std::string_view text, std::size_t i) {
  std::size_t j = skip_spaces(text, i + 1);
  const bool braced = j < text.size() && text[j] == '{';
  if (braced) j = skip_spaces(text, j + 1);
  if (!starts_with(text.substr(j), "\\circ")) return i;
  j += 5;
  if (j < text.size() && is_letter(text[j])) return i;
  j = skip_spaces(text, j);
  if (braced) {
    if (j >= text.size() || text[j] != '}') return i;
    ++j;
  }
  return j;
}

class LatexRewriter {
 public:
  explicit LatexRewriter(std::string_view text) : text_(text) { out_.reserve(text.size()); }

  std::string run() {
    while (i_ < text_.size()) {
      const char c = text_[i_];
      if (c == '\\') {
        backslash();
      } else if (c == '{') {
        open_brace();
      } else if (c == '}') {
        close_brace();
      } else if (c == '$') {
        ++i_;  // math delimiter
      } else if (c == '~') {
        out_ += ' ';
        ++i_;
      } else if (c == '^') {
        const std::size_t past = skip_degree_mark(text_, i_);
        if (past == i_) out_ += text_[i_];
        i_ = std::max(past, i_ + 1);
      } else {
        out_ += c;
        ++i_;
      }
    }
    return std::move(out_);
  }

 private:
  void backslash() {
    std::size_t end = i_ + 1;
    while (end < text_.size() && is_letter(text_[end])) ++end;
    if (end == i_ + 1) {
      escaped_symbol();
      return;
    }
    const auto name = text_.substr(i_ + 1, end - i_ - 1);
    i_ = end;
    command(name);
  }

  // "\," "\!" ... are spacing; "\$" is a currency sign (dropped); "\(" "\[" delimit math.
  void escaped_symbol() {
    const char next = i_ + 1 < text_.size() ? text_[i_ + 1] : '\0';
    i_ += 2;
    switch (next) {
      case ',':
      case ';':
      case ':':
      case '!':
      case ' ':
      case '>':
      case '\\':
      case '\n':
        out_ += ' ';
        break;
      case '$':
      case '(':
      case ')':
      case '[':
      case ']':
      case '\0':
        break;
      case '%':
        out_ += '%';
        break;
      default:
        out_ += '\\';
        out_ += next;
    }
  }

  void command(std::string_view name) {
    if (one_of(name, kDroppedCommands)) {
      if (name == "left" || name == "right" || name == "middle") {
        const std::size_t next = skip_spaces(text_, i_);
        if (next < text_.size() && text_[next] == '.') i_ = next + 1;
      }
      out_ += ' ';
      return;
    }
    if (one_of(name, kDroppedWithArgument)) {
      const std::size_t open = skip_spaces(text_, i_);
      if (open < text_.size() && text_[open] == '{') i_ = skip_group(text_, open);
      out_ += ' ';
      return;
    }
    if (one_of(name, kUnwrappedCommands)) {
      const std::size_t open = skip_spaces(text_, i_);
      if (open < text_.size() && text_[open] == '{') {
        i_ = open + 1;
        braces_.push_back(BraceKind::unwrapped);
      }
      out_ += ' ';
      return;
    }
    for (const auto& r : kRenamedCommands) {
      if (r.from == name) {
        out_ += r.to;
        return;
      }
    }
    out_ += '\\';
    out_ += name;
  }

  void open_brace() {
    if (starts_with(text_.substr(i_), "{,}")) {  // LaTeX's thousands separator 1{,}000
      i_ += 3;
      return;
    }
    braces_.push_back(BraceKind::kept);
    out_ += '{';
    ++i_;
  }

  void close_brace() {
    ++i_;
    if (!braces_.empty() && braces_.back() == BraceKind::unwrapped) {
      out_ += ' ';
    } else {
      out_ += '}';
    }
    if (!braces_.empty()) braces_.pop_back();
  }

  enum class BraceKind : char { kept, unwrapped };

  std::string_view text_;
  std::size_t i_ = 0;
  std::string out_;
  std::vector<BraceKind> braces_;  // one entry per open brace: a heap stack, never recursion
};

// ---- Spaces.

std::string collapse_whitespace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (is_space(c)) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// The length of the letter run ending at text[end - 1], or 0 when it is a command's name.
std::size_t word_before(std::string_view text, std::size_t end) {
  std::size_t start = end;
  while (start > 0 && is_letter(text[start - 1])) --start;
  if (start > 0 && text[start - 1] == '\\') return 0;
  return end - start;
}

std::size_t word_after(std::string_view text, std::size_t start) {
  std::size_t end = start;
  while (end < text.size() && is_letter(text[end])) ++end;
  return end - start;
}

// Spaces only separate words ("New York", "\pi r", "1 and 2") and digit groups ("2 1/2");
// elsewhere they carry no meaning: "2 \pi" is "2\pi", "2 x" is "2x", "( 1, 2 )" is "(1,2)".
std::string squeeze_spaces(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != ' ') {
      out += text[i];
      continue;
    }
    if (out.empty() || i + 1 >= text.size()) continue;
    const char before = out.back();
    const char after = text[i + 1];
    const bool letters = is_letter(before) && is_letter(after);
    const bool digits = is_digit(before) && is_digit(after);
    const bool number_and_word = (is_digit(before) && word_after(text, i + 1) >= 2) ||
                                 (is_digit(after) && word_before(out, out.size()) >= 2);
    // "5 or -2", "(1,2) and (3,4)": a word that separates list elements keeps its spaces.
    const bool group_and_word =
        ((before == ')' || before == '}') && word_after(text, i + 1) >= 2) ||
        ((after == '-' || after == '(' || after == '\\') && word_before(out, out.size()) >= 2);
    if (letters || digits || number_and_word || group_and_word) out += ' ';
  }
  return out;
}

// ---- Decorations around the value.

std::string strip_trailing_periods(std::string_view text) {
  while (!text.empty() && (text.back() == '.' || text.back() == ' ')) text.remove_suffix(1);
  return std::string(text);
}

// "x" "a_1" "f(x)" "(x,y)" "\theta": what may stand left of "=" in "x = 5".
bool is_name(std::string_view text) {
  if (text.empty() || text.size() > 32) return false;
  bool has_letter = false;
  bool in_subscript = false;
  // An inverse function's name, f^{-1}(x) or f^{-1}: the only superscript a name may carry.
  std::string without_inverse(text);
  const std::size_t inverse = without_inverse.find("^{-1}");
  if (inverse != std::string::npos) without_inverse.erase(inverse, 5);
  for (const char c : without_inverse) {
    if (is_letter(c)) {
      has_letter = true;
    } else if (c == '_') {
      in_subscript = true;
    } else if (is_digit(c)) {
      if (!in_subscript) return false;
    } else if (c != '\\' && c != '{' && c != '}' && c != '(' && c != ')' && c != ',' && c != '\'' &&
               c != ' ') {
      return false;
    }
  }
  return has_letter;
}

// "x = 5" -> "5", "y = 2x + 3" -> "2x + 3", "x \in [1,2]" -> "[1,2]". Only a single top-level
// "=" (or \in) after a name counts: "x + y = 5" and "a = b = 3" are left alone.
std::string strip_assignment(std::string_view text) {
  int depth = 0;
  std::size_t relation = std::string_view::npos;
  std::size_t relation_length = 0;
  int relations = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '(' || c == '[' || c == '{') ++depth;
    if (c == ')' || c == ']' || c == '}') --depth;
    if (depth != 0) continue;
    if (c == '=') {
      ++relations;
      relation = i;
      relation_length = 1;
    } else if (starts_with(text.substr(i), "\\in") &&
               (i + 3 >= text.size() || !is_letter(text[i + 3]))) {
      ++relations;
      relation = i;
      relation_length = 3;
    }
  }
  if (relations != 1) return std::string(text);
  if (relation > 0 &&
      (text[relation - 1] == '<' || text[relation - 1] == '>' || text[relation - 1] == '!')) {
    return std::string(text);
  }
  const auto name = trim(text.substr(0, relation));
  const auto value = trim(text.substr(relation + relation_length));
  if (!is_name(name) || value.empty()) return std::string(text);
  return std::string(value);
}

// Units written without a space after the number ("5cm"); longer words need the space.
constexpr std::array<std::string_view, 12> kGluedUnits = {"cm", "mm", "km", "kg",  "mg",  "ml",
                                                          "mL", "ft", "hr", "hrs", "mph", "sec"};

// One-letter units, dropped only when written apart from the number ("3 m", "5\text{ g}"):
// glued to it they read as variables (3m).
constexpr std::array<std::string_view, 10> kOneLetterUnits = {"m", "g", "s", "h", "L",
                                                              "K", "N", "J", "W", "V"};

// Letter runs that are mathematics, not units.
constexpr std::array<std::string_view, 5> kNotUnits = {"pi", "sqrt", "infty", "inf", "infinity"};

// "5 cm", "5 square units", "12 dollars", "30 degrees", "4 cm^2": the words after a number
// are dropped; "50 percent" becomes "50%". The text before the words must hold a digit and
// end like a number or a group, so "x inches" or "\pi" (a command) stay as they are.
std::string strip_units(std::string_view text) {
  std::string_view body = text;
  for (const auto power : {"^2", "^3", "^{2}", "^{3}"}) {
    if (ends_with(body, power)) {
      body = trim(body.substr(0, body.size() - std::string_view(power).size()));
      break;
    }
  }
  std::size_t start = body.size();
  // Letters, spaces and the slash of rates such as km/h (never a leading one: 3/x stays).
  while (start > 0 && (is_letter(body[start - 1]) || body[start - 1] == ' ' ||
                       (body[start - 1] == '/' && start < body.size() && is_letter(body[start])))) {
    --start;
  }
  while (start < body.size() && body[start] == '/') ++start;
  const auto words = trim(body.substr(start));
  const auto number = trim(body.substr(0, start));
  if (words.empty() || number.empty()) return std::string(text);
  const char last = number.back();
  if (!is_digit(last) && last != '}' && last != ')' && last != '%') return std::string(text);
  if (std::none_of(number.begin(), number.end(), is_digit)) return std::string(text);
  const bool glued = body[start] != ' ';
  if (glued && !one_of(words, kGluedUnits)) return std::string(text);

  std::size_t word_start = 0;
  while (word_start < words.size()) {
    std::size_t word_end = words.find(' ', word_start);
    if (word_end == std::string_view::npos) word_end = words.size();
    const auto word = words.substr(word_start, word_end - word_start);
    const bool unit = word.size() >= 2 ? !one_of(word, kNotUnits) : one_of(word, kOneLetterUnits);
    if (!unit) return std::string(text);
    word_start = word_end + 1;
  }
  if (starts_with(words, "percent")) return std::string(number) + "%";
  return std::string(number);
}

// "(C)" -> "C": a multiple-choice letter in parentheses.
std::string strip_choice_parentheses(std::string_view text) {
  if (text.size() >= 3 && text.front() == '(' && text.back() == ')') {
    const auto inside = trim(text.substr(1, text.size() - 2));
    if (inside.size() == 1 && is_letter(inside[0])) return std::string(inside);
  }
  return std::string(text);
}

// "1,000,000" and "1 000" -> "1000000" and "1000": only when the whole answer is one number in
// groups of three, so "(1,2)" and "1,2" (lists) and "2 1/2" (a mixed number) keep their commas.
std::string remove_thousands_separators(std::string_view text) {
  std::size_t i = 0;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
  const std::size_t first_group = i;
  while (i < text.size() && is_digit(text[i])) ++i;
  if (i == first_group || i - first_group > 3 || i >= text.size()) return std::string(text);
  const char separator = text[i];
  if (separator != ',' && separator != ' ') return std::string(text);
  int groups = 0;
  while (i < text.size() && text[i] == separator) {
    std::size_t digits = 0;
    while (i + 1 + digits < text.size() && is_digit(text[i + 1 + digits])) ++digits;
    if (digits != 3) return std::string(text);
    i += 4;
    ++groups;
  }
  if (groups == 0) return std::string(text);
  // What may follow: decimals and a percent sign.
  std::size_t tail = i;
  if (tail < text.size() && text[tail] == '.') {
    ++tail;
    while (tail < text.size() && is_digit(text[tail])) ++tail;
  }
  if (tail < text.size() && text[tail] == '%') ++tail;
  if (tail != text.size()) return std::string(text);
  std::string out;
  for (const char c : text) {
    if (c != separator) out += c;
  }
  return out;
}

// Whole answers that name a value in words: the set of all reals, no solution, small numbers.
constexpr std::array<Replacement, 27> kNamedValues = {{
    {"\\mathbb{R}", "(-\\infty,\\infty)"},
    {"\\mathbb R", "(-\\infty,\\infty)"},
    {"all real numbers", "(-\\infty,\\infty)"},
    {"all reals", "(-\\infty,\\infty)"},
    {"no solution", "\\emptyset"},
    {"no solutions", "\\emptyset"},
    {"no real solutions", "\\emptyset"},
    {"zero", "0"},
    {"one", "1"},
    {"two", "2"},
    {"three", "3"},
    {"four", "4"},
    {"five", "5"},
    {"six", "6"},
    {"seven", "7"},
    {"eight", "8"},
    {"nine", "9"},
    {"ten", "10"},
    {"eleven", "11"},
    {"twelve", "12"},
    {"thirteen", "13"},
    {"fourteen", "14"},
    {"fifteen", "15"},
    {"sixteen", "16"},
    {"seventeen", "17"},
    {"eighteen", "18"},
    {"twenty", "20"},
}};

std::string named_value(std::string text) {
  for (const auto& named : kNamedValues) {
    if (text == named.from) return std::string(named.to);
  }
  return text;
}

// Answers made only of words ("Evelyn", "New York", "yes") compare case-insensitively; a single
// letter stays as written, since "C" (a choice) and "c" (a variable) differ.
std::string lowercase_words(std::string text) {
  std::size_t run = 0, longest_run = 0;
  for (const char c : text) {
    if (is_letter(c)) {
      longest_run = std::max(longest_run, ++run);
    } else if (c == ' ' || c == '-' || c == '\'') {
      run = 0;
    } else {
      return text;
    }
  }
  if (longest_run < 2) return text;
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

// ---- Matrices: \begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix} becomes \matrix((1,2),(3,4)) before
// the LaTeX pass (which reads "\\" as a line break). A single row or column is a vector and
// becomes the tuple (1,2), so that a column vector matches the same vector written inline.

constexpr std::array<std::string_view, 5> kMatrixEnvironments = {"pmatrix", "bmatrix", "Bmatrix",
                                                                 "matrix", "smallmatrix"};

// The cells of a matrix body, row by row.
std::vector<std::vector<std::string_view>> matrix_cells(std::string_view body) {
  std::vector<std::vector<std::string_view>> rows(1);
  std::size_t cell_start = 0;
  int depth = 0;
  auto end_cell = [&](std::size_t end) {
    rows.back().push_back(trim(body.substr(cell_start, end - cell_start)));
  };
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '{') ++depth;
    if (c == '}') --depth;
    if (depth != 0) continue;
    if (c == '&') {
      end_cell(i);
      cell_start = i + 1;
    } else if (c == '\\' && i + 1 < body.size() && body[i + 1] == '\\') {
      end_cell(i);
      rows.emplace_back();
      cell_start = i + 2;
      ++i;
    } else if (c == '\\') {
      ++i;  // an escaped character is never a separator
    }
  }
  end_cell(body.size());
  // "\\" after the last row (a common habit) leaves an empty row behind.
  if (rows.size() > 1 && rows.back().size() == 1 && rows.back()[0].empty()) rows.pop_back();
  return rows;
}

std::string matrix_text(std::string_view body) {
  const auto rows = matrix_cells(body);
  auto join = [](const std::vector<std::string_view>& cells) {
    std::string out = "(";
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i > 0) out += ',';
      out += cells[i];
    }
    return out + ")";
  };
  const bool column =
      std::all_of(rows.begin(), rows.end(), [](const auto& row) { return row.size() == 1; });
  if (rows.size() == 1) return join(rows[0]);
  if (column) {
    std::vector<std::string_view> cells;
    for (const auto& row : rows) cells.push_back(row[0]);
    return join(cells);
  }
  std::string out = "\\matrix(";
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (r > 0) out += ',';
    out += join(rows[r]);
  }
  return out + ")";
}

// Rewrites every matrix environment; an environment that never ends is left as written.
// Linear in the text: once an environment's end is missing, later ones are not searched for.
std::string rewrite_matrices(std::string_view text) {
  std::string out;
  std::vector<std::string_view> unterminated;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t begin = text.find("\\begin{", i);
    if (begin == std::string_view::npos) break;
    const std::size_t name_start = begin + 7;
    const std::size_t name_end = text.find('}', name_start);
    if (name_end == std::string_view::npos) break;
    const auto name = text.substr(name_start, name_end - name_start);
    const std::string end_marker = "\\end{" + std::string(name) + "}";
    const bool searched =
        one_of(name, kMatrixEnvironments) &&
        std::find(unterminated.begin(), unterminated.end(), name) == unterminated.end();
    const std::size_t end = searched ? text.find(end_marker, name_end) : std::string_view::npos;
    if (searched && end == std::string_view::npos) unterminated.push_back(name);
    if (end == std::string_view::npos) {
      out += text.substr(i, name_end + 1 - i);
      i = name_end + 1;
      continue;
    }
    out += text.substr(i, begin - i);
    out += matrix_text(text.substr(name_end + 1, end - name_end - 1));
    i = end + end_marker.size();
  }
  out += text.substr(std::min(i, text.size()));
  return out;
}

// ---- Approximations: "\frac{7}{12} \approx 0.58", "7/12 (approximately 0.58)" and
// "\approx 0.58" keep the value that is not a remark.

bool is_command_at(std::string_view text, std::size_t i, std::string_view name) {
  return text.substr(i, name.size()) == name &&
         (i + name.size() >= text.size() || !is_letter(text[i + name.size()]));
}

std::string strip_approximation(std::string_view text) {
  int depth = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '(' || c == '[' || c == '{') ++depth;
    if (c == ')' || c == ']' || c == '}') --depth;
    if (depth == 0 && is_command_at(text, i, "\\approx")) {
      const auto before = trim(text.substr(0, i));
      if (!before.empty()) return std::string(before);
      return std::string(trim(text.substr(i + 7)));
    }
  }
  // A parenthesised remark at the end.
  if (!text.empty() && text.back() == ')') {
    int level = 0;
    for (std::size_t i = text.size(); i-- > 0;) {
      if (text[i] == ')') ++level;
      if (text[i] == '(' && --level == 0) {
        const auto remark = trim(text.substr(i + 1, text.size() - i - 2));
        const auto before = trim(text.substr(0, i));
        const bool approximate = starts_with(remark, "approx") || starts_with(remark, "about") ||
                                 starts_with(remark, "roughly") || starts_with(remark, "\\approx");
        if (approximate && !before.empty()) return std::string(before);
        break;
      }
    }
  }
  for (const std::string_view word : {"approximately ", "approx. ", "about "}) {
    if (starts_with(text, word)) return std::string(trim(text.substr(word.size())));
  }
  return std::string(text);
}

// ---- Inequalities: "-1\le x<4" is the interval [-1,4), "x>3" is (3,\infty), and
// "x<-1 or x>2" is (-\infty,-1)\cup(2,\infty). The variable's name is dropped, as in interval
// notation; anything that is not a chain over one variable is left as written.

struct Relation {
  std::size_t at = 0;
  std::size_t length = 0;
  bool less = false;       // < or \le (else > or \ge)
  bool inclusive = false;  // \le or \ge
};

std::vector<Relation> relations_in(std::string_view text) {
  std::vector<Relation> found;
  int depth = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '(' || c == '[' || c == '{') ++depth;
    if (c == ')' || c == ']' || c == '}') --depth;
    if (depth != 0) continue;
    Relation r;
    r.at = i;
    if (c == '<' || c == '>') {
      r.less = c == '<';
      r.inclusive = i + 1 < text.size() && text[i + 1] == '=';
      r.length = r.inclusive ? 2 : 1;
    } else if (is_command_at(text, i, "\\le") || is_command_at(text, i, "\\ge")) {
      r.less = text[i + 1] == 'l';
      r.inclusive = true;
      r.length = 3;
    } else {
      continue;
    }
    found.push_back(r);
    i += r.length - 1;
  }
  return found;
}

bool is_variable_name(std::string_view text) {
  if (text.size() == 1) return is_letter(text[0]);
  if (text.size() >= 2 && text[0] == '\\') {
    return std::all_of(text.begin() + 1, text.end(), is_letter) && text != "\\infty" &&
           text != "\\pi";
  }
  return false;
}

// One chain ("a<x\le b", "x>3", "3<x") as an interval over `variable` (set on first use).
std::optional<std::string> chain_interval(std::string_view text, std::string& variable) {
  const auto relations = relations_in(text);
  if (relations.empty() || relations.size() > 2) return std::nullopt;
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (const auto& r : relations) {
    parts.push_back(trim(text.substr(start, r.at - start)));
    start = r.at + r.length;
  }
  parts.push_back(trim(text.substr(start)));
  if (std::any_of(parts.begin(), parts.end(), [](auto p) { return p.empty(); })) {
    return std::nullopt;
  }
  std::size_t var_index = 0;
  while (var_index < parts.size() && !is_variable_name(parts[var_index])) ++var_index;
  if (var_index == parts.size()) return std::nullopt;
  if (relations.size() == 2 && (var_index != 1 || relations[0].less != relations[1].less)) {
    return std::nullopt;
  }
  if (!variable.empty() && variable != parts[var_index]) return std::nullopt;
  variable = std::string(parts[var_index]);
  std::string lower = "-\\infty", upper = "\\infty";
  bool lower_closed = false, upper_closed = false;
  // A bound left of the variable: "a < x" bounds below when the relation is "less".
  if (var_index > 0) {
    const auto& r = relations[var_index - 1];
    (r.less ? lower : upper) = std::string(parts[var_index - 1]);
    (r.less ? lower_closed : upper_closed) = r.inclusive;
  }
  if (var_index + 1 < parts.size()) {
    const auto& r = relations[var_index];
    (r.less ? upper : lower) = std::string(parts[var_index + 1]);
    (r.less ? upper_closed : lower_closed) = r.inclusive;
  }
  return std::string(lower_closed ? "[" : "(") + lower + "," + upper + (upper_closed ? "]" : ")");
}

// "\\{x|x>0\\}", "\\{x:x>0\\}", "\\{x\\mid x>0\\}": the condition of a set-builder set.
std::string_view set_builder_condition(std::string_view text) {
  if (!starts_with(text, "\\{") || !ends_with(text, "\\}")) return text;
  const auto inner = text.substr(2, text.size() - 4);
  for (const std::string_view bar : {"|", ":", "\\mid"}) {
    const std::size_t at = inner.find(bar);
    if (at == std::string_view::npos || !is_variable_name(trim(inner.substr(0, at)))) continue;
    return trim(inner.substr(at + bar.size()));
  }
  return text;
}

// Chains joined by "or" as a union of intervals; nullopt when any piece is not a chain.
std::optional<std::string> chains_as_intervals(std::string_view text) {
  std::vector<std::string_view> pieces;
  std::size_t start = 0;
  for (std::size_t at = text.find(" or "); at != std::string_view::npos;
       at = text.find(" or ", start)) {
    pieces.push_back(text.substr(start, at - start));
    start = at + 4;
  }
  pieces.push_back(text.substr(start));
  std::string variable;
  std::string out;
  for (const auto piece : pieces) {
    const auto interval = chain_interval(trim(piece), variable);
    if (!interval) return std::nullopt;
    if (!out.empty()) out += "\\cup";
    out += *interval;
  }
  return out;
}

std::string inequality_as_interval(std::string_view text) {
  auto intervals = chains_as_intervals(set_builder_condition(text));
  return intervals ? std::move(*intervals) : std::string(text);
}

}  // namespace

std::string normalize_answer(std::string_view raw) {
  std::string text =
      collapse_whitespace(LatexRewriter(rewrite_matrices(replace_unicode(raw))).run());
  // Decorations can hide each other ("x = 5 cm."), so strip them until nothing changes; each
  // round only shortens the text, and a few rounds reach the fixed point in practice.
  for (int round = 0; round < 4; ++round) {
    std::string stripped = strip_trailing_periods(text);
    stripped = strip_approximation(stripped);
    stripped = strip_assignment(stripped);
    stripped = strip_units(stripped);
    stripped = strip_choice_parentheses(stripped);
    if (stripped == text) break;
    text = std::move(stripped);
  }
  return named_value(
      lowercase_words(remove_thousands_separators(inequality_as_interval(squeeze_spaces(text)))));
}

std::string assigned_value(std::string_view text) { return strip_assignment(text); }

}  // namespace quorum::answers
