#include "runtime/analysis/outputs.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "runtime/common/error.h"
#include "runtime/common/files.h"

namespace quorum::analysis {

using aggregation::Strategy;

std::string number(double value, int digits) {
  if (std::isnan(value)) return "";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*g", digits, value);
  return buffer;
}

namespace {

std::string fixed(double value, int decimals = 3) {
  if (std::isnan(value)) return "n/a";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

// CSV fields: quote when a name holds a comma, quote or newline.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string cell_prefix(const CellResult& cell) {
  return csv_field(cell.policy) + "," + csv_field(cell.prm) + "," +
         std::string(aggregation::name(cell.reduction)) + ",";
}

// The deployable strategies with the best accuracy at budget index b (ties within 1e-12),
// or "all tie".
std::string winners_at(const Analysis& analysis, const CellResult& cell, std::size_t b) {
  const std::size_t nb = analysis.settings.budgets.size();
  double best = -1;
  std::string winners;
  int candidates = 0, tied = 0;
  for (std::size_t s = 0; s < analysis.settings.strategies.size(); ++s) {
    if (!aggregation::is_deployable(analysis.settings.strategies[s])) continue;
    ++candidates;
    const double a = cell.accuracy.accuracy[s * nb + b];
    const std::string name(aggregation::name(analysis.settings.strategies[s]));
    if (a > best + 1e-12) best = a, winners = name, tied = 1;
    else if (a > best - 1e-12) winners += ", " + name, ++tied;
  }
  return candidates > 1 && tied == candidates ? "all tie" : winners;
}

}  // namespace

std::vector<double> weight_grid() {
  std::vector<double> p;
  for (int k = 1; k <= 99; ++k) p.push_back(k / 100.0);
  return p;
}

const std::vector<Strategy>& calibrated_strategies() {
  static const std::vector<Strategy> list = {Strategy::linear_wv, Strategy::logit_wv, Strategy::kde_wv};
  return list;
}

std::vector<double> weight_curve(const calibration::Calibration& fit, Strategy strategy) {
  std::vector<double> w;
  for (double p : weight_grid()) w.push_back(fit.weight(strategy, p));
  return w;
}

std::vector<double> mean_weight_curve(const CellResult& cell, Strategy strategy) {
  std::vector<double> mean(weight_grid().size(), 0.0);
  for (const auto& fit : cell.calibrations) {
    const auto w = weight_curve(fit, strategy);
    for (std::size_t k = 0; k < w.size(); ++k) mean[k] += w[k] / cell.calibrations.size();
  }
  return mean;
}

std::string results_csv(const Analysis& analysis) {
  std::ostringstream out;
  out << "policy,prm,reduction,strategy,budget,accuracy,ci_low,ci_high\n";
  const auto& budgets = analysis.settings.budgets;
  for (const auto& cell : analysis.cells)
    for (std::size_t s = 0; s < analysis.settings.strategies.size(); ++s)
      for (std::size_t b = 0; b < budgets.size(); ++b) {
        const std::size_t k = s * budgets.size() + b;
        out << cell_prefix(cell) << aggregation::name(analysis.settings.strategies[s]) << ","
            << budgets[b] << "," << number(cell.accuracy.accuracy[k], 8) << ","
            << number(cell.accuracy.ci_low[k], 8) << "," << number(cell.accuracy.ci_high[k], 8) << "\n";
      }
  return out.str();
}

std::string savings_csv(const Analysis& analysis) {
  std::ostringstream out;
  out << "policy,prm,reduction,strategy,reference,budget,fraction_samples,fraction_tokens\n";
  for (const auto& cell : analysis.cells)
    for (const auto& saving : cell.savings)
      out << cell_prefix(cell) << aggregation::name(saving.strategy) << ","
          << aggregation::name(analysis.settings.reference) << "@" << analysis.settings.budgets.back()
          << "," << number(saving.budget) << "," << number(saving.sample_fraction) << ","
          << number(saving.token_fraction) << "\n";
  return out.str();
}

std::string calibration_json(const Analysis& analysis) {
  using nlohmann::json;
  json root;
  root["calibration"] = analysis.calibration_mode;
  root["weight_grid_p"] = weight_grid();
  root["linear_grid_b"] = calibration::linear_grid();
  root["logit_grid_b"] = calibration::logit_grid();
  json cells = json::array();
  for (const auto& cell : analysis.cells) {
    json entry{{"policy", cell.policy}, {"prm", cell.prm},
               {"reduction", std::string(aggregation::name(cell.reduction))}};
    json fits = json::array();
    for (std::size_t f = 0; f < cell.calibrations.size(); ++f) {
      const auto& fit = cell.calibrations[f];
      json item{{"fold", cell.calibrations.size() > 1 ? json(f) : json("all")},
                {"problems", fit.problems},
                {"responses", fit.responses},
                {"correct_responses", fit.correct_responses}};
      item["linear_wv"] = {{"b", fit.linear_b}, {"accuracy_by_b", fit.linear_accuracy}};
      item["logit_wv"] = {{"b", fit.logit_b}, {"accuracy_by_b", fit.logit_accuracy}};
      item["kde_wv"] = {{"informative", fit.kde.informative()},
                        {"bandwidth_correct", fit.kde.bandwidth_correct()},
                        {"bandwidth_incorrect", fit.kde.bandwidth_incorrect()}};
      item["q_calibrator"] = {{"bins", calibration::BinnedCalibrator::kBins},
                              {"p_correct", fit.q.probabilities()},
                              {"responses", fit.q.counts()}};
      json curves, crossings;
      for (Strategy s : calibrated_strategies()) {
        const auto w = weight_curve(fit, s);
        curves[std::string(aggregation::name(s))] = w;
        crossings[std::string(aggregation::name(s))] = zero_crossings(weight_grid(), w);
      }
      item["w_curve"] = curves;
      item["zero_crossings"] = crossings;
      fits.push_back(std::move(item));
    }
    entry["fits"] = std::move(fits);
    entry["score_histogram"] = {{"bins", ScoreHistogram::kBins},
                                {"correct", cell.histogram.correct},
                                {"incorrect", cell.histogram.incorrect}};
    cells.push_back(std::move(entry));
  }
  root["cells"] = std::move(cells);
  return root.dump(1) + "\n";
}

std::string summary_markdown(const Analysis& analysis, const RunDescription& description) {
  const auto& settings = analysis.settings;
  const auto& budgets = settings.budgets;
  const std::size_t nb = budgets.size();
  std::ostringstream out;
  out << "# quorum analysis\n\n";
  out << "- inputs: ";
  for (std::size_t i = 0; i < description.inputs.size(); ++i) out << (i ? ", " : "") << "`" << description.inputs[i] << "`";
  out << "\n- problems: " << analysis.problems << ", responses: " << analysis.responses << "\n";
  out << "- calibration: " << analysis.calibration_mode;
  for (const auto& input : description.calibration_inputs) out << " `" << input << "`";
  if (!analysis.reference_choice.empty()) out << "\n- savings reference: " << analysis.reference_choice;
  out << "\n- budgets:";
  for (auto b : budgets) out << " " << b;
  out << "; draws per budget: " << settings.draws << "; seed: " << settings.seed
      << "; bootstrap resamples: " << settings.bootstrap_resamples << "\n";
  out << "- accuracy is the mean over problems of the fractional credit over draws (ties between k "
         "answers, one correct, score 1/k); 95% intervals by bootstrap over problems\n\n";

  // Overview: which strategy wins where, one line per cell.
  out << "## Best deployable strategy per pair and budget\n\n| policy | prm | reduction |";
  for (auto b : budgets) out << " N=" << b << " |";
  out << "\n|---|---|---|";
  for (std::size_t b = 0; b < nb; ++b) out << "---|";
  out << "\n";
  for (const auto& cell : analysis.cells) {
    out << "| " << cell.policy << " | " << cell.prm << " | " << aggregation::name(cell.reduction) << " |";
    for (std::size_t b = 0; b < nb; ++b) out << " " << winners_at(analysis, cell, b) << " |";
    out << "\n";
  }
  out << "\n";

  for (const auto& cell : analysis.cells) {
    out << "## " << cell.policy << " x " << cell.prm << " (reduction: " << aggregation::name(cell.reduction)
        << ")\n\n| budget |";
    for (auto s : settings.strategies) out << " " << aggregation::name(s) << " |";
    out << " best deployable |\n|---:|";
    for (std::size_t s = 0; s < settings.strategies.size(); ++s) out << "---:|";
    out << "---|\n";
    for (std::size_t b = 0; b < nb; ++b) {
      out << "| " << budgets[b] << " |";
      for (std::size_t s = 0; s < settings.strategies.size(); ++s)
        out << " " << fixed(cell.accuracy.accuracy[s * nb + b]) << " |";
      out << " " << winners_at(analysis, cell, b) << " |\n";
    }
    out << "\n";

    const auto& fits = cell.calibrations;
    const bool calibrated = std::any_of(settings.strategies.begin(), settings.strategies.end(),
                                        aggregation::is_calibrated);
    if (calibrated && !fits.empty()) {
      double linear_b = 0, logit_b = 0;
      for (const auto& fit : fits) linear_b += fit.linear_b / fits.size(), logit_b += fit.logit_b / fits.size();
      out << "Calibration (" << (fits.size() > 1 ? "mean over folds" : "one fit") << "): linear_wv b = "
          << fixed(linear_b) << ", logit_wv b = " << fixed(logit_b) << ".\n";
      for (Strategy s : calibrated_strategies()) {
        const auto w = mean_weight_curve(cell, s);
        const auto crossings = zero_crossings(weight_grid(), w);
        out << "- " << aggregation::name(s) << ": w(p) ";
        const bool any_negative = std::any_of(w.begin(), w.end(), [](double v) { return v < 0; });
        if (!any_negative) {
          out << "is non-negative on [0.01, 0.99]";
        } else {
          out << "is negative ";
          std::vector<std::string> spans;
          double start = w.front() < 0 ? 0.0 : NAN;
          for (double x : crossings) {
            if (std::isnan(start)) start = x;
            else spans.push_back("p in [" + fixed(start, 2) + ", " + fixed(x, 2) + "]"), start = NAN;
          }
          if (!std::isnan(start)) spans.push_back("p in [" + fixed(start, 2) + ", 1]");
          for (std::size_t k = 0; k < spans.size(); ++k) out << (k ? " and " : "") << spans[k];
          out << ": such scores vote against their answer";
        }
        out << "\n";
      }
      out << "\n";
    }

    if (!cell.savings.empty()) {
      out << "Compute saving against " << aggregation::name(settings.reference) << " at N = " << budgets.back()
          << " (accuracy " << fixed(cell.accuracy.accuracy[analysis.strategy_index(settings.reference) * nb + nb - 1])
          << "):\n\n| strategy | budget reaching it | fraction of samples | fraction of tokens |\n|---|---:|---:|---:|\n";
      for (const auto& saving : cell.savings)
        out << "| " << aggregation::name(saving.strategy) << " | "
            << (std::isnan(saving.budget) ? "not reached" : fixed(saving.budget, 1)) << " | "
            << fixed(saving.sample_fraction) << " | " << fixed(saving.token_fraction) << " |\n";
      out << "\n";
    }

    out << "PRM score histogram (" << aggregation::name(cell.reduction) << "), responses per bin of p:\n\n| p | correct | incorrect |\n|---|---:|---:|\n";
    for (int k = 0; k < ScoreHistogram::kBins; ++k)
      out << "| " << fixed(k / 10.0, 1) << "-" << fixed((k + 1) / 10.0, 1) << " | " << cell.histogram.correct[k]
          << " | " << cell.histogram.incorrect[k] << " |\n";
    out << "\n";
  }
  return out.str();
}

void write_outputs(const std::string& directory, const Analysis& analysis,
                   const RunDescription& description) {
  // Render everything first: a failure here leaves the directory untouched.
  const std::string results = results_csv(analysis);
  const std::string calibration = calibration_json(analysis);
  const std::string savings = savings_csv(analysis);
  const std::string summary = summary_markdown(analysis, description);
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) throw InputError(directory, 0, "--out", "cannot create directory: " + error.message());
  const std::filesystem::path dir(directory);
  write_file_atomically(dir / "results.csv", results);
  write_file_atomically(dir / "calibration.json", calibration);
  write_file_atomically(dir / "savings.csv", savings);
  write_file_atomically(dir / "summary.md", summary);
}

}  // namespace quorum::analysis
