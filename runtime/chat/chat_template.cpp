#include "runtime/chat/chat_template.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/chat/ast.h"
#include "runtime/chat/lexer.h"
#include "runtime/chat/parser.h"
#include "runtime/chat/renderer.h"
#include "runtime/common/error.h"

namespace quorum::chat {

ChatTemplate ChatTemplate::parse(const std::string& source, const std::string& name) {
  ChatTemplate result;
  result.name_ = name;
  result.body_ = std::make_shared<const Body>(parse_template(lex_template(source, name), name));
  return result;
}

std::string ChatTemplate::render(const std::vector<Message>& messages, bool add_generation_prompt,
                                 const nlohmann::json& variables) const {
  if (!variables.is_object()) throw InputError(name_, 0, "chat_template", "template variables must be a JSON object");
  nlohmann::json context = variables;
  nlohmann::json list = nlohmann::json::array();
  for (const auto& message : messages) list.push_back({{"role", message.role}, {"content", message.content}});
  context["messages"] = std::move(list);
  context["add_generation_prompt"] = add_generation_prompt;
  return render_context(context);
}

std::string ChatTemplate::render_context(const nlohmann::json& context) const {
  if (!context.is_object()) throw InputError(name_, 0, "chat_template", "the template context must be a JSON object");
  Value values;
  try {
    values = Value::from_json(context);
    // transformers always passes tools and documents (None when the caller has none), so
    // `tools is defined` holds in every template it renders.
    for (const char* always : {"tools", "documents"})
      if (!values.dict->find(always)) values.dict->set(always, Value::none());
    // Messages are dicts of role then content, in that order, as transformers receives them.
    if (const Value* messages = values.dict->find("messages"); messages && messages->is_list())
      for (Value& message : *messages->list)
        if (message.is_dict()) {
          Dict ordered;
          for (const char* key : {"role", "content"})
            if (const Value* v = message.dict->find(key)) ordered.set(key, *v);
          for (const auto& [key, value] : message.dict->items) ordered.set(key, value);
          message = Value::from_dict(std::move(ordered));
        }
  } catch (const RenderError& error) {
    throw InputError(name_, 0, "chat_template", error.what());
  }
  return render_template(*body_, name_, values);
}

namespace {

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string(), 0, "", "cannot read the file");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::optional<ChatTemplate> load_chat_template(const std::string& directory) {
  const std::filesystem::path dir(directory);
  const auto jinja = dir / "chat_template.jinja";
  if (std::filesystem::exists(jinja)) return ChatTemplate::parse(read_text(jinja), jinja.string());
  const auto config_path = dir / "tokenizer_config.json";
  if (!std::filesystem::exists(config_path)) return std::nullopt;
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(read_text(config_path));
  } catch (const nlohmann::json::exception& error) {
    throw InputError(config_path.string(), 0, "", std::string("not valid JSON: ") + error.what());
  }
  if (!config.is_object() || !config.contains("chat_template") || config["chat_template"].is_null()) return std::nullopt;
  const nlohmann::json& field = config["chat_template"];
  if (field.is_string()) return ChatTemplate::parse(field.get<std::string>(), config_path.string());
  if (field.is_array()) {
    for (const auto& entry : field) {
      if (!entry.is_object() || !entry.contains("name") || !entry.contains("template") || !entry["name"].is_string() ||
          !entry["template"].is_string())
        throw InputError(config_path.string(), 0, "chat_template", "each entry must be an object with string \"name\" and \"template\"");
      if (entry["name"] == "default") return ChatTemplate::parse(entry["template"].get<std::string>(), config_path.string());
    }
    throw InputError(config_path.string(), 0, "chat_template", "no entry named \"default\"");
  }
  throw InputError(config_path.string(), 0, "chat_template", "must be a string or a list of {name, template} objects");
}

}  // namespace quorum::chat
