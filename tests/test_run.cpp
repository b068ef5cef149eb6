// A whole sweep through the real actors, models and store: `quorum run` on tiny models trained
// here, then status, report, export and analyze on its store; and the same sweep killed with
// SIGKILL at random points and restarted, which must end with exactly the rows of a run that
// was never interrupted.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>

#include "cli_runner.h"
#include "process.h"
#include "tiny_sweep.h"
#include "runtime/config/sweep.h"
#include "runtime/model/search_models.h"
#include "runtime/model/workers.h"
#include "runtime/store/store.h"
#include "runtime/task/arithmetic.h"

using quorum::testing::read_text;
using quorum::testing::run_quorum;
using quorum::testing::Process;
using quorum::testing::quorum_args;
using quorum::testing::sleep_s;
using quorum::testing::TempDir;
using quorum::testing::rows;
using quorum::testing::sweep_yaml;
using quorum::testing::train_tiny_models;

TEST_CASE("quorum run: a small sweep streams through the actors into the store and a report", "[run][cli]") {
  TempDir dir("run");
  train_tiny_models(dir);
  const auto config = dir.file("sweep.yaml", sweep_yaml("out/sweep.db", 6, 4, 24));
  const auto store = (dir.path() / "out" / "sweep.db").string();

  const auto run = run_quorum("run " + config);
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  CHECK(run.output.find("report: " + (dir.path() / "out" / "report").string() + "/report.html") != std::string::npos);
  CHECK(run.output.find("sample ") != std::string::npos);  // the progress view
  // Every model says where it runs: `device: auto` (the default) is the GPU when there is one.
  const std::string device = quorum::model::cuda_available() ? "cuda:0" : "cpu";
  for (const char* model : {"pa", "pb", "prm"}) CHECK(quorum::testing::placement(run.output, model) == device + " in float32");
  const auto summary = read_text(dir.path() / "out" / "report" / "summary.md");
  CHECK(summary.find("| pa | prm |") != std::string::npos);
  CHECK(summary.find("| pb | prm |") != std::string::npos);
  CHECK(std::filesystem::exists(dir.path() / "out" / "report" / "results.csv"));
  // (6 evaluation + 4 calibration problems) x 2 policies x 4 samples, each scored once.
  CHECK(rows(store, "responses") == 80);
  CHECK(rows(store, "scores") == 80);

  const auto status = run_quorum("status " + store);
  INFO(status.output);
  CHECK(status.exit_code == 0);
  CHECK(status.output.find("sample units: 10/10 done") != std::string::npos);
  CHECK(status.output.find("score units: 10/10 done") != std::string::npos);
  CHECK(status.output.find("state: finished") != std::string::npos);

  const auto again = run_quorum("run " + config + " --quiet");
  INFO(again.output);
  CHECK(again.exit_code == 0);
  CHECK(again.output.find("run: 0 units run, 20 already stored") != std::string::npos);

  const auto evaluation = (dir.path() / "eval.jsonl").string(), calibration = (dir.path() / "cal.jsonl").string();
  const auto exported = run_quorum("export " + store + " --out " + evaluation);
  INFO(exported.output);
  CHECK(exported.output.find("12 (policy, problem) rows") != std::string::npos);
  CHECK(run_quorum("export " + store + " --split calibration --out " + calibration).exit_code == 0);
  const auto analyzed = run_quorum("analyze --input " + evaluation + " --calibration " + calibration + " --out " +
                                   (dir.path() / "analysis").string() + " --budgets 1,2,4 --draws 8 --bootstrap 20 --calibration-draws 2 --seed 5 --quiet");
  INFO(analyzed.output);
  CHECK(analyzed.exit_code == 0);
  // The analysis of the exported rows, with the sweep's analysis settings (tiny_sweep.h: seed 5,
  // calibration_draws 2), is the run's own report.
  CHECK(read_text(dir.path() / "analysis" / "results.csv") == read_text(dir.path() / "out" / "report" / "results.csv"));

  // search-and-learn's rows: one PRM's scores, with quorum's steps beside them, read back to
  // the same results.
  const auto sal = (dir.path() / "sal.jsonl").string(), sal_calibration = (dir.path() / "sal-cal.jsonl").string();
  REQUIRE(run_quorum("export " + store + " --format sal --out " + sal).exit_code == 0);
  REQUIRE(run_quorum("export " + store + " --format sal --prm prm --split calibration --out " + sal_calibration).exit_code == 0);
  const auto sal_text = read_text(sal);
  const auto first = nlohmann::json::parse(sal_text.substr(0, sal_text.find('\n')));
  for (const char* field : {"problem", "answer", "unique_id", "completions", "scores", "completion_tokens", "pred"})
    CHECK(first.contains(field));
  REQUIRE(first["completions"].size() == 4);
  CHECK(first["scores"].size() == 4);
  CHECK(first["completion_tokens"].size() == 4);
  CHECK(std::find(first["completions"].begin(), first["completions"].end(), first["pred"]) != first["completions"].end());
  CHECK(run_quorum("export " + store + " --format sal --prm nope --out " + sal).output.find("no PRM 'nope'") != std::string::npos);
  const auto sal_analyzed = run_quorum("analyze --input " + sal + " --calibration " + sal_calibration + " --out " +
                                       (dir.path() / "sal-analysis").string() +
                                       " --budgets 1,2,4 --draws 8 --bootstrap 20 --calibration-draws 2 --seed 5 --quiet");
  INFO(sal_analyzed.output);
  CHECK(sal_analyzed.exit_code == 0);
  CHECK(read_text(dir.path() / "sal-analysis" / "results.csv") == read_text(dir.path() / "out" / "report" / "results.csv"));

  const auto report = run_quorum("report " + store + " --out " + (dir.path() / "again").string());
  CHECK(report.exit_code == 0);
  CHECK(read_text(dir.path() / "again" / "results.csv") == read_text(dir.path() / "out" / "report" / "results.csv"));

  // A memory bound that holds two of the three models (what each holds resident at batch 8:
  // weights, KV cache, activations) but not all three: they take turns, and the rows are the same.
  auto bounded_yaml = sweep_yaml("bounded/sweep.db", 6, 4, 24);
  const auto planned = quorum::config::load_sweep(dir.file("bounded.yaml", bounded_yaml));
  std::vector<std::size_t> resident{quorum::model::policy_resident_bytes(planned.policies[0], 8),
                                    quorum::model::policy_resident_bytes(planned.policies[1], 8),
                                    quorum::model::prm_resident_bytes(planned.prms[0], 8, quorum::model::prm_input_tokens(planned, planned.prms[0].name))};
  std::sort(resident.begin(), resident.end());
  const auto limit_mb = ((resident[1] + resident[2]) >> 20) + 1;
  REQUIRE((resident[0] + resident[1] + resident[2]) > (limit_mb << 20));
  bounded_yaml.replace(bounded_yaml.find("batch_size: 8}"), 14, "batch_size: 8, memory_limit_mb: " + std::to_string(limit_mb) + "}");
  const auto bounded = run_quorum("run " + dir.file("bounded.yaml", bounded_yaml) + " --quiet");
  INFO(bounded.output);
  REQUIRE(bounded.exit_code == 0);
  const auto bounded_rows = (dir.path() / "bounded.jsonl").string();
  REQUIRE(run_quorum("export " + (dir.path() / "bounded" / "sweep.db").string() + " --out " + bounded_rows).exit_code == 0);
  CHECK(read_text(bounded_rows) == read_text(evaluation));
}

