// The normalizer pipeline of tokenizer.json: NFC, Prepend and Replace (the steps of the
// Llama-2 / Mistral "legacy" normalizer, which prepends "▁" and turns every space into "▁"),
// applied in order to each piece of text between added tokens.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/tokenizer/pretokenize.h"

namespace quorum::tokenizer {

struct NormalizerStep {
  enum class Kind { nfc, prepend, replace };
  Kind kind = Kind::nfc;
  // prepend: the text put before every non-empty piece.
  // replace: every match of pattern (a literal, or a regex when pattern_is_regex) becomes
  // content.
  std::string text;
  std::string pattern;
  bool pattern_is_regex = false;
  std::string content;
  std::shared_ptr<const Regex> regex;

  static NormalizerStep nfc();
  static NormalizerStep prepend(std::string text);
  static NormalizerStep replace_string(std::string pattern, std::string content);
  // Throws std::invalid_argument when PCRE2 rejects the pattern.
  static NormalizerStep replace_regex(std::string pattern, std::string content);
};

// Runs the steps over text. Returns a view of text itself when nothing changes (the common case
// for NFC alone), else a view of scratch. Invalid UTF-8 passes through unchanged; regex
// replacements look only inside its valid runs.
std::string_view normalize(const std::vector<NormalizerStep>& steps, std::string_view text,
                           std::string& scratch);

}  // namespace quorum::tokenizer
