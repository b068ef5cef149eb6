// The score-density ratio of kde_wv: Gaussian kernel density estimates of the PRM scores of
// correct (f1) and incorrect (f0) calibration responses, in logit space, tabulated as
// log f1/f0 on a fixed grid. The ratio is the same in p and logit space (the Jacobians
// cancel); logit space keeps the kernels from spilling over 0 and 1.
#pragma once

#include <vector>

namespace quorum::calibration {

class KdeRatio {
 public:
  static constexpr int kGridPoints = 512;
  static constexpr double kLow = -14.0, kHigh = 14.0;  // logit(1e-6) is about -13.8
  static constexpr double kDensityFloor = 1e-9;         // bounds |log f1/f0| near 20.7

  // Logit values are binned onto the grid; the kernels are evaluated grid to grid.
  // Bandwidth per class: Silverman's rule 1.06 sigma n^(-1/5), never below the grid step.
  // With fewer than two responses in either class the ratio is uninformative (zero).
  static KdeRatio fit(const std::vector<double>& correct_logits,
                      const std::vector<double>& incorrect_logits);

  // log f1/f0 at a logit value, interpolated linearly between grid points.
  double at(double logit) const;
  bool informative() const { return !llr_.empty(); }
  double bandwidth_correct() const { return bandwidth1_; }
  double bandwidth_incorrect() const { return bandwidth0_; }

  static double grid_point(int g);

 private:
  std::vector<double> llr_;  // per grid point
  double bandwidth1_ = 0, bandwidth0_ = 0;
};

// P(correct | p) in equal-width bins of p, Laplace-smoothed ((c+1)/(n+2)) so that no bin says
// 0 or 1: the q of kde_wv averages it over a draw's responses.
class BinnedCalibrator {
 public:
  static constexpr int kBins = 10;
  void add(double p, bool correct);
  double at(double p) const;
  std::vector<double> probabilities() const;
  std::vector<double> counts() const;

 private:
  static int bin_of(double p);
  double correct_[kBins] = {};
  double total_[kBins] = {};
};

}  // namespace quorum::calibration
