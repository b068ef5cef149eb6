// What jinja2 (in transformers' sandboxed environment) gives a template besides syntax:
// filters, tests, attribute and item access with Python's str/dict methods, and the globals.
#pragma once

#include <string>

#include "runtime/chat/value.h"

namespace quorum::chat {

// raise_exception(message) in a template: the renderer turns it into the InputError the
// caller sees, carrying the template's own message.
class TemplateRaised : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Filters and tests quorum implements (the parser refuses any other name).
bool is_known_filter(const std::string& name);
bool is_known_test(const std::string& name);
Value apply_filter(const std::string& name, const Value& operand, const Args& args, const Kwargs& kwargs);
bool apply_test(const std::string& name, const Value& operand, const Args& args);

// Python's a < b, a <= b, a > b, a >= b (op "<", "<=", ">", ">=") for two numbers or two
// strings; RenderError otherwise.
bool python_compare(const std::string& op, const Value& a, const Value& b);
// Python's `item in container` (an Undefined container holds nothing, as in jinja2).
bool python_contains(const Value& container, const Value& item);

// jinja2's obj.name (attribute first, then item) and obj[key] (item first, then attribute).
// Methods come back as Function values bound to obj; Python methods quorum does not
// implement come back as functions that raise when called, so `is defined` still holds.
Value get_attribute(const Value& object, const std::string& name);
Value get_item(const Value& object, const Value& key);

// The global names: raise_exception, strftime_now, namespace, range, dict.
Dict global_functions();

// A call's keyword argument of that name, nullptr when absent.
const Value* keyword(const Kwargs& kwargs, const std::string& name);
// A call's argument i (a filter's counts after its operand), else its keyword form; nullptr
// when absent.
const Value* argument(const Args& args, const Kwargs& kwargs, std::size_t i, const std::string& name);

// The message an Undefined carries, for errors when a template uses it as a value.
std::string undefined_message(const Value& undefined);

}  // namespace quorum::chat
