#include "runtime/tokenizer/pretokenize.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdexcept>

#include "runtime/tokenizer/utf8.h"

namespace quorum::tokenizer {

const char* const kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
const char* const kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kQwen2Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

namespace {

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Oniguruma (which Hugging Face tokenizers use) reads \uXXXX; PCRE2 spells it \x{XXXX}.
std::string translate_escapes(const std::string& pattern) {
  std::string out;
  out.reserve(pattern.size());
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '\\' || i + 1 >= pattern.size()) {
      out.push_back(pattern[i]);
      continue;
    }
    if (pattern[i + 1] == 'u' && i + 5 < pattern.size() && is_hex(pattern[i + 2]) &&
        is_hex(pattern[i + 3]) && is_hex(pattern[i + 4]) && is_hex(pattern[i + 5])) {
      out += "\\x{" + pattern.substr(i + 2, 4) + "}";
      i += 5;
    } else {
      out.push_back(pattern[i]);
      out.push_back(pattern[i + 1]);
      ++i;
    }
  }
  return out;
}

// Per-thread matching scratch: match data with room for the whole-match pair, and a JIT stack
// large enough for long runs of one character class.
struct MatchScratch {
  pcre2_match_data* data = nullptr;
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* stack = nullptr;
  MatchScratch() {
    data = pcre2_match_data_create(1, nullptr);
    context = pcre2_match_context_create(nullptr);
    stack = pcre2_jit_stack_create(32 * 1024, 16 * 1024 * 1024, nullptr);
    if (!data || !context) throw std::bad_alloc();
    if (stack) pcre2_jit_stack_assign(context, nullptr, stack);
    // The family patterns backtrack once per character of a long whitespace run
    // (\s*[\r\n]+ before \s+(?!\S)): linear work that PCRE2's default limit of 10 million
    // steps would cut off for runs of that length.
    pcre2_set_match_limit(context, 0xFFFFFFFFu);
    pcre2_set_depth_limit(context, 0xFFFFFFFFu);
  }
  ~MatchScratch() {
    pcre2_jit_stack_free(stack);
    pcre2_match_context_free(context);
    pcre2_match_data_free(data);
  }
};

MatchScratch& scratch() {
  thread_local MatchScratch instance;
  return instance;
}

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof buffer);
  return reinterpret_cast<const char*>(buffer);
}

}  // namespace

Regex::Regex(const std::string& pattern) : pattern_(pattern) {
  const std::string translated = translate_escapes(pattern);
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                    PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
  if (!code)
    throw std::invalid_argument("bad pattern at offset " + std::to_string(offset) + ": " +
                                pcre2_message(error));
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT is absent
  code_ = code;
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

void Regex::for_each_match(std::string_view text,
                           const std::function<void(std::size_t, std::size_t)>& on_match) const {
  MatchScratch& s = scratch();
  auto* code = static_cast<pcre2_code*>(code_);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  std::size_t start = 0;
  while (start < text.size()) {
    const int rc = pcre2_match(code, subject, text.size(), start, PCRE2_NO_UTF_CHECK, s.data,
                               s.context);
    // No further match, or (only on hostile input) a resource limit such as the JIT stack:
    // the rest of the text is left unmatched, so it stays one piece instead of failing.
    if (rc < 0) return;
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(s.data);
    const std::size_t begin = ovector[0];
    const std::size_t end = ovector[1];
    if (end > begin) {
      on_match(begin, end);
      start = end;
    } else {
      // An empty match: step over one character so the search moves on.
      char32_t cp;
      const std::size_t length = decode_utf8(text, begin, cp);
      start = begin + (length ? length : 1);
    }
  }
}

PreTokenizerStep PreTokenizerStep::split_regex(const std::string& pattern, Behavior behavior) {
  PreTokenizerStep step;
  step.kind = Kind::split;
  step.pattern = pattern;
  step.pattern_is_regex = true;
  step.behavior = behavior;
  step.regex = std::make_shared<const Regex>(pattern);
  return step;
}

PreTokenizerStep PreTokenizerStep::byte_level(bool add_prefix_space, bool use_regex) {
  PreTokenizerStep step;
  step.kind = Kind::byte_level;
  step.add_prefix_space = add_prefix_space;
  step.use_regex = use_regex;
  if (use_regex) step.regex = std::make_shared<const Regex>(kGpt2Pattern);
  return step;
}

PreTokenizerStep PreTokenizerStep::digits(bool individual_digits) {
  PreTokenizerStep step;
  step.kind = Kind::digits;
  step.individual_digits = individual_digits;
  // Every character of Unicode category N is a digit here (Rust's char::is_numeric).
  step.regex = std::make_shared<const Regex>(individual_digits ? R"(\p{N})" : R"(\p{N}+)");
  return step;
}

PreTokenizerStep PreTokenizerStep::metaspace(std::string replacement,
                                             PrependScheme prepend_scheme, bool split) {
  PreTokenizerStep step;
  step.kind = Kind::metaspace;
  step.replacement = std::move(replacement);
  step.prepend_scheme = prepend_scheme;
  step.split_on_replacement = split;
  return step;
}

namespace {

// Isolated / removed splitting of text around the matches of a regex, with invalid UTF-8 runs
// passed through as pieces of their own.
void split_by_regex(const Regex& regex, bool keep_matches, std::string_view text,
                    const std::function<void(std::string_view)>& emit) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t valid = valid_utf8_prefix(text, pos);
    if (valid > 0) {
      const std::string_view run = text.substr(pos, valid);
      std::size_t last = 0;
      regex.for_each_match(run, [&](std::size_t begin, std::size_t end) {
        if (begin > last) emit(run.substr(last, begin - last));
        if (keep_matches) emit(run.substr(begin, end - begin));
        last = end;
      });
      if (last < run.size()) emit(run.substr(last));
      pos += valid;
    }
    if (pos >= text.size()) break;
    std::size_t invalid = pos;
    while (invalid < text.size()) {
      char32_t cp;
      if (decode_utf8(text, invalid, cp) != 0) break;
      ++invalid;
    }
    emit(text.substr(pos, invalid - pos));
    pos = invalid;
  }
}

