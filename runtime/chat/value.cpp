#include "runtime/chat/value.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "runtime/chat/python_text.h"
#include "runtime/tokenizer/utf8.h"

namespace quorum::chat {

const Value* Dict::find(const std::string& key) const {
  for (const auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}

void Dict::set(const std::string& key, Value value) {
  for (auto& [k, v] : items)
    if (k == key) {
      v = std::move(value);
      return;
    }
  items.emplace_back(key, std::move(value));
}

Value Value::undefined(std::string what) {
  Value v;
  v.text = std::move(what);
  return v;
}
Value Value::none() {
  Value v;
  v.kind = Kind::None;
  return v;
}
Value Value::from_bool(bool b) {
  Value v;
  v.kind = Kind::Bool;
  v.boolean = b;
  return v;
}
Value Value::from_int(std::int64_t i) {
  Value v;
  v.kind = Kind::Int;
  v.integer = i;
  return v;
}
Value Value::from_float(double d) {
  Value v;
  v.kind = Kind::Float;
  v.number = d;
  return v;
}
Value Value::from_string(std::string s) {
  Value v;
  v.kind = Kind::String;
  v.text = std::move(s);
  return v;
}
Value Value::from_list(std::vector<Value> items, Sequence sequence, std::string name) {
  Value v;
  v.kind = Kind::List;
  v.list = std::make_shared<std::vector<Value>>(std::move(items));
  v.sequence = sequence;
  v.sequence_name = std::move(name);
  for (const Value& item : *v.list) v.take_item(item);
  return v;
}
Value Value::new_iterator(std::vector<Value> items, std::string python_type) {
  Value v = from_list(std::move(items), Sequence::Iterator, std::move(python_type));
  v.consumed = std::make_shared<std::size_t>(0);
  return v;
}
Value Value::from_dict(Dict d) {
  Value v;
  v.kind = Kind::Dict;
  v.dict = std::make_shared<Dict>(std::move(d));
  for (const auto& item : v.dict->items) v.take_item(item.second);
  return v;
}
Value Value::new_namespace(Dict attributes) {
  for (const auto& item : attributes.items) check_namespace_attribute(item.second);
  Value v;
  v.kind = Kind::Namespace;
  v.dict = std::make_shared<Dict>(std::move(attributes));
  return v;
}

void Value::take_item(const Value& item) {
  const std::uint32_t item_depth = nesting(item);
  if (item_depth >= kMaxValueDepth)
    throw RenderError("a value nested more than " + std::to_string(kMaxValueDepth) + " levels deep");
  depth = std::max(depth, item_depth + 1);
  holds_namespace = holds_namespace || item.holds_namespace || item.kind == Kind::Namespace;
}

std::uint32_t nesting(const Value& value) {
  if (value.kind != Value::Kind::Namespace) return value.depth;
  std::uint32_t deepest = 0;  // its attributes hold no namespace: their depths are fixed
  for (const auto& item : value.dict->items) deepest = std::max(deepest, item.second.depth);
  return deepest + 1;
}

void check_namespace_attribute(const Value& value) {
  if (value.kind == Value::Kind::Namespace || value.holds_namespace)
    throw RenderError("unsupported construct: a namespace inside a namespace");
  if (value.depth >= kMaxValueDepth)
    throw RenderError("a value nested more than " + std::to_string(kMaxValueDepth) + " levels deep");
}
Value Value::from_function(Function f) {
  Value v;
  v.kind = Kind::Function;
  v.function = std::make_shared<Function>(std::move(f));
  return v;
}

namespace {

Value value_from_json(const nlohmann::json& json, std::uint32_t level) {
  if (level > kMaxValueDepth) throw RenderError("JSON nested more than " + std::to_string(kMaxValueDepth) + " levels deep");
  switch (json.type()) {
    case nlohmann::json::value_t::null: return Value::none();
    case nlohmann::json::value_t::boolean: return Value::from_bool(json.get<bool>());
    case nlohmann::json::value_t::number_integer: return Value::from_int(json.get<std::int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      const auto u = json.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(INT64_MAX)) throw RenderError("integer too large: " + json.dump());
      return Value::from_int(static_cast<std::int64_t>(u));
    }
    case nlohmann::json::value_t::number_float: return Value::from_float(json.get<double>());
    case nlohmann::json::value_t::string: return Value::from_string(json.get<std::string>());
    case nlohmann::json::value_t::array: {
      std::vector<Value> items;
      for (const auto& item : json) items.push_back(value_from_json(item, level + 1));
      return Value::from_list(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      Dict d;
      for (const auto& [key, item] : json.items()) d.items.emplace_back(key, value_from_json(item, level + 1));
      return Value::from_dict(std::move(d));
    }
    default: throw RenderError("unsupported JSON value: " + json.dump());
  }
}

}  // namespace

Value Value::from_json(const nlohmann::json& json) { return value_from_json(json, 0); }

std::string Value::type_name() const {
  switch (kind) {
    case Kind::Undefined: return "Undefined";
    case Kind::None: return "NoneType";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::List:
      switch (sequence) {
        case Sequence::List: return "list";
        case Sequence::Tuple: return "tuple";
        case Sequence::Range: return "range";
        default: return sequence_name;
      }
    case Kind::Dict: return "dict";
    case Kind::Namespace: return "Namespace";
    case Kind::Function: return "function";
  }
  return "?";
}

bool Value::truthy() const {
  switch (kind) {
    case Kind::Undefined:
    case Kind::None: return false;
    case Kind::Bool: return boolean;
    case Kind::Int: return integer != 0;
    case Kind::Float: return number != 0;
    case Kind::String: return !text.empty();
    case Kind::List: return sequence == Sequence::Iterator || !list->empty();  // a generator is always true
    case Kind::Dict: return !dict->items.empty();
    case Kind::Namespace:
    case Kind::Function: return true;
  }
  return false;
}

double Value::as_double() const {
  if (kind == Kind::Int) return static_cast<double>(integer);
  if (kind == Kind::Float) return number;
  if (kind == Kind::Bool) return boolean ? 1 : 0;
  throw RenderError("expected a number, got " + type_name());
}

std::string float_repr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  // The shortest digit string that reads back as the same double (Python's repr).
  char buffer[64];
  int precision = 1;
  for (; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof buffer, "%.*e", precision - 1, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  std::string scientific = buffer;
  const bool negative = scientific[0] == '-';
  if (negative) scientific.erase(0, 1);
  const std::size_t e = scientific.find('e');
  std::string digits = scientific.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  const int exponent = std::atoi(scientific.c_str() + e + 1);
  std::string out;
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out = "0." + std::string(-exponent - 1, '0') + digits;
    } else if (static_cast<int>(digits.size()) <= exponent + 1) {
      out = digits + std::string(exponent + 1 - digits.size(), '0') + ".0";
    } else {
      out = digits.substr(0, exponent + 1) + "." + digits.substr(exponent + 1);
    }
  } else {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char exp[16];
    std::snprintf(exp, sizeof exp, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    out += exp;
  }
  return negative ? "-" + out : out;
}

namespace {

// Python's str.isprintable for one code point, for the characters chat text realistically
// holds: controls, separators other than the space, and format characters are not printable.
bool python_isprintable(char32_t c) {
  if (c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0xa0) || c == 0xad) return false;
  if (c == 0x1680 || (c >= 0x2000 && c <= 0x200f) || (c >= 0x2028 && c <= 0x202f) ||
      (c >= 0x205f && c <= 0x2064) || c == 0x3000 || c == 0xfeff)
    return false;
  if (c >= 0xd800 && c <= 0xdfff) return false;
  return true;
}

std::string string_repr(const std::string& text) {
  const bool has_single = text.find('\'') != std::string::npos;
  const bool has_double = text.find('"') != std::string::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (char32_t c : to_code_points(text)) {
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (!python_isprintable(c)) {
      char buffer[16];
      if (c < 0x100)
        std::snprintf(buffer, sizeof buffer, "\\x%02x", static_cast<unsigned>(c));
      else
        std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned>(c));
      out += buffer;
    } else {
      tokenizer::append_utf8(out, c);
    }
  }
  out += quote;
  return out;
}

}  // namespace

