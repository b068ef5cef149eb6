// What a store holds, read back as the interchange records `quorum analyze` reads: for the
// report (at the end of a run, or of a running store) and for `quorum export`.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "runtime/config/sweep.h"
#include "runtime/interchange/records.h"
#include "runtime/store/store.h"

namespace quorum::sweep {

// The problems of a split that are complete for a policy (all samples stored, every response
// scored by every PRM of the sweep), one record per (policy, problem). Incomplete problems are
// left out, so a running store gives a consistent partial view.
interchange::Dataset stored_dataset(store::Store& store, const nlohmann::json& description, const std::string& split);

// The searches of a sweep (config::search_runs), as its description keeps them.
std::vector<config::SearchRun> stored_searches(const nlohmann::json& description);

// A search's complete problems of a split (all n leaves stored with their step scores), its
// label as the policy.
interchange::Dataset search_dataset(store::Store& store, const config::SearchRun& run, const std::string& split);

// The sweep's description written by prepare_store; InputError when the store has none.
nlohmann::json stored_description(store::Store& store);

struct ReportSummary {
  std::size_t evaluation_problems = 0, calibration_problems = 0;  // complete, over all policies
  std::string directory;                                          // where the files are
  std::int64_t units_done = 0, units_total = 0;                   // the sweep's progress
  bool analysed = true;  // false: nothing complete yet, report.html says it waits
};

// Analyses what the store holds and writes report.html, results.csv, calibration.json,
// savings.csv and summary.md to directory (default: the sweep's report directory); keeps copies
// of the text files in the store. refresh_seconds > 0 is for a sweep that is still running:
// report.html then reloads itself that often, and a store with nothing complete yet gets a
// report.html that says so instead of an InputError.
ReportSummary write_report(store::Store& store, std::string directory = "", int refresh_seconds = 0);

// Writes a split as quorum JSONL rows (docs/interchange.md): the sampled policies' responses, or
// with `search` (a label) that search's leaves, its label as the policy. Returns the rows written.
// Text that is not UTF-8 is written with U+FFFD for its invalid bytes (JSON holds only UTF-8).
std::size_t export_jsonl(store::Store& store, const std::string& split, const std::string& path,
                         const std::string& search = "");

// Writes a split as search-and-learn's rows, one per (policy, problem) with one PRM's scores
// (`prm`; empty: the sweep's only PRM): problem, answer, unique_id, completions, scores,
// completion_tokens and pred (the completion whose last step scores highest, as search-and-learn
// picks it by default), with quorum's policy, prm and steps beside them so that `quorum analyze`
// reads the rows back exactly (docs/interchange.md). With `search`, that search's leaves (and its
// PRM). Returns the rows written.
std::size_t export_sal(store::Store& store, const std::string& split, std::string prm, const std::string& path,
                       const std::string& search = "");

}  // namespace quorum::sweep
