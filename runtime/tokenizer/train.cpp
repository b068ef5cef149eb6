#include "runtime/tokenizer/train.h"

#include <algorithm>
#include <queue>
#include <set>
#include <stdexcept>
#include <unordered_map>

#include "runtime/common/parallel.h"
#include "runtime/tokenizer/bytes.h"
#include "runtime/tokenizer/utf8.h"

namespace quorum::tokenizer {
namespace {

using WordCounts = std::unordered_map<std::string, std::uint64_t>;

std::uint64_t pair_key(TokenId left, TokenId right) {
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) |
         static_cast<std::uint32_t>(right);
}
TokenId left_of(std::uint64_t key) { return static_cast<TokenId>(key >> 32); }
TokenId right_of(std::uint64_t key) { return static_cast<TokenId>(key & 0xFFFFFFFFu); }

struct Word {
  std::vector<TokenId> symbols;
  std::uint64_t count;
};

struct Candidate {
  std::uint64_t count;
  std::uint64_t pair;
};

class Trainer {
 public:
  Trainer(std::vector<Word> words, std::size_t target) : words_(std::move(words)), target_(target) {
    for (int b = 0; b < 256; ++b) add_token(std::string(1, static_cast<char>(b)));
  }

  void run() {
    for (std::uint32_t w = 0; w < words_.size(); ++w) add_pairs(w, false);
    for (const auto& [pair, count] : counts_)
      if (count > 0) heap_.push(Candidate{count, pair});
    seen_.assign(words_.size(), 0);
    while (bytes_.size() < target_ && !heap_.empty()) {
      const Candidate top = heap_.top();
      heap_.pop();
      const auto it = counts_.find(top.pair);
      const std::uint64_t current = it == counts_.end() ? 0 : it->second;
      if (current != top.count) {  // stale: counts only fall between pushes
        if (current > 0) heap_.push(Candidate{current, top.pair});
        continue;
      }
      merge(top.pair);
    }
  }

  std::vector<std::string> bytes_;  // token id -> raw bytes
  std::vector<Merge> merges_;

 private:
  struct Order {
    const Trainer* trainer;
    // priority_queue keeps the largest on top: higher count, then smaller bytes.
    bool operator()(const Candidate& a, const Candidate& b) const {
      if (a.count != b.count) return a.count < b.count;
      const auto& t = trainer->bytes_;
      const int left = t[left_of(a.pair)].compare(t[left_of(b.pair)]);
      if (left != 0) return left > 0;
      return t[right_of(a.pair)].compare(t[right_of(b.pair)]) > 0;
    }
  };

  TokenId add_token(const std::string& bytes) {
    const auto [it, inserted] = ids_.emplace(bytes, static_cast<TokenId>(bytes_.size()));
    if (inserted) bytes_.push_back(bytes);
    return it->second;
  }

  // Adds (or, with remove, subtracts) the word's adjacent pairs to the counts; when adding,
  // records the word under each pair that involves `only` (or every pair if only < 0).
  void add_pairs(std::uint32_t w, bool remove, TokenId only = -1) {
    const Word& word = words_[w];
    for (std::size_t i = 0; i + 1 < word.symbols.size(); ++i) {
      const std::uint64_t key = pair_key(word.symbols[i], word.symbols[i + 1]);
      if (remove) {
        counts_[key] -= word.count;
        continue;
      }
      counts_[key] += word.count;
      if (only < 0 || word.symbols[i] == only || word.symbols[i + 1] == only) {
        auto& list = where_[key];
        if (list.empty() || list.back() != w) list.push_back(w);
        if (only >= 0) touched_.insert(key);
      }
    }
  }

  void merge(std::uint64_t pair) {
    const TokenId left = left_of(pair), right = right_of(pair);
    const TokenId result = add_token(bytes_[left] + bytes_[right]);
    merges_.push_back(Merge{left, right, result});
    ++step_;
    touched_.clear();
    std::vector<std::uint32_t> list;
    list.swap(where_[pair]);
    for (const std::uint32_t w : list) {
      if (seen_[w] == step_) continue;
      seen_[w] = step_;
      std::vector<TokenId>& symbols = words_[w].symbols;
      bool present = false;
      for (std::size_t i = 0; i + 1 < symbols.size() && !present; ++i)
        present = symbols[i] == left && symbols[i + 1] == right;
      if (!present) continue;  // an old entry: the word no longer holds the pair
      add_pairs(w, true);
      std::size_t out = 0;
      for (std::size_t i = 0; i < symbols.size(); ++out) {
        if (i + 1 < symbols.size() && symbols[i] == left && symbols[i + 1] == right) {
          symbols[out] = result;
          i += 2;
        } else {
          symbols[out] = symbols[i];
          ++i;
        }
      }
      symbols.resize(out);
      add_pairs(w, false, result);
    }
    // Only pairs next to the new symbol can have grown; every other count fell or stayed.
    for (const std::uint64_t key : touched_) {
      const std::uint64_t count = counts_[key];
      if (count > 0) heap_.push(Candidate{count, key});
    }
  }

