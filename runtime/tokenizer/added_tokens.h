// Added tokens (special tokens such as "<|im_end|>" and other whole strings the tokenizer
// keeps in one piece): they are cut out of the text before pre-tokenization, leftmost first
// and, among those starting at the same place, longest first.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "runtime/tokenizer/bpe.h"

namespace quorum::tokenizer {

struct AddedToken {
  TokenId id = -1;
  std::string content;
  bool special = false;      // skipped by decode(..., skip_special = true)
  bool single_word = false;  // only matches when not inside a word
  bool lstrip = false;       // swallows the whitespace before it
  bool rstrip = false;       // swallows the whitespace after it
  bool normalized = false;   // written back as read; matching is always on the raw text
};

class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  explicit AddedTokenMatcher(const std::vector<AddedToken>& tokens);

  struct Segment {
    std::size_t begin;
    std::size_t end;
    TokenId id;  // the added token, or -1 for plain text in [begin, end)
  };
  // Replaces out with the segments of text, in order; plain segments are never empty.
  void split(std::string_view text, std::vector<Segment>& out) const;
  bool empty() const { return tokens_.empty(); }

 private:
  std::vector<AddedToken> tokens_;
  // For each first byte, indices into tokens_, longest content first.
  std::vector<std::vector<std::size_t>> by_first_byte_;
};

}  // namespace quorum::tokenizer
