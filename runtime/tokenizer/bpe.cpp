#include "runtime/tokenizer/bpe.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <mutex>

#include "runtime/common/text.h"
#include "runtime/tokenizer/bytes.h"
#include "runtime/tokenizer/utf8.h"

namespace quorum::tokenizer {

// Pieces already encoded, split into shards with a lock each so threads rarely wait. A shard
// stops taking new pieces once full (the text a model sees repeats the same words), which
// bounds memory without eviction bookkeeping.
struct BpeModel::Cache {
  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kShardCapacity = 8192;
  static constexpr std::size_t kMaxPieceBytes = 128;
  struct Shard {
    std::mutex mutex;
    std::deque<std::string> keys;  // storage for the views in map (deque: elements stay put)
    std::unordered_map<std::string_view, std::vector<TokenId>> map;
  };
  std::array<Shard, kShards> shards;

  Shard& shard_for(std::string_view piece) {
    return shards[std::hash<std::string_view>()(piece) % kShards];
  }
};

namespace {

std::uint64_t pair_key(TokenId left, TokenId right) {
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) |
         static_cast<std::uint32_t>(right);
}

struct Symbol {
  TokenId id;
  int prev;
  int next;
  bool alive;
};

struct Candidate {
  std::uint32_t rank;
  int pos;
  // Min-heap order: lowest rank first, then leftmost.
  bool operator<(const Candidate& other) const {
    return rank != other.rank ? rank > other.rank : pos > other.pos;
  }
};

}  // namespace

BpeModel::BpeModel(const std::vector<Entry>& vocab, std::vector<Merge> merges,
                   bool ignore_merges, TokenId unk)
    : BpeModel(vocab, std::move(merges), [&] {
        BpeOptions options;
        options.ignore_merges = ignore_merges;
        options.unk = unk;
        return options;
      }()) {}

namespace {

// "<0x0A>" -> 0x0A, else -1. The spelling Hugging Face looks up is "<0x" + two upper-case hex
// digits + ">".
int byte_token_value(const std::string& token) {
  if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>') return -1;
  int value = 0;
  for (int i = 3; i < 5; ++i) {
    const char c = token[i];
    if (c >= '0' && c <= '9') value = value * 16 + (c - '0');
    else if (c >= 'A' && c <= 'F') value = value * 16 + (c - 'A' + 10);
    else return -1;
  }
  return value;
}

}  // namespace

BpeModel::BpeModel(const std::vector<Entry>& vocab, std::vector<Merge> merges, BpeOptions options)
    : merges_(std::move(merges)), options_(std::move(options)), cache_(std::make_unique<Cache>()) {
  TokenId max_id = -1;
  for (const auto& entry : vocab) max_id = std::max(max_id, entry.id);
  tokens_.resize(static_cast<std::size_t>(max_id + 1));
  bytes_.resize(tokens_.size());
  present_.assign(tokens_.size(), false);
  byte_fallback_ids_.fill(-1);
  for (const auto& entry : vocab) {
    tokens_[entry.id] = entry.token;
    present_[entry.id] = true;
    if (options_.byte_level) {
      // A token outside the byte alphabet decodes to its own UTF-8 (the ByteLevel decoder's
      // rule).
      auto raw = symbols_to_bytes(entry.token);
      bytes_[entry.id] = raw ? std::move(*raw) : entry.token;
    } else if (const int value = byte_token_value(entry.token); value >= 0) {
      bytes_[entry.id] = std::string(1, static_cast<char>(value));
      byte_fallback_ids_[value] = entry.id;
    } else {
      bytes_[entry.id] = replace_all(entry.token, options_.space_symbol, " ");
    }
  }
  token_count_ = vocab.size();
  token_index_.reserve(vocab.size());
  bytes_index_.reserve(vocab.size());
  for (std::size_t id = 0; id < tokens_.size(); ++id) {
    if (!present_[id]) continue;
    token_index_.emplace(tokens_[id], static_cast<TokenId>(id));
    if (!options_.byte_level || symbols_to_bytes(tokens_[id]))
      bytes_index_.emplace(bytes_[id], static_cast<TokenId>(id));
  }
  for (int b = 0; b < 256; ++b) {
    const std::string one(1, static_cast<char>(b));
    const auto it = options_.byte_level ? bytes_index_.find(one) : bytes_index_.end();
    byte_ids_[b] = it == bytes_index_.end() ? -1 : it->second;
  }
  merge_index_.reserve(merges_.size());
  for (std::size_t rank = 0; rank < merges_.size(); ++rank) {
    const Merge& m = merges_[rank];
    merge_index_.emplace(pair_key(m.left, m.right),
                         MergeValue{static_cast<std::uint32_t>(rank), m.result});
  }
}

BpeModel::~BpeModel() = default;

TokenId BpeModel::find_token(std::string_view token) const {
  const auto it = token_index_.find(token);
  return it == token_index_.end() ? -1 : it->second;
}

TokenId BpeModel::find_bytes(std::string_view bytes) const {
  const auto it = bytes_index_.find(bytes);
  return it == bytes_index_.end() ? -1 : it->second;
}

