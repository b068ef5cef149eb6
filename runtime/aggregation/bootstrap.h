// Percentile bootstrap over problems: resample the problems with replacement, recompute the
// mean accuracy, and take the 2.5% and 97.5% quantiles. The resamples are drawn once and
// shared by every series, so intervals of different strategies are paired.
#pragma once

#include <cstdint>
#include <vector>

namespace quorum::aggregation {

class Bootstrap {
 public:
  Bootstrap(std::size_t problems, int resamples, std::uint64_t seed);

  struct Interval {
    double low, high;
  };
  // series: count arrays of `problems` values each, laid out one after the other.
  std::vector<Interval> intervals(const double* series, std::size_t count, int threads) const;

 private:
  std::size_t problems_;
  int resamples_;
  std::vector<double> multiplicity_;  // [resample * problems + j]: times j was drawn
};

// The q-quantile of values with linear interpolation between order statistics (NumPy's
// default); reorders values.
double quantile(std::vector<double>& values, double q);

}  // namespace quorum::aggregation
