// Sweep configs (runtime/config): a full YAML file parsed field by field, paths resolved against
// the file's directory, every class of mistake reported with its line and key, and the problems
// of each source (arithmetic task, math and gsm8k JSONL).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "cli_runner.h"
#include "runtime/common/error.h"
#include "runtime/common/hash.h"
#include "runtime/config/sweep.h"
#include "runtime/task/arithmetic.h"

namespace fs = std::filesystem;
using namespace quorum::config;
using quorum::InputError;
using quorum::testing::TempDir;

namespace {

// A sweep directory: configs/ for YAML files, models/p and models/r (model directories with a
// config.json), models/empty (no config.json), data/ for problem files.
struct Workspace {
  TempDir dir;
  explicit Workspace(const std::string& name) : dir("config-" + name) {
    for (const char* sub : {"configs", "models/p", "models/r", "models/empty", "data"})
      fs::create_directories(dir.path() / sub);
    dir.file("models/p/config.json", "{}");
    dir.file("models/r/config.json", "{}");
    dir.file("data/cal.jsonl", "{\"problem\": \"1+1\", \"answer\": 2}\n");
  }
  std::string config(const std::string& yaml, const std::string& name = "sweep.yaml") const {
    const auto file = dir.path() / "configs" / name;
    std::ofstream(file) << yaml;
    return file.string();
  }
  std::string path(const std::string& relative) const { return (dir.path() / relative).lexically_normal().string(); }
};

// The smallest valid sweep; error cases below change one thing at a time (line numbers matter).
const std::string kMinimal =
    "sweep: t\n"                                                           // 1
    "store: ../out/sweep.db\n"                                             // 2
    "problems:\n"                                                          // 3
    "  evaluation: {task: arithmetic, levels: [1, 2], count: 10}\n"        // 4
    "policies:\n"                                                          // 5
    "  - name: a\n"                                                        // 6
    "    path: ../models/p\n"                                              // 7
    "  - name: b\n"                                                        // 8
    "    path: ../models/p\n"                                              // 9
    "    temperature: 0.5\n"                                               // 10
    "samples: 8\n";                                                        // 11

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

// Loads `yaml` and requires an InputError at (line, field) whose message contains `words`.
void require_error(const std::string& yaml, std::size_t line, const std::string& field, const std::string& words) {
  static const Workspace w("error");  // one for all error cases: creating directories is slow
  const auto file = w.config(yaml);
  try {
    load_sweep(file);
    FAIL("no error for:\n" << yaml);
  } catch (const InputError& e) {
    INFO(e.what());
    CHECK(e.file() == file);
    CHECK(e.line() == line);
    CHECK(e.field() == field);
    CHECK_THAT(e.what(), Catch::Contains(words));
  }
}

}  // namespace

