// Unicode NFC normalization (canonical decomposition, canonical ordering, canonical
// composition), for tokenizers whose tokenizer.json asks for it (Qwen2 does). Text that is
// already NFC, which is almost all text, is recognised by one scan and returned unchanged.
#pragma once

#include <string>
#include <string_view>

namespace quorum::tokenizer {

// True when nfc(text) == text is certain from a per-character check (no decomposable
// character, no combining mark, nothing that composes with the character before it).
bool is_nfc_quick(std::string_view text);

// The NFC form of text. Bytes that are not valid UTF-8 are passed through unchanged and break
// composition across them.
std::string nfc(std::string_view text);

}  // namespace quorum::tokenizer
