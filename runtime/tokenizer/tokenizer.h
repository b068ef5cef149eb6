// A BPE tokenizer in the Hugging Face tokenizer.json layout: byte-level BPE (the GPT-2, Llama-3
// and Qwen2 families) and SentencePiece-style BPE with byte fallback (Llama-2, Mistral): text ->
// ids and back, token lookups, and reading / writing tokenizer.json.
// docs/tokenizer.md lists the subset of tokenizer.json that is understood and what is refused.
//
//   auto tok = Tokenizer::load(dir + "/tokenizer.json");
//   std::vector<TokenId> ids = tok.encode("2+3=5<|im_end|>");   // "<|im_end|>" -> its one id
//   std::string text = tok.decode(ids);
//   std::optional<TokenId> eos = tok.find_token("<|im_end|>");
//
// A Tokenizer is immutable once built and cheap to copy (copies share the tables and the piece
// cache); encode and decode may be called from many threads at once.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/tokenizer/added_tokens.h"
#include "runtime/tokenizer/bpe.h"
#include "runtime/tokenizer/decoder.h"
#include "runtime/tokenizer/normalizer.h"
#include "runtime/tokenizer/pretokenize.h"

namespace quorum::tokenizer {

// Everything a tokenizer is made of; what the tokenizer.json reader and the trainer build.
struct TokenizerParts {
  std::shared_ptr<const BpeModel> model;
  std::vector<AddedToken> added_tokens;
  std::vector<NormalizerStep> normalizers;  // in order; empty: none
  PreTokenizer pre_tokenizer;               // no steps: each piece between added tokens is whole
  // The post-processor's template for one sequence (encode with add_special = true), e.g.
  // Llama-3's "<|begin_of_text|>" before the text.
  std::vector<TokenId> prefix;
  std::vector<TokenId> suffix;
  std::vector<DecoderStep> decoder = {DecoderStep{}};  // ByteLevel
  // Written back verbatim by save (JSON text): the post-processor and the decoder.
  std::string post_processor_json = "null";
  std::string decoder_json =
      R"({"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true})";
};

class Tokenizer {
 public:
  // Throws std::invalid_argument if an added token's id belongs to a different model token.
  explicit Tokenizer(TokenizerParts parts);

  // Reads a tokenizer.json. Throws quorum::InputError naming the file and the JSON field for
  // unreadable or malformed files and for anything outside the supported subset.
  static Tokenizer load(const std::string& path);
  // The same from the file's text; name stands for the file in error messages.
  static Tokenizer from_json(const std::string& json_text,
                             const std::string& name = "tokenizer.json");
  // Writes tokenizer.json in the Hugging Face layout (beside its name, then renamed into place).
  void save(const std::string& path) const;
  std::string to_json() const;

  // Added tokens are cut out first (unless parse_special is false, when their text is encoded
  // like any other): those with normalized = false from the raw text, then each piece between
  // them is normalized and those with normalized = true are cut out of it (matched in their
  // normalized form). The rest is pre-tokenized and BPE-encoded. add_special wraps the result
  // in the post-processor's template (e.g. a beginning-of-text token).
  // Any bytes are accepted; invalid UTF-8 is encoded byte by byte and decodes back unchanged.
  std::vector<TokenId> encode(std::string_view text, bool add_special = false,
                              bool parse_special = true) const;
  // The text Hugging Face's decode gives: the tokens (an added token: its content) through the
  // decoder chain. Valid UTF-8: bytes that do not form a character (e.g. a token boundary
  // inside one) become U+FFFD. Ids that name no token are skipped.
  std::string decode(const std::vector<TokenId>& ids, bool skip_special = false) const;
  // The raw bytes, with no replacement: decode_bytes(encode(x)) == x for any bytes x when there
  // is no normalizer and no added token strips whitespace (byte-level BPE).
  std::string decode_bytes(const std::vector<TokenId>& ids, bool skip_special = false) const;

  // One past the largest id of the model and the added tokens (the embedding rows needed).
  std::size_t vocab_size() const;
  // A token as written in tokenizer.json (e.g. "Ġthe", "▁the"), or an added token's content.
  std::optional<TokenId> token_to_id(std::string_view token) const;
  std::optional<std::string> id_to_token(TokenId id) const;
  // The raw bytes a token stands for: byte-level tokens through the byte alphabet, "▁the" as
  // " the", "<0x0A>" as a newline, an added token's content.
  std::optional<std::string> token_bytes(TokenId id) const;
  // An added token by its exact content, e.g. "<|endoftext|>", "<|im_end|>".
  std::optional<TokenId> added_token_id(std::string_view content) const;
  // The single token whose text is exactly text: an added token's content, else a model token
  // with those bytes (so "\n\n" or " ки" find their byte-level tokens). For eos / pad /
  // step-separator lookups.
  std::optional<TokenId> find_token(std::string_view text) const;
  // The first of the candidates that find_token knows, e.g. {"<|im_end|>", "<|endoftext|>"}.
  std::optional<TokenId> find_first_token(const std::vector<std::string>& candidates) const;
  bool is_special(TokenId id) const;
  bool is_added(TokenId id) const;

  const TokenizerParts& parts() const;
  const BpeModel& model() const { return *parts().model; }
  const std::vector<AddedToken>& added_tokens() const { return parts().added_tokens; }

 private:
  struct State;
  void encode_segment(std::string_view text, bool at_text_start, bool parse_special,
                      std::vector<TokenId>& out) const;
  std::shared_ptr<const State> state_;
};

}  // namespace quorum::tokenizer
