#include "runtime/aggregation/bootstrap.h"

#include <algorithm>
#include <cmath>

#include "runtime/aggregation/draws.h"
#include "runtime/common/multiversion.h"
#include "runtime/common/parallel.h"

namespace quorum::aggregation {
namespace {

// The means of every series under one resample: out[s] = sum_j weights[j] * by_problem[j][s] / P.
// The benchmark's second-hottest loop: where the processor has AVX2 it runs twice as wide
// (picked once at load time; no fused multiply-add, so results are the same bit for bit).
QUORUM_AVX2_CLONES
void resample_means(const double* weights, const double* by_problem, std::size_t problems,
                    std::size_t count, double* __restrict out) {
  for (std::size_t j = 0; j < problems; ++j) {
    const double w = weights[j];
    if (w == 0) continue;
    const double* row = by_problem + j * count;
    for (std::size_t s = 0; s < count; ++s) out[s] += w * row[s];
  }
  for (std::size_t s = 0; s < count; ++s) out[s] /= problems;
}

}  // namespace

Bootstrap::Bootstrap(std::size_t problems, int resamples, std::uint64_t seed)
    : problems_(problems), resamples_(resamples), multiplicity_(problems * resamples, 0.0) {
  const std::uint64_t stream = stream_key(seed, Stream::bootstrap);
  for (int b = 0; b < resamples; ++b)
    for (std::size_t k = 0; k < problems; ++k)
      multiplicity_[b * problems + draw_key(stream, b, 0, k) % problems] += 1.0;
}

double quantile(std::vector<double>& values, double q) {
  const double position = q * (values.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  std::nth_element(values.begin(), values.begin() + below, values.end());
  const double low = values[below];
  if (below + 1 >= values.size()) return low;
  const double high = *std::min_element(values.begin() + below + 1, values.end());
  return low + (position - below) * (high - low);
}

std::vector<Bootstrap::Interval> Bootstrap::intervals(const double* series, std::size_t count,
                                                      int threads) const {
  // Transpose so that each resample's means come from contiguous axpy passes over problems.
  std::vector<double> by_problem(problems_ * count);
  for (std::size_t s = 0; s < count; ++s)
    for (std::size_t j = 0; j < problems_; ++j) by_problem[j * count + s] = series[s * problems_ + j];

  std::vector<double> means(static_cast<std::size_t>(resamples_) * count, 0.0);
  parallel_for(resamples_, threads, [&](std::size_t b, int) {
    resample_means(multiplicity_.data() + b * problems_, by_problem.data(), problems_, count,
                   means.data() + b * count);
  });

  std::vector<Interval> result(count);
  std::vector<double> column(resamples_);
  for (std::size_t s = 0; s < count; ++s) {
    for (int b = 0; b < resamples_; ++b) column[b] = means[b * count + s];
    result[s].low = quantile(column, 0.025);
    result[s].high = quantile(column, 0.975);
  }
  return result;
}

}  // namespace quorum::aggregation
