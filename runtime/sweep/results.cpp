#include "runtime/sweep/results.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <sstream>

#include "runtime/analysis/analyze.h"
#include "runtime/analysis/outputs.h"
#include "runtime/common/error.h"
#include "runtime/common/files.h"
#include "runtime/interchange/pools.h"
#include "runtime/interchange/verdicts.h"
#include "runtime/report/page.h"
#include "runtime/sweep/plan.h"
#include "runtime/sweep/difficulty.h"
#include "runtime/sweep/search_report.h"

namespace quorum::sweep {

using nlohmann::json;

json stored_description(store::Store& store) {
  const auto description = store.meta("sweep");
  if (!description) throw InputError(store.path(), 0, "", "the store holds no planned sweep");
  return json::parse(*description);
}

namespace {

// The records of `policy`'s problems of a split that are complete: `count` responses each, every
// one scored by every PRM of `prms`.
void add_complete(store::Store& store, const std::string& policy, const std::vector<std::string>& prms,
                  std::size_t count, const std::string& split, const std::vector<store::ProblemRow>& problems,
                  interchange::Dataset& dataset) {
  std::map<std::string, std::map<std::string, store::ScoreRow>> scores;  // prm -> response id -> row
  for (const auto& prm : prms) scores[prm] = store.scores(prm, policy, split);
  std::map<std::string, std::vector<store::ResponseRow>> by_problem;
  for (auto& row : store.responses(policy, split)) by_problem[row.problem_id].push_back(std::move(row));
  for (const auto& problem : problems) {
    auto found = by_problem.find(problem.id);
    if (found == by_problem.end() || found->second.size() != count) continue;
    interchange::ProblemRecord record;
    record.problem_id = problem.id, record.problem = problem.text, record.gold = problem.answer;
    record.policy = policy, record.level = problem.level, record.file = store.path();
    bool complete = true;
    for (const auto& row : found->second) {
      interchange::ResponseRecord response;
      response.text = row.text, response.steps = row.steps, response.answer = row.answer;
      response.prompt_tokens = static_cast<double>(row.prompt_tokens);
      response.completion_tokens = static_cast<double>(row.completion_tokens);
      for (const auto& prm : prms) {
        const auto score = scores[prm].find(row.id);
        if (score == scores[prm].end()) {
          complete = false;
          break;
        }
        response.scores[prm] = score->second.scores;
      }
      if (!complete) break;
      record.responses.push_back(std::move(response));
    }
    if (!complete) continue;
    dataset.index[{policy, problem.id}] = dataset.problems.size();
    dataset.problems.push_back(std::move(record));
  }
}

}  // namespace

interchange::Dataset stored_dataset(store::Store& store, const json& description, const std::string& split) {
  const auto samples = description.at("samples").get<std::size_t>();
  const auto prms = description.at("prms").get<std::vector<std::string>>();
  const auto problems = store.problems(split);
  interchange::Dataset dataset;
  for (const auto& policy : description.at("policies").get<std::vector<std::string>>())
    add_complete(store, policy, prms, samples, split, problems, dataset);
  return dataset;
}

std::vector<config::SearchRun> stored_searches(const json& description) {
  std::vector<config::SearchRun> runs;
  if (description.contains("searches"))
    for (const auto& run : description.at("searches")) runs.push_back(config::search_of(run));
  return runs;
}

interchange::Dataset search_dataset(store::Store& store, const config::SearchRun& run, const std::string& split) {
  interchange::Dataset dataset;
  add_complete(store, run.label, {run.prm}, static_cast<std::size_t>(run.n), split, store.problems(split), dataset);
  return dataset;
}

namespace {

// A policy enters the report once it has complete problems in every split the analysis needs.
std::vector<aggregation::PolicyPool> pools_of(const interchange::Dataset& dataset, int threads) {
  if (dataset.problems.empty()) return {};
  return interchange::build_pools(dataset, answers::ExtractOptions{}, threads);
}

void keep_policies(std::vector<aggregation::PolicyPool>& pools, const std::vector<aggregation::PolicyPool>& others) {
  pools.erase(std::remove_if(pools.begin(), pools.end(),
                             [&](const aggregation::PolicyPool& pool) {
                               return std::none_of(others.begin(), others.end(),
                                                   [&](const auto& o) { return o.policy == pool.policy; });
                             }),
              pools.end());
}

report::SweepProgress sweep_progress(store::Store& store, const json& description) {
  const auto units = store.unit_totals();
  return {description.at("name").get<std::string>(), store.path(), units.done, units.total()};
}

// The verdict of every evaluated response. Workers store the answer extract_answer found with
// the default options, so the verdicts extract it again from the text, as the pools do, to say
// which rule found it.
std::vector<json> sweep_verdicts(interchange::Dataset dataset) {
  for (auto& problem : dataset.problems)
    for (auto& response : problem.responses) response.answer.reset();
  return interchange::verdict_rows(dataset, answers::ExtractOptions{});
}

void write_page(const std::string& directory, const report::PageInputs& page) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) throw InputError(directory, 0, "--out", "cannot create directory: " + error.message());
  write_file_atomically(std::filesystem::path(directory) / "report.html", report::render_page(page));
}

}  // namespace

