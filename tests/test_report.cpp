// The HTML report: what report.html holds, how it follows a running sweep (`quorum report
// --watch`, and the run's own refresh), and how it renders in a real browser (headless
// Chromium through web/check_report.cjs).
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "process.h"
#include "runtime/interchange/verdicts.h"
#include "runtime/report/page.h"
#include "tiny_sweep.h"

using namespace quorum::testing;
using nlohmann::json;

namespace {

json page_data(const std::string& html) { return report_page_data(html); }

bool reloads(const std::string& html) { return html.find("<meta http-equiv=\"refresh\"") != std::string::npos; }

void sql(const std::string& store, const std::string& statement) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(store.c_str(), &db) == SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, statement.c_str(), nullptr, nullptr, &error);
  INFO((error ? error : ""));
  sqlite3_free(error);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

}  // namespace

TEST_CASE("quorum report: a self-contained report.html that renders in headless Chromium", "[report][browser]") {
  TempDir dir("report");
  train_tiny_models(dir);
  const auto config = dir.file("sweep.yaml", sweep_yaml("out/sweep.db", 6, 4, 24));
  const auto store = (dir.path() / "out" / "sweep.db").string();
  const auto page_path = dir.path() / "out" / "report" / "report.html";

  const auto run = run_quorum("run " + config + " --quiet");
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  CHECK(run.output.find("report: " + page_path.string()) != std::string::npos);

  const auto html = read_text(page_path);
  // Offline: everything inlined, nothing to fetch.
  CHECK(html.find("<script src") == std::string::npos);
  CHECK(html.find("<link") == std::string::npos);
  CHECK(html.find("/* vega-lite ") != std::string::npos);
  CHECK_FALSE(reloads(html));  // the sweep has finished

  const auto data = page_data(html);
  CHECK(data.at("sweep") == "e2e");
  CHECK(data.at("progress").at("finished") == true);
  const auto& analysis = data.at("analysis");
  const auto cells = 2 /* policies */ * 1 /* PRM */ * analysis.at("reductions").size();
  CHECK(analysis.at("accuracy").size() == cells * analysis.at("strategies").size() * analysis.at("budgets").size());
  std::set<std::string> weighted;
  for (const auto& row : analysis.at("weights")) weighted.insert(row.at("strategy").get<std::string>());
  CHECK(weighted == std::set<std::string>{"kde_wv", "linear_wv", "logit_wv"});
  CHECK(analysis.at("histograms").size() == cells * 10 * 2);
  CHECK_FALSE(analysis.at("savings").empty());
  // Costs: (6 evaluation + 4 calibration problems) x 4 samples per policy, each scored once.
  const auto& sampling = data.at("costs").at("sampling");
  REQUIRE(sampling.size() == 2);
  for (const auto& policy : sampling) {
    CHECK(policy.at("rows") == 40);
    CHECK(policy.at("output_tokens_per_row").get<double>() > 0);
    CHECK(policy.at("seconds").get<double>() > 0);
  }
  REQUIRE(data.at("costs").at("scoring").size() == 1);
  CHECK(data.at("costs").at("scoring")[0].at("rows") == 80);
  CHECK(data.at("inputs").is_null());  // a store, not files

  // Every evaluated response's verdict: in verdicts.jsonl, and in the page's lookup.
  const auto verdicts = read_text(dir.path() / "out" / "report" / "verdicts.jsonl");
  CHECK(std::count(verdicts.begin(), verdicts.end(), '\n') == 6 * 2 * 4);
  REQUIRE(data.at("problems").size() == 6 * 2);
  std::size_t correct = 0, looked_up = 0;
  for (const auto& problem : data.at("problems")) {
    REQUIRE(problem.at("responses").size() == 4);
    for (const auto& response : problem.at("responses")) {
      ++looked_up;
      correct += response.at("correct").get<bool>();
      CHECK(response.at("scores").contains("prm"));
      CHECK_FALSE(response.at("extraction").get<std::string>().empty());
      CHECK(response.at("extraction") != "given");  // extracted again, so the rule is known
    }
  }
  CHECK(looked_up == 48);
  std::size_t correct_lines = 0;
  for (auto at = verdicts.find("\"correct\":true"); at != std::string::npos; at = verdicts.find("\"correct\":true", at + 1))
    ++correct_lines;
  CHECK(correct == correct_lines);

  // `quorum report` writes the same page again, elsewhere.
  const auto again = run_quorum("report " + store + " -o " + (dir.path() / "again").string());
  INFO(again.output);
  CHECK(again.exit_code == 0);
  CHECK(page_data(read_text(dir.path() / "again" / "report.html")).at("analysis") == analysis);

  // The browser: no console error, every chart drew marks, exports work, a screenshot is kept.
  const std::string artifacts = std::string(QUORUM_TEST_ARTIFACTS) + "/report";
  std::filesystem::remove_all(artifacts);
  const auto browser = run_quorum_in_shell(std::string(QUORUM_NODE) + " " + QUORUM_REPORT_CHECK + " " +
                                           QUORUM_WEB_MODULES + " " + page_path.string() + " " + artifacts);
  INFO(browser.output);
  CHECK(browser.exit_code == 0);
  CHECK(browser.output.find("accuracy-grid") != std::string::npos);
  for (const char* chart : {"accuracy-pair", "accuracy-grid", "weights", "histograms", "costs"}) {
    CHECK(std::filesystem::file_size(artifacts + "/" + chart + ".svg") > 1000);
    CHECK(std::filesystem::file_size(artifacts + "/" + chart + ".png") > 1000);
  }
  CHECK(std::filesystem::file_size(artifacts + "/report.png") > 10000);
}