TEST_CASE("a full sweep config parses, every field checked", "[config]") {
  Workspace w("full");
  const auto file = w.config(R"(# the demo sweep
sweep: demo-1.0
store: ../out/demo/sweep.db
report: ../out/demo/report-x
seed: 18446744073709551615
problems:
  evaluation: {task: arithmetic, levels: [1, 3], count: 100, seed: 11}
  calibration: {jsonl: ../data/cal.jsonl, format: gsm8k, limit: 100}
policies:
  - name: small
    path: ../models/p/
    device: cuda:1
    temperature: 0.7
    top_p: 0.95
    top_k: 50
    max_new_tokens: 96
    stop: ["\n\n", "Problem:"]
    prompt: "Problem: {problem}\nSolution:\n"
    step_separator: "\n\n"
  - name: large
    path: ../models/r
prms:
  - name: prm-small
    path: ../models/r
    device: cpu
    kind: good_token
    step_token: "<|step|>"
    good_token: "+"
    prompt: "Q: {problem}"
  - {name: prm-plain, path: ../models/p}
samples: 32
analysis:
  budgets: [1, 2, 4, 8, 16, 32]
  strategies: [majority, weighted, linear_wv]
  reductions: [last, min]
  draws: 50
  calibration_draws: 3
  bootstrap: 100
  folds: 4
  reference: majority
runtime:
  problems_per_unit: 2
  batch_size: 16
  samplers_per_policy: 2
  verifiers_per_prm: 3
  memory_limit_mb: 4096
  threads: 2
)");
  const SweepConfig c = load_sweep(file);
  CHECK(c.file == file);
  CHECK(c.name == "demo-1.0");
  CHECK(c.store == w.path("out/demo/sweep.db"));
  CHECK(c.report == w.path("out/demo/report-x"));
  CHECK(c.seed == 18446744073709551615ULL);

  CHECK(c.evaluation.kind == ProblemSource::Kind::arithmetic);
  CHECK(c.evaluation.levels == std::vector<int>{1, 3});
  CHECK(c.evaluation.count == 100);
  CHECK(c.evaluation.seed == 11);
  REQUIRE(c.has_calibration_split);
  CHECK(c.calibration.kind == ProblemSource::Kind::jsonl);
  CHECK(c.calibration.path == w.path("data/cal.jsonl"));
  CHECK(c.calibration.format == "gsm8k");
  CHECK(c.calibration.limit == 100);

  REQUIRE(c.policies.size() == 2);
  const auto& small = c.policies[0];
  CHECK(small.name == "small");
  CHECK(small.path == w.path("models/p"));  // trailing slash dropped
  CHECK(small.device == "cuda:1");
  CHECK(small.temperature == 0.7);
  CHECK(small.top_p == 0.95);
  CHECK(small.top_k == 50);
  CHECK(small.max_new_tokens == 96);
  CHECK(small.stop == std::vector<std::string>{"\n\n", "Problem:"});
  CHECK(small.prompt == "Problem: {problem}\nSolution:\n");
  CHECK(small.step_separator == "\n\n");
  const auto& large = c.policies[1];  // defaults
  CHECK(large.name == "large");
  CHECK(large.path == w.path("models/r"));
  CHECK(large.device == "auto");
  CHECK(large.temperature == 1.0);
  CHECK(large.top_p == 1.0);
  CHECK(large.top_k == 0);
  CHECK(large.max_new_tokens == 256);
  CHECK(large.stop.empty());
  CHECK(large.prompt.empty());
  CHECK(large.step_separator == "\n");

  REQUIRE(c.prms.size() == 2);
  CHECK(c.prms[0].name == "prm-small");
  CHECK(c.prms[0].path == w.path("models/r"));
  CHECK(c.prms[0].device == "cpu");
  CHECK(c.prms[0].kind == "good_token");
  CHECK(c.prms[0].step_token == "<|step|>");
  CHECK(c.prms[0].good_token == "+");
  CHECK(c.prms[0].prompt == "Q: {problem}");
  CHECK(c.prms[1].name == "prm-plain");
  CHECK(c.prms[1].device == "auto");
  CHECK(c.prms[1].kind.empty());
  CHECK(c.prms[1].step_token.empty());
  CHECK(c.prms[1].good_token.empty());
  CHECK(c.prms[1].prompt.empty());

  CHECK(c.samples == 32);
  using quorum::aggregation::Reduction;
  using quorum::aggregation::Strategy;
  const auto& a = c.analysis;
  CHECK(a.budgets == std::vector<std::uint32_t>{1, 2, 4, 8, 16, 32});
  CHECK(a.strategies == std::vector<Strategy>{Strategy::majority, Strategy::weighted, Strategy::linear_wv});
  CHECK(a.reductions == std::vector<Reduction>{Reduction::last, Reduction::min});
  CHECK(a.draws == 50);
  CHECK(a.calibration_draws == 3);
  CHECK(a.bootstrap_resamples == 100);
  CHECK(a.folds == 4);
  CHECK(a.reference == Strategy::majority);
  CHECK(a.seed == c.seed);
  CHECK(a.threads == 2);

  CHECK(c.runtime.problems_per_unit == 2);
  CHECK(c.runtime.batch_size == 16);
  CHECK(c.runtime.samplers_per_policy == 2);
  CHECK(c.runtime.verifiers_per_prm == 3);
  CHECK(c.runtime.memory_limit_mb == 4096);
  CHECK(c.runtime.threads == 2);
}

TEST_CASE("a minimal config takes the defaults", "[config]") {
  Workspace w("minimal");
  const SweepConfig c = load_sweep(w.config(kMinimal));
  CHECK(c.store == w.path("out/sweep.db"));
  CHECK(c.report == w.path("out/report"));  // beside the store
  CHECK(c.seed == 0);
  CHECK_FALSE(c.has_calibration_split);
  CHECK(c.evaluation.seed == 0);
  CHECK(c.prms.empty());
  CHECK(c.policies[1].temperature == 0.5);
  const quorum::analysis::AnalysisSettings defaults;
  CHECK(c.analysis.budgets.empty());
  CHECK(c.analysis.strategies.empty());
  CHECK(c.analysis.reductions.empty());
  CHECK(c.analysis.draws == defaults.draws);
  CHECK(c.analysis.bootstrap_resamples == defaults.bootstrap_resamples);
  CHECK(c.analysis.folds == defaults.folds);
  CHECK(c.analysis.reference == defaults.reference);
  CHECK(c.runtime.problems_per_unit == RuntimeSpec().problems_per_unit);
  CHECK(c.runtime.threads == 0);
  // An explicitly empty prms list is fine too.
  CHECK(load_sweep(w.config(kMinimal + "prms: []\n", "empty-prms.yaml")).prms.empty());
}