ReportSummary write_report(store::Store& store, std::string directory, int refresh_seconds) {
  const auto description = stored_description(store);
  if (directory.empty()) directory = description.at("report").get<std::string>();
  const auto settings = analysis_settings(description);
  const bool separate = description.at("calibration_split").get<bool>();
  const auto evaluation = stored_dataset(store, description, kEvaluation);
  auto pools = pools_of(evaluation, settings.threads);
  std::vector<aggregation::PolicyPool> calibration_pools;
  ReportSummary summary{evaluation.problems.size(), 0, directory};
  report::PageInputs page;
  page.sampling = store.sampling_costs(), page.scoring = store.scoring_costs();
  page.progress = sweep_progress(store, description);
  summary.units_done = page.progress.units_done, summary.units_total = page.progress.units_total;
  if (!page.progress.finished()) page.refresh_seconds = refresh_seconds;
  if (separate) {
    const auto calibration = stored_dataset(store, description, kCalibration);
    summary.calibration_problems = calibration.problems.size();
    calibration_pools = pools_of(calibration, settings.threads);
    keep_policies(pools, calibration_pools);
    keep_policies(calibration_pools, pools);
  }
  if (pools.empty() && page.refresh_seconds > 0) {
    summary.analysed = false;
    write_page(directory, page);
    return summary;
  }
  if (pools.empty())
    throw InputError(store.path(), 0, "", "no policy has complete problems to report yet (every sample stored and scored)");
  const auto result = analysis::analyze(pools, calibration_pools, settings);
  analysis::RunDescription run{{store.path()}, separate ? std::vector<std::string>{store.path() + " (calibration split)"}
                                                        : std::vector<std::string>{}};
  analysis::write_outputs(directory, result, run);
  const auto verdicts = sweep_verdicts(evaluation);
  std::ostringstream verdict_lines;
  interchange::write_verdict_lines(verdicts, verdict_lines);
  write_file_atomically(std::filesystem::path(directory) / "verdicts.jsonl", verdict_lines.str());
  page.problems = report::problem_lookup(evaluation, verdicts);
  auto summary_text = analysis::summary_markdown(result, run);
  // The searches, beside best-of-N at their budgets.
  const auto searches = analyze_searches(store, description, settings, separate);
  if (!searches.empty()) {
    const auto rows = search_rows(searches, result);
    const auto csv = search_csv(rows);
    page.searches = search_json(rows);
    summary_text += "\n" + search_markdown(searches, result);
    write_file_atomically(std::filesystem::path(directory) / "search.csv", csv);
    store.put_output("search.csv", csv);
  }
  // Per difficulty level, when the problems have levels.
  const auto difficulty = analyze_difficulty(store, pools, calibration_pools, settings, searches);
  if (!difficulty.rows.empty()) {
    const auto csv = difficulty_csv(difficulty);
    page.difficulty = difficulty_json(difficulty);
    summary_text += "\n" + difficulty_markdown(difficulty);
    write_file_atomically(std::filesystem::path(directory) / "difficulty.csv", csv);
    store.put_output("difficulty.csv", csv);
  }
  if (!searches.empty() || !difficulty.rows.empty())
    write_file_atomically(std::filesystem::path(directory) / "summary.md", summary_text);
  page.analysis = &result;
  write_page(directory, page);
  store.put_output("results.csv", analysis::results_csv(result));
  store.put_output("savings.csv", analysis::savings_csv(result));
  store.put_output("calibration.json", analysis::calibration_json(result));
  store.put_output("summary.md", summary_text);
  return summary;
}

