#include "runtime/tokenizer/bpe.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <mutex>

#include "runtime/tokenizer/bytes.h"

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
    : merges_(std::move(merges)),
      ignore_merges_(ignore_merges),
      unk_(unk),
      cache_(std::make_unique<Cache>()) {
  TokenId max_id = -1;
  for (const auto& entry : vocab) max_id = std::max(max_id, entry.id);
  tokens_.resize(static_cast<std::size_t>(max_id + 1));
  bytes_.resize(tokens_.size());
  present_.assign(tokens_.size(), false);
  for (const auto& entry : vocab) {
    tokens_[entry.id] = entry.token;
    present_[entry.id] = true;
    // A token outside the byte alphabet decodes to its own UTF-8 (the ByteLevel decoder's rule).
    auto raw = symbols_to_bytes(entry.token);
    bytes_[entry.id] = raw ? std::move(*raw) : entry.token;
  }
  token_count_ = vocab.size();
  token_index_.reserve(vocab.size());
  bytes_index_.reserve(vocab.size());
  for (std::size_t id = 0; id < tokens_.size(); ++id) {
    if (!present_[id]) continue;
    token_index_.emplace(tokens_[id], static_cast<TokenId>(id));
    if (symbols_to_bytes(tokens_[id])) bytes_index_.emplace(bytes_[id], static_cast<TokenId>(id));
  }
  for (int b = 0; b < 256; ++b) {
    const std::string one(1, static_cast<char>(b));
    const auto it = bytes_index_.find(one);
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

void BpeModel::apply_merges(std::string_view piece, std::vector<TokenId>& out) const {
  thread_local std::vector<Symbol> symbols;
  thread_local std::vector<Candidate> heap;
  const int n = static_cast<int>(piece.size());
  symbols.resize(piece.size());
  heap.clear();
  for (int i = 0; i < n; ++i)
    symbols[i] = Symbol{byte_ids_[static_cast<unsigned char>(piece[i])], i - 1,
                        i + 1 < n ? i + 1 : -1, true};
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
    else if (unk_ >= 0)
      out.push_back(unk_);
  }
  // A huge piece should not pin its scratch to the thread for good.
  if (symbols.capacity() > (1u << 16)) std::vector<Symbol>().swap(symbols);
  if (heap.capacity() > (1u << 16)) std::vector<Candidate>().swap(heap);
}

void BpeModel::encode_piece(std::string_view piece, std::vector<TokenId>& out) const {
  if (piece.empty()) return;
  if (piece.size() == 1) {
    const TokenId id = byte_ids_[static_cast<unsigned char>(piece[0])];
    if (id >= 0)
      out.push_back(id);
    else if (unk_ >= 0)
      out.push_back(unk_);
    return;
  }
  if (ignore_merges_) {
    const TokenId whole = find_bytes(piece);
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
