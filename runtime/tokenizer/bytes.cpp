#include "runtime/tokenizer/bytes.h"

#include <array>

#include "runtime/tokenizer/utf8.h"

namespace quorum::tokenizer {
namespace {

bool stands_for_itself(int b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct Alphabet {
  std::array<char32_t, 256> to_char{};
  std::array<std::string, 256> to_utf8;
  std::array<short, 324> to_byte{};  // every alphabet character is below U+0144

  Alphabet() {
    to_byte.fill(-1);
    char32_t shifted = 0x100;
    for (int b = 0; b < 256; ++b) {
      const char32_t c = stands_for_itself(b) ? static_cast<char32_t>(b) : shifted++;
      to_char[b] = c;
      to_byte[c] = static_cast<short>(b);
      append_utf8(to_utf8[b], c);
    }
  }
};

const Alphabet& alphabet() {
  static const Alphabet instance;
  return instance;
}

}  // namespace

char32_t byte_to_char(unsigned char b) { return alphabet().to_char[b]; }

int char_to_byte(char32_t c) { return c < alphabet().to_byte.size() ? alphabet().to_byte[c] : -1; }

std::string bytes_to_symbols(std::string_view bytes) {
  const Alphabet& a = alphabet();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char ch : bytes) out += a.to_utf8[static_cast<unsigned char>(ch)];
  return out;
}

std::optional<std::string> symbols_to_bytes(std::string_view symbols) {
  std::string out;
  out.reserve(symbols.size());
  std::size_t pos = 0;
  while (pos < symbols.size()) {
    char32_t c;
    const std::size_t length = decode_utf8(symbols, pos, c);
    if (length == 0) return std::nullopt;
    const int b = char_to_byte(c);
    if (b < 0) return std::nullopt;
    out.push_back(static_cast<char>(b));
    pos += length;
  }
  return out;
}

}  // namespace quorum::tokenizer
