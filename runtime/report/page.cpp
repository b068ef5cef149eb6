#include "runtime/report/page.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "runtime/analysis/outputs.h"
#include "runtime/common/local_time.h"
#include "runtime/report/assets.h"

namespace quorum::report {

using aggregation::Strategy;
using nlohmann::json;

namespace {

// JSON has no NaN: a value that does not exist (a saving never reached) is null.
json number_or_null(double value) { return std::isnan(value) ? json(nullptr) : json(value); }

json cell_key(const analysis::CellResult& cell) {
  return {{"policy", cell.policy}, {"prm", cell.prm}, {"reduction", std::string(aggregation::name(cell.reduction))}};
}

json accuracy_rows(const analysis::Analysis& a) {
  json rows = json::array();
  const auto& budgets = a.settings.budgets;
  for (const auto& cell : a.cells)
    for (std::size_t s = 0; s < a.settings.strategies.size(); ++s)
      for (std::size_t b = 0; b < budgets.size(); ++b) {
        const std::size_t k = s * budgets.size() + b;
        auto row = cell_key(cell);
        row["strategy"] = std::string(aggregation::name(a.settings.strategies[s]));
        row["budget"] = budgets[b];
        row["accuracy"] = cell.accuracy.accuracy[k];
        row["ci_low"] = cell.accuracy.ci_low[k];
        row["ci_high"] = cell.accuracy.ci_high[k];
        rows.push_back(std::move(row));
      }
  return rows;
}

// The fold-averaged w(p) of every calibrated strategy the analysis evaluated.
json weight_rows(const analysis::Analysis& a) {
  json rows = json::array();
  const auto grid = analysis::weight_grid();
  for (const auto& cell : a.cells) {
    if (cell.calibrations.empty()) continue;
    for (Strategy s : analysis::calibrated_strategies()) {
      if (a.strategy_index(s) == static_cast<std::size_t>(-1)) continue;
      const auto w = analysis::mean_weight_curve(cell, s);
      for (std::size_t k = 0; k < grid.size(); ++k) {
        auto row = cell_key(cell);
        row["strategy"] = std::string(aggregation::name(s));
        row["p"] = grid[k];
        row["w"] = w[k];
        rows.push_back(std::move(row));
      }
    }
  }
  return rows;
}

json histogram_rows(const analysis::Analysis& a) {
  json rows = json::array();
  constexpr int bins = analysis::ScoreHistogram::kBins;
  for (const auto& cell : a.cells)
    for (int k = 0; k < bins; ++k)
      for (const auto& [outcome, counts] : {std::pair{"correct", &cell.histogram.correct},
                                            std::pair{"incorrect", &cell.histogram.incorrect}}) {
        auto row = cell_key(cell);
        row["p_low"] = static_cast<double>(k) / bins;
        row["p_high"] = static_cast<double>(k + 1) / bins;
        row["outcome"] = outcome;
        row["responses"] = (*counts)[k];
        rows.push_back(std::move(row));
      }
  return rows;
}

json saving_rows(const analysis::Analysis& a) {
  json rows = json::array();
  const auto nb = a.settings.budgets.size();
  const auto reference = a.strategy_index(a.settings.reference);
  for (const auto& cell : a.cells)
    for (const auto& saving : cell.savings) {
      auto row = cell_key(cell);
      row["strategy"] = std::string(aggregation::name(saving.strategy));
      row["reference_accuracy"] = cell.accuracy.accuracy[reference * nb + nb - 1];
      row["budget"] = number_or_null(saving.budget);
      row["sample_fraction"] = number_or_null(saving.sample_fraction);
      row["token_fraction"] = number_or_null(saving.token_fraction);
      rows.push_back(std::move(row));
    }
  return rows;
}

json cost_rows(const std::vector<store::Cost>& costs, const char* role) {
  json rows = json::array();
  for (const auto& c : costs) {
    const double n = std::max<double>(1, static_cast<double>(c.rows));
    rows.push_back({{"name", c.name},
                    {"role", role},
                    {"rows", c.rows},
                    {"input_tokens_per_row", c.input_tokens / n},
                    {"output_tokens_per_row", c.output_tokens / n},
                    {"seconds_per_row", c.seconds / n},
                    {"seconds", c.seconds}});
  }
  return rows;
}

json analysis_data(const analysis::Analysis& a) {
  json strategies = json::array(), reductions = json::array();
  for (Strategy s : a.settings.strategies)
    strategies.push_back({{"name", std::string(aggregation::name(s))},
                          {"deployable", aggregation::is_deployable(s)},
                          {"calibrated", aggregation::is_calibrated(s)}});
  for (auto r : a.settings.reductions) reductions.push_back(std::string(aggregation::name(r)));
  return {{"problems", a.problems},
          {"responses", a.responses},
          {"calibration", a.calibration_mode},
          {"budgets", a.settings.budgets},
          {"strategies", strategies},
          {"reductions", reductions},
          {"reference", std::string(aggregation::name(a.settings.reference))},
          {"draws", a.settings.draws},
          {"bootstrap_resamples", a.settings.bootstrap_resamples},
          {"seed", a.settings.seed},
          {"accuracy", accuracy_rows(a)},
          {"weights", weight_rows(a)},
          {"histograms", histogram_rows(a)},
          {"savings", saving_rows(a)}};
}

// The last `bytes` bytes of text or a little fewer, starting on a UTF-8 character.
std::string text_end(const std::string& text, std::size_t bytes) {
  std::size_t start = text.size() - bytes;
  while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) ++start;
  return text.substr(start);
}

std::string escape_html(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// Text inside <script> ends at the first "</script": JSON strings may hold "</", which JSON
// lets us write as "<\/".
std::string script_safe_json(const json& data) {
  // Model output need not be valid UTF-8 (a byte-level tokenizer can stop inside a character).
  auto text = data.dump(-1, ' ', false, json::error_handler_t::replace);
  for (std::size_t at = text.find("</"); at != std::string::npos; at = text.find("</", at + 3)) text.replace(at, 2, "<\\/");
  return text;
}

}  // namespace

json problem_lookup(const interchange::Dataset& dataset, const std::vector<json>& verdicts) {
  std::size_t text_bytes = 0, responses = 0;
  for (const auto& problem : dataset.problems)
    for (const auto& response : problem.responses) text_bytes += response.text.size(), ++responses;
  const std::size_t cap = text_bytes <= kLookupTextBytes ? text_bytes
                                                         : std::max(kLookupTextMin, kLookupTextBytes / std::max<std::size_t>(responses, 1));
  json problems = json::array();
  std::size_t row = 0;
  for (const auto& problem : dataset.problems) {
    json rows = json::array();
    json normalized_gold = nullptr;
    for (const auto& response : problem.responses) {
      if (row == verdicts.size()) throw std::logic_error("problem_lookup: fewer verdicts than responses");
      json entry = verdicts[row++];
      normalized_gold = entry.at("normalized_gold");
      for (const char* repeated : {"policy", "problem_id", "gold", "normalized_gold"}) entry.erase(repeated);
      if (response.text.size() > cap) {
        entry["text"] = text_end(response.text, cap);
        entry["cut"] = response.text.size();
      } else {
        entry["text"] = response.text;
      }
      // Three decimals are what a reader compares; full floats would triple the page.
      json scores = json::object();
      for (const auto& [prm, values] : response.scores) {
        json rounded = json::array();
        for (const float v : values) rounded.push_back(std::round(static_cast<double>(v) * 1000.0) / 1000.0);
        scores[prm] = std::move(rounded);
      }
      entry["scores"] = std::move(scores);
      rows.push_back(std::move(entry));
    }
    problems.push_back({{"policy", problem.policy},
                        {"problem_id", problem.problem_id},
                        {"problem", problem.problem},
                        {"gold", problem.gold},
                        {"normalized_gold", normalized_gold},
                        {"responses", std::move(rows)}});
  }
  if (row != verdicts.size()) throw std::logic_error("problem_lookup: more verdicts than responses");
  return problems;
}

json page_data(const PageInputs& in) {
  const auto& p = in.progress;
  json libraries = json::array();
  for (const auto& asset : {vega_js(), vega_lite_js(), vega_embed_js()}) libraries.push_back(std::string(asset.name));
  json inputs = nullptr;
  if (!in.input_files.empty()) inputs = {{"evaluation", in.input_files}, {"calibration", in.calibration_files}};
  return {{"sweep", p.name},
          {"store", p.store},
          {"inputs", inputs},
          {"problems", in.problems},
          {"searches", in.searches},
          {"difficulty", in.difficulty},
          {"generated", local_time_now()},
          {"progress", {{"units_done", p.units_done}, {"units_total", p.units_total}, {"finished", p.finished()}}},
          {"refresh_seconds", in.refresh_seconds},
          {"libraries", libraries},
          {"analysis", in.analysis ? analysis_data(*in.analysis) : json(nullptr)},
          {"costs", {{"sampling", cost_rows(in.sampling, "sampling")}, {"scoring", cost_rows(in.scoring, "scoring")}}}};
}

std::string render_page(const PageInputs& inputs) {
  std::string html;
  const auto append_script = [&html](const Asset& asset) {
    html += "<script>/* " + std::string(asset.name) + " */\n";
    html += asset.content;
    html += "\n</script>\n";
  };
  html += "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  if (inputs.refresh_seconds > 0)
    html += "<meta http-equiv=\"refresh\" content=\"" + std::to_string(inputs.refresh_seconds) + "\">\n";
  html += "<title>quorum report: " + escape_html(inputs.progress.name) + "</title>\n";
  html += "<style>\n" + std::string(report_css().content) + "\n</style>\n";
  append_script(vega_js());
  append_script(vega_lite_js());
  append_script(vega_embed_js());
  html += "</head>\n<body>\n<main id=\"report\"></main>\n";
  html += "<script id=\"quorum-data\" type=\"application/json\">" + script_safe_json(page_data(inputs)) + "</script>\n";
  append_script(report_js());
  html += "</body>\n</html>\n";
  return html;
}

}  // namespace quorum::report
