// Small UTF-8 helpers shared by the tokenizer: encoding a code point, decoding one character
// with validation, measuring the valid prefix of a byte string, and a lossy conversion that
// replaces every invalid sequence with U+FFFD (as decoders do when a token boundary splits a
// character).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace quorum::tokenizer {

// Appends the UTF-8 form of a code point (which must be <= 0x10FFFF and not a surrogate).
void append_utf8(std::string& out, char32_t code_point);

// Decodes the character starting at text[pos]. On success returns its length (1..4) and sets
// code_point; returns 0 if the bytes there are not a valid, shortest-form UTF-8 character.
std::size_t decode_utf8(std::string_view text, std::size_t pos, char32_t& code_point);

// Length of the longest prefix of text[pos..] that is valid UTF-8.
std::size_t valid_utf8_prefix(std::string_view text, std::size_t pos = 0);

bool is_valid_utf8(std::string_view text);

// text with every maximal invalid subsequence replaced by U+FFFD.
std::string to_valid_utf8(std::string_view text);

}  // namespace quorum::tokenizer

namespace quorum::tokenizer {

// The Unicode White_Space property (what Rust's char::is_whitespace tests).
bool is_unicode_whitespace(char32_t code_point);

}  // namespace quorum::tokenizer