TEST_CASE("quorum run: a checker PRM scores the shipped policy's responses through the verifier actors",
          "[run][cli][prm]") {
  TempDir dir("run-checker");
  const auto shipped = std::filesystem::path(QUORUM_TEST_DATA) / ".." / ".." / "models" / "policy-small";
  // Level 3 at temperature 1: the small policy gets some steps right and some wrong.
  const auto config = dir.file("sweep.yaml",
                               "sweep: checked\nstore: s.db\nseed: 2\nproblems:\n"
                               "  evaluation: {task: arithmetic, levels: [3], count: 6, seed: 8}\n"
                               "  calibration: {task: arithmetic, levels: [3], count: 4, seed: 9}\n"
                               "policies:\n  - {name: p, path: " + shipped.string() + ", temperature: 1.0}\n"
                               "prms:\n  - {name: exact, kind: checker}\nsamples: 4\n"
                               "analysis: {budgets: [1, 2, 4], draws: 4, bootstrap: 10, calibration_draws: 2}\n"
                               "runtime: {problems_per_unit: 2, batch_size: 8}\n");
  const auto run = run_quorum("run " + config + " --quiet");
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  CHECK(read_text(dir.path() / "report" / "summary.md").find("| p | exact |") != std::string::npos);
  quorum::store::Store store((dir.path() / "s.db").string(), true);
  std::size_t scored = 0, ones = 0, zeros = 0;
  for (const char* split : {"evaluation", "calibration"}) {
    std::map<std::string, quorum::task::Problem> problems;
    for (const auto& p : store.problems(split)) problems.emplace(p.id, *quorum::task::parse_problem(p.text));
    const auto scores = store.scores("exact", "p", split);
    for (const auto& response : store.responses("p", split)) {
      const auto found = scores.find(response.id);
      REQUIRE(found != scores.end());
      INFO(response.text);
      CHECK(found->second.scores == quorum::task::prefix_correct_scores(problems.at(response.problem_id), response.steps));
      CHECK(found->second.scored_tokens == 0);
      for (const float s : found->second.scores) (s == 1.0f ? ones : zeros) += 1;
      scored += 1;
    }
  }
  CHECK(scored == (6 + 4) * 4);
  // Both kinds of step, or the comparison above proves little.
  CHECK(ones > 0);
  CHECK(zeros > 0);
}

