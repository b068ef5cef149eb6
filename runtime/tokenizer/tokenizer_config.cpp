#include "runtime/tokenizer/tokenizer_config.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "runtime/common/error.h"
#include "runtime/common/text.h"
#include "runtime/tokenizer/json_reading.h"

namespace quorum::tokenizer {
namespace {

using nlohmann::json;

using json_reading::Context;
using json_reading::find;
using json_reading::quoted;

std::optional<bool> optional_bool(const json& object, const char* key, const std::string& where,
                                  const Context& at) {
  const json* value = find(object, key);
  if (!value) return std::nullopt;
  if (!value->is_boolean()) at.fail(where + key, "expected true or false");
  return value->get<bool>();
}

// A special token is written either as its content or as an AddedToken object
// ({"content": ..., "__type": "AddedToken", ...}).
std::optional<std::string> token_content(const json& object, const char* key, const Context& at) {
  const json* value = find(object, key);
  if (!value) return std::nullopt;
  if (value->is_string()) return value->get<std::string>();
  if (value->is_object()) {
    const json* content = find(*value, "content");
    if (content && content->is_string()) return content->get<std::string>();
    at.fail(std::string(key) + ".content", "expected a string");
  }
  at.fail(key, "expected a string, an object with \"content\", or null");
}

bool is_llama_class(const std::string& name) {
  return name == "LlamaTokenizer" || name == "LlamaTokenizerFast" ||
         name == "CodeLlamaTokenizer" || name == "CodeLlamaTokenizerFast";
}

std::string config_name(const TokenizerConfig& config) {
  return config.path.empty() ? "tokenizer_config.json" : config.path;
}

}  // namespace

TokenizerConfig parse_tokenizer_config(const std::string& text, const std::string& name) {
  const Context at{name};
  const json root = json_reading::parse_object(text, name);
  TokenizerConfig config;
  config.present = true;
  config.path = name;
  if (const json* value = find(root, "tokenizer_class")) {
    if (!value->is_string()) at.fail("tokenizer_class", "expected a string");
    config.tokenizer_class = value->get<std::string>();
  }
  config.bos_token = token_content(root, "bos_token", at);
  config.eos_token = token_content(root, "eos_token", at);
  config.pad_token = token_content(root, "pad_token", at);
  config.unk_token = token_content(root, "unk_token", at);
  config.add_bos_token = optional_bool(root, "add_bos_token", "", at);
  config.add_eos_token = optional_bool(root, "add_eos_token", "", at);
  config.clean_up_tokenization_spaces =
      optional_bool(root, "clean_up_tokenization_spaces", "", at).value_or(false);
  if (const json* value = find(root, "chat_template")) {
    // A string, or (older files) a list of {"name", "template"}; rendering is elsewhere.
    if (!value->is_string() && !value->is_array())
      at.fail("chat_template", "expected a string or a list of named templates");
    config.has_chat_template = true;
  }
  if (const json* value = find(root, "model_max_length")) {
    if (!value->is_number() || value->get<double>() < 0)
      at.fail("model_max_length", "expected a non-negative number");
    // transformers writes int(1e30) for "no limit"; it parses as a floating-point number.
    if (value->is_number_unsigned())
      config.model_max_length = value->get<std::uint64_t>();
    else if (value->is_number_integer())
      config.model_max_length = static_cast<std::uint64_t>(value->get<std::int64_t>());
    else if (value->get<double>() < 1e30)
      at.fail("model_max_length", "expected an integer");
  }
  if (const json* decoder = find(root, "added_tokens_decoder")) {
    if (!decoder->is_object()) at.fail("added_tokens_decoder", "expected an object of id -> token");
    for (auto it = decoder->begin(); it != decoder->end(); ++it) {
      const std::string where = "added_tokens_decoder." + it.key();
      AddedToken token;
      std::size_t used = 0;
      long long id = -1;
      try {
        id = std::stoll(it.key(), &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != it.key().size() || id < 0 || id > (1LL << 24) - 1)
        at.fail(where, "the key is not an id from 0 to " + std::to_string((1LL << 24) - 1));
      token.id = static_cast<TokenId>(id);
      const json& item = it.value();
      if (!item.is_object()) at.fail(where, "expected an object");
      const json* content = find(item, "content");
      if (!content || !content->is_string() || content->get<std::string>().empty())
        at.fail(where + ".content", "expected a non-empty string");
      token.content = content->get<std::string>();
      token.special = optional_bool(item, "special", where + ".", at).value_or(false);
      token.single_word = optional_bool(item, "single_word", where + ".", at).value_or(false);
      token.lstrip = optional_bool(item, "lstrip", where + ".", at).value_or(false);
      token.rstrip = optional_bool(item, "rstrip", where + ".", at).value_or(false);
      token.normalized =
          optional_bool(item, "normalized", where + ".", at).value_or(!token.special);
      config.added_tokens_decoder.push_back(std::move(token));
    }
    std::sort(config.added_tokens_decoder.begin(), config.added_tokens_decoder.end(),
              [](const AddedToken& a, const AddedToken& b) { return a.id < b.id; });
  }
  return config;
}

TokenizerConfig load_tokenizer_config(const std::string& directory) {
  const std::string path = (std::filesystem::path(directory) / "tokenizer_config.json").string();
  std::error_code error;
  if (!std::filesystem::exists(path, error)) return TokenizerConfig{};
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, 0, "", "cannot open tokenizer config");
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) throw InputError(path, 0, "", "cannot read tokenizer config");
  return parse_tokenizer_config(content.str(), path);
}

