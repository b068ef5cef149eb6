// The values a chat template computes with, modelled on the Python objects jinja2 hands a
// template (str, int, float, bool, None, list, tuple, dict, jinja2's Undefined and Namespace,
// functions), so that printing, comparing and serialising them gives Python's exact bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace quorum::chat {

// Bounds on what a template computes (docs/reliability.md, "Fuzzing"): far beyond any chat
// template's needs, small enough that a template cannot exhaust the stack (printing, comparing
// and freeing a value recurse once per level), memory, or the time of the renderer's step limit.
constexpr std::uint32_t kMaxValueDepth = 256;           // lists, dicts and namespaces inside each other
constexpr std::size_t kMaxSequenceItems = 100'000;       // items of a list made by `*`, characters of a string iterated (as range())
constexpr std::size_t kMaxStringBytes = 4u << 20;        // a string a template computes (a million tokens' worth)
constexpr std::size_t kMaxJsonDumpBytes = kMaxStringBytes;  // tojson's text

// A failure while rendering (jinja2 would raise TypeError, UndefinedError, ...); the renderer
// adds the template's name and line.
class RenderError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// RenderError when a string a template computes would exceed kMaxStringBytes.
inline void check_string_size(std::size_t bytes, const char* what) {
  if (bytes > kMaxStringBytes)
    throw RenderError(std::string(what) + ": a string of more than " + std::to_string(kMaxStringBytes) + " bytes");
}

struct Value;
using Args = std::vector<Value>;
using Kwargs = std::vector<std::pair<std::string, Value>>;
using Function = std::function<Value(const Args&, const Kwargs&)>;

// Python dicts keep insertion order; keys are strings (all that JSON and templates produce).
struct Dict {
  std::vector<std::pair<std::string, Value>> items;
  const Value* find(const std::string& key) const;
  void set(const std::string& key, Value value);
};

struct Value {
  enum class Kind { Undefined, None, Bool, Int, Float, String, List, Dict, Namespace, Function };

  Kind kind = Kind::Undefined;
  bool boolean = false;
  std::int64_t integer = 0;
  double number = 0;
  std::string text;  // String; for Undefined, what was missing (for error messages)
  // Which Python object a List value stands for: they iterate alike but print, measure,
  // index and compare differently (a generator has no len() and is used up by one pass).
  enum class Sequence {
    List,
    Tuple,
    Range,     // range(...)
    DictView,  // dict.items()/keys()/values(): sequence_name is dict_items/dict_keys/dict_values
    Iterator,  // generators and reverse iterators: sequence_name is the Python type
  };

  // Elements, shared like Python references; templates cannot mutate lists or dicts (the
  // immutable sandbox), only namespaces.
  std::shared_ptr<std::vector<Value>> list;
  Sequence sequence = Sequence::List;
  std::string sequence_name;
  std::shared_ptr<std::size_t> consumed;  // Iterator: items already taken, as Python iterators are single-use
  std::shared_ptr<Dict> dict;             // Dict and Namespace
  std::string object_type;                // Dict: "LoopContext" for jinja2's loop object, else empty
  std::shared_ptr<Function> function;
  // Lists and dicts: how deeply they nest (1 + their deepest item's), and whether a namespace
  // is among their items at any depth. Both are fixed when the value is made: lists and dicts
  // never change, and a namespace (which does) may hold no namespace (Value::new_namespace).
  std::uint32_t depth = 0;
  bool holds_namespace = false;
  void take_item(const Value& item);  // from_list and from_dict: depth and holds_namespace

  static Value undefined(std::string what = "");
  static Value none();
  static Value from_bool(bool b);
  static Value from_int(std::int64_t i);
  static Value from_float(double d);
  static Value from_string(std::string s);
  static Value from_list(std::vector<Value> items, Sequence sequence = Sequence::List, std::string name = "");
  static Value new_iterator(std::vector<Value> items, std::string python_type = "generator");
  static Value from_dict(Dict d);
  static Value new_namespace(Dict attributes);
  static Value from_function(Function f);
  // RenderError for JSON nested deeper than kMaxValueDepth.
  static Value from_json(const nlohmann::json& json);

  bool is_undefined() const { return kind == Kind::Undefined; }
  bool is_none() const { return kind == Kind::None; }
  bool is_string() const { return kind == Kind::String; }
  bool is_list() const { return kind == Kind::List; }
  bool is_dict() const { return kind == Kind::Dict; }
  bool is_tuple() const { return kind == Kind::List && sequence == Sequence::Tuple; }
  // list, tuple or range: what Python can index and slice
  bool is_indexable() const {
    return kind == Kind::List && (sequence == Sequence::List || sequence == Sequence::Tuple || sequence == Sequence::Range);
  }
  bool is_iterator() const { return kind == Kind::List && sequence == Sequence::Iterator; }
  bool is_loop() const { return kind == Kind::Dict && !object_type.empty(); }
  bool is_number() const { return kind == Kind::Int || kind == Kind::Float || kind == Kind::Bool; }

  std::string type_name() const;  // Python's, for error messages
  bool truthy() const;            // Python's bool()
  std::string str() const;        // Python's str(); Undefined prints as ""
  std::string repr() const;       // Python's repr()
  double as_double() const;       // of a number (bool counts as 0/1, as in Python)
};

// How deeply a value nests: 0 for a scalar; a namespace's is taken from its attributes now.
std::uint32_t nesting(const Value& value);

// RenderError unless `value` may be stored in a namespace: it is not and holds no namespace (so
// a namespace never reaches itself, a cycle that would recurse without end and leak), and the
// namespace holding it nests at most kMaxValueDepth levels.
void check_namespace_attribute(const Value& value);

// Python's ==.
bool equal(const Value& a, const Value& b);

// The items `for x in value` visits: list elements, dict keys, string characters; an
// Undefined iterates as empty (jinja2); an iterator gives what is left of it and is then
// used up. RenderError for anything else.
std::vector<Value> iterate(const Value& value);

// Python's next(iter(value)) on an iterator (taking the item), std::nullopt when exhausted.
std::optional<Value> next_item(const Value& iterator);

// Python's len(): code points of a string, elements, keys; 0 for Undefined.
std::int64_t python_len(const Value& value);

// Python's repr of a float ("1.0", "0.1", "1e+16", "inf", "nan").
std::string float_repr(double value);

// json.dumps(value, ensure_ascii, indent, separators, sort_keys): transformers' tojson filter.
struct JsonDumpOptions {
  bool ensure_ascii = false;
  bool has_indent = false;
  std::string indent;  // the text for one level (an int indent n means n spaces)
  std::string item_separator;
  std::string key_separator;
  bool sort_keys = false;
};
JsonDumpOptions default_json_dump_options(bool has_indent);
std::string json_dumps(const Value& value, const JsonDumpOptions& options);

}  // namespace quorum::chat
