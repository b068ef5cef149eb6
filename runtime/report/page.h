// The HTML report: one self-contained file (report.html) holding the analysis as JSON, the
// charting libraries and the script that draws the charts from it, so it opens offline in any
// browser. docs/report.md describes what it shows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/analysis/analyze.h"
#include "runtime/interchange/records.h"
#include "runtime/store/store.h"

namespace quorum::report {

struct SweepProgress {
  std::string name;   // the sweep's name
  std::string store;  // the store's path
  std::int64_t units_done = 0, units_total = 0;
  bool finished() const { return units_done == units_total; }
};

struct PageInputs {
  const analysis::Analysis* analysis = nullptr;  // null: no problem is complete yet
  std::vector<store::Cost> sampling, scoring;    // per policy, per PRM
  SweepProgress progress;
  int refresh_seconds = 0;  // > 0: the page reloads itself that often (a sweep still running)
  // `quorum analyze`: the files it read. The page then names them instead of a store and a
  // sweep's progress.
  std::vector<std::string> input_files, calibration_files;
  // The evaluated problems with each response's verdict, for the page's lookup (problem_lookup).
  nlohmann::json problems = nlohmann::json::array();
  // A sweep's searches beside best-of-N (sweep::search_json): the rows of search.csv.
  nlohmann::json searches = nlohmann::json::array();
  // Per difficulty level (sweep::difficulty_json); null when the problems have no levels.
  nlohmann::json difficulty = nullptr;
};

// The page's per-problem lookup: every problem of the dataset with its gold answer and, per
// response, its text, its step scores per PRM and its verdict row (interchange::verdict_rows of
// the same dataset, in the same order), the step scores rounded to three decimals (the store
// and the exports keep them whole). When the texts together pass kLookupTextBytes, each
// keeps only its end (where the answer is), at least kLookupTextMin bytes, marked "cut" with
// its full length.
inline constexpr std::size_t kLookupTextBytes = 8u << 20, kLookupTextMin = 400;
nlohmann::json problem_lookup(const interchange::Dataset& dataset, const std::vector<nlohmann::json>& verdicts);

// What the page's script draws, as documented in docs/report.md.
nlohmann::json page_data(const PageInputs& inputs);

// The whole HTML page.
std::string render_page(const PageInputs& inputs);

}  // namespace quorum::report