TEST_CASE("paths resolve against the config file's directory", "[config]") {
  Workspace w("paths");
  fs::create_directories(w.dir.path() / "configs/deep/er");
  const auto absolute_store = w.path("elsewhere/abs.db");
  const auto yaml = replace(replace(kMinimal, "store: ../out/sweep.db", "store: " + absolute_store),
                            "path: ../models/p\n    temperature", "path: ../../../models/./r/\n    temperature");
  const auto file = w.config(replace(yaml, "../models/p", "../../../models/p"), "deep/er/sweep.yaml");
  const SweepConfig c = load_sweep(file);
  CHECK(c.store == absolute_store);                  // absolute paths stay as written
  CHECK(c.report == w.path("elsewhere/report"));
  CHECK(c.policies[0].path == w.path("models/p"));   // normalised, absolute
  CHECK(c.policies[1].path == w.path("models/r"));
  CHECK(fs::path(c.policies[0].path).is_absolute());
}

TEST_CASE("unknown keys are errors that list the allowed ones", "[config]") {
  require_error(kMinimal + "sampels: 4\n", 12, "sampels", "unknown key (did you mean 'samples'?)");
  require_error(kMinimal + "extra: 1\n", 12, "extra", "allowed here: sweep, store, report");
  require_error(replace(kMinimal, "    temperature: 0.5", "    temprature: 0.5"), 10, "policies[1].temprature",
                "did you mean 'temperature'");
  require_error(kMinimal + "runtime: {threads: 2, gpus: 1}\n", 12, "runtime.gpus", "allowed here: problems_per_unit");
  require_error(kMinimal + "analysis:\n  budgets: [1]\n  foldz: 3\n", 14, "analysis.foldz", "'folds'");
  // A key of the other kind of problem source.
  require_error(replace(kMinimal, "count: 10}", "count: 10, format: math}"), 4, "problems.evaluation.format",
                "allowed here: task, levels, count, seed");
  require_error(kMinimal + "samples: 9\n", 12, "samples", "given twice (first on line 11)");
}

TEST_CASE("wrong types and out-of-range values name their line and key", "[config]") {
  require_error(replace(kMinimal, "temperature: 0.5", "temperature: hot"), 10, "policies[1].temperature",
                "expected a number, got 'hot'");
  require_error(replace(kMinimal, "temperature: 0.5", "temperature: \"0.5\""), 10, "policies[1].temperature",
                "without quotes");
  require_error(replace(kMinimal, "temperature: 0.5", "temperature: -1"), 10, "policies[1].temperature",
                "at least 0");
  require_error(replace(kMinimal, "temperature: 0.5", "top_p: 0"), 10, "policies[1].top_p", "(0, 1]");
  require_error(replace(kMinimal, "temperature: 0.5", "max_new_tokens: 0"), 10, "policies[1].max_new_tokens",
                "at least 1");
  require_error(replace(kMinimal, "temperature: 0.5", "device: gpu"), 10, "policies[1].device",
                "auto, cpu, cuda or cuda:N");
  require_error(replace(kMinimal, "temperature: 0.5", "prompt: \"Q:\""), 10, "policies[1].prompt", "{problem}");
  require_error(replace(kMinimal, "temperature: 0.5", "stop: \"\\n\""), 10, "policies[1].stop",
                "expected a list, got the text");
  require_error(replace(kMinimal, "count: 10", "count: -3"), 4, "problems.evaluation.count", "at least 1, got -3");
  require_error(replace(kMinimal, "count: 10", "count: 2.5"), 4, "problems.evaluation.count",
                "expected a whole number, got '2.5'");
  require_error(replace(kMinimal, "levels: [1, 2]", "levels: [1, 5]"), 4, "problems.evaluation.levels[1]",
                "at most 4");
  require_error(replace(kMinimal, "levels: [1, 2]", "levels: [2, 2]"), 4, "problems.evaluation.levels[1]",
                "listed twice");
  require_error(replace(kMinimal, "samples: 8", "samples: [8]"), 11, "samples", "got a list");
  require_error(replace(kMinimal, "sweep: t", "sweep: my sweep"), 1, "sweep", "not a valid name");
  require_error(replace(replace(replace(kMinimal, "  - name: a\n    path: ../models/p\n", ""),
                                "  - name: b\n", "  name: b\n"),
                        "    path: ../models/p\n    temperature: 0.5\n", "  path: ../models/p\n"),
                6, "policies", "expected a list, got a map");
  require_error(replace(kMinimal, "samples: 8", "samples: 8\nprms: {}"), 12, "prms", "expected a list");
  require_error(kMinimal + "runtime: {threads: -1}\n", 12, "runtime.threads", "at least 0");
  require_error("- just\n- a list\n", 1, "", "expected a map of sweep settings");
}

