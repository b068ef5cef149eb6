// The byte-level BPE model: a vocabulary of byte strings and a ranked list of merges. A piece of
// text (raw bytes) starts as one symbol per byte and the adjacent pair whose merge has the
// lowest rank is merged, repeatedly, until no adjacent pair has a merge; the leftmost pair
// wins ties. Pieces seen before come from a bounded cache.
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
  ~BpeModel();
  // Lookups hold views into the model's own strings: it stays where it was built.
  BpeModel(const BpeModel&) = delete;
  BpeModel& operator=(const BpeModel&) = delete;

  // Encodes one pre-tokenized piece (raw bytes), appending ids. Thread-safe.
  void encode_piece(std::string_view piece, std::vector<TokenId>& out) const;

  // One past the largest id; ids below it may be unused (has() says).
  std::size_t size() const { return tokens_.size(); }
  std::size_t token_count() const { return token_count_; }
  bool has(TokenId id) const {
    return id >= 0 && static_cast<std::size_t>(id) < tokens_.size() && present_[id];
  }
  const std::string& token(TokenId id) const { return tokens_[id]; }       // byte-level form
  const std::string& token_bytes(TokenId id) const { return bytes_[id]; }  // raw bytes
  // -1 when absent.
  TokenId find_token(std::string_view token) const;
  TokenId find_bytes(std::string_view bytes) const;
  TokenId byte_id(unsigned char b) const { return byte_ids_[b]; }

  const std::vector<Merge>& merges() const { return merges_; }
  bool ignore_merges() const { return ignore_merges_; }
  TokenId unk() const { return unk_; }

 private:
  struct MergeValue {
    std::uint32_t rank;
    TokenId result;
  };
  struct Cache;
  void apply_merges(std::string_view piece, std::vector<TokenId>& out) const;

  std::vector<std::string> tokens_;
  std::vector<std::string> bytes_;
  std::vector<bool> present_;
  std::size_t token_count_ = 0;
  std::unordered_map<std::string_view, TokenId> token_index_;
  std::unordered_map<std::string_view, TokenId> bytes_index_;
  std::array<TokenId, 256> byte_ids_{};
  std::vector<Merge> merges_;
  std::unordered_map<std::uint64_t, MergeValue> merge_index_;
  bool ignore_merges_ = false;
  TokenId unk_ = -1;
  std::unique_ptr<Cache> cache_;
};

}  // namespace quorum::tokenizer