std::string Value::str() const {
  switch (kind) {
    case Kind::Undefined: return "";
    case Kind::String: return text;
    default: return repr();
  }
}

std::string Value::repr() const {
  switch (kind) {
    case Kind::Undefined: return "Undefined";
    case Kind::None: return "None";
    case Kind::Bool: return boolean ? "True" : "False";
    case Kind::Int: return std::to_string(integer);
    case Kind::Float: return float_repr(number);
    case Kind::String: return string_repr(text);
    case Kind::List: {
      if (sequence == Sequence::Range || sequence == Sequence::Iterator)
        throw RenderError("cannot print a " + type_name() + " object (Python prints its type and address)");
      const bool tuple = sequence == Sequence::Tuple;
      std::string out = tuple ? "(" : "[";
      for (std::size_t i = 0; i < list->size(); ++i) out += (i ? ", " : "") + (*list)[i].repr();
      if (tuple && list->size() == 1) out += ",";
      out += tuple ? ")" : "]";
      return sequence == Sequence::DictView ? sequence_name + "(" + out + ")" : out;
    }
    case Kind::Dict:
    case Kind::Namespace: {
      if (kind == Kind::Dict && !object_type.empty()) throw RenderError("cannot print jinja2's " + object_type + " object");
      std::string out = kind == Kind::Namespace ? "<Namespace {" : "{";
      for (std::size_t i = 0; i < dict->items.size(); ++i)
        out += (i ? ", " : "") + string_repr(dict->items[i].first) + ": " + dict->items[i].second.repr();
      return out + (kind == Kind::Namespace ? "}>" : "}");
    }
    case Kind::Function: throw RenderError("cannot print a function");
  }
  return "";
}

