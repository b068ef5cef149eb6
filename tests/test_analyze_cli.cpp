// `quorum analyze` end to end through the binary: both input layouts, the four outputs, and one
// clear error with file, line and field for each kind of bad input, with nothing written.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli_runner.h"

using quorum::testing::read_text;
using quorum::testing::run_quorum;
using quorum::testing::TempDir;

namespace {

// A Python-pipeline row: completions whose steps are split at blank lines.
std::string pipeline_row(const std::string& problem, const std::string& gold,
                         const std::vector<std::pair<std::string, std::vector<double>>>& completions) {
  nlohmann::json row{{"problem", problem}, {"answer", gold}};
  for (const auto& [text, scores] : completions) {
    row["completions"].push_back(text);
    row["scores"].push_back(scores);
  }
  return row.dump() + "\n";
}

// Six problems; `first` shifts their numbers so two files can hold different problems.
std::string small_pipeline_file(int first = 0) {
  std::string rows;
  for (int j = first; j < first + 6; ++j) {
    const std::string gold = std::to_string(10 + j);
    rows += pipeline_row("What is " + gold + "?", gold,
                         {{"step a\n\nso \\boxed{" + gold + "}", {0.9, 0.8}},
                          {"step a\n\nso \\boxed{" + std::to_string(11 + j) + "}", {0.6, 0.2}},
                          {"step a\n\nstep b\n\nThe answer is " + gold + ".", {0.7, 0.6, 0.9}},
                          {"step a\n\nso \\boxed{" + std::to_string(11 + j) + "}", {0.5, 0.4}}});
  }
  return rows;
}

std::size_t count_lines(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace

TEST_CASE("analyze reads Python-pipeline rows and writes its outputs and report page", "[analyze][cli]") {
  TempDir dir("analyze-pipeline");
  const auto input = dir.file("mypolicy_myprm.jsonl", small_pipeline_file());
  const auto out = (dir.path() / "out").string();
  const auto result = run_quorum("analyze --input " + input + ":prm=shepherd,policy=tiny --out " + out +
                                 " --folds 2 --draws 20 --bootstrap 50 --quiet");
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  const auto results = read_text(dir.path() / "out/results.csv");
  CHECK(results.rfind("policy,prm,reduction,strategy,budget,accuracy,ci_low,ci_high\n", 0) == 0);
  // 5 reductions x 8 strategies x budgets {1, 2, 4}
  CHECK(count_lines(results) == 1 + 5 * 8 * 3);
  CHECK(results.find("tiny,shepherd,last,majority,4,") != std::string::npos);
  // Every problem: 2 correct of 4 responses, so pass@4 is 1 and pass@1 is 0.5.
  CHECK(results.find("tiny,shepherd,min,pass_at_n,1,0.5,") != std::string::npos);
  CHECK(results.find("tiny,shepherd,min,pass_at_n,4,1,") != std::string::npos);
  // best_of_n by the last step always picks a correct response here (0.8, 0.9 vs 0.2, 0.4).
  CHECK(results.find("tiny,shepherd,last,best_of_n,4,1,1,1") != std::string::npos);
  const auto calibration = nlohmann::json::parse(read_text(dir.path() / "out/calibration.json"));
  CHECK(calibration["cells"].size() == 5);
  CHECK(calibration["cells"][0]["fits"].size() == 2);
  CHECK(calibration["cells"][0]["fits"][0]["w_curve"]["linear_wv"].size() == 99);
  CHECK(read_text(dir.path() / "out/savings.csv").rfind("policy,prm,reduction,strategy,reference,", 0) == 0);
  CHECK(read_text(dir.path() / "out/summary.md").find("## tiny x shepherd") != std::string::npos);
  // verdicts.jsonl beside results.csv: one row per response, saying why it counts as correct.
  const auto verdicts = read_text(dir.path() / "out/verdicts.jsonl");
  REQUIRE(count_lines(verdicts) == 6 * 4);
  const auto first = nlohmann::json::parse(verdicts.substr(0, verdicts.find('\n')));
  CHECK(first["policy"] == "tiny");
  CHECK(first["answer"] == "10");
  CHECK(first["extraction"] == "boxed");
  CHECK(first["correct"] == true);
  CHECK(first["class"] == 0);
  CHECK(first["rule"] == "same normalised text");
  std::size_t correct = 0;
  for (std::size_t at = verdicts.find("\"correct\":true"); at != std::string::npos;
       at = verdicts.find("\"correct\":true", at + 1)) {
    ++correct;
  }
  CHECK(correct == 6 * 2);  // as pass_at_n above: 2 correct of 4 per problem

  // report.html as a sweep writes it, naming the file, with every problem to look up.
  const auto page = quorum::testing::report_page_data(read_text(dir.path() / "out/report.html"));
  CHECK(page["inputs"]["evaluation"] == nlohmann::json::array({input + ":prm=shepherd,policy=tiny"}));
  CHECK(page["analysis"]["accuracy"].size() == 5 * 8 * 3);
  REQUIRE(page["problems"].size() == 6);
  const auto& problem = page["problems"][0];
  CHECK(problem["policy"] == "tiny");
  CHECK(problem["gold"] == "10");
  REQUIRE(problem["responses"].size() == 4);
  CHECK(problem["responses"][0]["answer"] == first["answer"]);
  CHECK(problem["responses"][0]["rule"] == first["rule"]);
  CHECK(problem["responses"][1]["correct"] == false);
  CHECK(problem["responses"][1]["text"] == "step a\n\nso \\boxed{11}");
  CHECK(problem["responses"][1]["scores"]["shepherd"].size() == 2);
}

TEST_CASE("analyze merges one file per PRM and calibrates on a separate split", "[analyze][cli]") {
  TempDir dir("analyze-merge");
  const auto a = dir.file("a.jsonl", small_pipeline_file());
  const auto b = dir.file("b.jsonl", small_pipeline_file());
  const auto calibration = dir.file("calibration.jsonl", small_pipeline_file(100));
  const auto out = (dir.path() / "out").string();
  const auto result = run_quorum("analyze -i " + a + " -i " + b + " --calibration " + calibration +
                                 ":prm=a --calibration " + calibration + ":prm=b --out " + out +
                                 " --reductions last,min --strategies majority,weighted,linear_wv --draws 10 -q");
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  const auto results = read_text(dir.path() / "out/results.csv");
  CHECK(count_lines(results) == 1 + 2 * 2 * 3 * 3);  // 2 PRMs x 2 reductions x 3 strategies x 3 budgets
  CHECK(results.find("policy,a,last,linear_wv,4,") != std::string::npos);
  CHECK(results.find("policy,b,min,weighted,2,") != std::string::npos);
  CHECK(read_text(dir.path() / "out/summary.md").find("separate calibration split") != std::string::npos);
}

TEST_CASE("analyze --strategies without weighted falls back to the best deployable reference", "[analyze][cli]") {
  TempDir dir("analyze-reference");
  const auto input = dir.file("pool.jsonl", small_pipeline_file());
  const auto out = (dir.path() / "out").string();
  const auto result = run_quorum("analyze -i " + input + " --out " + out +
                                 " --strategies majority,best_of_n,oracle --draws 10 --bootstrap 10 -q");
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  // best_of_n picks a correct response in every cell (accuracy 1 at N = 4); majority ties (0.5).
  CHECK(result.output.find("analyze: savings reference: best_of_n, the best evaluated deployable strategy "
                           "(mean accuracy 1.000000 at N = 4), since weighted was not evaluated") !=
        std::string::npos);
  const auto savings = read_text(dir.path() / "out/savings.csv");
  CHECK(savings.find(",majority,best_of_n@4,") != std::string::npos);
  CHECK(savings.find(",oracle,") == std::string::npos);  // never a deployable comparison
  CHECK(read_text(dir.path() / "out/summary.md").find("- savings reference: best_of_n, ") != std::string::npos);
}

TEST_CASE("raw-logit scores are read with --score-transform sigmoid", "[analyze][cli]") {
  TempDir dir("analyze-logits");
  std::string rows;
  for (int j = 0; j < 4; ++j) {
    const std::string gold = std::to_string(20 + j);
    // An outcome reward model's scalar per response: a logit, one "step" (no blank lines).
    rows += pipeline_row("What is " + gold + "?", gold,
                         {{"so \\boxed{" + gold + "}", {3.5}},
                          {"so \\boxed{7}", {-2.0}},
                          {"so \\boxed{7}", {-1.0}}});
  }
  const auto input = dir.file("orm.jsonl", rows);
  const auto out = (dir.path() / "out").string();
  const auto raw = run_quorum("analyze -i " + input + " --out " + out + " -q");
  CHECK(raw.exit_code == 2);
  CHECK(raw.output.find("orm.jsonl:1: field 'scores[0][0]': score 3.5 is outside [0, 1] (raw logits? "
                        "--score-transform sigmoid") != std::string::npos);
  const auto result = run_quorum("analyze -i " + input + " --out " + out +
                                 " --score-transform sigmoid --strategies majority,best_of_n --reductions last "
                                 "--draws 5 --bootstrap 10 -q");
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  const auto results = read_text(dir.path() / "out/results.csv");
  // sigmoid keeps the order: best-of-3 always picks the correct response, majority never.
  CHECK(results.find("policy,orm,last,best_of_n,3,1,1,1") != std::string::npos);
  CHECK(results.find("policy,orm,last,majority,3,0,0,0") != std::string::npos);
  const auto bad = run_quorum("analyze -i " + input + " --out " + out + " --score-transform tanh -q");
  CHECK(bad.exit_code == 2);
  CHECK(bad.output.find("field '--score-transform': unknown score transform 'tanh'") != std::string::npos);
}

TEST_CASE("the step separator is an option, written with escapes", "[analyze][cli]") {
  TempDir dir("analyze-separator");
  const auto input = dir.file("lines.jsonl", pipeline_row("p", "7", {{"a\nb\n\\boxed{7}", {0.5, 0.6, 0.7}}}));
  const auto split_lines = run_quorum("analyze -i " + input + " --out " + (dir.path() / "o").string() +
                                      " --step-separator '\\n' --draws 2 --bootstrap 10 --strategies majority --reference majority -q");
  INFO(split_lines.output);
  CHECK(split_lines.exit_code == 0);
  // With the default blank-line separator the same row has one step and three scores.
  const auto default_split = run_quorum("analyze -i " + input + " --out " + (dir.path() / "p").string() + " -q");
  CHECK(default_split.exit_code != 0);
  CHECK(default_split.output.find("3 step scores for 1 steps") != std::string::npos);
}

TEST_CASE("answer extraction patterns are options", "[analyze][cli]") {
  TempDir dir("analyze-patterns");
  // The correct completion states its answer only as "Result: 7"; the wrong one ends in 8.
  const auto input = dir.file("p.jsonl", pipeline_row("p", "7", {{"a\n\nResult: 7 after 3 steps", {0.9, 0.9}},
                                                                 {"a\n\nResult: 8", {0.1, 0.1}}}));
  const auto out = dir.path() / "o";
  const auto result = run_quorum("analyze -i " + input + ":prm=p --out " + out.string() +
                                 " --answer-pattern 'Result: (\\d+)' --no-last-number --draws 4 --bootstrap 10 -q"
                                 " --strategies best_of_n,weighted,pass_at_n --reductions last");
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  // With the default last-number fallback the first completion would answer 3.
  CHECK(read_text(out / "results.csv").find("policy,p,last,pass_at_n,2,1,") != std::string::npos);
  CHECK(read_text(out / "results.csv").find("policy,p,last,best_of_n,2,1,") != std::string::npos);
  const auto bad = run_quorum("analyze -i " + input + " --out " + (dir.path() / "b").string() + " --answer-pattern '((' -q");
  CHECK(bad.exit_code != 0);
  CHECK(bad.output.find("field '--answer-pattern'") != std::string::npos);
}

TEST_CASE("analyze output of a synthetic pool is reproducible for a seed", "[analyze][cli]") {
  TempDir dir("analyze-seed");
  const auto pool = dir.file("pool.jsonl");
  REQUIRE(run_quorum("synth --out " + pool + " --problems 30 --responses 16 --policies 2 --prms 2").exit_code == 0);
  const std::string common = "analyze -i " + pool + " --draws 20 --bootstrap 100 -q --seed 5 --out ";
  REQUIRE(run_quorum(common + (dir.path() / "one").string()).exit_code == 0);
  REQUIRE(run_quorum(common + (dir.path() / "two").string() + " --threads 1").exit_code == 0);
  CHECK(read_text(dir.path() / "one/results.csv") == read_text(dir.path() / "two/results.csv"));
  CHECK(read_text(dir.path() / "one/calibration.json") == read_text(dir.path() / "two/calibration.json"));
}

TEST_CASE("analyze reads search-and-learn's rows, their completion tokens among them", "[analyze][cli]") {
  TempDir dir("analyze-sal");
  // As search-and-learn's best_of_n writes a MATH row: the dataset's columns, then completions,
  // scores (one PRM, steps split at blank lines), pred and completion_tokens.
  std::string rows;
  for (int j = 0; j < 4; ++j) {
    const std::string gold = std::to_string(20 + j), wrong = std::to_string(30 + j);
    nlohmann::json row{{"problem", "What is " + gold + "?"}, {"solution", "It is " + gold + "."}, {"answer", gold},
                       {"subject", "Prealgebra"}, {"level", 1 + j % 5}, {"unique_id", "test/prealgebra/" + std::to_string(j) + ".json"},
                       {"completions", {"a\n\n\\boxed{" + gold + "}", "a\n\nb\n\n\\boxed{" + wrong + "}"}},
                       {"scores", {{0.9, 0.8}, {0.5, 0.4, 0.3}}},
                       {"pred", "a\n\n\\boxed{" + gold + "}"},
                       {"completion_tokens", {12, 30}}};
    rows += row.dump() + "\n";
  }
  const auto input = dir.file("sal.jsonl", rows);
  const auto result = run_quorum("analyze -i " + input + ":prm=shepherd,policy=qwen --out " + (dir.path() / "out").string() +
                                 " --folds 2 --draws 10 --bootstrap 20 --reference majority -q");
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  CHECK(read_text(dir.path() / "out/results.csv").find("qwen,shepherd,last,best_of_n,2,1,") != std::string::npos);
  // A saving's token fraction counts prompt tokens too (a PRM reads them), which these rows do
  // not give: it stays unknown rather than wrong.
  const auto savings = read_text(dir.path() / "out/savings.csv");
  INFO(savings);
  CHECK(savings.find("qwen,shepherd,last,best_of_n,majority@2,1,0.5,\n") != std::string::npos);
  const auto verdicts = read_text(dir.path() / "out/verdicts.jsonl");
  CHECK(verdicts.find("\"problem_id\":\"test/prealgebra/0.json\"") != std::string::npos);
}

TEST_CASE("analyze chooses the best strategy per difficulty level from the rows' level", "[analyze][cli][difficulty]") {
  TempDir dir("analyze-levels");
  // Level 1: the PRM scores the one correct response highest, the three wrong ones disagree.
  // Level 2 (MATH's "Level 2"): three correct responses agree, the PRM prefers the one wrong one.
  std::string rows;
  for (int j = 0; j < 12; ++j) {
    const bool hard = j >= 6;
    const std::string gold = std::to_string(100 + j);
    nlohmann::json row{{"problem", "What is " + gold + "?"}, {"answer", gold}, {"unique_id", "p" + std::to_string(j)}};
    row["level"] = hard ? nlohmann::json("Level 2") : nlohmann::json(1);
    for (int r = 0; r < 4; ++r) {
      const bool correct = hard ? r < 3 : r == 0;
      const std::string answer = correct ? gold : std::to_string(200 + j * 4 + r);
      const double score = correct == hard ? 0.2 : 0.95;
      row["completions"].push_back("work\n\n\\boxed{" + answer + "}");
      row["scores"].push_back({0.5, score});
      row["completion_tokens"].push_back(10 + r);
    }
    rows += row.dump() + "\n";
  }
  const auto input = dir.file("levels.jsonl", rows);
  const auto out = dir.path() / "out";
  const auto result = run_quorum("analyze -i " + input + ":prm=shepherd,policy=qwen --out " + out.string() +
                                 " --folds 2 --draws 10 --bootstrap 20 --reductions last,min -q");
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  const auto csv = read_text(out / "difficulty.csv");
  INFO(csv);
  REQUIRE(csv.rfind("level,policy,prm,method,n,", 0) == 0);
  // Per (level, n): exactly one optimal row, the most accurate deployable one.
  std::map<std::pair<std::string, std::string>, std::vector<std::vector<std::string>>> groups;
  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line)) {
    std::vector<std::string> fields;
    std::istringstream cells(line);
    for (std::string cell; std::getline(cells, cell, ',');) fields.push_back(cell);
    REQUIRE(fields.size() == 16);
    groups[{fields[0], fields[4]}].push_back(fields);
  }
  REQUIRE(groups.size() == 2 * 3);  // levels 1 and 2, budgets 1, 2, 4
  for (const auto& [key, group] : groups) {
    INFO("level " << key.first << ", n " << key.second);
    double best = -1;
    const std::vector<std::string>* optimal = nullptr;
    for (const auto& f : group) {
      CHECK(f[3] == "best_of_n");
      if (f[8] != "oracle" && f[8] != "pass_at_n") best = std::max(best, std::stod(f[9]));
      if (f[15] == "1") {
        CHECK(optimal == nullptr);
        optimal = &f;
      }
    }
    REQUIRE(optimal != nullptr);
    CHECK(std::stod((*optimal)[9]) == best);
    if (key.second == "4") {
      CHECK(best == 1.0);
      // The level decides what wins: the PRM's pick on level 1, agreement on level 2.
      const auto best_of_n = std::find_if(group.begin(), group.end(), [](const auto& f) { return f[8] == "best_of_n"; });
      REQUIRE(best_of_n != group.end());
      CHECK((*best_of_n)[9] == (key.first == "1" ? "1" : "0"));
      // Tokens per problem: 4 responses of 10-13 completion tokens.
      CHECK(std::stod((*optimal)[13]) == 46.0);
    }
  }
  CHECK(read_text(out / "summary.md").find("## Compute-optimal choice by difficulty") != std::string::npos);
  CHECK(read_text(out / "report.html").find("\"levels\":[\"1\",\"2\"]") != std::string::npos);
  // The page's difficulty view in the browser: a row per level, each naming its choice.
  const std::string artifacts = std::string(QUORUM_TEST_ARTIFACTS) + "/analyze-levels";
  const auto browser = quorum::testing::run_quorum_in_shell(std::string(QUORUM_NODE) + " " + QUORUM_REPORT_CHECK + " " +
                                                            QUORUM_WEB_MODULES + " " + (out / "report.html").string() + " " + artifacts);
  INFO(browser.output);
  CHECK(browser.exit_code == 0);
  CHECK(browser.output.find("difficulty-n") != std::string::npos);