namespace {

// The shipped small policy at levels 1 and 2 with the exact checker and the shipped small PRM,
// sampled for best-of-N and searched by beam search (n 2 and 4) and DVTS (n 4, checker only).
std::string search_sweep(const std::string& store) {
  const auto models = (std::filesystem::path(QUORUM_TEST_DATA) / ".." / ".." / "models").lexically_normal().string();
  return "sweep: searched\nstore: " + store + "\nseed: 2\nproblems:\n"
         "  evaluation: {task: arithmetic, levels: [1, 2], count: 3, seed: 8}\n"
         "  calibration: {task: arithmetic, levels: [2], count: 4, seed: 9}\n"
         "policies:\n  - {name: p, path: " + models + "/policy-small, max_new_tokens: 64}\n"
         "prms:\n  - {name: exact, kind: checker}\n  - {name: prm, path: " + models + "/prm-small}\n"
         "samples: 4\n"
         "search:\n  - {method: beam_search, n: [2, 4], m: 2, max_steps: 12}\n"
         "  - {method: dvts, n: 4, m: 2, prms: [exact]}\n"
         "analysis: {budgets: [1, 2, 4], draws: 4, bootstrap: 10, calibration_draws: 2}\n"
         "runtime: {problems_per_unit: 2, batch_size: 8}\n";
}

}  // namespace

