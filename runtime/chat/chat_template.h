// A checkpoint's chat template (Jinja2), rendered byte for byte as Hugging Face transformers
// renders it (docs/chat_templates.md): quorum builds policy and PRM prompts with the model's
// own template instead of hand-written formats.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace quorum::chat {

struct Message {
  std::string role;
  std::string content;
};

struct Stmt;

class ChatTemplate {
 public:
  // Parses a template; InputError(name, line, "chat_template", ...) for a syntax error or a
  // construct quorum does not render, naming it ("unsupported filter 'xyz'", "unsupported tag
  // 'macro'").
  static ChatTemplate parse(const std::string& source, const std::string& name);

  // Renders with `messages` (a list of {role, content} dicts), `add_generation_prompt` and the
  // further top-level variables in `variables` (bos_token, eos_token, date_string, tools, ...;
  // a JSON object; `tools` and `documents` default to none, as transformers passes them).
  // raise_exception(msg) in the template gives InputError(name, 0,
  // "chat_template", msg); other render errors name the template line.
  std::string render(const std::vector<Message>& messages, bool add_generation_prompt,
                     const nlohmann::json& variables = nlohmann::json::object()) const;

  // Renders with a whole context given as a JSON object, for conversations whose messages
  // carry more than role and content (tool_calls, reasoning_content, ...). As transformers,
  // `tools` and `documents` are none when the context does not set them.
  std::string render_context(const nlohmann::json& context) const;

  const std::string& name() const { return name_; }

 private:
  ChatTemplate() = default;
  std::string name_;
  std::shared_ptr<const std::vector<std::unique_ptr<Stmt>>> body_;  // immutable once parsed
};

// A model directory's own template: DIR/chat_template.jinja if present, else
// tokenizer_config.json's "chat_template" (a string, or a list of {"name", "template"} objects
// whose "default" entry is taken). std::nullopt when the directory has neither.
std::optional<ChatTemplate> load_chat_template(const std::string& directory);

}  // namespace quorum::chat