TEST_CASE("missing required keys name the parent's line", "[config]") {
  require_error(replace(kMinimal, "samples: 8\n", ""), 1, "samples", "required, but missing");
  require_error(replace(kMinimal, "  - name: b\n    path: ../models/p\n", "  - name: b\n"), 8, "policies[1].path",
                "required in 'policies[1]'");
  require_error(replace(kMinimal, "count: 10", "seed: 3"), 4, "problems.evaluation.count", "required");
  require_error(replace(kMinimal, "{task: arithmetic, ", "{"), 4, "problems.evaluation.task", "jsonl: FILE");
  require_error(replace(kMinimal, "samples: 8", "samples:"), 11, "samples", "has no value");
  require_error(replace(kMinimal, "policies:\n  - name: a\n    path: ../models/p\n  - name: b\n    path: "
                                  "../models/p\n    temperature: 0.5\n", "policies: []\n"),
                5, "policies", "at least one policy");
  require_error("", 1, "", "got nothing");
}

TEST_CASE("model directories must exist and hold config.json", "[config]") {
  require_error(replace(kMinimal, "    path: ../models/p\n    temperature", "    path: ../models/q\n    temperature"), 9,
                "policies[1].path", "does not exist");
  require_error(replace(kMinimal, "    path: ../models/p\n    temperature", "    path: ../models/empty\n    temperature"),
                9, "policies[1].path", "has no config.json");
  require_error(kMinimal + "prms:\n  - name: r\n    path: ../models/p/config.json\n", 14, "prms[0].path",
                "not a directory");
  require_error(replace(kMinimal, "{task: arithmetic, levels: [1, 2], count: 10}", "{jsonl: ../data/none.jsonl}"), 4,
                "problems.evaluation.jsonl", "does not exist");
}

// fuzz_sweep_config found it (CI, 2026-12-03): a name longer than the filesystem allows made
// std::filesystem throw "File name too long" out of load_sweep, ending the program.
TEST_CASE("paths the system cannot examine are errors naming their key", "[config][fuzz]") {
  const std::string too_long(300, 'x');  // one component past NAME_MAX (255)
  require_error(replace(kMinimal, "store: ../out/sweep.db", "store: ../models/" + too_long), 2, "store",
                "cannot be examined: File name too long");
  require_error(replace(kMinimal, "    path: ../models/p\n    temperature", "    path: ../" + too_long + "\n    temperature"),
                9, "policies[1].path", "cannot be examined: File name too long");
  require_error(replace(kMinimal, "{task: arithmetic, levels: [1, 2], count: 10}", "{jsonl: ../data/" + too_long + "}"),
                4, "problems.evaluation.jsonl", "cannot be examined: File name too long");
  // A path through a file, not a directory, does not exist: the usual message.
  require_error(replace(kMinimal, "{task: arithmetic, levels: [1, 2], count: 10}", "{jsonl: ../data/cal.jsonl/x}"), 4,
                "problems.evaluation.jsonl", "does not exist");
}

TEST_CASE("names must be unique, budgets within samples, references evaluated", "[config]") {
  require_error(replace(kMinimal, "name: b", "name: a"), 8, "policies[1].name",
                "'a' is already used by policies[0] (line 6)");
  require_error(kMinimal + "prms:\n  - {name: r, path: ../models/r}\n  - {name: r, path: ../models/r}\n", 14,
                "prms[1].name", "already used");
  require_error(kMinimal + "analysis:\n  budgets:\n    - 1\n    - 2\n    - 4\n    - 16\n", 17, "analysis.budgets[3]",
                "budget 16 is above samples (8)");
  require_error(kMinimal + "analysis: {budgets: [1, 8, 8]}\n", 12, "analysis.budgets[2]", "listed twice");
  require_error(kMinimal + "analysis:\n  strategies: [majority, best_of_n]\n", 13, "analysis.strategies",
                "does not include the savings reference 'weighted'");
  require_error(kMinimal + "analysis:\n  strategies: [majority]\n  reference: best_of_n\n", 14, "analysis.reference",
                "must be among analysis.strategies");
  require_error(kMinimal + "analysis:\n  strategies: [majority, voting]\n", 13, "analysis.strategies[1]",
                "unknown strategy 'voting'");
  require_error(kMinimal + "analysis:\n  reductions: [last, sum]\n", 13, "analysis.reductions[1]",
                "unknown reduction 'sum'");
  require_error(kMinimal + "analysis: {bootstrap: 1}\n", 12, "analysis.bootstrap", "at least 2");
  require_error(kMinimal + "analysis: {folds: 1}\n", 12, "analysis.folds", "at least 2");
  require_error(kMinimal + "prms:\n  - {name: r, path: ../models/r, kind: reward_head, good_token: \"+\"}\n", 13,
                "prms[0].good_token", "only a PRM of kind good_token");
}

