#include "runtime/calibration/kde.h"

#include <algorithm>
#include <cmath>

namespace quorum::calibration {
namespace {

constexpr double kStep = (KdeRatio::kHigh - KdeRatio::kLow) / (KdeRatio::kGridPoints - 1);

int nearest_grid_index(double logit) {
  const double position = (logit - KdeRatio::kLow) / kStep;
  return std::clamp(static_cast<int>(std::lround(position)), 0, KdeRatio::kGridPoints - 1);
}

double silverman_bandwidth(const std::vector<double>& values) {
  double mean = 0;
  for (double v : values) mean += v;
  mean /= values.size();
  double variance = 0;
  for (double v : values) variance += (v - mean) * (v - mean);
  variance /= values.size();
  const double bandwidth = 1.06 * std::sqrt(variance) * std::pow(values.size(), -0.2);
  return std::max(bandwidth, kStep);
}

// Density at every grid point of a Gaussian KDE over values binned to the grid.
std::vector<double> binned_density(const std::vector<double>& values, double bandwidth) {
  std::vector<double> counts(KdeRatio::kGridPoints, 0.0);
  for (double v : values) counts[nearest_grid_index(v)] += 1.0;
  // The kernel depends only on the grid distance: tabulate it once.
  constexpr int n = KdeRatio::kGridPoints;
  std::vector<double> kernel(2 * n - 1);
  for (int d = -(n - 1); d <= n - 1; ++d) {
    const double z = d * kStep / bandwidth;
    kernel[d + n - 1] = std::exp(-0.5 * z * z);
  }
  std::vector<double> density(n, 0.0);
  const double norm = 1.0 / (values.size() * bandwidth * std::sqrt(2.0 * M_PI));
  for (int k = 0; k < n; ++k) {
    if (counts[k] == 0) continue;
    const double* shifted = kernel.data() + (n - 1) - k;  // shifted[g] = kernel at g - k
    for (int g = 0; g < n; ++g) density[g] += counts[k] * shifted[g];
  }
  for (double& d : density) d *= norm;
  return density;
}

}  // namespace

double KdeRatio::grid_point(int g) { return kLow + g * kStep; }

KdeRatio KdeRatio::fit(const std::vector<double>& correct_logits,
                       const std::vector<double>& incorrect_logits) {
  KdeRatio ratio;
  if (correct_logits.size() < 2 || incorrect_logits.size() < 2) return ratio;
  ratio.bandwidth1_ = silverman_bandwidth(correct_logits);
  ratio.bandwidth0_ = silverman_bandwidth(incorrect_logits);
  const auto f1 = binned_density(correct_logits, ratio.bandwidth1_);
  const auto f0 = binned_density(incorrect_logits, ratio.bandwidth0_);
  ratio.llr_.resize(kGridPoints);
  for (int g = 0; g < kGridPoints; ++g)
    ratio.llr_[g] = std::log(f1[g] + kDensityFloor) - std::log(f0[g] + kDensityFloor);
  return ratio;
}

double KdeRatio::at(double logit) const {
  if (llr_.empty()) return 0.0;
  if (logit <= kLow) return llr_.front();
  if (logit >= kHigh) return llr_.back();
  const int g = std::min(static_cast<int>((logit - kLow) / kStep), kGridPoints - 2);
  const double x0 = grid_point(g);
  const double slope = (llr_[g + 1] - llr_[g]) / (grid_point(g + 1) - x0);
  return slope * (logit - x0) + llr_[g];
}

int BinnedCalibrator::bin_of(double p) {
  return std::clamp(static_cast<int>(p * kBins), 0, kBins - 1);
}

void BinnedCalibrator::add(double p, bool correct) {
  const int bin = bin_of(p);
  correct_[bin] += correct;
  total_[bin] += 1;
}

double BinnedCalibrator::at(double p) const {
  const int bin = bin_of(p);
  return (correct_[bin] + 1.0) / (total_[bin] + 2.0);
}

std::vector<double> BinnedCalibrator::probabilities() const {
  std::vector<double> probabilities(kBins);
  for (int b = 0; b < kBins; ++b) probabilities[b] = (correct_[b] + 1.0) / (total_[b] + 2.0);
  return probabilities;
}

std::vector<double> BinnedCalibrator::counts() const { return {total_, total_ + kBins}; }

}  // namespace quorum::calibration
