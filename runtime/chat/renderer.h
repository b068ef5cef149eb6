// Executes a parsed chat template against a context, with jinja2's scoping (a for loop's
// body has its own scope per iteration; if/else does not), loop variables and loop controls.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/chat/ast.h"
#include "runtime/chat/value.h"

namespace quorum::chat {

// The most a template may print: far beyond any prompt, small enough to fail fast when a
// template multiplies text without bound.
constexpr std::size_t kMaxRenderedBytes = 64u << 20;

// The most steps a render may take (renderer.cpp, Renderer::charge: a statement or expression
// is one, a loop iteration eight, each item of a list made or compared two, each KB of a string
// copied one, each 16 bytes of a string read by a filter, test, index, slice or method one).
// Rendering a 200-message conversation with a published template (Qwen3, Llama 3.1, Mistral
// v0.3, Qwen2.5) takes 7 000-18 000 steps; the limit stops a template that would run for hours
// (nested loops over range(100000)) within a second (two under ASan and UBSan).
constexpr std::uint64_t kMaxRenderSteps = 250'000;

// context: the top-level variables (a Dict value). InputError(name, line, "chat_template", ...)
// for a render error, InputError(name, 0, "chat_template", message) for raise_exception.
std::string render_template(const Body& body, const std::string& name, const Value& context);

}  // namespace quorum::chat
