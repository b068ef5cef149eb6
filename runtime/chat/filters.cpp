// jinja2's filters and tests, with transformers' tojson, as chat templates use them.
#include <cmath>
#include <cstdlib>
#include <set>

#include "runtime/chat/builtins.h"
#include "runtime/chat/python_text.h"

namespace quorum::chat {
namespace {

const std::set<std::string> kFilters = {
    "abs", "capitalize", "count", "d", "default", "first", "float", "int", "items", "join", "last",
    "length", "list", "lower", "map", "reject", "rejectattr", "replace", "reverse", "safe", "select",
    "selectattr", "string", "title", "tojson", "trim", "upper"};

const std::set<std::string> kTests = {
    "boolean", "defined", "divisibleby", "eq", "equalto", "even", "false", "float", "ge", "greaterthan", "gt",
    "in", "integer", "iterable", "le", "lessthan", "lower", "lt", "mapping", "ne", "none", "number", "odd",
    "sameas", "sequence", "string", "true", "undefined", "upper"};

void check_arguments(const std::string& filter, const Args& args, const Kwargs& kwargs, std::size_t most,
                     const std::set<std::string>& names = {}) {
  if (args.size() > most) throw RenderError("filter '" + filter + "' takes at most " + std::to_string(most) + " arguments");
  for (const auto& [k, v] : kwargs)
    if (!names.count(k)) throw RenderError("filter '" + filter + "' got an unexpected keyword argument '" + k + "'");
}

}  // namespace

bool python_compare(const std::string& op, const Value& a, const Value& b) {
  auto decide = [&op](const auto& x, const auto& y) {
    if (op == "<") return x < y;
    if (op == "<=") return x <= y;
    if (op == ">") return x > y;
    return x >= y;  // a NaN operand makes all four false, as in Python
  };
  if (a.is_number() && b.is_number()) {
    if (a.kind != Value::Kind::Float && b.kind != Value::Kind::Float) {
      const std::int64_t x = a.kind == Value::Kind::Bool ? a.boolean : a.integer;
      const std::int64_t y = b.kind == Value::Kind::Bool ? b.boolean : b.integer;
      return decide(x, y);
    }
    return decide(a.as_double(), b.as_double());
  }
  if (a.is_string() && b.is_string()) return decide(a.text, b.text);  // UTF-8 byte order is code point order
  if (a.is_undefined()) throw RenderError(undefined_message(a));
  if (b.is_undefined()) throw RenderError(undefined_message(b));
  throw RenderError("'" + op + "' not supported between instances of '" + a.type_name() + "' and '" + b.type_name() + "'");
}

bool python_contains(const Value& container, const Value& item) {
  switch (container.kind) {
    case Value::Kind::Undefined: return false;
    case Value::Kind::String:
      if (!item.is_string()) throw RenderError("'in <string>' requires string as left operand, not " + item.type_name());
      return container.text.find(item.text) != std::string::npos;
    case Value::Kind::List:
      if (container.is_iterator()) {  // Python consumes the iterator up to the match
        while (const auto element = next_item(container))
          if (equal(*element, item)) return true;
        return false;
      }
      for (const Value& element : *container.list)
        if (equal(element, item)) return true;
      return false;
    case Value::Kind::Dict:
      if (container.is_loop()) throw RenderError("iterating jinja2's loop object is not supported");
      return item.is_string() && container.dict->find(item.text) != nullptr;
    default: throw RenderError("argument of type '" + container.type_name() + "' is not iterable");
  }
}

namespace {

// jinja2's attribute getter for selectattr/map/join: "a.b.0" walks items.
Value lookup_path(const Value& item, const std::string& path) {
  Value current = item;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const bool numeric = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
    current = get_item(current, numeric ? Value::from_int(std::stoll(part)) : Value::from_string(part));
    if (dot == std::string::npos) return current;
    start = dot + 1;
  }
}

std::vector<Value> select_or_reject(const Value& operand, const Args& args, const Kwargs& kwargs, bool by_attribute,
                                    bool select, const std::string& filter) {
  if (!kwargs.empty()) throw RenderError("filter '" + filter + "' takes no keyword arguments");
  std::size_t next = 0;
  std::string attribute;
  if (by_attribute) {
    if (args.empty() || !args[0].is_string()) throw RenderError("filter '" + filter + "' needs an attribute name");
    attribute = args[0].text;
    next = 1;
  }
  std::string test;
  Args test_args;
  if (args.size() > next) {
    if (!args[next].is_string()) throw RenderError("filter '" + filter + "' needs a test name");
    test = args[next].text;
    if (!kTests.count(test)) throw RenderError("unsupported test '" + test + "'");
    test_args.assign(args.begin() + static_cast<std::ptrdiff_t>(next + 1), args.end());
  }
  std::vector<Value> out;
  for (const Value& item : iterate(operand)) {
    const Value subject = by_attribute ? lookup_path(item, attribute) : item;
    const bool passes = test.empty() ? subject.truthy() : apply_test(test, subject, test_args);
    if (passes == select) out.push_back(item);
  }
  return out;
}

Value tojson(const Value& operand, const Args& args, const Kwargs& kwargs) {
  // transformers: json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
  check_arguments("tojson", args, kwargs, 4, {"ensure_ascii", "indent", "separators", "sort_keys"});
  const Value* ensure_ascii = argument(args, kwargs, 0, "ensure_ascii");
  const Value* indent = argument(args, kwargs, 1, "indent");
  const Value* separators = argument(args, kwargs, 2, "separators");
  const Value* sort_keys = argument(args, kwargs, 3, "sort_keys");
  const bool has_indent = indent && !indent->is_none();
  JsonDumpOptions options = default_json_dump_options(has_indent);
  if (has_indent) {
    if (indent->kind == Value::Kind::Int) {
      if (indent->integer > 1024) throw RenderError("tojson: indent " + std::to_string(indent->integer) + " is too large (at most 1024)");
      options.indent = std::string(indent->integer > 0 ? indent->integer : 0, ' ');
    }
    else if (indent->is_string()) options.indent = indent->text;
    else throw RenderError("tojson: indent must be an integer or a string");
  }
  if (separators && !separators->is_none()) {
    if (!separators->is_list() || separators->list->size() != 2 || !(*separators->list)[0].is_string() ||
        !(*separators->list)[1].is_string())
      throw RenderError("tojson: separators must be a pair of strings");
    options.item_separator = (*separators->list)[0].text;
    options.key_separator = (*separators->list)[1].text;
  }
  options.ensure_ascii = ensure_ascii && ensure_ascii->truthy();
  options.sort_keys = sort_keys && sort_keys->truthy();
  return Value::from_string(json_dumps(operand, options));
}

// jinja2's reverse filter: a reversed string, a reverse iterator over a sequence or dict, or
// (for what cannot be reversed in place, such as a generator) a reversed list.
Value reverse(const Value& operand) {
  if (operand.is_string()) return Value::from_string(python_slice(operand.text, std::nullopt, std::nullopt, -1));
  if (operand.is_iterator()) {
    std::vector<Value> items = iterate(operand);
    return Value::from_list(std::vector<Value>(items.rbegin(), items.rend()));
  }
  std::vector<Value> items = iterate(operand);
  const std::string type = operand.is_dict() ? "dict_reversekeyiterator"
                           : operand.is_list() ? operand.type_name() + "_reverseiterator"
                                               : "reversed";
  return Value::new_iterator(std::vector<Value>(items.rbegin(), items.rend()), type);
}

Value to_int(const Value& operand, const Value& fallback) {
  switch (operand.kind) {
    case Value::Kind::Int: return operand;
    case Value::Kind::Bool: return Value::from_int(operand.boolean);
    case Value::Kind::Float:
      if (!std::isfinite(operand.number)) return fallback;
      return Value::from_int(static_cast<std::int64_t>(std::trunc(operand.number)));
    case Value::Kind::String: {
      const std::string text = python_strip(operand.text, std::nullopt, true, true);
      char* end = nullptr;
      errno = 0;
      const long long i = std::strtoll(text.c_str(), &end, 10);
      if (!text.empty() && *end == '\0' && errno == 0) return Value::from_int(i);
      const double d = std::strtod(text.c_str(), &end);  // jinja2 retries as float
      if (!text.empty() && *end == '\0' && std::isfinite(d)) return Value::from_int(static_cast<std::int64_t>(std::trunc(d)));
      return fallback;
    }
    default: return fallback;
  }
}

}  // namespace

