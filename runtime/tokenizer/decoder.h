// The decoder chain of tokenizer.json: how token strings become text. Byte-level models use
// ByteLevel alone; SentencePiece-style models (Llama-2, Mistral) chain Replace("▁" -> " "),
// ByteFallback ("<0x0A>" -> a byte), Fuse and Strip (the leading space), or use Metaspace.
// Each step maps the list of token strings to a new list, as Hugging Face's decode_chain does;
// the result is the concatenation of the last list.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/tokenizer/pretokenize.h"

namespace quorum::tokenizer {

struct DecoderStep {
  enum class Kind { byte_level, replace, byte_fallback, fuse, strip, metaspace };
  Kind kind = Kind::byte_level;
  // replace: every match of pattern (a literal, or a regex) in each token becomes content.
  std::string pattern;
  bool pattern_is_regex = false;
  std::string content;
  std::shared_ptr<const Regex> regex;
  // strip: up to start leading and stop trailing copies of the character strip_char (UTF-8)
  // are cut from each token.
  std::string strip_char;
  std::size_t start = 0;
  std::size_t stop = 0;
  // metaspace: replacement becomes a space; in the first token it is dropped unless the
  // prepend scheme is "never".
  std::string replacement;
  bool prepend_never = false;
};

// Runs the chain. exact = false gives Hugging Face's text: byte tokens that do not form UTF-8
// become one U+FFFD each (ByteFallback), invalid byte runs one U+FFFD each (ByteLevel, as Rust's
// from_utf8_lossy). exact = true keeps the raw bytes instead (for streaming).
std::string run_decoder(const std::vector<DecoderStep>& steps, std::vector<std::string> tokens,
                        bool exact);

}  // namespace quorum::tokenizer
