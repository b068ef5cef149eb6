// Executes a parsed chat template against a context, with jinja2's scoping (a for loop's
// body has its own scope per iteration; if/else does not), loop variables and loop controls.
#pragma once

#include <string>

#include "runtime/chat/ast.h"
#include "runtime/chat/value.h"

namespace quorum::chat {

// The most a template may print: far beyond any prompt, small enough to fail fast when a
// template multiplies text without bound.
constexpr std::size_t kMaxRenderedBytes = 64u << 20;

// context: the top-level variables (a Dict value). InputError(name, line, "chat_template", ...)
// for a render error, InputError(name, 0, "chat_template", message) for raise_exception.
std::string render_template(const Body& body, const std::string& name, const Value& context);

}  // namespace quorum::chat