  SECTION("a problem given two levels is refused by line") {
    auto relabelled = nlohmann::json::parse(rows.substr(0, rows.find('\n')));
    relabelled["level"] = 3;
    relabelled["scores"] = {{0.5, 0.5}, {0.5, 0.5}, {0.5, 0.5}, {0.5, 0.5}};
    const auto other = dir.file("other.jsonl", relabelled.dump() + "\n");
    const auto refused = run_quorum("analyze -i " + input + ":prm=shepherd,policy=qwen -i " + other +
                                    ":prm=math,policy=qwen --out " + (dir.path() / "o").string() + " -q");
    CHECK(refused.exit_code == 2);
    CHECK(refused.output.find(other + ":1: field 'level': problem 'p0' is level 3 here but 1 at " + input + ":1") !=
          std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.path() / "o"));
  }
}

TEST_CASE("bad input gets one clear error naming file, line and field, and writes nothing", "[analyze][cli]") {
  TempDir dir("analyze-errors");
  const std::string good = pipeline_row("p", "1", {{"a\n\n\\boxed{1}", {0.5, 0.5}}});
  struct Case {
    std::string name, content, expected;
  };
  const std::vector<Case> cases = {
      {"malformed", good + "{\"problem\": \"q\", \"answer\": \n", ":2: malformed JSON"},
      {"missing", good + "{\"answer\": \"1\", \"completions\": [\"x\"], \"scores\": [[0.5]]}\n", ":2: field 'problem': missing"},
      {"range", good + pipeline_row("q", "2", {{"a\n\n\\boxed{2}", {0.5, 1.5}}}), ":2: field 'scores[0][1]': score 1.5 is outside [0, 1]"},
      {"nan", good + "{\"problem\": \"q\", \"answer\": \"1\", \"completions\": [\"x\"], \"scores\": [[NaN]]}\n", ":2: malformed JSON: NaN"},
      {"length", good + pipeline_row("q", "2", {{"a\n\nb\n\n\\boxed{2}", {0.5, 0.5}}}), ":2: field 'scores[0]': 2 step scores for 3 steps"},
      {"empty-pool", good + "{\"problem\": \"q\", \"answer\": \"1\", \"completions\": [], \"scores\": []}\n", ":2: field 'completions': empty pool"},
      {"not-number", good + "{\"problem\": \"q\", \"answer\": \"1\", \"completions\": [\"x\"], \"scores\": [[\"high\"]]}\n", ":2: field 'scores[0][0]': expected a number"},
      {"empty-file", "", ": no rows"},
      // Numbers beyond a double's range: the parser's own error names no field.
      {"overflow", good + "{\"problem\": \"q\", \"answer\": \"1\", \"completions\": [\"x\"], \"scores\": [[1e309]]}\n",
       ":2: field 'scores[0][0]': a number too large for a double"},
      {"overflow-long", good + "{\"problem\": \"q\", \"answer\": \"1\", \"completions\": [\"x\"], \"scores\": [[" +
                            std::string(400, '9') + "]]}\n",
       ":2: field 'scores[0][0]': a number too large for a double"},
      {"overflow-native", good + "{\"problem\": \"q\", \"answer\": \"1\", \"responses\": [{\"text\": \"x\", "
                                 "\"scores\": {\"p\": [0.5]}}, {\"text\": \"y\", \"completion_tokens\": -1e400, "
                                 "\"scores\": {\"p\": [0.5]}}]}\n",
       ":2: field 'responses[1].completion_tokens': a number too large for a double"},
      {"tokens", good + "{\"problem\": \"q\", \"answer\": \"1\", \"responses\": [{\"text\": \"x\", "
                        "\"prompt_tokens\": 1e300, \"scores\": {\"p\": [0.5]}}]}\n",
       ":2: field 'responses[0].prompt_tokens': expected a non-negative number of tokens up to 2^53"},
      {"sal-tokens", good + "{\"problem\": \"q\", \"answer\": \"1\", \"completions\": [\"x\", \"y\"], "
                            "\"scores\": [[0.5], [0.5]], \"completion_tokens\": [3]}\n",
       ":2: field 'completion_tokens': expected a list with one entry per completion (2 completions)"},
      {"sal-token", good + "{\"problem\": \"q\", \"answer\": \"1\", \"completions\": [\"x\"], "
                           "\"scores\": [[0.5]], \"completion_tokens\": [-2]}\n",
       ":2: field 'completion_tokens[0]': expected a non-negative number of tokens up to 2^53"},
      {"listed-steps", good + "{\"problem\": \"q\", \"answer\": \"1\", \"completions\": [\"x\"], "
                              "\"scores\": [[0.5]], \"steps\": [[\"x\", \"y\"]]}\n",
       ":2: field 'scores[0]': 1 step scores for 2 steps"},
      {"level", good + "{\"problem\": \"q\", \"answer\": \"1\", \"level\": [3], \"completions\": [\"x\"], \"scores\": [[0.5]]}\n",
       ":2: field 'level': expected a string or an integer, got array"},
      {"pool-size", good + pipeline_row("q", "2", std::vector<std::pair<std::string, std::vector<double>>>(65537, {"x", {0.5}})),
       ":2: field 'completions': 65537 responses: analysis supports at most 65536 per problem"},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      const auto input = dir.file(c.name + ".jsonl", c.content.empty() ? "\n" : c.content);
      const auto out = dir.path() / ("out-" + c.name);
      const auto result = run_quorum("analyze -i " + input + " --out " + out.string() + " -q");
      INFO(result.output);
      CHECK(result.exit_code == 2);
      CHECK(result.output.find(input + c.expected) != std::string::npos);
      CHECK(count_lines(result.output) == 1);
      CHECK_FALSE(std::filesystem::exists(out));
    }
  }
  SECTION("unknown strategy") {
    const auto input = dir.file("good.jsonl", good);
    const auto result = run_quorum("analyze -i " + input + " --out " + (dir.path() / "o").string() +
                                   " --strategies majority,plurality -q");
    CHECK(result.exit_code != 0);
    CHECK(result.output.find("--strategies") != std::string::npos);
    CHECK(result.output.find("unknown strategy 'plurality'") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.path() / "o"));
  }
  SECTION("calibration split holding an evaluated problem") {
    const auto input = dir.file("input.jsonl", small_pipeline_file());
    const auto calibration = dir.file("calibration.jsonl", small_pipeline_file(3));
    const auto result = run_quorum("analyze -i " + input + ":prm=p --calibration " + calibration + ":prm=p --out " +
                                   (dir.path() / "o").string() + " -q");
    CHECK(result.exit_code != 0);
    CHECK(result.output.find("field '--calibration': problem '") != std::string::npos);
    CHECK(result.output.find("calibration must never see an evaluated problem") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.path() / "o"));
  }
  SECTION("savings reference given but not evaluated") {
    const auto input = dir.file("good.jsonl", good);
    const auto result = run_quorum("analyze -i " + input + " --out " + (dir.path() / "o").string() +
                                   " --strategies majority --reference weighted -q");
    CHECK(result.exit_code != 0);
    CHECK(result.output.find("field '--reference'") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.path() / "o"));
  }
  SECTION("no deployable strategy to measure savings against") {
    const auto input = dir.file("good.jsonl", good);
    const auto result = run_quorum("analyze -i " + input + " --out " + (dir.path() / "o").string() +
                                   " --strategies oracle,pass_at_n -q");
    CHECK(result.exit_code != 0);
    CHECK(result.output.find("field '--strategies'") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.path() / "o"));
  }
  SECTION("budget above the pool") {
    const auto input = dir.file("good.jsonl", good);
    const auto result = run_quorum("analyze -i " + input + " --out " + (dir.path() / "o").string() + " --budgets 1,2 -q");
    CHECK(result.exit_code != 0);
    CHECK(result.output.find("--budgets") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.path() / "o"));
  }
}

