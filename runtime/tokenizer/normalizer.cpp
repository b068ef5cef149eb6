#include "runtime/tokenizer/normalizer.h"

#include "runtime/common/text.h"
#include "runtime/tokenizer/normalize.h"
#include "runtime/tokenizer/utf8.h"

namespace quorum::tokenizer {

NormalizerStep NormalizerStep::nfc() { return NormalizerStep{}; }

NormalizerStep NormalizerStep::prepend(std::string text) {
  NormalizerStep step;
  step.kind = Kind::prepend;
  step.text = std::move(text);
  return step;
}

NormalizerStep NormalizerStep::replace_string(std::string pattern, std::string content) {
  NormalizerStep step;
  step.kind = Kind::replace;
  step.pattern = std::move(pattern);
  step.content = std::move(content);
  return step;
}

NormalizerStep NormalizerStep::replace_regex(std::string pattern, std::string content) {
  NormalizerStep step = replace_string(std::move(pattern), std::move(content));
  step.pattern_is_regex = true;
  step.regex = std::make_shared<const Regex>(step.pattern);
  return step;
}

namespace {

std::string replace_matches(std::string_view text, const Regex& regex,
                            const std::string& content) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t valid = valid_utf8_prefix(text, pos);
    const std::string_view run = text.substr(pos, valid);
    std::size_t last = 0;
    regex.for_each_match(run, [&](std::size_t begin, std::size_t end) {
      out.append(run.substr(last, begin - last));
      out += content;
      last = end;
    });
    out.append(run.substr(last));
    pos += valid;
    // One invalid byte at a time: the next call finds where validity resumes.
    if (pos < text.size()) {
      char32_t c;
      if (decode_utf8(text, pos, c) == 0) out.push_back(text[pos++]);
    }
  }
  return out;
}

}  // namespace

std::string_view normalize(const std::vector<NormalizerStep>& steps, std::string_view text,
                           std::string& scratch) {
  for (const NormalizerStep& step : steps) {
    switch (step.kind) {
      case NormalizerStep::Kind::nfc:
        if (is_nfc_quick(text)) continue;
        scratch = nfc(text);
        break;
      case NormalizerStep::Kind::prepend:
        if (text.empty()) continue;
        scratch = step.text + std::string(text);
        break;
      case NormalizerStep::Kind::replace:
        if (step.pattern_is_regex)
          scratch = replace_matches(text, *step.regex, step.content);
        else if (text.find(step.pattern) == std::string_view::npos || step.pattern.empty())
          continue;
        else
          scratch = replace_all(text, step.pattern, step.content);
        break;
    }
    text = scratch;
  }
  return text;
}

}  // namespace quorum::tokenizer