void BpeModel::character_symbols(std::string_view piece, std::vector<TokenId>& ids) const {
  ids.clear();
  // An unknown character waiting to be emitted (with fuse_unk, the run it starts).
  bool unk_pending = false;
  std::size_t pos = 0;
  while (pos < piece.size()) {
    char32_t c;
    std::size_t length = decode_utf8(piece, pos, c);
    if (length == 0) length = 1;  // an invalid byte is a character of its own
    const std::string_view character = piece.substr(pos, length);
    pos += length;
    const TokenId id = find_token(character);
    if (id >= 0) {
      if (unk_pending) ids.push_back(options_.unk);
      unk_pending = false;
      ids.push_back(id);
      continue;
    }
    if (options_.byte_fallback) {
      bool all = true;
      for (const char b : character) all = all && byte_fallback_ids_[static_cast<unsigned char>(b)] >= 0;
      // As in Hugging Face, byte tokens go straight in; a pending unknown stays pending.
      if (all) {
        for (const char b : character) ids.push_back(byte_fallback_ids_[static_cast<unsigned char>(b)]);
        continue;
      }
    }
    if (options_.unk < 0) continue;
    if (unk_pending && !options_.fuse_unk) ids.push_back(options_.unk);
    unk_pending = true;
  }
  if (unk_pending) ids.push_back(options_.unk);
}

void BpeModel::apply_merges(std::string_view piece, std::vector<TokenId>& out) const {
  thread_local std::vector<Symbol> symbols;
  thread_local std::vector<Candidate> heap;
  thread_local std::vector<TokenId> initial;
  heap.clear();
  if (options_.byte_level) {
    initial.resize(piece.size());
    for (std::size_t i = 0; i < piece.size(); ++i)
      initial[i] = byte_ids_[static_cast<unsigned char>(piece[i])];
  } else {
    character_symbols(piece, initial);
  }
  const int n = static_cast<int>(initial.size());
  symbols.resize(initial.size());
  for (int i = 0; i < n; ++i) symbols[i] = Symbol{initial[i], i - 1, i + 1 < n ? i + 1 : -1, true};
  const auto push_pair = [&](int pos) {
    const int next = symbols[pos].next;
    if (next < 0) return;
    const auto it = merge_index_.find(pair_key(symbols[pos].id, symbols[next].id));
    if (it == merge_index_.end()) return;
    heap.push_back(Candidate{it->second.rank, pos});
    std::push_heap(heap.begin(), heap.end());
  };
  for (int i = 0; i + 1 < n; ++i) push_pair(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end());
    const Candidate top = heap.back();
    heap.pop_back();
    Symbol& left = symbols[top.pos];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = symbols[left.next];
    // The entry is stale if either side has changed since it was pushed; a rank names one
    // merge, so an equal rank means the same pair is there now.
    const auto it = merge_index_.find(pair_key(left.id, right.id));
    if (it == merge_index_.end() || it->second.rank != top.rank) continue;
    left.id = it->second.result;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (left.prev >= 0) push_pair(left.prev);
    push_pair(top.pos);
  }
  for (int i = 0; i >= 0 && i < n; i = symbols[i].next) {
    const TokenId id = symbols[i].id;
    if (id >= 0)
      out.push_back(id);
    else if (options_.unk >= 0)
      out.push_back(options_.unk);
  }
  // A huge piece should not pin its scratch to the thread for good.
  if (symbols.capacity() > (1u << 16)) std::vector<Symbol>().swap(symbols);
  if (initial.capacity() > (1u << 16)) std::vector<TokenId>().swap(initial);
  if (heap.capacity() > (1u << 16)) std::vector<Candidate>().swap(heap);
}

void BpeModel::encode_piece(std::string_view piece, std::vector<TokenId>& out) const {
  if (piece.empty()) return;
  if (piece.size() == 1 && options_.byte_level) {
    const TokenId id = byte_ids_[static_cast<unsigned char>(piece[0])];
    if (id >= 0)
      out.push_back(id);
    else if (options_.unk >= 0)
      out.push_back(options_.unk);
    return;
  }
  if (options_.ignore_merges) {
    const TokenId whole = options_.byte_level ? find_bytes(piece) : find_token(piece);
    if (whole >= 0) {
      out.push_back(whole);
      return;
    }
  }
  if (piece.size() > Cache::kMaxPieceBytes) {
    apply_merges(piece, out);
    return;
  }
  Cache::Shard& shard = cache_->shard_for(piece);
  {
    std::lock_guard<std::mutex> lock(shard.mutex);
    const auto it = shard.map.find(piece);
    if (it != shard.map.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const std::size_t first = out.size();
  apply_merges(piece, out);
  std::lock_guard<std::mutex> lock(shard.mutex);
  if (shard.map.size() < Cache::kShardCapacity && shard.map.find(piece) == shard.map.end()) {
    shard.keys.emplace_back(piece);
    shard.map.emplace(shard.keys.back(), std::vector<TokenId>(out.begin() + first, out.end()));
  }
}

}  // namespace quorum::tokenizer