TEST_CASE("quorum report --watch and the run's own refresh follow a running sweep", "[report]") {
  TempDir dir("report-watch");
  train_tiny_models(dir);
  const auto config = dir.file("sweep.yaml", sweep_yaml("out/sweep.db", 6, 4, 24, ", report_every_s: 1"));
  const auto store = (dir.path() / "out" / "sweep.db").string();
  const auto page_path = dir.path() / "out" / "report" / "report.html";

  SECTION("the run rewrites report.html while it runs, reloading, and ends with a final one") {
    // Enough problems that the run outlasts its first refresh, a second in; the coordinator
    // looks at the clock every heartbeat.
    const auto longer = dir.file("longer.yaml", sweep_yaml("out/sweep.db", 150, 4, 24, ", report_every_s: 1, heartbeat_ms: 100"));
    const auto start = Clock::now();
    Process run(quorum_args({"run", longer, "--quiet"}), (dir.path() / "run.log").string());
    bool saw_running_page = false;
    while (run.running()) {
      if (std::filesystem::exists(page_path)) {
        const auto html = read_text(page_path);
        if (reloads(html) && page_data(html).at("progress").at("finished") == false) saw_running_page = true;
      }
      sleep_s(0.05);
    }
    INFO(run.output());
    INFO("run took " << seconds_since(start) << " s");
    REQUIRE(run.wait(0) == 0);
    CHECK(saw_running_page);
    CHECK_FALSE(reloads(read_text(page_path)));
  }

  SECTION("--watch rewrites the report as units finish and stops once the sweep has finished") {
    REQUIRE(run_quorum("run " + config + " --quiet").exit_code == 0);
    // Two score units undone, their scores gone: the store of a sweep still running.
    sql(store,
        "CREATE TEMP TABLE undone AS SELECT id FROM units WHERE kind = 'score' ORDER BY id LIMIT 2;"
        "DELETE FROM step_scores WHERE unit_id IN (SELECT id FROM undone);"
        "UPDATE units SET state = 'pending' WHERE id IN (SELECT id FROM undone);");
    Process watch(quorum_args({"report", store, "--watch", "--interval", "1"}), (dir.path() / "watch.log").string());
    const auto start = Clock::now();
    while (watch.output().find("18/20 units done") == std::string::npos && seconds_since(start) < 60) sleep_s(0.1);
    INFO(watch.output());
    REQUIRE(watch.running());
    const auto running_page = read_text(page_path);
    CHECK(reloads(running_page));
    CHECK(page_data(running_page).at("progress").at("units_done") == 18);

    const auto resumed = run_quorum("run " + config + " --quiet");
    INFO(resumed.output);
    REQUIRE(resumed.exit_code == 0);
    CHECK(watch.wait(60) == 0);
    CHECK(watch.output().find("20/20 units done") != std::string::npos);
    CHECK_FALSE(reloads(read_text(page_path)));
  }
}

TEST_CASE("the report's lookup keeps every response, and the end of each text when they are too long together", "[report]") {
  quorum::interchange::Dataset dataset;
  // 100 responses of 100 000 bytes: 2-byte characters, then the answer.
  std::string long_text;
  for (int i = 0; i < 49'990; ++i) long_text += "\xC3\xA9";
  long_text += " \\boxed{7}";
  for (int p = 0; p < 10; ++p) {
    quorum::interchange::ProblemRecord record;
    record.problem_id = "p" + std::to_string(p), record.problem = "?", record.gold = "7", record.policy = "a";
    for (int r = 0; r < 10; ++r) {
      quorum::interchange::ResponseRecord response;
      response.text = r == 0 ? "short: \\boxed{7}" : long_text;
      response.scores["prm"] = {0.5f};
      record.responses.push_back(response);
    }
    dataset.problems.push_back(record);
  }
  const auto verdicts = quorum::interchange::verdict_rows(dataset, {});
  const auto lookup = quorum::report::problem_lookup(dataset, verdicts);
  REQUIRE(lookup.size() == 10);
  std::size_t bytes = 0;
  for (const auto& problem : lookup) {
    REQUIRE(problem.at("responses").size() == 10);
    CHECK(problem.at("responses")[0].at("text") == "short: \\boxed{7}");
    CHECK_FALSE(problem.at("responses")[0].contains("cut"));
    for (const auto& response : problem.at("responses")) {
      const auto text = response.at("text").get<std::string>();
      bytes += text.size();
      CHECK(response.at("correct") == true);  // judged on the whole text, whatever the page keeps
      REQUIRE(text.size() >= 9);
      CHECK(text.substr(text.size() - 9) == "\\boxed{7}");  // the end, where the answer is, is kept
      if (response.contains("cut")) {
        CHECK(response.at("cut") == long_text.size());
        CHECK(static_cast<unsigned char>(text[0]) != 0xA9);  // starts on a character, not inside one
      }
    }
  }
  CHECK(bytes <= quorum::report::kLookupTextBytes + 10 * 32);
  CHECK(bytes > quorum::report::kLookupTextBytes / 2);
  // The page's JSON survives text that is not UTF-8 (a byte-level model can stop mid-character).
  dataset.problems[0].responses[0].text = "\xC3";
  quorum::report::PageInputs page;
  page.problems = quorum::report::problem_lookup(dataset, quorum::interchange::verdict_rows(dataset, {}));
  CHECK(quorum::report::render_page(page).find("quorum-data") != std::string::npos);
}