namespace {

// The search an export asks for by its label; InputError listing the sweep's labels otherwise.
config::SearchRun search_named(store::Store& store, const json& description, const std::string& label) {
  std::string labels;
  for (const auto& run : stored_searches(description)) {
    if (run.label == label) return run;
    labels += (labels.empty() ? "" : ", ") + run.label;
  }
  throw InputError(store.path(), 0, "--search",
                   "the sweep has no search '" + label + "' (" + (labels.empty() ? "it has none" : "its searches: " + labels) + ")");
}

// A level as MATH's rows write it: a number when it is one ("3" -> 3), else the text.
json level_json(const std::string& level) {
  const bool number = !level.empty() && level.size() <= 9 && level.find_first_not_of("0123456789") == std::string::npos &&
                      (level.size() == 1 || level[0] != '0');  // "007" stays text: as a number it would read back "7"
  return number ? json(std::stoll(level)) : json(level);
}

// Model output need not be valid UTF-8 (a byte-level tokenizer can stop inside a character);
// JSON cannot hold that, so such bytes are written as U+FFFD.
std::string json_line(const json& row) { return row.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"; }

}  // namespace

std::size_t export_jsonl(store::Store& store, const std::string& split, const std::string& path,
                         const std::string& search) {
  const auto description = stored_description(store);
  const auto dataset = search.empty() ? stored_dataset(store, description, split)
                                      : search_dataset(store, search_named(store, description, search), split);
  std::string text;
  for (const auto& record : dataset.problems) {
    json responses = json::array();
    for (const auto& r : record.responses) {
      json row = {{"text", r.text}, {"steps", r.steps}, {"prompt_tokens", r.prompt_tokens},
                  {"completion_tokens", r.completion_tokens}, {"scores", r.scores}};
      if (r.answer) row["answer"] = *r.answer;
      responses.push_back(std::move(row));
    }
    json row = {{"problem_id", record.problem_id}, {"problem", record.problem}, {"answer", record.gold},
                {"policy", record.policy}, {"responses", responses}};
    if (!record.level.empty()) row["level"] = level_json(record.level);
    text += json_line(row);
  }
  write_file_atomically(path, text);
  return dataset.problems.size();
}

std::size_t export_sal(store::Store& store, const std::string& split, std::string prm, const std::string& path,
                       const std::string& search) {
  const auto description = stored_description(store);
  auto prms = description.at("prms").get<std::vector<std::string>>();
  std::optional<config::SearchRun> run;
  if (!search.empty()) {
    run = search_named(store, description, search);
    prms = {run->prm};  // a search's leaves are scored by its own PRM only
  }
  if (prm.empty()) {
    if (prms.size() != 1)
      throw InputError(store.path(), 0, "--prm", "the sweep has " + std::to_string(prms.size()) +
                                                     " PRMs and a search-and-learn row holds one PRM's scores: name it");
    prm = prms.front();
  }
  if (std::find(prms.begin(), prms.end(), prm) == prms.end())
    throw InputError(store.path(), 0, "--prm",
                     run ? "search " + run->label + " is scored by '" + run->prm + "' alone, not '" + prm + "'"
                         : "the sweep has no PRM '" + prm + "'");
  const auto dataset = run ? search_dataset(store, *run, split) : stored_dataset(store, description, split);
  std::string text;
  for (const auto& record : dataset.problems) {
    json completions = json::array(), scores = json::array(), steps = json::array(), tokens = json::array();
    std::size_t best = 0;
    float best_last = -1;
    for (std::size_t i = 0; i < record.responses.size(); ++i) {
      const auto& r = record.responses[i];
      const auto& s = r.scores.at(prm);
      completions.push_back(r.text), scores.push_back(s), steps.push_back(r.steps);
      tokens.push_back(static_cast<std::int64_t>(r.completion_tokens));
      if (!s.empty() && s.back() > best_last) best = i, best_last = s.back();  // the first of equals
    }
    json row = {{"problem", record.problem}, {"answer", record.gold}, {"unique_id", record.problem_id},
                {"completions", completions}, {"scores", scores}, {"completion_tokens", tokens},
                {"pred", record.responses.empty() ? json(nullptr) : json(record.responses[best].text)},
                {"policy", record.policy}, {"prm", prm}, {"steps", steps}};
    if (!record.level.empty()) row["level"] = level_json(record.level);
    text += json_line(row);
  }
  write_file_atomically(path, text);
  return dataset.problems.size();
}

}  // namespace quorum::sweep
