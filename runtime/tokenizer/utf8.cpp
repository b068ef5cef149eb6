#include "runtime/tokenizer/utf8.h"

namespace quorum::tokenizer {

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::size_t decode_utf8(std::string_view text, std::size_t pos, char32_t& cp) {
  const std::size_t n = text.size();
  if (pos >= n) return 0;
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char b0 = byte(pos);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  std::size_t length;
  char32_t value;
  char32_t minimum;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2, value = b0 & 0x1F, minimum = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3, value = b0 & 0x0F, minimum = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4, value = b0 & 0x07, minimum = 0x10000;
  } else {
    return 0;
  }
  if (pos + length > n) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    const unsigned char b = byte(pos + i);
    if ((b & 0xC0) != 0x80) return 0;
    value = (value << 6) | (b & 0x3F);
  }
  if (value < minimum || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return 0;
  cp = value;
  return length;
}

std::size_t valid_utf8_prefix(std::string_view text, std::size_t pos) {
  const std::size_t start = pos;
  const std::size_t n = text.size();
  while (pos < n) {
    // ASCII runs are the common case: skip them eight bytes at a time.
    while (pos + 8 <= n) {
      std::uint64_t word = 0;
      for (int i = 0; i < 8; ++i)
        word |= static_cast<std::uint64_t>(static_cast<unsigned char>(text[pos + i])) << (8 * i);
      if (word & 0x8080808080808080ULL) break;
      pos += 8;
    }
    if (pos >= n) break;
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    char32_t cp;
    const std::size_t length = decode_utf8(text, pos, cp);
    if (length == 0) break;
    pos += length;
  }
  return pos - start;
}

bool is_valid_utf8(std::string_view text) { return valid_utf8_prefix(text) == text.size(); }

std::string to_valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t valid = valid_utf8_prefix(text, pos);
    out.append(text.substr(pos, valid));
    pos += valid;
    if (pos >= text.size()) break;
    // One replacement character per maximal invalid subsequence: a lead byte followed by the
    // continuation bytes that could still have completed it counts as one.
    const unsigned char b0 = static_cast<unsigned char>(text[pos]);
    std::size_t skip = 1;
    std::size_t expected = b0 >= 0xF0 && b0 <= 0xF4 ? 4 : b0 >= 0xE0 && b0 <= 0xEF ? 3
                           : b0 >= 0xC2 && b0 <= 0xDF                          ? 2
                                                                               : 1;
    while (skip < expected && pos + skip < text.size() &&
           (static_cast<unsigned char>(text[pos + skip]) & 0xC0) == 0x80) {
      // Reject second bytes that can never lead to a valid character (overlongs, surrogates,
      // beyond U+10FFFF), so they start their own replacement instead.
      if (skip == 1) {
        const unsigned char b1 = static_cast<unsigned char>(text[pos + 1]);
        if ((b0 == 0xE0 && b1 < 0xA0) || (b0 == 0xED && b1 > 0x9F) ||
            (b0 == 0xF0 && b1 < 0x90) || (b0 == 0xF4 && b1 > 0x8F))
          break;
      }
      ++skip;
    }
    out.append("\xEF\xBF\xBD");
    pos += skip;
  }
  return out;
}

}  // namespace quorum::tokenizer

namespace quorum::tokenizer {

bool is_unicode_whitespace(char32_t c) {
  if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0D);
  switch (c) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F:
    case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

}  // namespace quorum::tokenizer
