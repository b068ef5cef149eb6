// Unicode character data for NFC normalization (generated into unicode_tables.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace quorum::tokenizer::unicode {

struct CombiningClass {
  char32_t code_point;
  std::uint8_t combining_class;  // non-zero
};
struct Decomposition {
  char32_t code_point;
  std::uint16_t offset;  // into kDecompositionData
  std::uint8_t length;   // the full canonical decomposition, already reordered
};
struct CodePointRange {
  char32_t first;
  char32_t last;  // inclusive
};
struct Composition {
  char32_t first;
  char32_t second;
  char32_t composite;
};

extern const char* const kUnicodeVersion;
extern const CombiningClass kCombiningClasses[];  // sorted by code point
extern const std::size_t kCombiningClassCount;
extern const char32_t kDecompositionData[];
extern const Decomposition kDecompositions[];  // sorted by code point
extern const std::size_t kDecompositionCount;
extern const Composition kCompositions[];  // sorted by (first, second)
extern const std::size_t kCompositionCount;
extern const CodePointRange kNfcUnstable[];  // NFC_Quick_Check=No, sorted
extern const std::size_t kNfcUnstableCount;

}  // namespace quorum::tokenizer::unicode