bool equal(const Value& a, const Value& b) {
  using Kind = Value::Kind;
  if (a.is_number() && b.is_number()) {
    if (a.kind != Kind::Float && b.kind != Kind::Float) {
      const std::int64_t x = a.kind == Kind::Bool ? a.boolean : a.integer;
      const std::int64_t y = b.kind == Kind::Bool ? b.boolean : b.integer;
      return x == y;
    }
    return a.as_double() == b.as_double();
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Kind::Undefined:
    case Kind::None: return true;
    case Kind::String: return a.text == b.text;
    case Kind::List:
      if (a.sequence == Value::Sequence::Iterator || b.sequence == Value::Sequence::Iterator) return a.list == b.list;
      if (a.sequence == Value::Sequence::DictView || b.sequence == Value::Sequence::DictView)
        throw RenderError("comparing dict views is not supported");
      if (a.sequence != b.sequence || a.list->size() != b.list->size()) return false;
      for (std::size_t i = 0; i < a.list->size(); ++i)
        if (!equal((*a.list)[i], (*b.list)[i])) return false;
      return true;
    case Kind::Dict:
      if (a.is_loop() || b.is_loop()) return a.dict == b.dict;
      if (a.dict->items.size() != b.dict->items.size()) return false;
      for (const auto& [key, value] : a.dict->items) {
        const Value* other = b.dict->find(key);
        if (!other || !equal(value, *other)) return false;
      }
      return true;
    default: return a.dict == b.dict && a.function == b.function;  // identity
  }
}

std::vector<Value> iterate(const Value& value) {
  switch (value.kind) {
    case Value::Kind::Undefined: return {};
    case Value::Kind::List: {
      if (!value.is_iterator()) return *value.list;
      std::vector<Value> rest(value.list->begin() + static_cast<std::ptrdiff_t>(*value.consumed), value.list->end());
      *value.consumed = value.list->size();
      return rest;
    }
    case Value::Kind::Dict: {
      if (value.is_loop()) throw RenderError("iterating jinja2's loop object is not supported");
      std::vector<Value> keys;
      for (const auto& item : value.dict->items) keys.push_back(Value::from_string(item.first));
      return keys;
    }
    case Value::Kind::String: {
      // A character is a Value of its own (a few hundred bytes): a long string iterated would
      // take gigabytes.
      if (value.text.size() > kMaxSequenceItems)
        throw RenderError("iterating a string of " + std::to_string(value.text.size()) + " bytes (at most " +
                          std::to_string(kMaxSequenceItems) + ")");
      std::vector<Value> chars;
      for (char32_t c : to_code_points(value.text)) chars.push_back(Value::from_string(from_code_points(std::u32string(1, c))));
      return chars;
    }
    default: throw RenderError("'" + value.type_name() + "' object is not iterable");
  }
}