TEST_CASE("quorum run: beam search and DVTS units run through the actors beside best-of-N, reproducibly",
          "[run][cli][search]") {
  TempDir dir("run-search");
  const auto config = quorum::config::load_sweep(dir.file("sweep.yaml", search_sweep("s.db")));
  const auto runs = quorum::config::search_runs(config);
  REQUIRE(runs.size() == 5);  // beam search: 2 PRMs x n 2, 4; DVTS: the checker at n 4
  const auto run = run_quorum("run " + config.file + " --quiet");
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  const auto status = run_quorum("status " + (dir.path() / "s.db").string());
  CHECK(status.output.find("search units: 25/25 done") != std::string::npos);  // 5 searches x 5 chunks

  quorum::store::Store store((dir.path() / "s.db").string(), true);
  std::size_t leaves = 0;
  for (const char* split : {"evaluation", "calibration"}) {
    std::map<std::string, quorum::task::Problem> problems;
    for (const auto& p : store.problems(split)) problems.emplace(p.id, *quorum::task::parse_problem(p.text));
    for (const auto& search : runs) {
      const auto scores = store.scores(search.prm, search.label, split);
      const auto responses = store.responses(search.label, split);
      CHECK(responses.size() == problems.size() * static_cast<std::size_t>(search.n));
      for (const auto& response : responses) {
        const auto found = scores.find(response.id);
        REQUIRE(found != scores.end());
        INFO(search.label << " " << response.text);
        CHECK(found->second.scores.size() == response.steps.size());
        // A leaf keeps the scores of its own path: for the exact checker, its own steps' verdicts.
        if (search.prm == "exact")
          CHECK(found->second.scores == quorum::task::prefix_correct_scores(problems.at(response.problem_id), response.steps));
        CHECK(response.completion_tokens > 0);
        ++leaves;
      }
    }
  }
  CHECK(leaves == 10 * (2 + 2 + 4 + 4 + 4));
  CHECK(rows(store.path(), "responses") == static_cast<std::int64_t>(10 * 4 + leaves));

  const auto csv = read_text(dir.path() / "report" / "search.csv");
  for (const char* row : {"p,exact,beam_search,4,2,0,last,majority,", "p,prm,beam_search,2,2,0,min,weighted,",
                          "p,exact,dvts,4,2,0,last,best_of_n,", "p,exact,best_of_n,4,,,last,majority,"})
    CHECK(csv.find(row) != std::string::npos);
  const auto summary = read_text(dir.path() / "report" / "summary.md");
  CHECK(summary.find("## Step-level search") != std::string::npos);
  CHECK(summary.find("## Compute-optimal choice by difficulty") != std::string::npos);

  // By difficulty: every method at every level, and at each (level, pair, n) exactly one optimal
  // row, a deployable one that no deployable row of its group beats.
  std::istringstream difficulty(read_text(dir.path() / "report" / "difficulty.csv"));
  std::string line;
  std::getline(difficulty, line);
  CHECK(line == "level,policy,prm,method,n,m,lookahead,reduction,strategy,accuracy,ci_low,ci_high,problems,policy_tokens,"
                "verifier_tokens,optimal");
  std::map<std::string, std::vector<std::vector<std::string>>> groups;  // level,policy,prm,n -> rows
  std::set<std::string> methods_seen;
  while (std::getline(difficulty, line)) {
    std::vector<std::string> f;
    std::stringstream fields(line);
    for (std::string field; std::getline(fields, field, ',');) f.push_back(field);
    REQUIRE(f.size() == 16);
    groups[f[0] + "," + f[1] + "," + f[2] + "," + f[4]].push_back(f);
    methods_seen.insert(f[0] + " " + f[3]);
  }
  for (const char* seen : {"1 best_of_n", "2 best_of_n", "1 beam_search", "2 beam_search", "1 dvts", "2 dvts"})
    CHECK(methods_seen.count(seen) == 1);
  CHECK(groups.count("1,p,exact,4") == 1);
  CHECK(groups.count("2,p,prm,1") == 1);  // best-of-N at every budget, searched or not
  for (const auto& [group, rows] : groups) {
    INFO(group);
    double best = -1;
    for (const auto& f : rows)
      if (f[8] != "oracle" && f[8] != "pass_at_n" && !f[9].empty()) best = std::max(best, std::stod(f[9]));
    std::size_t optimal = 0;
    for (const auto& f : rows)
      if (f[15] == "1") {
        ++optimal;
        CHECK(std::stod(f[9]) == best);
        CHECK(f[8] != "oracle");
      }
    CHECK(optimal == 1);
  }
  // The page draws them: the charts of the first pair (p x exact) render in a real browser.
  const auto page = quorum::testing::report_page_data(read_text(dir.path() / "report" / "report.html"));
  CHECK(page.at("searches").size() > 0);
  CHECK(page.at("difficulty").at("levels") == nlohmann::json::array({"1", "2"}));
  for (const auto& row : page.at("difficulty").at("rows")) CHECK(row.at("problems") == 3);  // per level, not in all
  const std::string artifacts = std::string(QUORUM_TEST_ARTIFACTS) + "/report-search";
  const auto browser = quorum::testing::run_quorum_in_shell(std::string(QUORUM_NODE) + " " + QUORUM_REPORT_CHECK + " " + QUORUM_WEB_MODULES +
                                           " " + (dir.path() / "report" / "report.html").string() + " " + artifacts);
  INFO(browser.output);
  CHECK(browser.exit_code == 0);
  CHECK(browser.output.find("search-n") != std::string::npos);
  CHECK(browser.output.find("search-tokens") != std::string::npos);

  // A search's leaves export as search-and-learn's rows, and read back.
  const auto leaves_file = (dir.path() / "dvts.jsonl").string();
  const auto exported = run_quorum("export " + store.path() + " --format sal --search p~dvts-n4-m2~exact --out " + leaves_file);
  INFO(exported.output);
  REQUIRE(exported.exit_code == 0);
  const auto leaves_text = read_text(leaves_file);
  const auto first_row = nlohmann::json::parse(leaves_text.substr(0, leaves_text.find('\n')));
  CHECK(first_row["completions"].size() == 4);
  CHECK(first_row["prm"] == "exact");
  CHECK(first_row["policy"] == "p~dvts-n4-m2~exact");
  CHECK(first_row["level"].is_number_integer());  // the task's level, as MATH's rows give it
  const auto wrong = run_quorum("export " + store.path() + " --search p~dvts-n8-m2~exact --out " + leaves_file);
  CHECK(wrong.exit_code == 2);
  CHECK(wrong.output.find("its searches: p~beam_search-n2-m2~exact") != std::string::npos);
  const auto reread = run_quorum("analyze -i " + leaves_file + " --out " + (dir.path() / "dvts").string() +
                                 " --budgets 4 --folds 2 --draws 2 --bootstrap 10 -q");
  INFO(reread.output);
  CHECK(reread.exit_code == 0);
  // Read back, the leaves keep their levels: the analysis per level has both.
  const auto reread_levels = read_text(dir.path() / "dvts" / "difficulty.csv");
  INFO(reread_levels);
  CHECK(reread_levels.find("\n1,p~dvts-n4-m2~exact,exact,best_of_n,4,") != std::string::npos);
  CHECK(reread_levels.find("\n2,p~dvts-n4-m2~exact,exact,best_of_n,4,") != std::string::npos);

  // Each search's leaves depend only on (seed, search, problem): another store gets the same rows.
  const auto again = run_quorum("run " + dir.file("again.yaml", search_sweep("again.db")) + " --quiet");
  REQUIRE(again.exit_code == 0);
  quorum::store::Store other((dir.path() / "again.db").string(), true);
  for (const auto& search : runs) {
    const auto a = store.responses(search.label, "evaluation"), b = other.responses(search.label, "evaluation");
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) CHECK((a[i].id == b[i].id && a[i].text == b[i].text));
    const auto sa = store.scores(search.prm, search.label, "evaluation"), sb = other.scores(search.prm, search.label, "evaluation");
    for (const auto& [id, row] : sa) CHECK(row.scores == sb.at(id).scores);
  }

  // A worker's searcher streams each round to its sampler and verifier actors: the rows are
  // exactly those of one process holding both models and running the same lease.
  for (const auto& search : runs) {
    INFO(search.label);
    quorum::model::SearchModels models(quorum::config::policy_named(config, search.policy),
                                       quorum::config::prm_named(config, search.prm), 8);
    quorum::bus::SearchWork work{search, "evaluation", {}, config.seed};
    for (const auto& p : store.problems("evaluation")) work.problems.push_back({p.id, p.text});
    const auto direct = quorum::model::run_search_lease(
        work, "direct", config.policies.at(0).step_separator,
        [&](const quorum::search::SearchSettings& settings, std::uint64_t seed, const quorum::bus::ProblemInput& problem,
            std::int64_t& prompt_tokens) {
          prompt_tokens = static_cast<std::int64_t>(models.prompt_tokens(problem.text));
          return models.run(settings, seed, problem.text);
        });
    const auto stored = store.responses(search.label, "evaluation");
    const auto stored_scores = store.scores(search.prm, search.label, "evaluation");
    REQUIRE(direct.responses.size() == stored.size());
    std::map<std::string, const quorum::store::ResponseRow*> by_id;
    for (const auto& row : stored) by_id[row.id] = &row;
    for (std::size_t i = 0; i < direct.responses.size(); ++i) {
      const auto& row = direct.responses[i];
      REQUIRE(by_id.count(row.id) == 1);
      CHECK(by_id.at(row.id)->text == row.text);
      CHECK(by_id.at(row.id)->prompt_tokens == row.prompt_tokens);
      CHECK(by_id.at(row.id)->completion_tokens == row.completion_tokens);
      CHECK(stored_scores.at(row.id).scores == direct.scores[i].scores);
    }
  }
}

