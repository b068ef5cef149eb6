// The plan of a sweep: its problems and its fixed work units, written into the store once and
// read back by every restart. A unit is one chunk of `problems_per_unit` problems of one split:
// a sample unit asks one policy for all samples of those problems; a score unit asks one PRM to
// score one policy's responses to them and becomes ready once that sample unit is stored; a
// search unit runs one search (config::SearchRun: a policy, a PRM, a method and a budget n) on
// each of them and stores its n leaves with their step scores.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/config/sweep.h"
#include "runtime/store/store.h"

namespace quorum::sweep {

inline constexpr const char* kEvaluation = "evaluation";
inline constexpr const char* kCalibration = "calibration";

// What a unit computes, parsed from its spec.
struct UnitSpec {
  std::string kind;  // "sample", "score" or "search"
  std::string policy, prm, split;
  std::size_t chunk = 0;
  std::vector<std::string> problem_ids;
  config::SearchRun search;  // a search unit's search (its label names its responses)
};
UnitSpec parse_unit_spec(const std::string& spec_json);

// The sample unit whose responses a score unit needs.
std::string sample_unit_id(const std::string& policy, const std::string& split, std::size_t chunk);
std::string score_unit_id(const std::string& prm, const std::string& policy, const std::string& split, std::size_t chunk);
std::string search_unit_id(const std::string& label, const std::string& split, std::size_t chunk);


// What the store must keep of a sweep so that `status`, `report` and `export` need no YAML:
// names, samples, report directory and analysis settings.
nlohmann::json describe(const config::SweepConfig& config);
analysis::AnalysisSettings analysis_settings(const nlohmann::json& description);

// Prepares the store for a run of config: on a new store, loads the problems and writes the
// plan; on an existing one, checks that it was planned from the same sweep (problems, models,
// sampling, seed, samples, unit size), naming the first difference otherwise, and takes back
// leases a killed run left behind. Returns the number of leases taken back.
std::int64_t prepare_store(store::Store& store, const config::SweepConfig& config);

}  // namespace quorum::sweep
