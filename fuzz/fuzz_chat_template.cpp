// The chat-template engine (runtime/chat: lexer, parser, renderer): the input is a template's
// source, then optionally a NUL byte and a JSON render context (an object of top-level
// variables, or a list taken as `messages`). Without one, a fixed conversation is rendered, with
// the generation prompt when the input's length is even. Whatever the template does (deep nesting, loops over huge
// ranges, huge strings, namespaces inside namespaces), the contract is InputError naming the
// template or success, within the fuzzer's time and memory limits.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "runtime/chat/chat_template.h"
#include "runtime/common/error.h"
#include "runtime/common/json_depth.h"

namespace {

const nlohmann::json& default_variables() {
  static const nlohmann::json variables = {{"bos_token", "<s>"}, {"eos_token", "</s>"}, {"date_string", "26 Jul 2024"}};
  return variables;
}

const std::vector<quorum::chat::Message>& default_messages() {
  static const std::vector<quorum::chat::Message> messages = {
      {"system", "Please reason step by step, and put your final answer within \\boxed{}."},
      {"user", "What is 12 + 30?"},
      {"assistant", "12 + 30 = 42. The answer is \\boxed{42}."},
      {"user", "And 6 * 7?"}};
  return messages;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace quorum;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto nul = input.find('\0');
  const std::string source(input.substr(0, nul));
  std::optional<chat::ChatTemplate> parsed;
  try {
    parsed = chat::ChatTemplate::parse(source, "fuzz.jinja");
  } catch (const InputError& error) {
    if (error.file() != "fuzz.jinja") __builtin_trap();
    return 0;
  }
  const auto check = [](const InputError& error) {
    if (error.file() != "fuzz.jinja" || error.field() != "chat_template") __builtin_trap();
  };
  if (nul != std::string_view::npos) {
    // A context as the callers build it: parsed JSON (what nests too deeply is refused before
    // parsing, as every reader of JSON in quorum does).
    const std::string_view text = input.substr(nul + 1);
    if (!json_depth_problem(text).empty()) return 0;
    const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) return 0;
    nlohmann::json context = json.is_object() ? json : default_variables();
    if (!json.is_object()) context["messages"] = json, context["add_generation_prompt"] = true;
    try {
      (void)parsed->render_context(context);
    } catch (const InputError& error) {
      check(error);
    }
    return 0;
  }
  // One render per input (the input's length picks add_generation_prompt): a template may take
  // up to the renderer's step limit, and two of those under the sanitizers approach -timeout.
  try {
    (void)parsed->render(default_messages(), size % 2 == 0, default_variables());
  } catch (const InputError& error) {
    check(error);
  }
  return 0;
}
