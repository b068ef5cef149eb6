#include "runtime/sweep/plan.h"

#include "runtime/aggregation/strategy.h"
#include "runtime/common/error.h"

namespace quorum::sweep {
namespace {

using nlohmann::json;

// Everything that decides what the stored rows contain. Two configs with equal plan keys
// produce identical stores, so a run may continue a store only under an equal plan key.
json plan_key(const config::SweepConfig& c, const std::vector<config::Problem>& evaluation,
              const std::vector<config::Problem>& calibration) {
  json policies = json::array(), prms = json::array();
  // Settings added since the first stores were written join the key only when set, so that
  // those stores still resume under an unchanged config.
  auto when_set = [](json& key, const char* field, const std::string& value) {
    if (!value.empty()) key[field] = value;
  };
  for (const auto& p : c.policies) {
    json key{{"name", p.name}, {"path", p.path}, {"temperature", p.temperature}, {"top_p", p.top_p},
             {"top_k", p.top_k}, {"max_new_tokens", p.max_new_tokens}, {"stop", p.stop},
             {"prompt", p.prompt}, {"step_separator", p.step_separator}};
    when_set(key, "system", p.system), when_set(key, "dtype", p.dtype);
    policies.push_back(std::move(key));
  }
  for (const auto& r : c.prms) {
    json key{{"name", r.name}, {"path", r.path}, {"kind", r.kind}, {"step_token", r.step_token},
             {"good_token", r.good_token}, {"prompt", r.prompt}};
    when_set(key, "bad_token", r.bad_token), when_set(key, "system", r.system), when_set(key, "dtype", r.dtype);
    when_set(key, "score_transform", r.score_transform);
    prms.push_back(std::move(key));
  }
  auto ids = [](const std::vector<config::Problem>& problems) {
    json out = json::array();
    for (const auto& p : problems) out.push_back(p.id);
    return out;
  };
  json key = {{"seed", c.seed}, {"samples", c.samples}, {"problems_per_unit", c.runtime.problems_per_unit},
             {"policies", policies}, {"prms", prms}, {"evaluation_problems", ids(evaluation)},
             {"calibration_problems", ids(calibration)}};
  json searches = json::array();
  for (const auto& run : config::search_runs(c)) searches.push_back(config::search_json(run));
  if (!searches.empty()) key["searches"] = searches;
  return key;
}

// The first key path at which two JSON values differ, for a message a user can act on.
std::string first_difference(const json& stored, const json& wanted, const std::string& path = "") {
  if (stored.is_number() && wanted.is_number()) return stored == wanted ? "" : path;  // parsed 24 is unsigned
  if (stored.type() != wanted.type()) return path.empty() ? "(root)" : path;
  if (stored.is_object()) {
    for (const auto& [key, value] : wanted.items()) {
      const auto child = path.empty() ? key : path + "." + key;
      if (!stored.contains(key)) return child;
      if (auto d = first_difference(stored[key], value, child); !d.empty()) return d;
    }
    for (const auto& [key, value] : stored.items())
      if (!wanted.contains(key)) return path.empty() ? key : path + "." + key;
    return "";
  }
  if (stored.is_array()) {
    if (stored.size() != wanted.size()) return path + " (length " + std::to_string(stored.size()) + " vs " +
                                               std::to_string(wanted.size()) + ")";
    for (std::size_t i = 0; i < stored.size(); ++i)
      if (auto d = first_difference(stored[i], wanted[i], path + "[" + std::to_string(i) + "]"); !d.empty()) return d;
    return "";
  }
  return stored == wanted ? "" : path;
}

std::vector<store::UnitRow> units_of(const config::SweepConfig& c, const std::string& split,
                                     const std::vector<config::Problem>& problems) {
  std::vector<store::UnitRow> units;
  const auto per_unit = std::max<std::size_t>(c.runtime.problems_per_unit, 1);
  for (std::size_t first = 0, chunk = 0; first < problems.size(); first += per_unit, ++chunk) {
    json ids = json::array();
    for (std::size_t i = first; i < std::min(problems.size(), first + per_unit); ++i) ids.push_back(problems[i].id);
    for (const auto& p : c.policies) {
      units.push_back({sample_unit_id(p.name, split, chunk), "sample",
                       json{{"kind", "sample"}, {"policy", p.name}, {"split", split}, {"chunk", chunk}, {"problems", ids}}.dump(),
                       store::UnitState::pending, 0});
      for (const auto& r : c.prms)
        units.push_back({score_unit_id(r.name, p.name, split, chunk), "score",
                         json{{"kind", "score"}, {"policy", p.name}, {"prm", r.name}, {"split", split}, {"chunk", chunk},
                              {"problems", ids}}.dump(),
                         store::UnitState::pending, 0});
    }
    for (const auto& run : config::search_runs(c)) {
      auto spec = config::search_json(run);
      spec["kind"] = "search", spec["split"] = split, spec["chunk"] = chunk, spec["problems"] = ids;
      units.push_back({search_unit_id(run.label, split, chunk), "search", spec.dump(), store::UnitState::pending, 0});
    }
  }
  return units;
}

std::vector<store::ProblemRow> rows_of(const std::string& split, const std::vector<config::Problem>& problems) {
  std::vector<store::ProblemRow> rows;
  for (std::size_t i = 0; i < problems.size(); ++i)
    rows.push_back({split, problems[i].id, static_cast<std::int64_t>(i), problems[i].text, problems[i].answer,
                    problems[i].level});
  return rows;
}

std::vector<store::ProblemRow> problem_rows(const std::vector<config::Problem>& evaluation,
                                           const std::vector<config::Problem>& calibration) {
  auto rows = rows_of(kEvaluation, evaluation);
  const auto calibration_rows = rows_of(kCalibration, calibration);
  rows.insert(rows.end(), calibration_rows.begin(), calibration_rows.end());
  return rows;
}

template <typename Models>
json names_of(const Models& models) {
  json names = json::array();
  for (const auto& m : models) names.push_back(m.name);
  return names;
}

}  // namespace

UnitSpec parse_unit_spec(const std::string& spec_json) {
  const auto j = json::parse(spec_json);
  UnitSpec spec;
  spec.kind = j.at("kind").get<std::string>();
  spec.policy = j.at("policy").get<std::string>();
  if (j.contains("prm")) spec.prm = j["prm"].get<std::string>();
  spec.split = j.at("split").get<std::string>();
  spec.chunk = j.at("chunk").get<std::size_t>();
  spec.problem_ids = j.at("problems").get<std::vector<std::string>>();
  if (spec.kind == "search") spec.search = config::search_of(j);
  return spec;
}

std::string search_unit_id(const std::string& label, const std::string& split, std::size_t chunk) {
  return "search/" + label + "/" + split + "/" + std::to_string(chunk);
}

std::string sample_unit_id(const std::string& policy, const std::string& split, std::size_t chunk) {
  return "sample/" + policy + "/" + split + "/" + std::to_string(chunk);
}

std::string score_unit_id(const std::string& prm, const std::string& policy, const std::string& split, std::size_t chunk) {
  return "score/" + prm + "/" + policy + "/" + split + "/" + std::to_string(chunk);
}

json describe(const config::SweepConfig& c) {
  const auto& a = c.analysis;
  json strategies = json::array(), reductions = json::array();
  for (auto s : a.strategies) strategies.push_back(std::string(aggregation::name(s)));
  for (auto r : a.reductions) reductions.push_back(std::string(aggregation::name(r)));
  json searches = json::array();
  for (const auto& run : config::search_runs(c)) searches.push_back(config::search_json(run));
  return {{"name", c.name}, {"config", c.file}, {"report", c.report}, {"policies", names_of(c.policies)},
          {"prms", names_of(c.prms)}, {"samples", c.samples}, {"calibration_split", c.has_calibration_split},
          {"searches", searches},
          {"analysis", {{"budgets", a.budgets}, {"strategies", strategies}, {"reductions", reductions},
                        {"folds", a.folds}, {"draws", a.draws}, {"calibration_draws", a.calibration_draws},
                        {"bootstrap", a.bootstrap_resamples}, {"seed", a.seed}, {"threads", a.threads},
                        {"reference", std::string(aggregation::name(a.reference))}}}};
}

analysis::AnalysisSettings analysis_settings(const json& description) {
  const auto& a = description.at("analysis");
  analysis::AnalysisSettings s;
  s.budgets = a.at("budgets").get<std::vector<std::uint32_t>>();
  for (const auto& name : a.at("strategies")) s.strategies.push_back(aggregation::parse_strategy(name.get<std::string>()));
  for (const auto& name : a.at("reductions")) s.reductions.push_back(aggregation::parse_reduction(name.get<std::string>()));
  s.folds = a.at("folds"), s.draws = a.at("draws"), s.calibration_draws = a.at("calibration_draws");
  s.bootstrap_resamples = a.at("bootstrap"), s.seed = a.at("seed"), s.threads = a.at("threads");
  s.reference = aggregation::parse_strategy(a.at("reference").get<std::string>());
  return s;
}

std::int64_t prepare_store(store::Store& store, const config::SweepConfig& c) {
  const auto evaluation = config::load_problems(c.evaluation);
  const auto calibration = c.has_calibration_split ? config::load_problems(c.calibration) : std::vector<config::Problem>();
  const auto key = plan_key(c, evaluation, calibration);
  if (const auto stored = store.meta("plan")) {
    const auto difference = first_difference(json::parse(*stored), key);
    if (!difference.empty())
      throw InputError(store.path(), 0, difference,
                       "this store was planned by a different sweep (it differs in '" + difference + "' from " + c.file +
                           "); use a new store, or the config that made it");
    store.set_meta("sweep", describe(c).dump());  // analysis settings may change between runs
    // A store planned before problems kept their levels gets them (only levels change: the
    // stored texts and answers stay those the stored responses answered).
    store.update_levels(problem_rows(evaluation, calibration));
    return store.release_leases();
  }
  // A new store: problems, units, then the plan key last, so a kill before it leaves a store
  // that the next run simply plans again (every write here is an upsert).
  store.upsert_problems(problem_rows(evaluation, calibration));
  auto units = units_of(c, kEvaluation, evaluation);
  const auto calibration_units = units_of(c, kCalibration, calibration);
  units.insert(units.end(), calibration_units.begin(), calibration_units.end());
  store.add_units(units);
  store.set_meta("sweep", describe(c).dump());
  store.set_meta("plan", key.dump());
  return 0;
}

}  // namespace quorum::sweep
