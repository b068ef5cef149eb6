// How deeply a JSON text nests arrays and objects, for readers of JSON from files and peers.
// nlohmann's parser keeps its own stack, but dumping, copying and comparing a parsed value
// recurse once per level: a file or message nested a few hundred thousand levels deep (a few
// hundred KB of '[') parses and then exhausts the stack (found by the fuzz targets, fuzz/).
// The readers refuse such a text before parsing it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

namespace quorum {

// Far beyond any config.json, tokenizer.json, JSONL row or bus message (they nest < 10 levels).
inline constexpr std::size_t kMaxJsonDepth = 256;

// The deepest nesting of [ and { outside strings; exact for well-formed JSON.
inline std::size_t json_nesting_depth(std::string_view text) {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

// Empty when text nests at most kMaxJsonDepth levels, else the error message to give.
inline std::string json_depth_problem(std::string_view text) {
  if (json_nesting_depth(text) <= kMaxJsonDepth) return {};
  return "JSON nested more than " + std::to_string(kMaxJsonDepth) + " levels deep";
}

}  // namespace quorum