TEST_CASE("quorum run: a search no worker can hold alone is split - its PRM served by a second worker, same rows",
          "[run][cli][search][bus]") {
  TempDir dir("run-split");
  const auto whole_config = quorum::config::load_sweep(dir.file("whole.yaml", search_sweep("whole.db")));
  const auto whole = run_quorum("run " + whole_config.file + " --quiet");
  INFO(whole.output);
  REQUIRE(whole.exit_code == 0);

  // Two workers, each with memory for the policy or the model PRM alone, never for both: the
  // searches guided by `prm` are split, those by the checker (nothing resident) are not.
  // Undisturbed; the searching worker killed at the first split lease; the serving one.
  const auto killed = GENERATE(as<std::string>{}, "", "searching", "serving");
  INFO("killed: " << killed);
  auto yaml = search_sweep("split.db");
  yaml.replace(yaml.find("batch_size: 8}"), 14, "batch_size: 8, heartbeat_ms: 200}");
  const auto config = quorum::config::load_sweep(dir.file("split.yaml", yaml));
  const auto resident = quorum::model::sweep_resident_bytes(config);
  const auto policy = resident.at("policy/p"), prm = resident.at("prm/prm");
  const auto memory_mb = (std::max(policy, prm) >> 20) + 1;
  REQUIRE((memory_mb << 20) < policy + prm);
  for (const char* stale : {"split.db", "split.db-wal", "split.db-shm", "split.db.endpoint", "coordinator.log"})
    std::filesystem::remove(dir.path() / stale);
  Process coordinator(quorum_args({"coordinator", config.file, "--bind", "tcp://127.0.0.1:0", "--insecure"}),
                      (dir.path() / "coordinator.log").string());
  const auto endpoint_file = dir.path() / "split.db.endpoint";
  for (int i = 0; i < 600 && !std::filesystem::exists(endpoint_file); ++i) sleep_s(0.05);
  REQUIRE(std::filesystem::exists(endpoint_file));
  auto endpoint = read_text(endpoint_file);
  endpoint.erase(endpoint.find_last_not_of("\n") + 1);
  std::map<std::string, std::unique_ptr<Process>> workers;
  const auto start_worker = [&](const std::string& name) {
    const auto log = (dir.path() / (name + ".log")).string();
    std::filesystem::remove(log);
    workers[name] = std::make_unique<Process>(
        quorum_args({"worker", "--connect", endpoint, "--insecure", "--name", name, "--memory-mb", std::to_string(memory_mb)}),
        log);
  };
  start_worker("a"), start_worker("b");
  if (!killed.empty()) {
    // The coordinator names the first split lease's workers, "(first: X searching, served by
    // Y)": one is killed at once, and a third worker joins.
    const std::string marker = "(first: ";
    for (int i = 0; i < 1200 && coordinator.output().find(marker) == std::string::npos; ++i) sleep_s(0.01);
    const auto log = coordinator.output();
    const auto at = log.find(marker);
    REQUIRE(at != std::string::npos);
    const auto searching = log.substr(at + marker.size(), 1);
    const auto serving = log.substr(log.find("served by ", at) + 10, 1);
    workers.at(killed == "searching" ? searching : serving)->signal(SIGKILL);
    start_worker("c");
  }
  const auto code = coordinator.wait(300);
  std::string logs = coordinator.output();
  for (auto& [name, w] : workers) logs += "\n--- worker " + name + ":\n" + w->output();
  INFO(logs);
  REQUIRE(code == 0);
  if (!killed.empty()) CHECK(coordinator.output().find(" lost ") != std::string::npos);
  for (auto& [name, w] : workers)
    if (w->running()) CHECK(w->wait(30) == 0);

  // Split leases were made (the coordinator's log says which worker served), and every search
  // row is the one-worker run's.
  quorum::store::Store split((dir.path() / "split.db").string(), true), one((dir.path() / "whole.db").string(), true);
  for (const auto& search : quorum::config::search_runs(config)) {
    INFO(search.label);
    for (const char* split_name : {"evaluation", "calibration"}) {
      const auto a = split.responses(search.label, split_name), b = one.responses(search.label, split_name);
      REQUIRE(a.size() == b.size());
      REQUIRE(!a.empty());
      for (std::size_t i = 0; i < a.size(); ++i) {
        CHECK(a[i].id == b[i].id);
        CHECK(a[i].text == b[i].text);
        CHECK(a[i].completion_tokens == b[i].completion_tokens);
      }
      const auto sa = split.scores(search.prm, search.label, split_name), sb = one.scores(search.prm, search.label, split_name);
      REQUIRE(sa.size() == sb.size());
      for (const auto& [id, row] : sa) {
        CHECK(row.scores == sb.at(id).scores);
        CHECK(row.scored_tokens == sb.at(id).scored_tokens);
      }
    }
  }
  CHECK(coordinator.output().find("served by") != std::string::npos);
}

