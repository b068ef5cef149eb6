// Typed, strict reading of a parsed YAML document: every value knows its dotted key
// ("policies[1].temperature") and its line, so each complaint is an InputError a user can act
// on. Internal to runtime/config (sweep.cpp); yaml-cpp stays out of every public header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace quorum::config::yaml {

// A value of the document: its node, where it sits (dotted key) and the line to blame (1-based).
struct Value {
  YAML::Node node;
  std::string key;
  std::size_t line = 0;
};

// Reads values of one file; every failure throws InputError(file, line, key, message).
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}
  const std::string& file() const { return file_; }

  [[noreturn]] void fail(const Value& at, const std::string& message) const;
  [[noreturn]] void fail(std::size_t line, const std::string& key, const std::string& message) const;

  // Scalars. Numbers must be plain (unquoted) decimal YAML scalars.
  std::string text(const Value& v) const;                     // any scalar, as written
  std::string nonempty_text(const Value& v) const;
  std::uint64_t whole(const Value& v, std::uint64_t min, std::uint64_t max) const;
  double number(const Value& v) const;                        // finite
  // One of `choices`, spelled exactly.
  std::string choice(const Value& v, const std::vector<std::string>& choices) const;

  // The elements of a list (a block or flow sequence), keyed "key[i]".
  std::vector<Value> list(const Value& v) const;

 private:
  std::string file_;
};

// A map whose keys were checked against a fixed set: unknown keys, keys that are not plain
// names and keys given twice are errors at construction.
class Map {
 public:
  Map(const Reader& reader, const Value& v, const std::vector<std::string>& allowed,
      const std::string& what = "");

  bool has(const std::string& key) const;        // present with a non-null value
  std::optional<Value> get(const std::string& key) const;  // null values count as absent
  // Absent: an error on the map's own line; present but empty: an error on the key's line.
  Value require(const std::string& key) const;
  std::size_t line() const { return self_.line; }
  const std::string& key() const { return self_.key; }
  std::string child_key(const std::string& key) const;

 private:
  struct Entry {
    std::string name;
    Value value;
    std::size_t key_line;
  };
  const Entry* find(const std::string& key) const;

  const Reader& reader_;
  Value self_;
  std::vector<Entry> entries_;
};

// "a map", "a list", "nothing", "the text \"abc\"", "abc": what a node is, for messages.
std::string describe(const YAML::Node& node);

// The list "a, b, c" or "a, b or c".
std::string join(const std::vector<std::string>& names, const std::string& last = ", ");

}  // namespace quorum::config::yaml
