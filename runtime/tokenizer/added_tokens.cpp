#include "runtime/tokenizer/added_tokens.h"

#include <algorithm>

#include "runtime/tokenizer/pretokenize.h"
#include "runtime/tokenizer/utf8.h"

namespace quorum::tokenizer {
namespace {

// The character that ends text[..pos) (pos > 0); U+FFFD stands for an invalid byte.
char32_t char_before(std::string_view text, std::size_t pos) {
  std::size_t start = pos - 1;
  while (start > 0 && pos - start < 4 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80)
    --start;
  char32_t c;
  if (decode_utf8(text, start, c) == pos - start) return c;
  return 0xFFFD;
}

char32_t char_at(std::string_view text, std::size_t pos, std::size_t& length) {
  char32_t c;
  length = decode_utf8(text, pos, c);
  if (length == 0) {
    length = 1;
    return 0xFFFD;
  }
  return c;
}

// A word character as in Unicode regex \w: letters, letter-like and decimal numbers, marks,
// connector punctuation ('_') and the zero-width joiners.
bool is_word_char(char32_t c) {
  if (c < 0x80)
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  static const Regex word(R"([\p{L}\p{Nl}\p{Nd}\p{M}\p{Pc}\x{200C}\x{200D}])");
  std::string text;
  append_utf8(text, c);
  bool found = false;
  word.for_each_match(text, [&](std::size_t, std::size_t) { found = true; });
  return found;
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(const std::vector<AddedToken>& tokens)
    : by_first_byte_(256) {
  for (const auto& token : tokens)
    if (!token.content.empty()) tokens_.push_back(token);
  for (std::size_t i = 0; i < tokens_.size(); ++i)
    by_first_byte_[static_cast<unsigned char>(tokens_[i].content[0])].push_back(i);
  for (auto& list : by_first_byte_)
    std::stable_sort(list.begin(), list.end(), [&](std::size_t a, std::size_t b) {
      return tokens_[a].content.size() > tokens_[b].content.size();
    });
}

void AddedTokenMatcher::split(std::string_view text, std::vector<Segment>& out) const {
  out.clear();
  std::size_t plain_start = 0;
  std::size_t pos = 0;
  const auto emit_plain = [&](std::size_t end) {
    if (end > plain_start) out.push_back(Segment{plain_start, end, -1});
  };
  while (pos < text.size()) {
    const AddedToken* found = nullptr;
    if (!tokens_.empty()) {
      for (const std::size_t index : by_first_byte_[static_cast<unsigned char>(text[pos])]) {
        const AddedToken& token = tokens_[index];
        if (text.compare(pos, token.content.size(), token.content) != 0) continue;
        if (token.single_word) {
          const std::size_t end = pos + token.content.size();
          std::size_t length;
          if (pos > 0 && is_word_char(char_before(text, pos))) continue;
          if (end < text.size() && is_word_char(char_at(text, end, length))) continue;
        }
        found = &token;
        break;
      }
    }
    if (!found) {
      ++pos;
      continue;
    }
    std::size_t begin = pos;
    std::size_t end = pos + found->content.size();
    if (found->lstrip)
      while (begin > plain_start && is_unicode_whitespace(char_before(text, begin))) {
        std::size_t step = 1;
        while (begin - step > plain_start && (static_cast<unsigned char>(text[begin - step]) & 0xC0) == 0x80)
          ++step;
        begin -= step;
      }
    if (found->rstrip) {
      std::size_t length;
      while (end < text.size() && is_unicode_whitespace(char_at(text, end, length))) end += length;
    }
    emit_plain(begin);
    out.push_back(Segment{begin, end, found->id});
    plain_start = pos = end;
  }
  emit_plain(text.size());
}

}  // namespace quorum::tokenizer