PretrainedTokenizer apply_tokenizer_config(const Tokenizer& tokenizer, TokenizerConfig config) {
  const std::string name = config_name(config);
  const Context at{name};
  TokenizerParts parts = tokenizer.parts();
  bool changed = false;

  // transformers registers every entry of added_tokens_decoder with the backend tokenizer,
  // which numbers a new token as the model token spelled so, else the next free id.
  const BpeModel& model = tokenizer.model();
  TokenId next = static_cast<TokenId>(model.token_count());
  for (const AddedToken& token : parts.added_tokens) next = std::max(next, token.id + 1);
  for (const AddedToken& token : config.added_tokens_decoder) {
    const std::string where = "added_tokens_decoder." + std::to_string(token.id);
    if (tokenizer.is_added(token.id)) {
      if (*tokenizer.id_to_token(token.id) != token.content)
        at.fail(where + ".content", quoted(token.content) + " but tokenizer.json's added token " +
                                        std::to_string(token.id) + " is " +
                                        quoted(*tokenizer.id_to_token(token.id)));
      continue;
    }
    if (const auto existing = tokenizer.added_token_id(token.content))
      at.fail(where + ".content", quoted(token.content) + " is tokenizer.json's added token " +
                                      std::to_string(*existing) + ", not " +
                                      std::to_string(token.id));
    if (model.has(token.id) && model.token(token.id) != token.content)
      at.fail(where + ".content", quoted(token.content) + " but the vocabulary's token " +
                                      std::to_string(token.id) + " is " +
                                      quoted(model.token(token.id)));
    const TokenId in_model = model.find_token(token.content);
    const TokenId expected = in_model >= 0 ? in_model : next++;
    if (token.id != expected)
      at.fail(where, "transformers would give " + quoted(token.content) + " id " +
                         std::to_string(expected) + ", not " + std::to_string(token.id));
    parts.added_tokens.push_back(token);
    changed = true;
  }

  const auto resolve = [&](const std::optional<std::string>& content,
                           const char* field) -> std::optional<TokenId> {
    if (!content) return std::nullopt;
    for (const AddedToken& token : parts.added_tokens)
      if (token.content == *content) return token.id;
    const TokenId id = tokenizer.model().find_token(*content);
    if (id < 0)
      at.fail(field, quoted(*content) + " is neither an added token nor in the vocabulary");
    return id;
  };
  PretrainedTokenizer result{tokenizer, config, std::nullopt, std::nullopt, std::nullopt,
                             std::nullopt};
  result.bos_id = resolve(config.bos_token, "bos_token");
  result.eos_id = resolve(config.eos_token, "eos_token");
  result.pad_id = resolve(config.pad_token, "pad_token");
  result.unk_id = resolve(config.unk_token, "unk_token");

  if (is_llama_class(config.tokenizer_class)) {
    // LlamaTokenizerFast replaces the post-processor with bos? $A eos? (defaults: bos only).
    const bool add_bos = config.add_bos_token.value_or(true);
    const bool add_eos = config.add_eos_token.value_or(false);
    if (add_bos && !result.bos_id) at.fail("add_bos_token", "true but bos_token is null");
    if (add_eos && !result.eos_id) at.fail("add_eos_token", "true but eos_token is null");
    parts.prefix.clear();
    parts.suffix.clear();
    json single = json::array();
    json special = json::object();
    const auto special_item = [&](const std::string& content, TokenId id) {
      special[content] = json{{"id", content}, {"ids", {id}}, {"tokens", {content}}};
      return json{{"SpecialToken", {{"id", content}, {"type_id", 0}}}};
    };
    if (add_bos) {
      parts.prefix.push_back(*result.bos_id);
      single.push_back(special_item(*config.bos_token, *result.bos_id));
    }
    single.push_back(json{{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
    if (add_eos) {
      parts.suffix.push_back(*result.eos_id);
      single.push_back(special_item(*config.eos_token, *result.eos_id));
    }
    parts.post_processor_json =
        json{{"type", "TemplateProcessing"}, {"single", single}, {"special_tokens", special}}
            .dump();
    changed = true;
  }
  if (changed) {
    try {
      result.tokenizer = Tokenizer(std::move(parts));
    } catch (const std::invalid_argument& e) {
      at.fail("added_tokens_decoder", e.what());
    }
  }
  return result;
}

PretrainedTokenizer load_pretrained_tokenizer(const std::string& directory) {
  const Tokenizer tokenizer =
      Tokenizer::load((std::filesystem::path(directory) / "tokenizer.json").string());
  return apply_tokenizer_config(tokenizer, load_tokenizer_config(directory));
}

std::string clean_up_tokenization(std::string text) {
  static const std::pair<const char*, const char*> kReplacements[] = {
      {" .", "."},     {" ?", "?"},     {" !", "!"},     {" ,", ","},       {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"},   {" 's", "'s"},   {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kReplacements) text = replace_all(text, from, to);
  return text;
}

std::string PretrainedTokenizer::decode(const std::vector<TokenId>& ids, bool skip_special) const {
  std::string text = tokenizer.decode(ids, skip_special);
  return config.clean_up_tokenization_spaces ? clean_up_tokenization(std::move(text)) : text;
}

}  // namespace quorum::tokenizer