void split_literal(const std::string& literal, bool keep_matches, std::string_view text,
                   const std::function<void(std::string_view)>& emit) {
  if (literal.empty()) {
    emit(text);
    return;
  }
  std::size_t last = 0;
  while (true) {
    const std::size_t found = text.find(literal, last);
    if (found == std::string_view::npos) break;
    if (found > last) emit(text.substr(last, found - last));
    if (keep_matches) emit(text.substr(found, literal.size()));
    last = found + literal.size();
  }
  if (last < text.size()) emit(text.substr(last));
}

}  // namespace

void PreTokenizer::run(std::size_t index, std::string_view piece, bool at_text_start,
                       const std::function<void(std::string_view)>& on_piece) const {
  if (piece.empty()) return;
  if (index == steps_.size()) {
    on_piece(piece);
    return;
  }
  const PreTokenizerStep& step = steps_[index];
  // Only a sub-piece that begins where this piece begins is still at the start of the text.
  const char* piece_start = piece.data();
  const std::function<void(std::string_view)> next = [&](std::string_view sub) {
    run(index + 1, sub, at_text_start && sub.data() == piece_start, on_piece);
  };
  switch (step.kind) {
    case PreTokenizerStep::Kind::split: {
      const bool keep = step.behavior == PreTokenizerStep::Behavior::isolated;
      if (step.pattern_is_regex)
        split_by_regex(*step.regex, keep, piece, next);
      else
        split_literal(step.pattern, keep, piece, next);
      return;
    }
    case PreTokenizerStep::Kind::byte_level: {
      std::string prefixed;
      if (step.add_prefix_space && piece.front() != ' ') {
        prefixed.reserve(piece.size() + 1);
        prefixed.push_back(' ');
        prefixed.append(piece);
        piece = prefixed;
      }
      if (step.use_regex)
        split_by_regex(*step.regex, true, piece, next);
      else
        next(piece);
      return;
    }
    case PreTokenizerStep::Kind::digits:
      split_by_regex(*step.regex, true, piece, next);
      return;
    case PreTokenizerStep::Kind::metaspace: {
      std::string replaced;
      replaced.reserve(piece.size() + 8);
      const bool prepend =
          piece.compare(0, step.replacement.size(), step.replacement) != 0 &&
          piece.front() != ' ' &&
          (step.prepend_scheme == PreTokenizerStep::PrependScheme::always ||
           (step.prepend_scheme == PreTokenizerStep::PrependScheme::first && at_text_start));
      if (prepend) replaced += step.replacement;
      for (const char c : piece) {
        if (c == ' ')
          replaced += step.replacement;
        else
          replaced.push_back(c);
      }
      piece_start = replaced.data();
      if (!step.split_on_replacement) {
        next(replaced);
        return;
      }
      // Each piece starts at a replacement character (Hugging Face's MergedWithNext).
      std::size_t last = 0;
      for (std::size_t found = replaced.find(step.replacement, 1); found != std::string::npos;
           found = replaced.find(step.replacement, found + step.replacement.size())) {
        if (found > last) next(std::string_view(replaced).substr(last, found - last));
        last = found;
      }
      next(std::string_view(replaced).substr(last));
      return;
    }
  }
}

void PreTokenizer::split(std::string_view text,
                         const std::function<void(std::string_view)>& on_piece,
                         bool at_text_start) const {
  run(0, text, at_text_start, on_piece);
}

std::vector<std::string> PreTokenizer::split(std::string_view text) const {
  std::vector<std::string> pieces;
  split(text, [&](std::string_view piece) { pieces.emplace_back(piece); });
  return pieces;
}

}  // namespace quorum::tokenizer
