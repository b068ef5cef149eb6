#include "runtime/chat/python_text.h"

#include "runtime/chat/value.h"
#include "runtime/tokenizer/utf8.h"

namespace quorum::chat {

std::u32string to_code_points(const std::string& text) {
  std::u32string out;
  out.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size();) {
    char32_t c = 0;
    const std::size_t n = tokenizer::decode_utf8(text, pos, c);
    if (n == 0) throw RenderError("text is not valid UTF-8");
    out.push_back(c);
    pos += n;
  }
  return out;
}

std::string from_code_points(const std::u32string& code_points) {
  std::string out;
  out.reserve(code_points.size());
  for (char32_t c : code_points) tokenizer::append_utf8(out, c);
  return out;
}

bool python_isspace(char32_t c) {
  // Bidirectional class WS, B or S, or general category Zs (what CPython's isspace tests).
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
         c == 0x3000;
}

std::string python_strip(const std::string& text, const std::optional<std::string>& chars, bool left, bool right) {
  const std::u32string s = to_code_points(text);
  const std::u32string set = chars ? to_code_points(*chars) : std::u32string();
  auto strip_this = [&](char32_t c) { return chars ? set.find(c) != std::u32string::npos : python_isspace(c); };
  std::size_t begin = 0, end = s.size();
  if (left)
    while (begin < end && strip_this(s[begin])) ++begin;
  if (right)
    while (end > begin && strip_this(s[end - 1])) --end;
  return from_code_points(s.substr(begin, end - begin));
}

std::vector<std::string> python_split(const std::string& text, const std::optional<std::string>& sep,
                                      std::int64_t maxsplit) {
  std::vector<std::string> parts;
  if (sep) {
    if (sep->empty()) throw RenderError("split: empty separator");
    std::size_t start = 0;
    while (maxsplit < 0 || static_cast<std::int64_t>(parts.size()) < maxsplit) {
      const std::size_t at = text.find(*sep, start);
      if (at == std::string::npos) break;
      parts.push_back(text.substr(start, at - start));
      if (parts.size() > kMaxSequenceItems) throw RenderError("split: more than " + std::to_string(kMaxSequenceItems) + " parts");
      start = at + sep->size();
    }
    parts.push_back(text.substr(start));
    return parts;
  }
  const std::u32string s = to_code_points(text);
  std::size_t i = 0;
  while (true) {
    while (i < s.size() && python_isspace(s[i])) ++i;
    if (i == s.size()) break;
    if (maxsplit >= 0 && static_cast<std::int64_t>(parts.size()) == maxsplit) {
      parts.push_back(from_code_points(s.substr(i)));  // Python keeps the rest as it is
      break;
    }
    std::size_t j = i;
    while (j < s.size() && !python_isspace(s[j])) ++j;
    parts.push_back(from_code_points(s.substr(i, j - i)));
    if (parts.size() > kMaxSequenceItems) throw RenderError("split: more than " + std::to_string(kMaxSequenceItems) + " parts");
    i = j;
  }
  return parts;
}

std::string python_replace(const std::string& text, const std::string& old, const std::string& replacement,
                           std::int64_t count) {
  std::string out;
  if (old.empty()) {
    // Python inserts the replacement before every code point and at the end.
    const std::u32string s = to_code_points(text);
    std::int64_t done = 0;
    for (char32_t c : s) {
      if (count < 0 || done < count) out += replacement, ++done;
      tokenizer::append_utf8(out, c);
      check_string_size(out.size(), "replace");
    }
    if (count < 0 || done < count) out += replacement;
    return out;
  }
  std::size_t start = 0;
  std::int64_t done = 0;
  while (count < 0 || done < count) {
    const std::size_t at = text.find(old, start);
    if (at == std::string::npos) break;
    out.append(text, start, at - start);
    out += replacement;
    check_string_size(out.size(), "replace");
    start = at + old.size();
    ++done;
  }
  out.append(text, start, std::string::npos);
  return out;
}

namespace {

void require_ascii(const std::string& text, const char* method) {
  for (unsigned char c : text)
    if (c >= 0x80) throw RenderError(std::string("str.") + method + " of non-ASCII text is not supported");
}
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
char to_upper(char c) { return is_lower(c) ? static_cast<char>(c - 'a' + 'A') : c; }
char to_lower(char c) { return is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

std::string python_upper(const std::string& text) {
  require_ascii(text, "upper");
  std::string out = text;
  for (char& c : out) c = to_upper(c);
  return out;
}

std::string python_lower(const std::string& text) {
  require_ascii(text, "lower");
  std::string out = text;
  for (char& c : out) c = to_lower(c);
  return out;
}

std::string python_capitalize(const std::string& text) {
  require_ascii(text, "capitalize");
  std::string out = python_lower(text);
  if (!out.empty()) out[0] = to_upper(out[0]);
  return out;
}

std::string python_title(const std::string& text) {
  require_ascii(text, "title");
  std::string out = text;
  bool previous_cased = false;
  for (char& c : out) {
    const bool cased = is_lower(c) || is_upper(c);
    if (cased) c = previous_cased ? to_lower(c) : to_upper(c);
    previous_cased = cased;
  }
  return out;
}

std::vector<std::int64_t> slice_indices(std::int64_t n, std::optional<std::int64_t> start,
                                        std::optional<std::int64_t> stop, std::optional<std::int64_t> step) {
  const std::int64_t s = step.value_or(1);
  if (s == 0) throw RenderError("slice step cannot be zero");
  auto clamp = [&](std::optional<std::int64_t> bound, std::int64_t absent) {
    if (!bound) return absent;
    std::int64_t b = *bound;
    if (b < 0) b += n;
    if (s > 0) return b < 0 ? std::int64_t{0} : (b > n ? n : b);
    return b < 0 ? std::int64_t{-1} : (b >= n ? n - 1 : b);
  };
  const std::int64_t from = clamp(start, s > 0 ? 0 : n - 1);
  const std::int64_t to = clamp(stop, s > 0 ? n : -1);
  std::vector<std::int64_t> indices;
  if (s > 0)
    for (std::int64_t i = from; i < to; i += s) indices.push_back(i);
  else
    for (std::int64_t i = from; i > to; i += s) indices.push_back(i);
  return indices;
}

std::string python_slice(const std::string& text, std::optional<std::int64_t> start,
                         std::optional<std::int64_t> stop, std::optional<std::int64_t> step) {
  const std::u32string s = to_code_points(text);
  std::u32string out;
  for (std::int64_t i : slice_indices(static_cast<std::int64_t>(s.size()), start, stop, step)) out.push_back(s[i]);
  return from_code_points(out);
}

}  // namespace quorum::chat
