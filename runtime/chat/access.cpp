// Attribute and item access, Python's str/dict/list methods, and the global functions.
#include <ctime>
#include <set>

#include "runtime/chat/builtins.h"
#include "runtime/chat/python_text.h"

namespace quorum::chat {
namespace {

// Python's public attribute names of str, dict and list: reading one gives a method (so a
// template's `x.upper is defined` is true); quorum implements the common ones and refuses
// the others when they are called.
const std::set<std::string> kStrAttributes = {
    "capitalize", "casefold", "center", "count", "encode", "endswith", "expandtabs", "find", "format",
    "format_map", "index", "isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "isidentifier",
    "islower", "isnumeric", "isprintable", "isspace", "istitle", "isupper", "join", "ljust", "lower",
    "lstrip", "maketrans", "partition", "removeprefix", "removesuffix", "replace", "rfind", "rindex",
    "rjust", "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase",
    "title", "translate", "upper", "zfill"};
const std::set<std::string> kDictAttributes = {"clear", "copy", "fromkeys", "get", "items", "keys",
                                               "pop", "popitem", "setdefault", "update", "values"};
const std::set<std::string> kListAttributes = {"append", "clear", "copy", "count", "extend", "index",
                                               "insert", "pop", "remove", "reverse", "sort"};

void check_arity(const std::string& method, const Args& args, const Kwargs& kwargs, std::size_t most,
                 const std::set<std::string>& keywords = {}) {
  if (args.size() > most) throw RenderError(method + "() takes at most " + std::to_string(most) + " arguments");
  for (const auto& [k, v] : kwargs)
    if (!keywords.count(k)) throw RenderError(method + "() got an unexpected keyword argument '" + k + "'");
}

const std::string& string_argument(const Value& v, const std::string& method) {
  if (!v.is_string()) throw RenderError(method + "() argument must be str, not " + v.type_name());
  return v.text;
}

std::optional<std::string> optional_chars(const Value* v, const std::string& method) {
  if (!v || v->is_none()) return std::nullopt;
  return string_argument(*v, method);
}

std::int64_t int_argument(const Value* v, std::int64_t absent, const std::string& method) {
  if (!v || v->is_none()) return absent;
  if (v->kind == Value::Kind::Int) return v->integer;
  if (v->kind == Value::Kind::Bool) return v->boolean;
  throw RenderError(method + "() expects an integer, got " + v->type_name());
}

Value unsupported_method(const std::string& type, const std::string& name) {
  return Value::from_function([type, name](const Args&, const Kwargs&) -> Value {
    throw RenderError("unsupported " + type + " method '" + name + "'");
  });
}

Value string_method(const std::string& text, const std::string& name) {
  using F = std::function<Value(const Args&, const Kwargs&)>;
  F f;
  const std::string method = "str." + name;
  if (name == "startswith" || name == "endswith") {
    const bool starts = name == "startswith";
    f = [text, starts, method](const Args& args, const Kwargs& kwargs) {
      check_arity(method, args, kwargs, 1);
      if (args.empty()) throw RenderError(method + "() takes at least 1 argument");
      const std::string& affix = string_argument(args[0], method);
      const bool match = affix.size() <= text.size() &&
                         (starts ? text.compare(0, affix.size(), affix) == 0
                                 : text.compare(text.size() - affix.size(), affix.size(), affix) == 0);
      return Value::from_bool(match);
    };
  } else if (name == "strip" || name == "lstrip" || name == "rstrip") {
    const bool left = name != "rstrip", right = name != "lstrip";
    f = [text, left, right, method](const Args& args, const Kwargs& kwargs) {
      check_arity(method, args, kwargs, 1);
      return Value::from_string(python_strip(text, optional_chars(args.empty() ? nullptr : &args[0], method), left, right));
    };
  } else if (name == "split") {
    f = [text, method](const Args& args, const Kwargs& kwargs) {
      check_arity(method, args, kwargs, 2, {"sep", "maxsplit"});
      const auto sep = optional_chars(argument(args, kwargs, 0, "sep"), method);
      const std::int64_t maxsplit = int_argument(argument(args, kwargs, 1, "maxsplit"), -1, method);
      std::vector<Value> parts;
      for (auto& part : python_split(text, sep, maxsplit)) parts.push_back(Value::from_string(std::move(part)));
      return Value::from_list(std::move(parts));
    };
  } else if (name == "replace") {
    f = [text, method](const Args& args, const Kwargs& kwargs) {
      check_arity(method, args, kwargs, 3, {"count"});
      if (args.size() < 2) throw RenderError(method + "() takes at least 2 arguments");
      const std::int64_t count = int_argument(argument(args, kwargs, 2, "count"), -1, method);
      return Value::from_string(python_replace(text, string_argument(args[0], method), string_argument(args[1], method), count));
    };
  } else if (name == "upper" || name == "lower" || name == "capitalize" || name == "title") {
    f = [text, name, method](const Args& args, const Kwargs& kwargs) {
      check_arity(method, args, kwargs, 0);
      if (name == "upper") return Value::from_string(python_upper(text));
      if (name == "lower") return Value::from_string(python_lower(text));
      if (name == "capitalize") return Value::from_string(python_capitalize(text));
      return Value::from_string(python_title(text));
    };
  } else if (name == "join") {
    f = [text, method](const Args& args, const Kwargs& kwargs) {
      check_arity(method, args, kwargs, 1);
      if (args.empty()) throw RenderError(method + "() takes exactly one argument");
      std::string out;
      bool first = true;
      for (const Value& item : iterate(args[0])) {
        if (!first) out += text;
        first = false;
        out += string_argument(item, method);
      }
      return Value::from_string(out);
    };
  } else {
    return unsupported_method("str", name);
  }
  return Value::from_function(std::move(f));
}

Value dict_method(const std::shared_ptr<Dict>& dict, const std::string& name) {
  if (name == "get")
    return Value::from_function([dict](const Args& args, const Kwargs& kwargs) {
      check_arity("dict.get", args, kwargs, 2);
      if (args.empty()) throw RenderError("dict.get() takes at least 1 argument");
      if (args[0].is_string())
        if (const Value* v = dict->find(args[0].text)) return *v;
      return args.size() > 1 ? args[1] : Value::none();
    });
  if (name == "items" || name == "keys" || name == "values")
    return Value::from_function([dict, name](const Args& args, const Kwargs& kwargs) {
      check_arity("dict." + name, args, kwargs, 0);
      std::vector<Value> out;
      for (const auto& [k, v] : dict->items) {
        if (name == "items") out.push_back(Value::from_list({Value::from_string(k), v}, Value::Sequence::Tuple));
        else if (name == "keys") out.push_back(Value::from_string(k));
        else out.push_back(v);
      }
      return Value::from_list(std::move(out), Value::Sequence::DictView, "dict_" + name);
    });
  return unsupported_method("dict", name);
}

}  // namespace

std::string undefined_message(const Value& undefined) {
  return undefined.text.empty() ? "value is undefined" : undefined.text;
}

Value get_attribute(const Value& object, const std::string& name) {
  switch (object.kind) {
    case Value::Kind::Undefined: throw RenderError(undefined_message(object));
    case Value::Kind::Dict:
      if (object.is_loop()) {
        if (name == "cycle" || name == "changed") return unsupported_method("loop", name);
        if (const Value* v = object.dict->find(name)) return *v;
        return Value::undefined("'" + object.object_type + " object' has no attribute '" + name + "'");
      }
      if (kDictAttributes.count(name)) return dict_method(object.dict, name);
      if (const Value* v = object.dict->find(name)) return *v;
      return Value::undefined("'dict object' has no attribute '" + name + "'");
    case Value::Kind::Namespace:
      if (const Value* v = object.dict->find(name)) return *v;
      return Value::undefined("'Namespace object' has no attribute '" + name + "'");
    case Value::Kind::String:
      if (kStrAttributes.count(name)) return string_method(object.text, name);
      return Value::undefined("'str object' has no attribute '" + name + "'");
    case Value::Kind::List:
      if (object.is_indexable() && object.sequence != Value::Sequence::Range && kListAttributes.count(name))
        return unsupported_method(object.type_name(), name);
      return Value::undefined("'" + object.type_name() + " object' has no attribute '" + name + "'");
    default: return Value::undefined("'" + object.type_name() + " object' has no attribute '" + name + "'");
  }
}

Value get_item(const Value& object, const Value& key) {
  if (object.is_undefined()) throw RenderError(undefined_message(object));
  const bool integer_key = key.kind == Value::Kind::Int || key.kind == Value::Kind::Bool;
  const std::int64_t index = key.kind == Value::Kind::Bool ? key.boolean : key.integer;
  if (object.is_dict() && !object.is_loop() && key.is_string()) {
    if (const Value* v = object.dict->find(key.text)) return *v;
  } else if (object.is_indexable() && integer_key) {
    const auto n = static_cast<std::int64_t>(object.list->size());
    const std::int64_t i = index < 0 ? index + n : index;
    if (i >= 0 && i < n) return (*object.list)[i];
    return Value::undefined("list object has no element " + std::to_string(index));
  } else if (object.is_string() && integer_key) {
    const std::u32string chars = to_code_points(object.text);
    const auto n = static_cast<std::int64_t>(chars.size());
    const std::int64_t i = index < 0 ? index + n : index;
    if (i >= 0 && i < n) return Value::from_string(from_code_points(chars.substr(i, 1)));
    return Value::undefined("str object has no element " + std::to_string(index));
  }
  if (key.is_string()) return get_attribute(object, key.text);
  return Value::undefined("'" + object.type_name() + " object' has no element " + key.repr());
}

Dict global_functions() {
  Dict globals;
  globals.set("raise_exception", Value::from_function([](const Args& args, const Kwargs&) -> Value {
                throw TemplateRaised(args.empty() ? "" : args[0].str());
              }));
  globals.set("strftime_now", Value::from_function([](const Args& args, const Kwargs& kwargs) {
                check_arity("strftime_now", args, kwargs, 1);
                if (args.empty()) throw RenderError("strftime_now() takes exactly one argument");
                const std::string& format = string_argument(args[0], "strftime_now");
                // datetime.now().strftime(format): local time, formatted by the C library as CPython does.
                const std::time_t now = std::time(nullptr);
                std::tm local{};
                localtime_r(&now, &local);
                std::string buffer(256 + format.size() * 16, '\0');
                const std::size_t n = std::strftime(buffer.data(), buffer.size(), format.c_str(), &local);
                if (n == 0 && !format.empty()) throw RenderError("strftime_now: cannot format '" + format + "'");
                buffer.resize(n);
                return Value::from_string(buffer);
              }));
  globals.set("namespace", Value::from_function([](const Args& args, const Kwargs& kwargs) {
                Dict attributes;
                for (const Value& arg : args) {
                  if (!arg.is_dict()) throw RenderError("namespace() takes a dict or keyword arguments");
                  for (const auto& [k, v] : arg.dict->items) attributes.set(k, v);
                }
                for (const auto& [k, v] : kwargs) attributes.set(k, v);
                return Value::new_namespace(std::move(attributes));
              }));
  globals.set("dict", Value::from_function([](const Args& args, const Kwargs& kwargs) {
                if (!args.empty()) throw RenderError("dict() with positional arguments is not supported");
                Dict d;
                for (const auto& [k, v] : kwargs) d.set(k, v);
                return Value::from_dict(std::move(d));
              }));
  globals.set("range", Value::from_function([](const Args& args, const Kwargs& kwargs) {
                check_arity("range", args, kwargs, 3);
                if (args.empty()) throw RenderError("range expected at least 1 argument");
                std::int64_t start = 0, stop = 0, step = 1;
                if (args.size() == 1) stop = int_argument(&args[0], 0, "range");
                else start = int_argument(&args[0], 0, "range"), stop = int_argument(&args[1], 0, "range");
                if (args.size() == 3) step = int_argument(&args[2], 1, "range");
                if (step == 0) throw RenderError("range() arg 3 must not be zero");
                // jinja2's sandbox caps ranges at MAX_RANGE (100000) items.
                std::vector<Value> out;
                for (std::int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
                  if (out.size() >= 100000) throw RenderError("range too big");
                  out.push_back(Value::from_int(i));
                }
                return Value::from_list(std::move(out), Value::Sequence::Range);
              }));
  return globals;
}

const Value* keyword(const Kwargs& kwargs, const std::string& name) {
  for (const auto& [k, v] : kwargs)
    if (k == name) return &v;
  return nullptr;
}

const Value* argument(const Args& args, const Kwargs& kwargs, std::size_t i, const std::string& name) {
  if (i < args.size()) return &args[i];
  return keyword(kwargs, name);
}

}  // namespace quorum::chat