TEST_CASE("quorum run: broken inputs stop it before any work, naming the cause", "[run][cli]") {
  TempDir dir("run-errors");
  // A shipped policy's directory whose weights file is not a checkpoint.
  std::filesystem::create_directories(dir.path() / "policy");
  const auto shipped = std::filesystem::path(QUORUM_TEST_DATA) / ".." / ".." / "models" / "policy-small";
  for (const char* file : {"config.json", "tokenizer.json", "quorum.json"})
    std::filesystem::copy_file(shipped / file, dir.path() / "policy" / file);
  dir.file("policy/model.safetensors", "not a checkpoint");
  const auto config = dir.file("sweep.yaml",
                               "sweep: broken\nstore: s.db\nproblems:\n  evaluation: {task: arithmetic, levels: [1], count: 2}\n"
                               "policies:\n  - {name: p, path: policy}\nsamples: 2\nanalysis: {strategies: [majority], reference: majority}\n");
  const auto run = run_quorum("run " + config);
  INFO(run.output);
  CHECK(run.exit_code == 2);
  CHECK(run.output.find("model.safetensors") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "s.db"));

  // The shipped weights under a config that asks for a RoPE scaling quorum does not compute:
  // one line naming config.json and the field, before any work.
  std::filesystem::copy_file(shipped / "model.safetensors", dir.path() / "policy" / "model.safetensors",
                             std::filesystem::copy_options::overwrite_existing);
  auto model_config = read_text(shipped / "config.json");
  model_config.insert(model_config.find('{') + 1, "\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0},");
  dir.file("policy/config.json", model_config);
  const auto scaled = run_quorum("run " + config);
  INFO(scaled.output);
  CHECK(scaled.exit_code == 2);
  CHECK(scaled.output.find("config.json: field 'rope_scaling.rope_type'") != std::string::npos);
  CHECK(std::count(scaled.output.begin(), scaled.output.end(), '\n') == 1);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "s.db"));

  const auto typo = run_quorum("run " + dir.file("typo.yaml", "sweep: t\nstore: s.db\nsamplse: 3\n"));
  INFO(typo.output);
  CHECK(typo.exit_code == 2);
  CHECK(typo.output.find("typo.yaml:3") != std::string::npos);

  const auto foreign = run_quorum("status " + dir.file("foreign.db", "SQLite? no."));
  CHECK(foreign.exit_code == 2);
  CHECK(foreign.output.find("foreign.db") != std::string::npos);
}

