// The GPT-2 byte-level alphabet: every byte 0..255 is shown as one printable Unicode character,
// so that a byte-level BPE vocabulary can be written as JSON strings. Printable Latin-1 bytes
// ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves; the other 68 bytes (controls, space,
// DEL, NBSP, soft hyphen) are shifted to U+0100.. in byte order, so space is 'Ġ' (U+0120)
// and newline is 'Ċ' (U+010A).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace quorum::tokenizer {

// The character that stands for byte b.
char32_t byte_to_char(unsigned char b);
// The byte that character c stands for, or -1 if c is not in the alphabet.
int char_to_byte(char32_t c);

// Raw bytes -> their byte-level form (UTF-8 of the alphabet characters).
std::string bytes_to_symbols(std::string_view bytes);
// Byte-level form -> raw bytes; nullopt if the text is not valid UTF-8 or holds a character
// outside the alphabet.
std::optional<std::string> symbols_to_bytes(std::string_view symbols);

}  // namespace quorum::tokenizer
