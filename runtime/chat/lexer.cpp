#include "runtime/chat/lexer.h"

#include <cerrno>
#include <cstdlib>

#include "runtime/chat/python_text.h"
#include "runtime/chat/value.h"
#include "runtime/common/error.h"
#include "runtime/tokenizer/utf8.h"

namespace quorum::chat {
namespace {

const char* const kField = "chat_template";

// jinja2 reads templates with universal newlines and drops one trailing newline.
std::string normalize_source(const std::string& source) {
  std::string out;
  out.reserve(source.size());
  for (std::size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Python whitespace at text[pos] (ASCII or Unicode): its byte length, 0 if none.
std::size_t whitespace_at(const std::string& text, std::size_t pos) {
  char32_t c = 0;
  const std::size_t n = tokenizer::decode_utf8(text, pos, c);
  return n > 0 && python_isspace(c) ? n : 0;
}

class Lexer {
 public:
  Lexer(const std::string& source, const std::string& name) : source_(normalize_source(source)), name_(name) {}

  std::vector<Segment> run() {
    while (pos_ < source_.size()) {
      const std::size_t start = find_tag_start(pos_);
      std::string text = source_.substr(pos_, start - pos_);
      if (start == source_.size()) {
        emit_text(std::move(text));
        pos_ = start;
        break;
      }
      const char kind = source_[start + 1];  // '{', '%' or '#'
      std::size_t body = start + 2;
      const char modifier = body < source_.size() && (source_[body] == '-' || source_[body] == '+') ? source_[body] : 0;
      if (modifier) ++body;
      if (modifier == '-') {
        text = python_strip(text, std::nullopt, false, true);
      } else if (modifier != '+' && kind != '{') {
        // lstrip_blocks: a block or comment tag alone after the line's indentation takes it.
        const std::size_t line_begin = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
        if ((line_begin > 0 || line_starting_) && line_begin < text.size() && all_whitespace(text, line_begin))
          text.erase(line_begin);
      }
      count_lines(pos_, start);
      pos_ = start;
      emit_text(std::move(text));
      const std::size_t tag_line = line_;
      if (kind == '#')
        lex_comment(body, tag_line);
      else
        lex_tag(kind == '{' ? Segment::Kind::Expression : Segment::Kind::Statement, body, tag_line);
    }
    return std::move(segments_);
  }

 private:
  [[noreturn]] void fail(std::size_t line, const std::string& message) const {
    throw InputError(name_, line, kField, message);
  }

  std::size_t find_tag_start(std::size_t from) const {
    for (std::size_t i = from; i + 1 < source_.size(); ++i)
      if (source_[i] == '{' && (source_[i + 1] == '{' || source_[i + 1] == '%' || source_[i + 1] == '#')) return i;
    return source_.size();
  }

  bool all_whitespace(const std::string& text, std::size_t from) const {
    for (std::size_t i = from; i < text.size();) {
      const std::size_t n = whitespace_at(text, i);
      if (n == 0) return false;
      i += n;
    }
    return true;
  }

  void count_lines(std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i)
      if (source_[i] == '\n') ++line_;
  }

  void emit_text(std::string text) {
    if (text.empty()) return;
    Segment segment;
    segment.kind = Segment::Kind::Text;
    segment.text = std::move(text);
    segment.line = line_;
    segments_.push_back(std::move(segment));
  }

  // After a tag: "-" takes all following whitespace; a block or comment end (trim_blocks)
  // takes one newline.
  void after_tag_end(std::size_t end, char modifier, bool is_block) {
    count_lines(pos_, end);
    pos_ = end;
    line_starting_ = false;
    if (modifier == '-') {
      std::size_t i = pos_;
      while (i < source_.size()) {
        const std::size_t n = whitespace_at(source_, i);
        if (n == 0) break;
        i += n;
      }
      line_starting_ = i > pos_ && source_[i - 1] == '\n';
      count_lines(pos_, i);
      pos_ = i;
    } else if (modifier != '+' && is_block && pos_ < source_.size() && source_[pos_] == '\n') {
      ++line_;
      ++pos_;
      line_starting_ = true;
    }
  }

  void lex_comment(std::size_t body, std::size_t tag_line) {
    const std::size_t close = source_.find("#}", body);
    if (close == std::string::npos) fail(tag_line, "unterminated comment");
    const char modifier = close > body && (source_[close - 1] == '-' || source_[close - 1] == '+') ? source_[close - 1] : 0;
    after_tag_end(close + 2, modifier, true);
  }

  void lex_tag(Segment::Kind kind, std::size_t body, std::size_t tag_line) {
    Segment segment;
    segment.kind = kind;
    segment.line = tag_line;
    const char close = kind == Segment::Kind::Expression ? '}' : '%';
    count_lines(pos_, body);
    pos_ = body;
    std::vector<char> brackets;
    while (true) {
      if (pos_ >= source_.size()) fail(tag_line, kind == Segment::Kind::Expression ? "unterminated '{{'" : "unterminated '{%'");
      const char c = source_[pos_];
      if (is_ascii_space(c)) {
        if (c == '\n') ++line_;
        ++pos_;
        continue;
      }
      if (brackets.empty()) {
        // The end of the tag, optionally with a whitespace-control sign (jinja2 checks this
        // before operators, so "-%}" always ends the tag).
        char modifier = 0;
        std::size_t at = pos_;
        if ((c == '-' || (c == '+' && close == '%')) && at + 1 < source_.size()) modifier = c, ++at;
        if (at + 1 < source_.size() && source_[at] == close && source_[at + 1] == '}') {
          Token end;
          end.type = Token::Type::End;
          end.line = line_;
          segment.tokens.push_back(end);
          segments_.push_back(std::move(segment));
          after_tag_end(at + 2, modifier, kind == Segment::Kind::Statement);
          return;
        }
      }
      Token token;
      token.line = line_;
      if (c == '\'' || c == '"') {
        token.type = Token::Type::String;
        token.text = lex_string(c);
      } else if (is_digit(c)) {
        lex_number(token);
      } else if (is_name_start(c)) {
        token.type = Token::Type::Name;
        const std::size_t start = pos_;
        while (pos_ < source_.size() && is_name_char(source_[pos_])) ++pos_;
        token.text = source_.substr(start, pos_ - start);
      } else {
        token.type = Token::Type::Operator;
        static const char* const two_char[] = {"//", "**", "==", "!=", "<=", ">="};
        for (const char* op : two_char)
          if (source_.compare(pos_, 2, op) == 0) token.text = op;
        if (token.text.empty()) {
          if (std::string("+-/*%~[](){}<>=.:|,;").find(c) == std::string::npos)
            fail(line_, std::string("unexpected character '") + c + "'");
          token.text = std::string(1, c);
        }
        pos_ += token.text.size();
        if (c == '(' || c == '[' || c == '{') brackets.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
        if (c == ')' || c == ']' || c == '}') {
          if (brackets.empty() || brackets.back() != c) fail(line_, std::string("unexpected '") + c + "'");
          brackets.pop_back();
        }
      }
      segment.tokens.push_back(std::move(token));
    }
  }

  void lex_number(Token& token) {
    const std::size_t start = pos_;
    auto digits = [&] {
      while (pos_ < source_.size() && (is_digit(source_[pos_]) || (source_[pos_] == '_' && pos_ + 1 < source_.size() && is_digit(source_[pos_ + 1]))))
        ++pos_;
    };
    digits();
    bool is_float = false;
    if (pos_ + 1 < source_.size() && source_[pos_] == '.' && is_digit(source_[pos_ + 1])) {
      is_float = true;
      ++pos_;
      digits();
    }
    if (pos_ < source_.size() && (source_[pos_] == 'e' || source_[pos_] == 'E')) {
      std::size_t at = pos_ + 1;
      if (at < source_.size() && (source_[at] == '+' || source_[at] == '-')) ++at;
      if (at < source_.size() && is_digit(source_[at])) {
        is_float = true;
        pos_ = at;
        digits();
      }
    }
    std::string text;
    for (std::size_t i = start; i < pos_; ++i)
      if (source_[i] != '_') text += source_[i];
    if (is_float) {
      token.type = Token::Type::Float;
      token.number = std::strtod(text.c_str(), nullptr);
    } else {
      token.type = Token::Type::Integer;
      errno = 0;
      token.integer = std::strtoll(text.c_str(), nullptr, 10);
      if (errno == ERANGE) fail(line_, "integer literal out of range: " + text);
    }
  }

  // A string literal, decoded as Python's unicode-escape codec decodes it (jinja2 does).
  std::string lex_string(char quote) {
    const std::size_t start_line = line_;
    ++pos_;
    std::string out;
    while (true) {
      if (pos_ >= source_.size()) fail(start_line, "unterminated string");
      const char c = source_[pos_];
      if (c == quote) {
        ++pos_;
        return out;
      }
      if (c == '\n') ++line_;
      if (c != '\\') {
        out += c;
        ++pos_;
        continue;
      }
      if (pos_ + 1 >= source_.size()) fail(start_line, "unterminated string");
      const char e = source_[pos_ + 1];
      pos_ += 2;
      switch (e) {
        case '\n': ++line_; break;  // line continuation
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'v': out += '\v'; break;
        case 'x':
        case 'u':
        case 'U': {
          const std::size_t width = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          char32_t code_point = 0;
          for (std::size_t i = 0; i < width; ++i) {
            const int h = pos_ + i < source_.size() ? hex_value(source_[pos_ + i]) : -1;
            if (h < 0) fail(line_, std::string("truncated \\") + e + " escape in string");
            code_point = code_point * 16 + static_cast<char32_t>(h);
          }
          pos_ += width;
          if (code_point > 0x10ffff || (code_point >= 0xd800 && code_point <= 0xdfff))
            fail(line_, "string escape is not a valid code point");
          tokenizer::append_utf8(out, code_point);
          break;
        }
        case 'N': fail(line_, "unsupported string escape '\\N{...}'");
        default:
          if (e >= '0' && e <= '7') {
            char32_t code_point = static_cast<char32_t>(e - '0');
            for (int i = 0; i < 2 && pos_ < source_.size() && source_[pos_] >= '0' && source_[pos_] <= '7'; ++i, ++pos_)
              code_point = code_point * 8 + static_cast<char32_t>(source_[pos_] - '0');
            tokenizer::append_utf8(out, code_point);
          } else if (static_cast<unsigned char>(e) >= 0x80) {
            fail(line_, "a backslash before a non-ASCII character in a string literal is not supported");
          } else {
            out += '\\';  // Python keeps an unknown escape as written
            out += e;
          }
      }
    }
  }

  std::string source_;
  const std::string& name_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
  bool line_starting_ = true;
  std::vector<Segment> segments_;
};

}  // namespace

std::vector<Segment> lex_template(const std::string& source, const std::string& name) {
  // jinja2 is handed a Python str, always valid Unicode; the text between tags is stripped and
  // measured by code point, so bytes that are not UTF-8 are refused here, with their line
  // (they once escaped the parser as a RenderError: fuzz_chat_template).
  std::size_t line = 1;
  for (std::size_t pos = 0; pos < source.size();) {
    char32_t c = 0;
    const std::size_t n = tokenizer::decode_utf8(source, pos, c);
    if (n == 0) {
      static const char* digits = "0123456789abcdef";
      const auto byte = static_cast<unsigned char>(source[pos]);
      throw InputError(name, line, kField,
                       std::string("the template is not valid UTF-8 (byte 0x") + digits[byte >> 4] + digits[byte & 15] + ")");
    }
    if (source[pos] == '\n') ++line;
    pos += n;
  }
  return Lexer(source, name).run();
}

}  // namespace quorum::chat