TEST_CASE("analyze on a full disk: a clear error naming the file, and no half-written output", "[analyze][cli][disk]") {
  if (!quorum::testing::private_mounts_available()) {
    WARN("skipped: this machine forbids the user and mount namespaces that its private mounts need");
    return;
  }
  TempDir dir("analyze-disk-full");
  const auto input = dir.file("input.jsonl", small_pipeline_file());
  std::filesystem::create_directories(dir.path() / "disk");
  const auto disk = (dir.path() / "disk").string(), out = disk + "/out";
  // A 64 KiB tmpfs filled up to the last block before quorum writes.
  const auto result = quorum::testing::run_with_private_mounts(
      dir, "mount -t tmpfs -o size=64k tmpfs " + disk + "\ndd if=/dev/zero of=" + disk +
               "/filler bs=4k 2>/dev/null || true\n" + QUORUM_BINARY + " analyze -i " + input + " --out " + out +
               " -q || echo \"exit $?\"\nls -a " + out + " || true");
  INFO(result.output);
  CHECK(result.output.find("quorum: error: " + out + "/") != std::string::npos);
  CHECK(result.output.find("No space left on device") != std::string::npos);
  REQUIRE(result.output.find("exit 2") != std::string::npos);
  // What the folder held when the namespace (and its tmpfs) went away: nothing but . and ..
  const auto listing = result.output.substr(result.output.find("exit 2"));
  for (const char* name : {"results.csv", "calibration.json", "savings.csv", "summary.md", "verdicts.jsonl", "report.html", ".partial"})
    CHECK(listing.find(name) == std::string::npos);
}
