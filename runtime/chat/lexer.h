// Splits a chat template into text and tags the way jinja2's lexer does with transformers'
// settings (trim_blocks, lstrip_blocks, keep_trailing_newline off), applying whitespace
// control ({%- -%} {{- -}} {#- -#}, and + to opt out), and tokenizes what is inside the tags.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace quorum::chat {

struct Token {
  enum class Type { Name, String, Integer, Float, Operator, End };
  Type type = Type::End;
  std::string text;  // name, decoded string literal, or operator
  std::int64_t integer = 0;
  double number = 0;
  std::size_t line = 0;
};

struct Segment {
  enum class Kind { Text, Expression, Statement };  // data, {{ ... }}, {% ... %}
  Kind kind = Kind::Text;
  std::string text;           // Text: the data after whitespace control
  std::vector<Token> tokens;  // Expression/Statement: the tag's tokens, ending with an End token
  std::size_t line = 0;
};

// InputError(name, line, "chat_template", ...) for an unterminated tag, string or comment, or
// a character jinja2 would not accept.
std::vector<Segment> lex_template(const std::string& source, const std::string& name);

}  // namespace quorum::chat
