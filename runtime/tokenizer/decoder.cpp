#include "runtime/tokenizer/decoder.h"

#include "runtime/common/text.h"
#include "runtime/tokenizer/bytes.h"
#include "runtime/tokenizer/utf8.h"

namespace quorum::tokenizer {
namespace {

const char* const kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD

std::string replace_in(const std::string& token, const DecoderStep& step) {
  if (!step.pattern_is_regex) return replace_all(token, step.pattern, step.content);
  if (!is_valid_utf8(token)) return token;
  std::string out;
  std::size_t last = 0;
  step.regex->for_each_match(token, [&](std::size_t begin, std::size_t end) {
    out.append(token, last, begin - last);
    out += step.content;
    last = end;
  });
  out.append(token, last, std::string::npos);
  return out;
}

// "<0x0A>" -> 0x0A; -1 for any other token (exactly six characters, hex digits in either case).
int byte_token_value(const std::string& token) {
  if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>') return -1;
  int value = 0;
  for (int i = 3; i < 5; ++i) {
    const char c = token[i];
    int digit;
    if (c >= '0' && c <= '9') digit = c - '0';
    else if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    else return -1;
    value = value * 16 + digit;
  }
  return value;
}

std::vector<std::string> byte_fallback(std::vector<std::string> tokens, bool exact) {
  std::vector<std::string> out;
  out.reserve(tokens.size());
  std::string pending;  // consecutive byte tokens
  std::size_t pending_count = 0;
  const auto flush = [&] {
    if (pending_count == 0) return;
    if (exact || is_valid_utf8(pending)) {
      out.push_back(pending);
    } else {
      // Hugging Face gives one U+FFFD per byte token when the run is not UTF-8.
      for (std::size_t i = 0; i < pending_count; ++i) out.emplace_back(kReplacementCharacter);
    }
    pending.clear();
    pending_count = 0;
  };
  for (auto& token : tokens) {
    const int value = byte_token_value(token);
    if (value >= 0) {
      pending.push_back(static_cast<char>(value));
      ++pending_count;
    } else {
      flush();
      out.push_back(std::move(token));
    }
  }
  flush();
  return out;
}

std::string strip(const std::string& token, const DecoderStep& step) {
  const std::string& c = step.strip_char;
  std::size_t begin = 0;
  std::size_t end = token.size();
  for (std::size_t i = 0; i < step.start && begin + c.size() <= end &&
                          token.compare(begin, c.size(), c) == 0;
       ++i)
    begin += c.size();
  for (std::size_t i = 0; i < step.stop && end >= begin + c.size() &&
                          token.compare(end - c.size(), c.size(), c) == 0;
       ++i)
    end -= c.size();
  return token.substr(begin, end - begin);
}

std::string metaspace(const std::string& token, const DecoderStep& step, bool first) {
  if (step.replacement.empty()) return token;
  std::string out;
  std::size_t last = 0;
  for (std::size_t found = token.find(step.replacement); found != std::string::npos;
       found = token.find(step.replacement, last)) {
    out.append(token, last, found - last);
    if (!first || step.prepend_never) out.push_back(' ');
    last = found + step.replacement.size();
  }
  out.append(token, last, std::string::npos);
  return out;
}

// All tokens become one: their characters read through the GPT-2 byte alphabet (a token with
// a character outside it stands for its own UTF-8), then made valid UTF-8 unless exact.
std::string byte_level(const std::vector<std::string>& tokens, bool exact) {
  std::string bytes;
  for (const auto& token : tokens) {
    auto raw = symbols_to_bytes(token);
    bytes += raw ? *raw : token;
  }
  if (exact || is_valid_utf8(bytes)) return bytes;
  return to_valid_utf8(bytes);
}

}  // namespace

std::string run_decoder(const std::vector<DecoderStep>& steps, std::vector<std::string> tokens,
                        bool exact) {
  for (const DecoderStep& step : steps) {
    switch (step.kind) {
      case DecoderStep::Kind::byte_level: {
        std::string joined = byte_level(tokens, exact);
        tokens.assign(1, std::move(joined));
        break;
      }
      case DecoderStep::Kind::replace:
        for (auto& token : tokens) token = replace_in(token, step);
        break;
      case DecoderStep::Kind::byte_fallback:
        tokens = byte_fallback(std::move(tokens), exact);
        break;
      case DecoderStep::Kind::fuse: {
        std::string joined;
        for (const auto& token : tokens) joined += token;
        tokens.assign(1, std::move(joined));
        break;
      }
      case DecoderStep::Kind::strip:
        for (auto& token : tokens) token = strip(token, step);
        break;
      case DecoderStep::Kind::metaspace:
        for (std::size_t i = 0; i < tokens.size(); ++i)
          tokens[i] = metaspace(tokens[i], step, i == 0);
        break;
    }
  }
  std::string text;
  for (const auto& token : tokens) text += token;
  return text;
}

}  // namespace quorum::tokenizer
