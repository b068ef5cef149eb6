#include "runtime/aggregation/draws.h"

#include <algorithm>
#include <numeric>

namespace quorum::aggregation {

void draw_permutation(std::uint64_t stream, std::uint64_t j, std::uint64_t d, std::uint32_t n,
                      std::uint16_t* order, std::vector<std::uint64_t>& key_scratch) {
  key_scratch.resize(n);
  const std::uint64_t base = splitmix64(splitmix64(stream ^ j) ^ d);
  for (std::uint32_t i = 0; i < n; ++i) key_scratch[i] = splitmix64(base ^ i);
  std::iota(order, order + n, std::uint16_t{0});
  // Stable on equal keys, as NumPy's argsort(kind="stable").
  std::stable_sort(order, order + n,
                   [&](std::uint16_t a, std::uint16_t b) { return key_scratch[a] < key_scratch[b]; });
}

}  // namespace quorum::aggregation
