// Seeded, reproducible subsets of a problem's responses. Draw d of problem j is a random
// permutation of its responses; the budget-N subset is the permutation's first N entries,
// so one permutation serves every budget (the subsets of one draw are nested) and the
// budget-N subset is a uniform draw without replacement. Permutations come from sorting
// counter-based hash keys, so any implementation (the NumPy reference too) can reproduce them:
// response i gets the key (draw_key & ~0xFFFF) | i, responses are ordered by key (the low 16
// bits make keys unique, so the order needs no tie rule).
#pragma once

#include <cstdint>
#include <vector>

namespace quorum::aggregation {

inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// Independent random streams derived from the user's seed.
enum class Stream : std::uint64_t { evaluation = 1, calibration = 2, bootstrap = 3 };

inline std::uint64_t stream_key(std::uint64_t seed, Stream stream) {
  return splitmix64(splitmix64(seed) ^ static_cast<std::uint64_t>(stream));
}

// The key that orders response i in draw d of problem j.
inline std::uint64_t draw_key(std::uint64_t stream, std::uint64_t j, std::uint64_t d,
                              std::uint64_t i) {
  return splitmix64(splitmix64(splitmix64(stream ^ j) ^ d) ^ i);
}

// The most responses one problem may have: the low 16 bits of a key number them. Every input
// path checks it (sweep configs' samples, JSONL rows) before a pool is built.
constexpr std::uint32_t kMaxResponsesPerProblem = 65536;

// Writes the permutation of draw d of problem j (n responses) into order[0..n).
// Only the first `needed` entries of the permutation are written (the smallest keys, in order):
// a walk that stops at a budget needs no more. n is at most kMaxResponsesPerProblem.
void draw_permutation(std::uint64_t stream, std::uint64_t j, std::uint64_t d, std::uint32_t n,
                      std::uint32_t needed, std::uint16_t* order, std::vector<std::uint64_t>& key_scratch);

}  // namespace quorum::aggregation