bool is_known_filter(const std::string& name) { return kFilters.count(name) > 0; }
bool is_known_test(const std::string& name) { return kTests.count(name) > 0; }

Value apply_filter(const std::string& name, const Value& operand, const Args& args, const Kwargs& kwargs) {
  if (name == "tojson") return tojson(operand, args, kwargs);
  if (name == "trim") {
    check_arguments(name, args, kwargs, 1, {"chars"});
    const Value* chars = argument(args, kwargs, 0, "chars");
    std::optional<std::string> set;
    if (chars && !chars->is_none()) set = chars->str();
    return Value::from_string(python_strip(operand.str(), set, true, true));
  }
  if (name == "length" || name == "count") {
    check_arguments(name, args, kwargs, 0);
    return Value::from_int(python_len(operand));
  }
  if (name == "string") {
    check_arguments(name, args, kwargs, 0);
    return Value::from_string(operand.str());
  }
  if (name == "safe") {
    check_arguments(name, args, kwargs, 0);
    return operand;  // no autoescaping in transformers' environment: marking safe changes nothing
  }
  if (name == "upper" || name == "lower" || name == "capitalize" || name == "title") {
    check_arguments(name, args, kwargs, 0);
    const std::string text = operand.str();
    if (name == "upper") return Value::from_string(python_upper(text));
    if (name == "lower") return Value::from_string(python_lower(text));
    if (name == "capitalize") return Value::from_string(python_capitalize(text));
    return Value::from_string(python_title(text));
  }
  if (name == "replace") {
    check_arguments(name, args, kwargs, 3, {"old", "new", "count"});
    const Value* old = argument(args, kwargs, 0, "old");
    const Value* replacement = argument(args, kwargs, 1, "new");
    const Value* count = argument(args, kwargs, 2, "count");
    if (!old || !replacement) throw RenderError("filter 'replace' needs the old and the new text");
    std::int64_t n = -1;
    if (count && !count->is_none()) n = count->kind == Value::Kind::Int ? count->integer : throw RenderError("replace: count must be an integer");
    return Value::from_string(python_replace(operand.str(), old->str(), replacement->str(), n));
  }
  if (name == "default" || name == "d") {
    check_arguments(name, args, kwargs, 2, {"default_value", "boolean"});
    const Value* fallback = argument(args, kwargs, 0, "default_value");
    const Value* boolean = argument(args, kwargs, 1, "boolean");
    const bool use_fallback = operand.is_undefined() || (boolean && boolean->truthy() && !operand.truthy());
    return use_fallback ? (fallback ? *fallback : Value::from_string("")) : operand;
  }
  if (name == "first" || name == "last") {
    check_arguments(name, args, kwargs, 0);
    const std::string empty = "No " + name + " item, sequence was empty.";
    if (operand.is_iterator()) {
      if (name == "last") throw RenderError("'" + operand.type_name() + "' object is not reversible");
      const auto item = next_item(operand);
      return item ? *item : Value::undefined(empty);
    }
    const std::vector<Value> items = iterate(operand);
    if (items.empty()) return Value::undefined(empty);
    return name == "first" ? items.front() : items.back();
  }
  if (name == "list") {
    check_arguments(name, args, kwargs, 0);
    return Value::from_list(iterate(operand));
  }
  if (name == "reverse") {
    check_arguments(name, args, kwargs, 0);
    return reverse(operand);
  }
  if (name == "items") {
    check_arguments(name, args, kwargs, 0);
    if (operand.is_undefined()) return Value::new_iterator({});
    if (!operand.is_dict() || operand.is_loop()) throw RenderError("Can only get item pairs from a mapping.");
    std::vector<Value> out;
    for (const auto& [k, v] : operand.dict->items)
      out.push_back(Value::from_list({Value::from_string(k), v}, Value::Sequence::Tuple));
    return Value::new_iterator(std::move(out));
  }
  if (name == "join") {
    check_arguments(name, args, kwargs, 2, {"d", "attribute"});
    const Value* separator = argument(args, kwargs, 0, "d");
    const Value* attribute = argument(args, kwargs, 1, "attribute");
    std::string out;
    bool first = true;
    for (const Value& item : iterate(operand)) {
      if (!first && separator) out += separator->str();
      first = false;
      out += (attribute && !attribute->is_none() ? lookup_path(item, attribute->str()) : item).str();
      check_string_size(out.size(), "join");
    }
    return Value::from_string(out);
  }
  if (name == "select" || name == "reject")
    return Value::new_iterator(select_or_reject(operand, args, kwargs, false, name == "select", name));
  if (name == "selectattr" || name == "rejectattr")
    return Value::new_iterator(select_or_reject(operand, args, kwargs, true, name == "selectattr", name));
  if (name == "map") {
    std::vector<Value> out;
    if (const Value* attribute = keyword(kwargs, "attribute")) {
      check_arguments(name, args, kwargs, 0, {"attribute", "default"});
      const Value* fallback = keyword(kwargs, "default");
      for (const Value& item : iterate(operand)) {
        Value v = lookup_path(item, attribute->str());
        out.push_back(v.is_undefined() && fallback ? *fallback : v);
      }
      return Value::new_iterator(std::move(out));
    }
    if (args.empty() || !args[0].is_string()) throw RenderError("filter 'map' needs a filter name or attribute=");
    const std::string filter = args[0].text;
    if (!kFilters.count(filter)) throw RenderError("unsupported filter '" + filter + "'");
    const Args rest(args.begin() + 1, args.end());
    for (const Value& item : iterate(operand)) out.push_back(apply_filter(filter, item, rest, kwargs));
    return Value::new_iterator(std::move(out));
  }
  if (name == "int") {
    check_arguments(name, args, kwargs, 1, {"default"});
    const Value* fallback = argument(args, kwargs, 0, "default");
    return to_int(operand, fallback ? *fallback : Value::from_int(0));
  }
  if (name == "float") {
    check_arguments(name, args, kwargs, 1, {"default"});
    const Value* fallback = argument(args, kwargs, 0, "default");
    if (operand.is_number()) return Value::from_float(operand.as_double());
    if (operand.is_string()) {
      const std::string text = python_strip(operand.text, std::nullopt, true, true);
      char* end = nullptr;
      const double d = std::strtod(text.c_str(), &end);
      if (!text.empty() && *end == '\0') return Value::from_float(d);
    }
    return fallback ? *fallback : Value::from_float(0.0);
  }
  if (name == "abs") {
    check_arguments(name, args, kwargs, 0);
    if (operand.kind == Value::Kind::Int) {
      if (operand.integer == INT64_MIN) throw RenderError("integer overflow");
      return Value::from_int(operand.integer < 0 ? -operand.integer : operand.integer);
    }
    if (operand.kind == Value::Kind::Bool) return Value::from_int(operand.boolean);
    if (operand.kind == Value::Kind::Float) return Value::from_float(std::fabs(operand.number));
    throw RenderError("bad operand type for abs(): '" + operand.type_name() + "'");
  }
  throw RenderError("unsupported filter '" + name + "'");
}

