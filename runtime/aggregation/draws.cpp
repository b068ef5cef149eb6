#include "runtime/aggregation/draws.h"

#include <algorithm>

namespace quorum::aggregation {

void draw_permutation(std::uint64_t stream, std::uint64_t j, std::uint64_t d, std::uint32_t n,
                      std::uint16_t* order, std::vector<std::uint64_t>& key_scratch) {
  key_scratch.resize(n);
  const std::uint64_t base = splitmix64(splitmix64(stream ^ j) ^ d);
  for (std::uint32_t i = 0; i < n; ++i) key_scratch[i] = (splitmix64(base ^ i) & ~0xFFFFULL) | i;
  std::sort(key_scratch.begin(), key_scratch.end());
  for (std::uint32_t i = 0; i < n; ++i) order[i] = static_cast<std::uint16_t>(key_scratch[i] & 0xFFFF);
}

}  // namespace quorum::aggregation
