// `quorum grade` end to end through the binary: one response with every step of the decision
// shown, a pool graded into verdicts.jsonl, and clear errors for bad input.
#include <catch2/catch.hpp>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_runner.h"

using quorum::testing::read_text;
using quorum::testing::run_quorum;
using quorum::testing::TempDir;

namespace {

// One shell word, whatever the text holds (LaTeX backslashes, dollars, quotes).
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (const char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::vector<nlohmann::json> read_rows(const std::filesystem::path& path) {
  std::istringstream in(read_text(path));
  std::vector<nlohmann::json> rows;
  for (std::string line; std::getline(in, line);) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

}  // namespace

TEST_CASE("grade shows the extraction, both normalised forms and the deciding rule",
          "[grade][cli]") {
  SECTION("an answer in the last math environment") {
    const auto result = run_quorum("grade " + quoted("\\frac{1}{2}") + " " +
                                   quoted("Solving, we get $x = 0.5$."));
    INFO(result.output);
    CHECK(result.exit_code == 0);
    CHECK(result.output.find("extracted:  x = 0.5\n") != std::string::npos);
    CHECK(result.output.find("extraction: last math environment\n") != std::string::npos);
    CHECK(result.output.find("gold:       \\frac{1}{2}\n") != std::string::npos);
    CHECK(result.output.find("answer:     0.5\n") != std::string::npos);
    CHECK(result.output.find("verdict:    correct\n") != std::string::npos);
    CHECK(result.output.find("decided by: exact rational\n") != std::string::npos);
  }
  SECTION("a wrong boxed answer says why") {
    const auto result = run_quorum("grade 1/3 " + quoted("so \\boxed{0.33}"));
    INFO(result.output);
    CHECK(result.exit_code == 1);
    CHECK(result.output.find("extraction: boxed\n") != std::string::npos);
    CHECK(result.output.find("verdict:    incorrect\n") != std::string::npos);
    CHECK(result.output.find("decided by: different numbers\n") != std::string::npos);
  }
  SECTION("several boxes read as one list") {
    const auto result = run_quorum("grade " + quoted("-3, 2") + " " +
                                   quoted("The roots are $\\boxed{2}$ and $\\boxed{-3}$."));
    INFO(result.output);
    CHECK(result.exit_code == 0);
    CHECK(result.output.find("extraction: several boxed\n") != std::string::npos);
    CHECK(result.output.find("decided by: unordered, element-wise\n") != std::string::npos);
  }
  SECTION("no answer") {
    const auto result = run_quorum("grade 5 " + quoted("I am not sure, maybe 5") +
                                   " --no-last-number --no-math-environment");
    INFO(result.output);
    CHECK(result.exit_code == 1);
    CHECK(result.output.find("extracted:  (none)\n") != std::string::npos);
    CHECK(result.output.find("decided by: no answer\n") != std::string::npos);
  }
  SECTION("a configured pattern is named by its position") {
    const auto result =
        run_quorum("grade B " + quoted("reasoning\nANSWER: B") + " --answer-pattern " +
                   quoted("ANSWER:\\s*(\\S+)"));
    INFO(result.output);
    CHECK(result.exit_code == 0);
    CHECK(result.output.find("extraction: pattern 1\n") != std::string::npos);
  }
}

TEST_CASE("grade --input writes one verdict per response", "[grade][cli]") {
  TempDir dir("grade-pool");
  // A quorum row without step scores (a given answer on one response) and a pipeline row.
  nlohmann::json native{{"problem_id", "p1"},
                        {"problem", "Half of one?"},
                        {"answer", "\\frac{1}{2}"},
                        {"policy", "tiny"},
                        {"responses",
                         {{{"text", "so \\boxed{0.5}"}},
                          {{"text", "It is $\\frac12$."}},
                          {{"text", "whatever"}, {"answer", "1/3"}},
                          {{"text", "no idea"}}}}};
  nlohmann::json pipeline{{"problem", "Roots of x^2-1?"},
                          {"answer", "\\pm 1"},
                          {"completions", {"$\\boxed{1}$ and $\\boxed{-1}$", "\\boxed{1}"}},
                          {"scores", {{0.5}, {0.4}}}};
  const auto input = dir.file("pool.jsonl", native.dump() + "\n" + pipeline.dump() + "\n");
  const auto out = dir.path() / "verdicts.jsonl";
  const auto result =
      run_quorum("grade --input " + input + " --out " + out.string() + " --no-last-number");
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  CHECK(result.output.find("6 responses of 2 problems, 5 with an answer, 3 correct") !=
        std::string::npos);
  const auto rows = read_rows(out);
  REQUIRE(rows.size() == 6);
  CHECK(rows[0]["policy"] == "tiny");
  CHECK(rows[0]["problem_id"] == "p1");
  CHECK(rows[0]["response"] == 0);
  CHECK(rows[0]["answer"] == "0.5");
  CHECK(rows[0]["extraction"] == "boxed");
  CHECK(rows[0]["normalized_gold"] == "\\frac{1}{2}");
  CHECK(rows[0]["correct"] == true);
  CHECK(rows[0]["rule"] == "exact rational");
  CHECK(rows[1]["extraction"] == "last math environment");
  CHECK(rows[1]["class"] == rows[0]["class"]);  // 0.5 and \frac12 vote together
  CHECK(rows[2]["extraction"] == "given");
  CHECK(rows[2]["correct"] == false);
  CHECK(rows[2]["class"] == 1);
  CHECK(rows[3]["answer"].is_null());
  CHECK(rows[3]["class"] == -1);
  CHECK(rows[3]["rule"] == "no answer");
  CHECK(rows[4]["extraction"] == "several boxed");
  CHECK(rows[4]["correct"] == true);
  CHECK(rows[5]["correct"] == false);
  CHECK(rows[5]["rule"] == "different kinds: set and value");
}

TEST_CASE("grade refuses bad input with the file, line and field", "[grade][cli]") {
  TempDir dir("grade-errors");
  const auto out = dir.path() / "verdicts.jsonl";
  SECTION("malformed JSON") {
    const auto input = dir.file("bad.jsonl", "{\"problem\": \"a\", \"answer\": \"1\", "
                                             "\"responses\": [{\"text\": \"1\"}]}\n{oops\n");
    const auto result = run_quorum("grade --input " + input + " --out " + out.string());
    CHECK(result.exit_code == 2);
    CHECK(result.output.find("bad.jsonl:2") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(out));
  }
  SECTION("a response without text") {
    const auto input = dir.file("bad.jsonl", "{\"problem\": \"a\", \"answer\": \"1\", "
                                             "\"responses\": [{\"answer\": \"1\"}]}\n");
    const auto result = run_quorum("grade --input " + input + " --out " + out.string());
    CHECK(result.exit_code == 2);
    CHECK(result.output.find("bad.jsonl:1: field 'responses[0].text'") != std::string::npos);
  }
  SECTION("a missing file, a bad pattern, missing arguments") {
    CHECK(run_quorum("grade --input " + (dir.path() / "none.jsonl").string() + " --out " +
                     out.string())
              .exit_code == 2);
    const auto pattern = run_quorum("grade 1 1 --answer-pattern " + quoted("(unclosed"));
    CHECK(pattern.exit_code == 2);
    CHECK(pattern.output.find("--answer-pattern") != std::string::npos);
    CHECK(run_quorum("grade 1").exit_code != 0);
    CHECK(run_quorum("grade --input x.jsonl").exit_code != 0);
    CHECK(run_quorum("grade 1 1 --out " + out.string()).exit_code != 0);
  }
}
