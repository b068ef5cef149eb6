// Writes an analysis to DIR: results.csv, calibration.json, savings.csv and summary.md.
// Every file is written beside its final name and renamed into place, so a crash or an
// error never leaves a half-written file behind.
#pragma once

#include <string>
#include <vector>

#include "runtime/analysis/analyze.h"

namespace quorum::analysis {

struct RunDescription {
  std::vector<std::string> inputs;
  std::vector<std::string> calibration_inputs;
};

void write_outputs(const std::string& directory, const Analysis& analysis,
                   const RunDescription& description);

// The weight curves w(p) are tabulated on p = 0.01 .. 0.99.
std::vector<double> weight_grid();
// The strategies whose votes are calibrated: linear_wv, logit_wv, kde_wv.
const std::vector<aggregation::Strategy>& calibrated_strategies();
std::vector<double> weight_curve(const calibration::Calibration& fit, aggregation::Strategy strategy);
// A cell's weight curve averaged over its calibration folds.
std::vector<double> mean_weight_curve(const CellResult& cell, aggregation::Strategy strategy);

// A number as the CSV files write it: %g with `digits` significant digits; NaN (unknown) empty.
std::string number(double value, int digits = 6);

std::string results_csv(const Analysis& analysis);
std::string savings_csv(const Analysis& analysis);
std::string calibration_json(const Analysis& analysis);
std::string summary_markdown(const Analysis& analysis, const RunDescription& description);

}  // namespace quorum::analysis
