// What the tokenizer.json and tokenizer_config.json readers share: errors naming the file and
// the JSON field, null-as-absent lookups, and parsing a whole file into one object.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "runtime/common/error.h"
#include "runtime/common/json_depth.h"
#include "runtime/common/json_locate.h"

namespace quorum::tokenizer::json_reading {

struct Context {
  const std::string& file;
  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw InputError(file, 0, field, what);
  }
};

inline std::string quoted(const std::string& text) { return "'" + text + "'"; }

// The value at key, nullptr when absent or null.
inline const nlohmann::json* find(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

// The text as one JSON object; malformed JSON is an InputError at its line of name.
inline nlohmann::json parse_object(const std::string& text, const std::string& name) {
  if (const auto problem = json_depth_problem(text); !problem.empty()) throw InputError(name, 0, "", problem);
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    std::size_t line = 1;
    const std::size_t byte = e.byte > 0 ? e.byte - 1 : 0;
    for (std::size_t i = 0; i < byte && i < text.size(); ++i)
      if (text[i] == '\n') ++line;
    throw InputError(name, line, "", std::string("malformed JSON: ") + e.what());
  } catch (const nlohmann::json::out_of_range& e) {
    // The one out_of_range a parse throws: a number beyond a double's range (e.g. 1e309).
    JsonFieldLocator locator;
    nlohmann::json::sax_parse(text, &locator);
    throw InputError(name, line_of_byte(text, locator.failed_byte), locator.failed_field,
                     std::string("a number too large for a double (") + e.what() + ")");
  }
  if (!root.is_object()) throw InputError(name, 0, "", "expected a JSON object at the top level");
  return root;
}

}  // namespace quorum::tokenizer::json_reading
