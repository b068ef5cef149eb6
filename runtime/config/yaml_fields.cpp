#include "runtime/config/yaml_fields.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "runtime/common/error.h"

namespace quorum::config::yaml {
namespace {

// The line of a node, 1-based; `fallback` where yaml-cpp has no mark (a missing value).
std::size_t line_of(const YAML::Node& node, std::size_t fallback) {
  if (node.IsNull()) return fallback;  // yaml-cpp marks an empty value on the next token's line
  const int line = node.Mark().line;
  return line >= 0 ? static_cast<std::size_t>(line) + 1 : fallback;
}

bool quoted(const YAML::Node& node) { return node.IsScalar() && node.Tag() == "!"; }

// Levenshtein distance, for "did you mean" on unknown keys.
std::size_t distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Scalar: break;
  }
  if (quoted(node)) return "the text \"" + node.Scalar() + "\"";
  return "'" + node.Scalar() + "'";
}

std::string join(const std::vector<std::string>& names, const std::string& last) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? last : ", ";
    out += names[i];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reader

void Reader::fail(const Value& at, const std::string& message) const { fail(at.line, at.key, message); }

void Reader::fail(std::size_t line, const std::string& key, const std::string& message) const {
  throw InputError(file_, line, key, message);
}

std::string Reader::text(const Value& v) const {
  if (!v.node.IsScalar()) fail(v, "expected text, got " + describe(v.node));
  return v.node.Scalar();
}

std::string Reader::nonempty_text(const Value& v) const {
  auto s = text(v);
  if (s.empty()) fail(v, "must not be empty");
  return s;
}

std::uint64_t Reader::whole(const Value& v, std::uint64_t min, std::uint64_t max) const {
  const std::string expected = "expected a whole number, got ";
  if (!v.node.IsScalar()) fail(v, expected + describe(v.node));
  if (quoted(v.node)) fail(v, expected + describe(v.node) + " (write numbers without quotes)");
  const std::string& s = v.node.Scalar();
  std::size_t begin = 0;
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) negative = s[0] == '-', begin = 1;
  const bool digits = begin < s.size() &&
                      std::all_of(s.begin() + begin, s.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) fail(v, expected + describe(v.node));
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(s.data() + begin, s.data() + s.size(), value);
  if (error == std::errc::result_out_of_range || end != s.data() + s.size())
    fail(v, "must be at most " + std::to_string(max) + ", got " + s);
  if (negative && value != 0) fail(v, "must be at least " + std::to_string(min) + ", got " + s);
  if (value < min) fail(v, "must be at least " + std::to_string(min) + ", got " + s);
  if (value > max) fail(v, "must be at most " + std::to_string(max) + ", got " + s);
  return value;
}

double Reader::number(const Value& v) const {
  const std::string expected = "expected a number, got ";
  if (!v.node.IsScalar()) fail(v, expected + describe(v.node));
  if (quoted(v.node)) fail(v, expected + describe(v.node) + " (write numbers without quotes)");
  const std::string& s = v.node.Scalar();
  // Plain decimal notation only: no hexadecimal, no .inf or .nan.
  const bool plain = !s.empty() && s.find_first_not_of("+-.0123456789eE") == std::string::npos &&
                     s.find_first_of("0123456789") != std::string::npos;
  char* end = nullptr;
  const double value = plain ? std::strtod(s.c_str(), &end) : 0.0;
  if (!plain || end != s.c_str() + s.size()) fail(v, expected + describe(v.node));
  if (!std::isfinite(value)) fail(v, "must be a finite number, got " + s);
  return value;
}

std::string Reader::choice(const Value& v, const std::vector<std::string>& choices) const {
  auto s = text(v);
  if (std::find(choices.begin(), choices.end(), s) == choices.end())
    fail(v, "must be " + join(choices, " or ") + ", got '" + s + "'");
  return s;
}

std::vector<Value> Reader::list(const Value& v) const {
  if (!v.node.IsSequence()) fail(v, "expected a list, got " + describe(v.node));
  std::vector<Value> out;
  std::size_t i = 0;
  for (const auto& element : v.node) {
    out.push_back({element, v.key + "[" + std::to_string(i) + "]", line_of(element, v.line)});
    ++i;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Map

Map::Map(const Reader& reader, const Value& v, const std::vector<std::string>& allowed, const std::string& what)
    : reader_(reader), self_(v) {
  if (!v.node.IsMap())
    reader.fail(v, "expected a map" + (what.empty() ? "" : " of " + what) + " with keys " + join(allowed) +
                       ", got " + describe(v.node));
  for (auto it = v.node.begin(); it != v.node.end(); ++it) {
    const YAML::Node key = it->first;  // copies: the iterator hands out temporaries
    const std::size_t key_line = line_of(key, v.line);
    if (!key.IsScalar()) reader.fail(key_line, v.key, "a key must be a plain name, got " + describe(key));
    const std::string name = key.Scalar();
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      std::string message = "unknown key";
      const std::string* closest = nullptr;
      std::size_t best = 3;  // suggest only near misses
      for (const auto& a : allowed)
        if (auto d = distance(name, a); d < best) best = d, closest = &a;
      if (closest) message += " (did you mean '" + *closest + "'?)";
      reader.fail(key_line, child_key(name), message + "; allowed here: " + join(allowed));
    }
    if (const Entry* first = find(name))
      reader.fail(key_line, child_key(name), "given twice (first on line " + std::to_string(first->key_line) + ")");
    const YAML::Node value = it->second;
    entries_.push_back({name, {value, child_key(name), line_of(value, key_line)}, key_line});
  }
}

const Map::Entry* Map::find(const std::string& key) const {
  for (const auto& e : entries_)
    if (e.name == key) return &e;
  return nullptr;
}

std::string Map::child_key(const std::string& key) const {
  return self_.key.empty() ? key : self_.key + "." + key;
}

bool Map::has(const std::string& key) const {
  const Entry* e = find(key);
  return e && !e->value.node.IsNull();
}

std::optional<Value> Map::get(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return find(key)->value;
}

Value Map::require(const std::string& key) const {
  const Entry* e = find(key);
  if (!e) {
    const std::string where = self_.key.empty() ? "" : " in '" + self_.key + "'";
    reader_.fail(self_.line, child_key(key), "required" + where + ", but missing");
  }
  if (e->value.node.IsNull()) reader_.fail(e->key_line, e->value.key, "required, but has no value");
  return e->value;
}

}  // namespace quorum::config::yaml
