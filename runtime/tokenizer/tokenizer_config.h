// tokenizer_config.json, the transformers side of a published tokenizer: which tokens are
// bos / eos / pad / unk, whether encode(add_special) puts bos / eos around the text for the
// Llama tokenizer classes, the added tokens transformers registers (added_tokens_decoder),
// whether a chat template is there, and the decode clean-up. The file is optional: a missing
// one gives the defaults below.
//
//   PretrainedTokenizer tok = load_pretrained_tokenizer(dir);  // tokenizer.json + config
//   std::vector<TokenId> ids = tok.encode("2+3=5", /*add_special=*/true);  // <s> first
//   if (tok.eos_id) ...
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/tokenizer/tokenizer.h"

namespace quorum::tokenizer {

struct TokenizerConfig {
  bool present = false;  // the file exists
  std::string path;      // DIR/tokenizer_config.json
  std::string tokenizer_class;  // e.g. "LlamaTokenizer", "Qwen2Tokenizer"; empty when absent
  // Each is the token's content; nullopt when absent or null.
  std::optional<std::string> bos_token, eos_token, pad_token, unk_token;
  // nullopt when absent (the tokenizer class's default applies).
  std::optional<bool> add_bos_token, add_eos_token;
  bool has_chat_template = false;  // a "chat_template" field that is not null
  // nullopt when absent or transformers' "no limit" value (1e30 and above).
  std::optional<std::uint64_t> model_max_length;
  // transformers' decode removes the space before . , ! ? and some contractions when set
  // (absent: false, the default of current transformers).
  bool clean_up_tokenization_spaces = false;
  std::vector<AddedToken> added_tokens_decoder;  // in id order
};

// Reads DIR/tokenizer_config.json; a missing file gives TokenizerConfig{} (present = false).
// Throws quorum::InputError naming the file and field for malformed files or values.
TokenizerConfig load_tokenizer_config(const std::string& directory);
// The same from the file's text; name stands for the file in error messages.
TokenizerConfig parse_tokenizer_config(const std::string& json_text, const std::string& name);

// A tokenizer.json tokenizer with its tokenizer_config.json applied.
struct PretrainedTokenizer {
  Tokenizer tokenizer;
  TokenizerConfig config;
  std::optional<TokenId> bos_id, eos_id, pad_id, unk_id;

  std::vector<TokenId> encode(std::string_view text, bool add_special = false) const {
    return tokenizer.encode(text, add_special);
  }
  // What transformers' decode(ids, skip_special_tokens=skip_special) gives: the tokenizer's
  // decode, then the clean-up when the config asks for it.
  std::string decode(const std::vector<TokenId>& ids, bool skip_special = false) const;
};

// Applies a config to a tokenizer: checks added_tokens_decoder against the tokenizer's added
// tokens (same id, same content) and adds those the tokenizer lacks; resolves bos / eos / pad /
// unk to ids (each must be a known token); for LlamaTokenizer(Fast) and CodeLlamaTokenizer(Fast)
// rebuilds the post-processor as transformers does: bos first when add_bos_token (default
// true), eos last when add_eos_token (default false). Throws quorum::InputError naming
// config.path (or "tokenizer_config.json") and the field.
PretrainedTokenizer apply_tokenizer_config(const Tokenizer& tokenizer, TokenizerConfig config);

// DIR/tokenizer.json with DIR/tokenizer_config.json (if any) applied.
PretrainedTokenizer load_pretrained_tokenizer(const std::string& directory);

// transformers' clean_up_tokenization: " ." -> ".", " ?" -> "?", " !" -> "!", " ," -> ",",
// " ' " -> "'", " n't" -> "n't", " 'm" -> "'m", " 's" -> "'s", " 've" -> "'ve", " 're" -> "'re",
// in that order.
std::string clean_up_tokenization(std::string text);

}  // namespace quorum::tokenizer