  std::vector<Word> words_;
  std::size_t target_;
  std::unordered_map<std::string, TokenId> ids_;
  std::unordered_map<std::uint64_t, std::uint64_t> counts_;
  std::unordered_map<std::uint64_t, std::vector<std::uint32_t>> where_;
  std::set<std::uint64_t> touched_;
  std::vector<std::uint32_t> seen_;
  std::uint32_t step_ = 0;
  std::priority_queue<Candidate, std::vector<Candidate>, Order> heap_{Order{this}};
};

}  // namespace

Tokenizer train_bpe(const std::vector<std::string>& texts, const TrainOptions& options) {
  std::set<std::string> distinct;
  for (const auto& special : options.special_tokens) {
    if (special.empty()) throw std::invalid_argument("empty special token");
    if (!is_valid_utf8(special))
      throw std::invalid_argument("special token is not valid UTF-8");
    if (!distinct.insert(special).second)
      throw std::invalid_argument("special token '" + special + "' is given twice");
  }
  if (options.vocab_size < 256 + options.special_tokens.size())
    throw std::invalid_argument("vocab_size " + std::to_string(options.vocab_size) +
                                " is below 256 byte tokens + " +
                                std::to_string(options.special_tokens.size()) + " special tokens");

  std::vector<PreTokenizerStep> steps;
  steps.push_back(PreTokenizerStep::split_regex(options.split_pattern));
  PreTokenizerStep byte_level = PreTokenizerStep::byte_level(false, false);
  byte_level.trim_offsets = false;
  steps.push_back(std::move(byte_level));
  const PreTokenizer pre_tokenizer(std::move(steps));

  std::vector<AddedToken> specials;
  for (const auto& content : options.special_tokens) {
    AddedToken token;
    token.id = static_cast<TokenId>(specials.size());  // any id >= 0 marks a match; final ids below
    token.content = content;
    token.special = true;
    token.normalized = false;
    specials.push_back(std::move(token));
  }
  const AddedTokenMatcher matcher(specials);

  // Count pre-tokenized words, one table per worker, then add the tables up.
  const int workers = std::max(1, std::min<int>(resolve_threads(options.threads),
                                                static_cast<int>(std::max<std::size_t>(texts.size(), 1))));
  std::vector<WordCounts> partial(static_cast<std::size_t>(workers));
  parallel_for(texts.size(), workers, [&](std::size_t index, int worker) {
    WordCounts& counts = partial[static_cast<std::size_t>(worker)];
    const std::string_view text = texts[index];
    std::vector<AddedTokenMatcher::Segment> segments;
    matcher.split(text, segments);
    for (const auto& segment : segments) {
      if (segment.id >= 0) continue;
      pre_tokenizer.split(text.substr(segment.begin, segment.end - segment.begin),
                          [&](std::string_view piece) { ++counts[std::string(piece)]; });
    }
  });
  WordCounts& total = partial[0];
  for (std::size_t i = 1; i < partial.size(); ++i) {
    for (auto& [word, count] : partial[i]) total[word] += count;
    WordCounts().swap(partial[i]);
  }
  std::vector<std::pair<std::string, std::uint64_t>> sorted(total.begin(), total.end());
  WordCounts().swap(total);
  std::sort(sorted.begin(), sorted.end());
  std::vector<Word> words;
  words.reserve(sorted.size());
  for (const auto& [text, count] : sorted) {
    if (text.size() < 2) continue;  // nothing to merge inside a single byte
    Word word;
    word.count = count;
    word.symbols.reserve(text.size());
    for (const char c : text) word.symbols.push_back(static_cast<unsigned char>(c));
    words.push_back(std::move(word));
  }

  Trainer trainer(std::move(words), options.vocab_size - options.special_tokens.size());
  trainer.run();

  std::vector<BpeModel::Entry> vocab;
  vocab.reserve(trainer.bytes_.size());
  for (std::size_t id = 0; id < trainer.bytes_.size(); ++id)
    vocab.push_back(BpeModel::Entry{bytes_to_symbols(trainer.bytes_[id]), static_cast<TokenId>(id)});
  TokenizerParts parts;
  parts.model = std::make_shared<const BpeModel>(vocab, std::move(trainer.merges_), false);
  for (std::size_t i = 0; i < specials.size(); ++i) {
    specials[i].id = static_cast<TokenId>(vocab.size() + i);
    parts.added_tokens.push_back(specials[i]);
  }
  parts.pre_tokenizer = pre_tokenizer;
  parts.decoder_json =
      R"({"type":"ByteLevel","add_prefix_space":false,"trim_offsets":false,"use_regex":false})";
  return Tokenizer(std::move(parts));
}

}  // namespace quorum::tokenizer
