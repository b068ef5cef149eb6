#include "runtime/tokenizer/normalize.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "runtime/tokenizer/unicode_tables.h"
#include "runtime/tokenizer/utf8.h"

namespace quorum::tokenizer {
namespace {

namespace u = unicode;

constexpr char32_t kHangulBase = 0xAC00, kHangulLast = 0xD7A3;
constexpr char32_t kJamoL = 0x1100, kJamoV = 0x1161, kJamoT = 0x11A7;
constexpr int kCountV = 21, kCountT = 28, kCountN = kCountV * kCountT, kCountL = 19;

// Per code point: kMaybe when NFC may change the character or join it to the one before
// (NFC_Quick_Check No or Maybe), kMark when its combining class is not 0.
constexpr std::uint8_t kMaybe = 1, kMark = 2;

struct Tables {
  std::vector<std::uint8_t> flags;
  Tables() : flags(0x110000, 0) {
    for (std::size_t i = 0; i < u::kCombiningClassCount; ++i)
      flags[u::kCombiningClasses[i].code_point] |= kMark;
    for (std::size_t i = 0; i < u::kNfcUnstableCount; ++i)
      for (char32_t c = u::kNfcUnstable[i].first; c <= u::kNfcUnstable[i].last; ++c)
        flags[c] |= kMaybe;
    for (std::size_t i = 0; i < u::kCompositionCount; ++i)
      flags[u::kCompositions[i].second] |= kMaybe;
    for (char32_t c = kJamoV; c < kJamoV + kCountV; ++c) flags[c] |= kMaybe;
    for (char32_t c = kJamoT + 1; c < kJamoT + kCountT; ++c) flags[c] |= kMaybe;
  }
};

const Tables& tables() {
  static const Tables instance;
  return instance;
}

int combining_class(char32_t c) {
  if (c < 0x300) return 0;
  const auto* begin = u::kCombiningClasses;
  const auto* end = begin + u::kCombiningClassCount;
  const auto* it = std::lower_bound(begin, end, c, [](const u::CombiningClass& e, char32_t v) {
    return e.code_point < v;
  });
  return it != end && it->code_point == c ? it->combining_class : 0;
}

void decompose(char32_t c, std::vector<char32_t>& out) {
  if (c >= kHangulBase && c <= kHangulLast) {
    const int s = static_cast<int>(c - kHangulBase);
    out.push_back(kJamoL + s / kCountN);
    out.push_back(kJamoV + (s % kCountN) / kCountT);
    if (s % kCountT) out.push_back(kJamoT + s % kCountT);
    return;
  }
  const auto* begin = u::kDecompositions;
  const auto* end = begin + u::kDecompositionCount;
  const auto* it = std::lower_bound(begin, end, c, [](const u::Decomposition& e, char32_t v) {
    return e.code_point < v;
  });
  if (it != end && it->code_point == c)
    out.insert(out.end(), u::kDecompositionData + it->offset,
               u::kDecompositionData + it->offset + it->length);
  else
    out.push_back(c);
}

// The primary composite of (first, second), or 0.
char32_t compose(char32_t first, char32_t second) {
  if (first >= kJamoL && first < kJamoL + kCountL && second >= kJamoV && second < kJamoV + kCountV)
    return kHangulBase + ((first - kJamoL) * kCountV + (second - kJamoV)) * kCountT;
  if (first >= kHangulBase && first <= kHangulLast && (first - kHangulBase) % kCountT == 0 &&
      second > kJamoT && second < kJamoT + kCountT)
    return first + (second - kJamoT);
  const auto* begin = u::kCompositions;
  const auto* end = begin + u::kCompositionCount;
  const auto* it = std::lower_bound(begin, end, std::make_pair(first, second),
                                    [](const u::Composition& e, std::pair<char32_t, char32_t> v) {
                                      return e.first != v.first ? e.first < v.first
                                                                : e.second < v.second;
                                    });
  return it != end && it->first == first && it->second == second ? it->composite : 0;
}

// NFC of a valid UTF-8 run, appended to out.
void normalize_run(std::string_view run, std::string& out) {
  std::vector<char32_t> chars;
  chars.reserve(run.size());
  for (std::size_t pos = 0; pos < run.size();) {
    char32_t c;
    pos += decode_utf8(run, pos, c);
    decompose(c, chars);
  }
  std::vector<int> classes(chars.size());
  for (std::size_t i = 0; i < chars.size(); ++i) classes[i] = combining_class(chars[i]);
  // Canonical ordering: each run of non-starters stably sorted by combining class.
  for (std::size_t i = 0; i < chars.size();) {
    if (classes[i] == 0) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < chars.size() && classes[j] != 0) ++j;
    if (j - i > 1) {
      std::vector<std::pair<int, char32_t>> marks;
      for (std::size_t k = i; k < j; ++k) marks.emplace_back(classes[k], chars[k]);
      std::stable_sort(marks.begin(), marks.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      for (std::size_t k = i; k < j; ++k) {
        classes[k] = marks[k - i].first;
        chars[k] = marks[k - i].second;
      }
    }
    i = j;
  }
  // Canonical composition: a character joins the last starter unless something between them
  // blocks it (a starter, or a mark of the same or higher class).
  std::vector<char32_t> composed;
  composed.reserve(chars.size());
  long starter = -1;
  int last_class = -1;  // class of the last character kept after the starter; -1: none
  for (std::size_t i = 0; i < chars.size(); ++i) {
    const int cls = classes[i];
    if (starter >= 0) {
      const bool blocked = last_class != -1 && (last_class == 0 || last_class >= cls);
      if (!blocked) {
        const char32_t composite = compose(composed[starter], chars[i]);
        if (composite) {
          composed[starter] = composite;
          continue;
        }
      }
    }
    if (cls == 0) {
      starter = static_cast<long>(composed.size());
      last_class = -1;
    } else {
      last_class = cls;
    }
    composed.push_back(chars[i]);
  }
  for (const char32_t c : composed) append_utf8(out, c);
}

}  // namespace

bool is_nfc_quick(std::string_view text) {
  const Tables& t = tables();
  int last_class = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    const unsigned char b = static_cast<unsigned char>(text[pos]);
    if (b < 0x80) {
      last_class = 0;
      ++pos;
      continue;
    }
    char32_t c;
    const std::size_t length = decode_utf8(text, pos, c);
    if (length == 0) {  // invalid bytes are left alone by nfc() and block reordering
      last_class = 0;
      ++pos;
      continue;
    }
    pos += length;
    const std::uint8_t flags = t.flags[c];
    if (flags & kMaybe) return false;
    const int cls = flags & kMark ? combining_class(c) : 0;
    if (cls != 0 && last_class > cls) return false;  // marks out of canonical order
    last_class = cls;
  }
  return true;
}

std::string nfc(std::string_view text) {
  if (is_nfc_quick(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 8);
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t valid = valid_utf8_prefix(text, pos);
    if (valid) normalize_run(text.substr(pos, valid), out);
    pos += valid;
    while (pos < text.size()) {
      char32_t c;
      if (decode_utf8(text, pos, c)) break;
      out.push_back(text[pos++]);
    }
  }
  return out;
}

}  // namespace quorum::tokenizer