TEST_CASE("calibration never repeats evaluation problems - folds fit the problems", "[config]") {
  require_error(replace(kMinimal, "count: 10}\n",
                        "count: 10}\n  calibration:\n    task: arithmetic\n    levels: [2]\n    count: 5\n"),
                6, "problems.calibration.seed", "would repeat evaluation problems (level 2 with seed 0");
  require_error(replace(kMinimal, "{task: arithmetic, levels: [1, 2], count: 10}\n",
                        "{jsonl: ../data/cal.jsonl}\n  calibration: {jsonl: ../data/./cal.jsonl}\n"),
                5, "problems.calibration.jsonl", "reads the evaluation split's file");
  Workspace w("disjoint");
  const auto other_seed = replace(kMinimal, "count: 10}\n",
                                  "count: 10}\n  calibration: {task: arithmetic, levels: [2], count: 5, seed: 1}\n");
  CHECK(load_sweep(w.config(other_seed)).has_calibration_split);

  // 2 levels x 2 problems cannot make 5 cross-fitting folds, unless nothing is calibrated.
  require_error(replace(kMinimal, "count: 10", "count: 2"), 4, "problems.evaluation.count",
                "cannot be split into 5 cross-fitting folds");
  CHECK_NOTHROW(load_sweep(w.config(replace(kMinimal, "count: 10", "count: 2") +
                                    "analysis: {strategies: [majority, weighted]}\n", "uncalibrated.yaml")));
}

TEST_CASE("YAML syntax errors and unreadable files", "[config]") {
  require_error(replace(kMinimal, "levels: [1, 2]", "levels: [1, 2"), 4, "", "not valid YAML");
  require_error(replace(kMinimal, "    temperature: 0.5", "   temperature: 0.5"), 10, "", "not valid YAML");
  try {
    load_sweep("/nonexistent/quorum/sweep.yaml");
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK(e.file() == "/nonexistent/quorum/sweep.yaml");
    CHECK(e.line() == 0);
    CHECK_THAT(e.what(), Catch::Contains("does not exist"));
  }
}

TEST_CASE("arithmetic problems: ids, texts and answers from the task", "[config]") {
  ProblemSource source;
  source.kind = ProblemSource::Kind::arithmetic;
  source.levels = {3, 1};
  source.count = 4;
  source.seed = 7;
  const auto problems = load_problems(source);
  REQUIRE(problems.size() == 8);
  CHECK(problems[0].id == "arith-l3-s7-0");
  CHECK(problems[3].id == "arith-l3-s7-3");
  CHECK(problems[4].id == "arith-l1-s7-0");
  for (const auto& p : problems) {
    const auto parsed = quorum::task::parse_problem(p.text);
    REQUIRE(parsed);
    CHECK(std::to_string(parsed->answer()) == p.answer);
    const auto check = quorum::task::check(*parsed, quorum::task::solution_text(*parsed));
    CHECK(check.answer_correct);
    REQUIRE(check.final_answer);
    CHECK(std::to_string(*check.final_answer) == p.answer);
  }
  CHECK(problems[4].text == quorum::task::problem_text(quorum::task::generate(1, 7, 0)));
  CHECK(problems[0].level == "3");  // the task's level is the problem's difficulty
  CHECK(problems[4].level == "1");
}