TEST_CASE("quorum run: killed with SIGKILL at random points and restarted, it ends as an uninterrupted run",
          "[run][kill]") {
  TempDir dir("run-kill");
  train_tiny_models(dir);
  // Search units too: their leaves must come back the same after kills.
  const auto with_search = [](std::string yaml) {
    return yaml.insert(yaml.find("analysis:"), "search:\n  - {method: beam_search, n: 4, m: 2, max_steps: 8}\n");
  };
  const auto reference_config = dir.file("reference.yaml", with_search(sweep_yaml("reference.db", 12, 6, 40)));
  const auto killed_config = dir.file("killed.yaml", with_search(sweep_yaml("killed.db", 12, 6, 40)));

  const auto begin = std::chrono::steady_clock::now();
  const auto reference = run_quorum("run " + reference_config + " --quiet");
  const double full = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  INFO(reference.output);
  REQUIRE(reference.exit_code == 0);

  std::mt19937 random(20261123);
  int kills = 0;
  for (int attempt = 0; kills < 4 && attempt < 12; ++attempt) {
    const double delay = std::uniform_real_distribution<double>(0.05, 0.35)(random) * full;
    Process run(quorum_args({"run", killed_config, "--quiet"}), "/dev/null");
    REQUIRE(run.pid() > 0);
    sleep_s(delay);
    run.signal(SIGKILL);
    if (run.wait(60) == -SIGKILL) ++kills;  // else it had finished already: try again
  }
  CHECK(kills >= 3);
  // While another process holds the store, a run is refused; once it lets go, the run goes on.
  {
    const auto lock_path = (dir.path() / "killed.db.lock").string();
    const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
    const auto concurrent = run_quorum("run " + killed_config + " --quiet");
    INFO(concurrent.output);
    CHECK(concurrent.exit_code == 2);
    CHECK(concurrent.output.find("another quorum run is using this store") != std::string::npos);
    ::close(fd);
  }
  const auto resumed = run_quorum("run " + killed_config + " --quiet");
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);

  const auto reference_store = (dir.path() / "reference.db").string(), killed_store = (dir.path() / "killed.db").string();
  // (12 + 4 problems) x 2 policies x (6 samples + 4 leaves of a beam search): none missing, none twice.
  CHECK(rows(killed_store, "responses") == 192 + 128);
  CHECK(rows(killed_store, "scores") == 192 + 128);
  {
    quorum::store::Store a(reference_store, true), b(killed_store, true);
    for (const auto& search : quorum::config::search_runs(quorum::config::load_sweep(killed_config)))
      for (const char* split : {"evaluation", "calibration"}) {
        const auto x = a.responses(search.label, split), y = b.responses(search.label, split);
        REQUIRE(x.size() == y.size());
        for (std::size_t i = 0; i < x.size(); ++i) CHECK((x[i].id == y[i].id && x[i].text == y[i].text));
        const auto sx = a.scores(search.prm, search.label, split), sy = b.scores(search.prm, search.label, split);
        REQUIRE(sx.size() == sy.size());
        for (const auto& [id, row] : sx) CHECK(row.scores == sy.at(id).scores);
      }
  }
  for (const char* split : {"evaluation", "calibration"}) {
    const auto a = (dir.path() / (std::string("a-") + split + ".jsonl")).string();
    const auto b = (dir.path() / (std::string("b-") + split + ".jsonl")).string();
    REQUIRE(run_quorum("export " + reference_store + " --split " + split + " --out " + a).exit_code == 0);
    REQUIRE(run_quorum("export " + killed_store + " --split " + split + " --out " + b).exit_code == 0);
    CHECK(read_text(a) == read_text(b));
  }
  CHECK(read_text(dir.path() / "report" / "results.csv").size() > 0);
}

