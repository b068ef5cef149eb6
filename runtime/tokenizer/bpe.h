// The BPE model: a vocabulary and a ranked list of merges. A piece of text starts as one symbol
// per byte (byte-level BPE: GPT-2, Llama-3, Qwen2) or per character (SentencePiece-style BPE:
// Llama-2, Mistral; a character missing from the vocabulary becomes its <0xXX> byte tokens with
// byte_fallback, else unk_token), and the adjacent pair whose merge has the lowest rank is
// merged, repeatedly, until no adjacent pair has a merge; the leftmost pair wins ties. Pieces
// seen before come from a bounded cache.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace quorum::tokenizer {

using TokenId = std::int32_t;

struct Merge {
  TokenId left;
  TokenId right;
  TokenId result;  // the token whose string is left's followed by right's
};

struct BpeOptions {
  bool ignore_merges = false;  // a piece that is itself a token is emitted whole
  TokenId unk = -1;            // < 0: none; unknown symbols are then dropped, as Hugging Face does
  // true: symbols are bytes and tokens are spelled in the GPT-2 byte alphabet. false: symbols
  // are characters and tokens are spelled as the text they stand for.
  bool byte_level = true;
  bool byte_fallback = false;  // character mode: unknown characters -> <0xXX> byte tokens
  bool fuse_unk = false;       // consecutive unknown characters -> one unk_token
  // Character mode: the character that stands for a space in tokens ("▁"), so that
  // token_bytes("▁the") is " the". Empty: none.
  std::string space_symbol;
};

class BpeModel {
 public:
  struct Entry {
    std::string token;  // byte-level form, as written in tokenizer.json
    TokenId id;
  };
  // The caller (the tokenizer.json reader or the trainer) has checked that ids are unique and
  // non-negative and that every merge's result is the concatenation of its two sides.
  // unk < 0: none; bytes missing from the vocabulary are then dropped, as Hugging Face does.
  BpeModel(const std::vector<Entry>& vocab, std::vector<Merge> merges, bool ignore_merges,
           TokenId unk = -1);
  BpeModel(const std::vector<Entry>& vocab, std::vector<Merge> merges, BpeOptions options);
  ~BpeModel();
  // Lookups hold views into the model's own strings: it stays where it was built.
  BpeModel(const BpeModel&) = delete;
  BpeModel& operator=(const BpeModel&) = delete;

  // Encodes one pre-tokenized piece (raw bytes, or normalized text in character mode),
  // appending ids. Thread-safe.
  void encode_piece(std::string_view piece, std::vector<TokenId>& out) const;

  // One past the largest id; ids below it may be unused (has() says).
  std::size_t size() const { return tokens_.size(); }
  std::size_t token_count() const { return token_count_; }
  bool has(TokenId id) const {
    return id >= 0 && static_cast<std::size_t>(id) < tokens_.size() && present_[id];
  }
  // As written in tokenizer.json ("Ġthe", "▁the", "<0x0A>").
  const std::string& token(TokenId id) const { return tokens_[id]; }
  // The bytes the token stands for: byte-level tokens through the byte alphabet; in character
  // mode the text with space_symbol as a space and <0xXX> as its byte.
  const std::string& token_bytes(TokenId id) const { return bytes_[id]; }
  // -1 when absent.
  TokenId find_token(std::string_view token) const;
  TokenId find_bytes(std::string_view bytes) const;
  TokenId byte_id(unsigned char b) const { return byte_ids_[b]; }

  const std::vector<Merge>& merges() const { return merges_; }
  bool ignore_merges() const { return options_.ignore_merges; }
  TokenId unk() const { return options_.unk; }
  const BpeOptions& options() const { return options_; }

 private:
  struct MergeValue {
    std::uint32_t rank;
    TokenId result;
  };
  struct Cache;
  void apply_merges(std::string_view piece, std::vector<TokenId>& out) const;
  // Character mode: the piece's starting symbols, as Hugging Face's BPE builds them.
  void character_symbols(std::string_view piece, std::vector<TokenId>& ids) const;

  std::vector<std::string> tokens_;
  std::vector<std::string> bytes_;
  std::vector<bool> present_;
  std::size_t token_count_ = 0;
  std::unordered_map<std::string_view, TokenId> token_index_;
  std::unordered_map<std::string_view, TokenId> bytes_index_;
  std::array<TokenId, 256> byte_ids_{};
  std::vector<Merge> merges_;
  std::unordered_map<std::uint64_t, MergeValue> merge_index_;
  BpeOptions options_;
  std::array<TokenId, 256> byte_fallback_ids_{};  // "<0xXX>" tokens, -1 when absent
  std::unique_ptr<Cache> cache_;
};

}  // namespace quorum::tokenizer