TEST_CASE("JSONL problems: math and gsm8k rows, limit, ids", "[config]") {
  TempDir dir("config-jsonl");
  ProblemSource math;
  math.kind = ProblemSource::Kind::jsonl;
  math.format = "math";
  math.path = dir.file("math.jsonl",
                       "{\"problem\": \"What is 1+1?\", \"answer\": \"2\", \"id\": \"m1\"}\n"
                       "\n"
                       "{\"problem\": \"Half of 1?\", \"answer\": 0.5, \"problem_id\": 17}\n"
                       "{\"problem\": \"Solve x+1=3.\", \"answer\": 2}\n"
                       "{\"problem\": \"Not read\", \"answer\": 1\n");
  math.limit = 3;
  const auto rows = load_problems(math);
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].id == "m1");
  CHECK(rows[0].text == "What is 1+1?");
  CHECK(rows[0].answer == "2");
  CHECK(rows[1].id == "17");
  CHECK(rows[1].answer == "0.5");
  CHECK(rows[2].id == "p" + quorum::hex64(quorum::fnv1a64("Solve x+1=3.")));
  CHECK(rows[2].answer == "2");

  // Without the limit the malformed row 5 is read.
  math.limit = 0;
  try {
    load_problems(math);
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK(e.file() == math.path);
    CHECK(e.line() == 5);
    CHECK_THAT(e.what(), Catch::Contains("malformed JSON"));
  }

  ProblemSource gsm8k = math;
  gsm8k.format = "gsm8k";
  gsm8k.path = dir.file("gsm8k.jsonl",
                        "{\"question\": \"How many?\", \"answer\": \"3 + 4 = 7\\n#### 7\"}\n"
                        "{\"question\": \"How much?\", \"answer\": \"a #### b\\n####  1,234,567 \\n\"}\n");
  const auto g = load_problems(gsm8k);
  REQUIRE(g.size() == 2);
  CHECK(g[0].text == "How many?");
  CHECK(g[0].answer == "7");
  CHECK(g[0].id == "p" + quorum::hex64(quorum::fnv1a64("How many?")));
  CHECK(g[1].answer == "1234567");

  const auto error_of = [&](const std::string& format, const std::string& content) {
    ProblemSource s = math;
    s.format = format;
    s.path = dir.file("bad.jsonl", content);
    try {
      load_problems(s);
    } catch (const InputError& e) {
      return std::make_pair(e.line(), e.field() + ": " + e.what());
    }
    return std::make_pair(std::size_t(0), std::string("no error"));
  };
  auto [line, what] = error_of("math", "{\"problem\": \"a\", \"answer\": 1}\n{\"problem\": \"b\"}\n");
  CHECK(line == 2);
  CHECK_THAT(what, Catch::StartsWith("answer: ") && Catch::Contains("missing"));
  std::tie(line, what) = error_of("math", "{\"problem\": 3, \"answer\": 1}\n");
  CHECK(line == 1);
  CHECK_THAT(what, Catch::StartsWith("problem: ") && Catch::Contains("expected a string"));
  std::tie(line, what) = error_of("math", "[1, 2]\n");
  CHECK(line == 1);
  CHECK_THAT(what, Catch::Contains("expected a JSON object"));
  std::tie(line, what) = error_of("gsm8k", "{\"question\": \"q\", \"answer\": \"no mark 7\"}\n");
  CHECK(line == 1);
  CHECK_THAT(what, Catch::StartsWith("answer: ") && Catch::Contains("####"));
  std::tie(line, what) = error_of("math", "{\"id\": \"x\", \"problem\": \"a\", \"answer\": 1}\n\n"
                                          "{\"id\": \"x\", \"problem\": \"b\", \"answer\": 2}\n");
  CHECK(line == 3);
  CHECK_THAT(what, Catch::StartsWith("id: ") && Catch::Contains("duplicate id 'x' (first on line 1)"));
  std::tie(line, what) = error_of("math", "{\"problem\": \"a\", \"answer\": 1}\n{\"problem\": \"a\", \"answer\": 1}\n");
  CHECK(line == 2);
  CHECK_THAT(what, Catch::Contains("the same problem text as line 1"));
  // Levels: MATH's "Level 3" kept as "3", integers, other short labels; none when absent.
  ProblemSource levelled = math;
  levelled.path = dir.file("levels.jsonl",
                           "{\"problem\": \"a\", \"answer\": 1, \"level\": \"Level 3\"}\n"
                           "{\"problem\": \"b\", \"answer\": 1, \"level\": 5}\n"
                           "{\"problem\": \"c\", \"answer\": 1, \"level\": \"hard\"}\n"
                           "{\"problem\": \"d\", \"answer\": 1, \"level\": null}\n");
  const auto levels = load_problems(levelled);
  REQUIRE(levels.size() == 4);
  CHECK(levels[0].level == "3");
  CHECK(levels[1].level == "5");
  CHECK(levels[2].level == "hard");
  CHECK(levels[3].level.empty());
  CHECK(rows[0].level.empty());
  std::tie(line, what) = error_of("math", "{\"problem\": \"a\", \"answer\": 1}\n{\"problem\": \"b\", \"answer\": 1, \"level\": [3]}\n");
  CHECK(line == 2);
  CHECK_THAT(what, Catch::StartsWith("level: ") && Catch::Contains("expected a string or an integer"));
  std::tie(line, what) = error_of("math", "{\"problem\": \"a\", \"answer\": 1, \"level\": \"Level  \"}\n");
  CHECK(line == 1);
  CHECK_THAT(what, Catch::StartsWith("level: ") && Catch::Contains("short label"));
}

TEST_CASE("the complete example of docs/config.md loads", "[config]") {
  const auto doc = quorum::testing::read_text(std::string(QUORUM_TEST_DATA) + "/../../docs/config.md");
  const auto begin = doc.find("```yaml\n");
  REQUIRE(begin != std::string::npos);
  const auto end = doc.find("```\n", begin + 8);
  REQUIRE(end != std::string::npos);
  Workspace w("doc");
  for (const char* model : {"policy-small", "policy-large", "prm-small", "prm-token"}) {
    fs::create_directories(w.dir.path() / "models" / model);
    w.dir.file(std::string("models/") + model + "/config.json", "{}");
  }
  const SweepConfig c = load_sweep(w.config(doc.substr(begin + 8, end - begin - 8)));
  CHECK(c.name == "demo");
  CHECK(c.policies.size() == 2);
  CHECK(c.prms.size() == 2);
  CHECK(c.has_calibration_split);
  CHECK(c.samples == 32);
  CHECK(c.analysis.budgets.size() == 6);
  CHECK(c.report == w.path("out/demo/report"));
}

