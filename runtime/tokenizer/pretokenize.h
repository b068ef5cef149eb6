// Pre-tokenization: cutting text into the pieces that BPE then encodes one by one. Mirrors the
// Hugging Face pre-tokenizers used by byte-level BPE models: Split (a regex, compiled with PCRE2
// in UTF + Unicode-property mode so \p{L}, \p{N}, \s and (?i:...) behave as in those models),
// ByteLevel (optional prefix space, optional GPT-2 regex), Digits, Metaspace (SentencePiece's
// "▁" for spaces), and a Sequence of them.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace quorum::tokenizer {

// The split patterns of the three tokenizer families (as written in their tokenizer.json).
extern const char* const kGpt2Pattern;   // ByteLevel use_regex: ' ?\p{L}+', ' ?\p{N}+', ...
extern const char* const kLlama3Pattern; // digits in groups of up to three
extern const char* const kQwen2Pattern;  // every digit on its own

// A compiled pattern. Thread-safe: matching uses per-thread scratch.
class Regex {
 public:
  // Throws std::invalid_argument with PCRE2's message and the offset in the pattern.
  // Oniguruma's \uXXXX escapes (used by some tokenizer.json files) are accepted.
  explicit Regex(const std::string& pattern);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  const std::string& pattern() const { return pattern_; }

  // Calls on_match(start, end) for each non-overlapping, non-empty match, left to right.
  // text must be valid UTF-8. Should PCRE2 run out of a resource part way (only seen on
  // hostile input), the rest of the text is left unmatched.
  void for_each_match(std::string_view text,
                      const std::function<void(std::size_t, std::size_t)>& on_match) const;

 private:
  std::string pattern_;
  void* code_ = nullptr;  // pcre2_code_8*
};

struct PreTokenizerStep {
  enum class Kind { split, byte_level, digits, metaspace };
  enum class PrependScheme { always, first, never };
  enum class Behavior { isolated, removed };
  Kind kind = Kind::split;
  // split: the pattern (a regex, or a literal string when pattern_is_regex is false).
  std::string pattern;
  bool pattern_is_regex = true;
  Behavior behavior = Behavior::isolated;
  // The compiled pattern: split, byte_level with use_regex (GPT-2), digits (\p{N} or \p{N}+).
  std::shared_ptr<const Regex> regex;
  // byte_level
  bool add_prefix_space = false;
  bool use_regex = true;
  bool trim_offsets = true;  // kept only to be written back; offsets are not computed
  // digits: every Unicode number character (category N), one by one or in runs
  bool individual_digits = false;
  // metaspace: spaces become replacement; replacement is put before a piece that does not
  // start with it (always, or first: only the piece at the very start of the text); split:
  // cut before every replacement (each piece starts with one).
  std::string replacement;
  PrependScheme prepend_scheme = PrependScheme::always;
  bool split_on_replacement = true;

  static PreTokenizerStep split_regex(const std::string& pattern,
                                      Behavior behavior = Behavior::isolated);
  static PreTokenizerStep byte_level(bool add_prefix_space, bool use_regex);
  static PreTokenizerStep digits(bool individual_digits);
  static PreTokenizerStep metaspace(std::string replacement, PrependScheme prepend_scheme,
                                    bool split);
};

// An ordered list of steps; each step cuts every piece the previous one produced.
class PreTokenizer {
 public:
  PreTokenizer() = default;
  explicit PreTokenizer(std::vector<PreTokenizerStep> steps) : steps_(std::move(steps)) {}

  const std::vector<PreTokenizerStep>& steps() const { return steps_; }

  // Calls on_piece for every non-empty piece of text, in order. Pieces point into text or into
  // storage that lives until on_piece returns. Bytes that are not valid UTF-8 are never handed
  // to a regex: each maximal invalid run becomes a piece of its own. at_text_start: text begins
  // at the start of the original input (not after an added token), for Metaspace's "first".
  void split(std::string_view text, const std::function<void(std::string_view)>& on_piece,
             bool at_text_start = true) const;

  // Convenience for tests and tools.
  std::vector<std::string> split(std::string_view text) const;

 private:
  void run(std::size_t step, std::string_view piece, bool at_text_start,
           const std::function<void(std::string_view)>& on_piece) const;
  std::vector<PreTokenizerStep> steps_;
};

}  // namespace quorum::tokenizer
