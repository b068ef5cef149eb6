#include "runtime/aggregation/draws.h"

#include <algorithm>

namespace quorum::aggregation {

void draw_permutation(std::uint64_t stream, std::uint64_t j, std::uint64_t d, std::uint32_t n,
                      std::uint32_t needed, std::uint16_t* order, std::vector<std::uint64_t>& key_scratch) {
  // The keys are uniform, so a counting sort on their top bits leaves each bucket with about one
  // key, and an insertion sort finishes the nearly sorted array in linear time. The result is
  // exactly the sorted order of the keys.
  int bucket_bits = 8;
  while (bucket_bits < 16 && (1u << bucket_bits) < n) ++bucket_bits;
  const std::uint32_t buckets = 1u << bucket_bits;
  thread_local std::vector<std::uint32_t> starts;
  starts.assign(buckets + 1, 0);
  key_scratch.resize(2 * static_cast<std::size_t>(n));
  std::uint64_t* keys = key_scratch.data();
  std::uint64_t* sorted = keys + n;
  const std::uint64_t base = splitmix64(splitmix64(stream ^ j) ^ d);
  for (std::uint32_t i = 0; i < n; ++i) {
    keys[i] = (splitmix64(base ^ i) & ~0xFFFFULL) | i;
    ++starts[(keys[i] >> (64 - bucket_bits)) + 1];
  }
  for (std::uint32_t b = 0; b < buckets; ++b) starts[b + 1] += starts[b];
  for (std::uint32_t i = 0; i < n; ++i) sorted[starts[keys[i] >> (64 - bucket_bits)]++] = keys[i];
  for (std::uint32_t i = 1; i < n; ++i) {
    const std::uint64_t key = sorted[i];
    std::uint32_t k = i;
    for (; k > 0 && sorted[k - 1] > key; --k) sorted[k] = sorted[k - 1];
    sorted[k] = key;
  }
  needed = std::min(needed, n);
  for (std::uint32_t i = 0; i < needed; ++i) order[i] = static_cast<std::uint16_t>(sorted[i] & 0xFFFF);
}

}  // namespace quorum::aggregation