TEST_CASE("config: the shipped sweeps load - the Hugging Face example lacks only its downloads", "[config]") {
  // The example's first missing download is its dataset; with a stand-in dataset, its models.
  const fs::path configs = fs::path(QUORUM_TEST_DATA) / ".." / ".." / "configs";
  for (const char* name : {"demo.yaml", "examples/jsonl-math.yaml", "examples/jsonl-gsm8k.yaml"}) {
    INFO(name);
    const auto config = load_sweep((configs / name).string());
    CHECK_FALSE(config.policies.empty());
    CHECK_FALSE(config.prms.empty());
    CHECK_FALSE(load_problems(config.evaluation).empty());
  }
  TempDir dir("config-hf-example");
  std::string text;
  {
    std::ifstream in(configs / "examples" / "hf-qwen2.5-math.yaml");
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const std::string hf = "../../hf/";
  for (auto at = text.find(hf); at != std::string::npos; at = text.find(hf, at)) text.replace(at, hf.size(), "hf/");
  fs::create_directories(dir.path() / "hf");
  dir.file("hf/math500-eval.jsonl", "{\"problem\": \"1+1?\", \"answer\": \"2\"}\n");
  dir.file("hf/math500-calibration.jsonl", "{\"problem\": \"2+2?\", \"answer\": \"4\"}\n");
  try {
    load_sweep(dir.file("hf.yaml", text));
    FAIL("the example's model directories exist here");
  } catch (const InputError& e) {
    CHECK(e.field() == "policies[0].path");
    CHECK(std::string(e.what()).find("Qwen2.5-Math-1.5B-Instruct") != std::string::npos);
  }
}

TEST_CASE("config: chat prompts, dtypes and the PRM kinds of published checkpoints", "[config]") {
  Workspace w("chat");
  const auto yaml = replace(kMinimal, "    temperature: 0.5\n",
                            "    temperature: 0.5\n    prompt: chat\n    system: \"Reason step by step.\"\n"
                            "    dtype: bfloat16\n") +
                    "prms:\n"
                    "  - {name: sky, path: ../models/r, kind: value_head, step_token: \"\\n\", dtype: auto}\n"
                    "  - {name: rlhf, path: ../models/r, kind: chat_turn, good_token: \"+\", bad_token: \"-\"}\n"
                    "  - {name: qwen, path: ../models/r, kind: reward_head, prompt: chat, system: \"S\"}\n";
  const SweepConfig c = load_sweep(w.config(yaml));
  CHECK(c.policies[1].prompt == "chat");
  CHECK(c.policies[1].system == "Reason step by step.");
  CHECK(c.policies[1].dtype == "bfloat16");
  CHECK(c.policies[0].dtype.empty());
  CHECK(c.prms[0].kind == "value_head");
  CHECK(c.prms[0].step_token == "\n");
  CHECK(c.prms[0].dtype.empty());  // auto
  CHECK(c.prms[1].kind == "chat_turn");
  CHECK(c.prms[1].bad_token == "-");
  CHECK(c.prms[2].prompt == "chat");
  CHECK(c.prms[2].system == "S");

  require_error(replace(kMinimal, "    temperature: 0.5\n", "    temperature: 0.5\n    system: \"S\"\n"), 11,
                "policies[1].system", "needs 'prompt: chat'");
  require_error(replace(kMinimal, "    temperature: 0.5\n", "    temperature: 0.5\n    dtype: fp8\n"), 11,
                "policies[1].dtype", "must be auto, float32, bfloat16 or float16");
  require_error(kMinimal + "prms:\n  - {name: r, path: ../models/r, kind: orm}\n", 13, "prms[0].kind", "value_head");
  require_error(kMinimal + "prms:\n  - {name: r, path: ../models/r, kind: chat_turn, step_token: \"+\"}\n", 13,
                "prms[0].step_token", "assistant's turns");
  require_error(kMinimal + "prms:\n  - {name: r, path: ../models/r, kind: value_head, bad_token: \"-\"}\n", 13,
                "prms[0].bad_token", "only a PRM of kind good_token or chat_turn");
}

TEST_CASE("config: an outcome_head reward model's raw rewards are mapped by score_transform", "[config]") {
  Workspace w("score-transform");
  const SweepConfig c = load_sweep(
      w.config(kMinimal + "prms:\n  - {name: rm, path: ../models/r, kind: outcome_head, score_transform: sigmoid}\n"
                          "  - {name: r, path: ../models/r, score_transform: none}\n"));
  CHECK(c.prms[0].kind == "outcome_head");
  CHECK(c.prms[0].score_transform == "sigmoid");
  CHECK(c.prms[1].score_transform == "none");
  require_error(kMinimal + "prms:\n  - {name: rm, path: ../models/r, kind: outcome_head}\n", 13, "prms[0].kind",
                "set score_transform: sigmoid");
  require_error(kMinimal + "prms:\n  - {name: r, path: ../models/r, kind: reward_head, score_transform: sigmoid}\n", 13,
                "prms[0].score_transform", "probabilities already");
  require_error(kMinimal + "prms:\n  - {name: r, path: ../models/r, score_transform: logit}\n", 13,
                "prms[0].score_transform", "sigmoid");
}

TEST_CASE("config: a checker PRM names no model, and only checks the built-in task", "[config]") {
  Workspace w("checker");
  const auto yaml = kMinimal + "prms:\n  - {name: exact, kind: checker}\n  - {name: r, path: ../models/r}\n";
  const SweepConfig c = load_sweep(w.config(yaml));
  REQUIRE(c.prms.size() == 2);
  CHECK(c.prms[0].name == "exact");
  CHECK(c.prms[0].kind == "checker");
  CHECK(c.prms[0].path.empty());
  CHECK(c.prms[1].kind.empty());  // the model's quorum.json says

  for (const char* field : {"path: ../models/r", "device: cpu", "step_token: \"\\n\"", "good_token: \"+\"",
                            "prompt: chat", "dtype: float32"}) {
    const std::string key = std::string(field).substr(0, std::string(field).find(':'));
    require_error(kMinimal + "prms:\n  - {name: exact, kind: checker, " + field + "}\n", 13, "prms[0]." + key,
                  "a checker PRM is the built-in task's step checker, with no model: it takes no " + key);
  }
  require_error(replace(kMinimal, "{task: arithmetic, levels: [1, 2], count: 10}", "{jsonl: ../data/cal.jsonl}") +
                    "prms:\n  - {name: exact, kind: checker}\n",
                13, "prms[0].kind", "built-in arithmetic task only, and problems.evaluation reads");
  require_error(replace(kMinimal, "count: 10}\n", "count: 10}\n  calibration: {jsonl: ../data/cal.jsonl}\n") +
                    "prms:\n  - {name: exact, kind: checker}\n",
                14, "prms[0].kind", "problems.calibration reads");
}

TEST_CASE("config: searches name their method, budgets and pairs, each checked", "[config][search]") {
  Workspace w("search");
  const std::string prms = "prms:\n  - {name: r, path: ../models/r}\n  - {name: exact, kind: checker}\n";  // 12-14
  const SweepConfig c = load_sweep(w.config(kMinimal + prms +
                                            "search:\n"                                                    // 15
                                            "  - {method: beam_search, n: [4, 8], m: 4, lookahead: 1}\n"   // 16
                                            "  - {method: dvts, n: 8, m: 2, policies: [b], prms: [exact], max_tokens: 99}\n"));
  REQUIRE(c.searches.size() == 2);
  CHECK(c.searches[0].policies == std::vector<std::string>{"a", "b"});
  CHECK(c.searches[0].prms == std::vector<std::string>{"r", "exact"});
  const auto runs = search_runs(c);
  REQUIRE(runs.size() == 2 * 2 * 2 + 1);
  CHECK(runs[0].label == "a~beam_search-n4-m4-k1~r");
  CHECK(runs[0].max_tokens == 256);  // the policy's max_new_tokens
  CHECK(runs.back().label == "b~dvts-n8-m2~exact");
  CHECK(runs.back().max_tokens == 99);
  CHECK(search_of(search_json(runs.back())).label == runs.back().label);

  const auto base = kMinimal + prms + "search:\n";
  require_error(base + "  - {method: beam_search, n: [4, 6], m: 4}\n", 16, "search[0].n[1]", "not a multiple of m = 4");
  require_error(base + "  - {method: best_of_n, n: 4}\n", 16, "search[0].method", "beam_search");
  require_error(base + "  - {method: dvts, n: 4, m: 2, policies: [c]}\n", 16, "search[0].policies[0]", "no policy 'c'");
  require_error(base + "  - {method: dvts, n: 4, m: 2}\n  - {method: dvts, n: [2, 4], m: 2}\n", 17, "search[1]",
                "searches a~dvts-n4-m2~r again");
  require_error(base + "  - {method: dvts, n: [], m: 2}\n", 16, "search[0].n", "is empty");
  require_error(base + "  - {method: dvts, m: 2}\n", 16, "search[0].n", "missing");
  require_error(kMinimal + "search:\n  - {method: dvts, n: 4, m: 2}\n", 13, "search[0]", "needs a PRM");
  require_error(kMinimal + "prms:\n  - {name: rm, path: ../models/r, kind: outcome_head, score_transform: sigmoid}\n"
                           "search:\n  - {method: dvts, n: 4, m: 2}\n",
                15, "search[0]", "scores whole responses");
}
