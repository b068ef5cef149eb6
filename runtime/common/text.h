// Small text helpers shared by readers of hand-written files and model output.
#pragma once

#include <string>
#include <string_view>

namespace quorum {

// text without leading and trailing characters of `space`.
inline std::string trim(std::string_view text, std::string_view space = " \t\r\n") {
  const auto first = text.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  return std::string(text.substr(first, text.find_last_not_of(space) - first + 1));
}

// text with every occurrence of `from` replaced by `to`, left to right, matches not
// overlapping; an empty `from` matches nowhere (as Hugging Face's String patterns).
inline std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  if (from.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  std::size_t last = 0;
  for (auto found = text.find(from); found != std::string_view::npos; found = text.find(from, last)) {
    out.append(text.substr(last, found - last));
    out.append(to);
    last = found + from.size();
  }
  out.append(text.substr(last));
  return out;
}

// text as one word for /bin/sh, whatever it holds: in single quotes, each ' written '\''.
inline std::string shell_quoted(std::string_view text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace quorum