std::optional<Value> next_item(const Value& iterator) {
  if (*iterator.consumed >= iterator.list->size()) return std::nullopt;
  return (*iterator.list)[(*iterator.consumed)++];
}

std::int64_t python_len(const Value& value) {
  switch (value.kind) {
    case Value::Kind::Undefined: return 0;
    case Value::Kind::String: return static_cast<std::int64_t>(to_code_points(value.text).size());
    case Value::Kind::List:
      if (value.is_iterator()) break;
      return static_cast<std::int64_t>(value.list->size());
    case Value::Kind::Dict:
      if (value.is_loop()) return value.dict->find("length")->integer;
      return static_cast<std::int64_t>(value.dict->items.size());
    default: break;
  }
  throw RenderError("object of type '" + value.type_name() + "' has no len()");
}

JsonDumpOptions default_json_dump_options(bool has_indent) {
  JsonDumpOptions options;
  options.has_indent = has_indent;
  options.item_separator = has_indent ? "," : ", ";
  options.key_separator = ": ";
  return options;
}

namespace {

void dump_string(std::string& out, const std::string& text, bool ensure_ascii) {
  out += '"';
  for (char32_t c : to_code_points(text)) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default: {
        char buffer[16];
        if (c < 0x20 || (ensure_ascii && c > 0x7f)) {
          if (c >= 0x10000) {  // a surrogate pair, as json.dumps writes it
            const char32_t v = c - 0x10000;
            std::snprintf(buffer, sizeof buffer, "\\u%04x\\u%04x", static_cast<unsigned>(0xd800 + (v >> 10)),
                          static_cast<unsigned>(0xdc00 + (v & 0x3ff)));
          } else {
            std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned>(c));
          }
          out += buffer;
        } else {
          tokenizer::append_utf8(out, c);
        }
      }
    }
  }
  out += '"';
}

void dump(std::string& out, const Value& value, const JsonDumpOptions& options, int level) {
  auto newline = [&](int depth) {
    if (!options.has_indent) return;
    // A long indent repeated at every line and level could ask for terabytes.
    check_string_size(out.size() + 1 + options.indent.size() * static_cast<std::size_t>(depth), "tojson");
    out += '\n';
    for (int i = 0; i < depth; ++i) out += options.indent;
  };
  switch (value.kind) {
    case Value::Kind::None: out += "null"; return;
    case Value::Kind::Bool: out += value.boolean ? "true" : "false"; return;
    case Value::Kind::Int: out += std::to_string(value.integer); return;
    case Value::Kind::Float:
      if (std::isnan(value.number)) out += "NaN";
      else if (std::isinf(value.number)) out += value.number > 0 ? "Infinity" : "-Infinity";
      else out += float_repr(value.number);
      return;
    case Value::Kind::String: dump_string(out, value.text, options.ensure_ascii); return;
    case Value::Kind::List: {
      if (value.sequence != Value::Sequence::List && value.sequence != Value::Sequence::Tuple) break;
      if (value.list->empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (std::size_t i = 0; i < value.list->size(); ++i) {
        if (i) out += options.item_separator;
        newline(level + 1);
        dump(out, (*value.list)[i], options, level + 1);
      }
      newline(level);
      out += ']';
      return;
    }
    case Value::Kind::Dict: {
      if (value.is_loop()) break;
      if (value.dict->items.empty()) {
        out += "{}";
        return;
      }
      std::vector<const std::pair<std::string, Value>*> items;
      for (const auto& item : value.dict->items) items.push_back(&item);
      if (options.sort_keys)
        std::stable_sort(items.begin(), items.end(), [](auto* a, auto* b) {
          return to_code_points(a->first) < to_code_points(b->first);
        });
      out += '{';
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += options.item_separator;
        newline(level + 1);
        dump_string(out, items[i]->first, options.ensure_ascii);
        out += options.key_separator;
        dump(out, items[i]->second, options, level + 1);
      }
      newline(level);
      out += '}';
      return;
    }
    default: break;
  }
  throw RenderError("Object of type " + value.type_name() + " is not JSON serializable");
}

}  // namespace

std::string json_dumps(const Value& value, const JsonDumpOptions& options) {
  std::string out;
  dump(out, value, options, 0);
  return out;
}

}  // namespace quorum::chat