TEST_CASE("quorum run: the store's disk fills up mid-sweep - a clear error, committed rows kept, resumed to the same rows",
          "[run][disk]") {
  if (!quorum::testing::private_mounts_available()) {
    WARN("skipped: this machine forbids the user and mount namespaces that its private mounts need");
    return;
  }
  TempDir dir("run-disk-full");
  train_tiny_models(dir);
  const auto reference_config = dir.file("reference.yaml", sweep_yaml("reference.db", 12, 6, 40));
  const auto reference = run_quorum("run " + reference_config + " --quiet");
  INFO(reference.output);
  REQUIRE(reference.exit_code == 0);
  const auto reference_store = (dir.path() / "reference.db").string();

  // The store on a tmpfs the size of the finished store: the plan fits easily, the whole run
  // does not, since the WAL keeps every commit's pages (the same pages rewritten many times)
  // until a checkpoint. The report goes elsewhere, so that the store is what fills the disk.
  for (const char* folder : {"disk", "saved", "resumed"}) std::filesystem::create_directories(dir.path() / folder);
  const auto disk = (dir.path() / "disk").string(), saved = (dir.path() / "saved").string(),
             resumed = (dir.path() / "resumed").string();
  const auto store = disk + "/full.db";
  const auto config = dir.file("full.yaml", sweep_yaml(store, 12, 6, 40) + "report: " + (dir.path() / "report").string() + "\n");
  const auto disk_bytes = std::filesystem::file_size(reference_store);
  const std::string run = std::string(QUORUM_BINARY) + " run " + config + " --quiet";
  const auto script = "mount -t tmpfs -o size=" + std::to_string(disk_bytes) + " tmpfs " + disk + "\n" +
                      run + " > " + dir.file("first.log") + " 2>&1 && echo 0 > " + dir.file("first.rc") + " || echo $? > " + dir.file("first.rc") + "\n" +
                      "cp -a " + disk + "/. " + saved + "\n" +  // the store as the stopped run left it
                      "mount -o remount,size=64m " + disk + "\n" +  // space freed
                      run + " > " + dir.file("second.log") + " 2>&1 && echo 0 > " + dir.file("second.rc") + " || echo $? > " + dir.file("second.rc") + "\n" +
                      "cp -a " + disk + "/. " + resumed + "\n";
  const auto mounted = quorum::testing::run_with_private_mounts(dir, script);
  INFO(mounted.output);
  REQUIRE(mounted.exit_code == 0);

  const auto first = read_text(dir.path() / "first.log");
  INFO(first);
  CHECK(std::stoi(read_text(dir.path() / "first.rc")) != 0);
  CHECK(first.find("store " + store + ": ") != std::string::npos);
  CHECK(first.find("the disk holding the store is full") != std::string::npos);
  // What the stopped run committed is whole: sound, and sample units of 2 problems x 6 samples
  // each, all or nothing.
  const auto saved_store = saved + "/full.db";
  CHECK(quorum::store::Store(saved_store, true).quick_check().empty());
  const auto kept = rows(saved_store, "responses");
  INFO("disk of " << disk_bytes << " bytes");
  CHECK(kept > 0);
  CHECK(kept < 192);
  CHECK(kept % 12 == 0);

  INFO(read_text(dir.path() / "second.log"));
  REQUIRE(std::stoi(read_text(dir.path() / "second.rc")) == 0);
  const auto resumed_store = resumed + "/full.db";
  CHECK(rows(resumed_store, "responses") == 192);
  CHECK(rows(resumed_store, "scores") == 192);
  for (const char* split : {"evaluation", "calibration"}) {
    const auto a = (dir.path() / (std::string("a-") + split + ".jsonl")).string();
    const auto b = (dir.path() / (std::string("b-") + split + ".jsonl")).string();
    REQUIRE(run_quorum("export " + reference_store + " --split " + split + " --out " + a).exit_code == 0);
    REQUIRE(run_quorum("export " + resumed_store + " --split " + split + " --out " + b).exit_code == 0);
    CHECK(read_text(a) == read_text(b));
  }
}