bool apply_test(const std::string& name, const Value& operand, const Args& args) {
  using Kind = Value::Kind;
  auto one_argument = [&]() -> const Value& {
    if (args.size() != 1) throw RenderError("test '" + name + "' takes exactly one argument");
    return args[0];
  };
  if (name != "defined" && name != "undefined" && name != "none" && name != "string" && name != "mapping" &&
      name != "iterable" && name != "sequence" && name != "number" && name != "integer" && name != "float" &&
      name != "boolean" && name != "true" && name != "false" && name != "lower" && name != "upper" &&
      name != "odd" && name != "even") {
    one_argument();
  } else if (!args.empty()) {
    throw RenderError("test '" + name + "' takes no arguments");
  }
  if (name == "defined") return !operand.is_undefined();
  if (name == "undefined") return operand.is_undefined();
  if (name == "none") return operand.is_none();
  if (name == "string") return operand.is_string();
  if (name == "mapping") return operand.is_dict() && !operand.is_loop();
  // jinja2's Undefined iterates (as empty) and has a length and __getitem__, so it passes
  // these two; generators and dict views iterate but cannot be indexed.
  if (name == "iterable") return operand.kind == Kind::Undefined || operand.is_string() || operand.is_list() || operand.is_dict();
  if (name == "sequence")
    return operand.kind == Kind::Undefined || operand.is_string() || operand.is_indexable() ||
           (operand.is_dict() && !operand.is_loop());
  if (name == "number") return operand.is_number();
  if (name == "integer") return operand.kind == Kind::Int;
  if (name == "float") return operand.kind == Kind::Float;
  if (name == "boolean") return operand.kind == Kind::Bool;
  if (name == "true") return operand.kind == Kind::Bool && operand.boolean;
  if (name == "false") return operand.kind == Kind::Bool && !operand.boolean;
  if (name == "lower" || name == "upper") {
    const std::string text = operand.str();
    const std::string mapped = name == "lower" ? python_lower(text) : python_upper(text);
    const std::string other = name == "lower" ? python_upper(text) : python_lower(text);
    return mapped == text && other != text;  // str.islower/isupper: no opposite-case letter, at least one cased
  }
  if (name == "odd" || name == "even") {
    if (operand.kind != Kind::Int && operand.kind != Kind::Bool) throw RenderError("test '" + name + "' needs an integer");
    const std::int64_t v = operand.kind == Kind::Bool ? operand.boolean : operand.integer;
    return (v % 2 != 0) == (name == "odd");
  }
  const Value& other = args[0];
  if (name == "eq" || name == "equalto") return equal(operand, other);
  if (name == "ne") return !equal(operand, other);
  if (name == "lt" || name == "lessthan") return python_compare("<", operand, other);
  if (name == "le") return python_compare("<=", operand, other);
  if (name == "gt" || name == "greaterthan") return python_compare(">", operand, other);
  if (name == "ge") return python_compare(">=", operand, other);
  if (name == "in") return python_contains(other, operand);
  if (name == "divisibleby") {
    if (operand.kind != Kind::Int || other.kind != Kind::Int) throw RenderError("test 'divisibleby' needs integers");
    if (other.integer == 0) throw RenderError("integer division or modulo by zero");
    return operand.integer % other.integer == 0;
  }
  if (name == "sameas") {
    // Python's `is`: singletons compare by value, containers by identity; for str and
    // numbers identity depends on CPython's interning, which quorum cannot reproduce.
    if (operand.is_none() || operand.kind == Kind::Bool || operand.is_undefined() || other.is_none() ||
        other.kind == Kind::Bool)
      return operand.kind == other.kind && equal(operand, other);
    if (operand.is_list() || operand.is_dict() || operand.kind == Kind::Namespace)
      return operand.kind == other.kind && operand.list == other.list && operand.dict == other.dict;
    throw RenderError("test 'sameas' on a " + operand.type_name() + " is not supported");
  }
  throw RenderError("unsupported test '" + name + "'");
}

}  // namespace quorum::chat
