// The built-in arithmetic task: seeded generation, problem and solution texts, the step checker
// (every label, garbage input) and `quorum task` end to end.
#include <catch2/catch.hpp>

#include <chrono>
#include <limits>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "runtime/aggregation/draws.h"
#include "runtime/task/arithmetic.h"

using namespace quorum::task;

namespace {

// "Start with 17. Add 5, then multiply by 3, then subtract 8. What is the result?" (answer 58)
Problem example() {
  Problem p;
  p.start = 17;
  p.operations = {{Op::add, 5}, {Op::multiply, 3}, {Op::subtract, 8}};
  return p;
}

std::vector<StepLabel> labels(const CheckResult& result) {
  std::vector<StepLabel> out;
  for (const auto& step : result.steps) out.push_back(step.label);
  return out;
}

std::vector<bool> carried(const CheckResult& result) {
  std::vector<bool> out;
  for (const auto& step : result.steps) out.push_back(step.carried);
  return out;
}

constexpr auto C = StepLabel::correct;
constexpr auto W = StepLabel::wrong_arithmetic;
constexpr auto I = StepLabel::illegal;
constexpr auto M = StepLabel::malformed;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE("generation is a pure function of (level, seed, index)", "[task]") {
  for (int level = kMinLevel; level <= kMaxLevel; ++level) {
    const auto set = generate_set(level, 11, 40);
    REQUIRE(set.size() == 40);
    std::set<std::string> texts, other_seed;
    for (std::size_t k = 0; k < set.size(); ++k) {
      const auto again = generate(level, 11, k);
      CHECK(problem_text(again) == problem_text(set[k]));
      CHECK(again.level == level);
      CHECK(again.seed == 11);
      CHECK(again.index == k);
      texts.insert(problem_text(set[k]));
      other_seed.insert(problem_text(generate(level, 12, k)));
    }
    // Different indices give different problems, and a different seed gives a different set.
    CHECK(texts.size() >= 39);
    std::size_t shared = 0;
    for (const auto& text : other_seed) shared += texts.count(text);
    CHECK(shared <= 2);
    // A window starting later is the same sequence, shifted.
    const auto shifted = generate_set(level, 11, 10, 30);
    for (std::size_t k = 0; k < 10; ++k) CHECK(problem_text(shifted[k]) == problem_text(set[30 + k]));
  }
  CHECK_THROWS_AS(generate(0, 1, 0), std::invalid_argument);
  CHECK_THROWS_AS(generate(kMaxLevel + 1, 1, 0), std::invalid_argument);
}

TEST_CASE("generated problems are pinned: the same on every machine and compiler", "[task]") {
  CHECK(problem_text(generate(1, 7, 0)) == "Start with 49. Subtract 34, then subtract 7. What is the result?");
  CHECK(problem_text(generate(2, 7, 1)) ==
        "Start with 19. Subtract 7, then multiply by 2, then multiply by 4. What is the result?");
  CHECK(problem_text(generate(3, 7, 1)) ==
        "Start with 369. Add 412, then add 370, then multiply by 5, then add 488. What is the result?");
  const auto p = generate(4, 7, 2);
  CHECK(problem_text(p) ==
        "Start with 426. Subtract 313, then add 421, then add 561, then add 225, then divide by 6, then divide "
        "by 4. What is the result?");
  CHECK(p.answer() == 55);
  CHECK(problem_id(p) == "arith-l4-s7-2");
}

TEST_CASE("every level keeps its documented steps, operations and ranges", "[task]") {
  for (int level = kMinLevel; level <= kMaxLevel; ++level) {
    const LevelSpec& spec = level_spec(level);
    CHECK(spec.level == level);
    std::set<std::size_t> step_counts;
    std::set<char> ops_seen;
    for (const auto& p : generate_set(level, 3, 3000)) {
      const auto n = p.operations.size();
      REQUIRE(n >= static_cast<std::size_t>(spec.min_steps));
      REQUIRE(n <= static_cast<std::size_t>(spec.max_steps));
      step_counts.insert(n);
      REQUIRE(p.start >= spec.start_min);
      REQUIRE(p.start <= spec.start_max);
      const auto values = p.values();
      bool has_required = !spec.required;
      for (std::size_t i = 0; i < n; ++i) {
        const auto& op = p.operations[i];
        ops_seen.insert(static_cast<char>(op.op));
        if (spec.required && op.op == *spec.required) has_required = true;
        switch (op.op) {
          case Op::add:
          case Op::subtract:
            REQUIRE(op.operand >= 1);
            REQUIRE(op.operand <= spec.add_max);
            break;
          case Op::multiply:
            REQUIRE(spec.allow_multiply);
            REQUIRE(op.operand >= 2);
            REQUIRE(op.operand <= spec.factor_max);
            break;
          case Op::divide:
            REQUIRE(spec.allow_divide);
            REQUIRE(op.operand >= 2);
            REQUIRE(op.operand <= spec.factor_max);
            REQUIRE(values[i] % op.operand == 0);
            break;
        }
      }
      REQUIRE(has_required);
      for (const auto v : values) {
        REQUIRE(v >= 0);
        REQUIRE(v <= spec.value_max);
      }
    }
    CHECK(step_counts.size() == static_cast<std::size_t>(spec.max_steps - spec.min_steps + 1));
    CHECK(ops_seen.count('+') == 1);
    CHECK(ops_seen.count('-') == 1);
    CHECK(ops_seen.count('*') == (spec.allow_multiply ? 1u : 0u));
    CHECK(ops_seen.count('/') == (spec.allow_divide ? 1u : 0u));
  }
}

TEST_CASE("problem text, solution and prompt formats", "[task]") {
  const auto p = example();
  CHECK(problem_text(p) == "Start with 17. Add 5, then multiply by 3, then subtract 8. What is the result?");
  CHECK(solution_steps(p) == std::vector<std::string>{"17 + 5 = 22", "22 * 3 = 66", "66 - 8 = 58", "Answer: 58"});
  CHECK(solution_text(p) == "17 + 5 = 22\n22 * 3 = 66\n66 - 8 = 58\nAnswer: 58");
  CHECK(prompt_for(p) ==
        "Problem: Start with 17. Add 5, then multiply by 3, then subtract 8. What is the result?\nSolution:\n");
  CHECK(p.answer() == 58);
  CHECK(p.values() == std::vector<std::int64_t>{17, 22, 66, 58});
  Problem division;
  division.start = 84;
  division.operations = {{Op::divide, 7}};
  CHECK(problem_text(division) == "Start with 84. Divide by 7. What is the result?");
  CHECK(solution_text(division) == "84 / 7 = 12\nAnswer: 12");
  Problem none;
  none.start = 5;
  CHECK(problem_text(none) == "Start with 5. What is the result?");
  CHECK(solution_text(none) == "Answer: 5");
}

TEST_CASE("parse_problem inverts problem_text and refuses anything else", "[task]") {
  for (int level = kMinLevel; level <= kMaxLevel; ++level) {
    for (const auto& p : generate_set(level, 5, 200)) {
      const auto parsed = parse_problem(problem_text(p));
      REQUIRE(parsed);
      CHECK(parsed->start == p.start);
      REQUIRE(parsed->operations.size() == p.operations.size());
      for (std::size_t i = 0; i < p.operations.size(); ++i) {
        CHECK(parsed->operations[i].op == p.operations[i].op);
        CHECK(parsed->operations[i].operand == p.operations[i].operand);
      }
      CHECK(parsed->level == 0);
    }
  }
  CHECK(parse_problem("Start with 5. What is the result?"));
  for (const char* bad : {"", "Start with 17. add 5. What is the result?",
                          "Start with 17. Add 5 then subtract 2. What is the result?",
                          "Start with 17. Add 5, then Subtract 2. What is the result?",
                          "Start with 17. Add 5. What is the result? ", "Start with 17. Add 5 What is the result?",
                          "Start with 17. Add 05. What is the result?", "Start with 17. Divide by 0. What is the result?",
                          "Start with 17. Divide by 2. What is the result?",  // not exact
                          "Start with 17. Add 5,. What is the result?", "Start with 17.. What is the result?",
                          "Start with 1234567890. What is the result?", "What is 2 + 2?"}) {
    INFO(bad);
    CHECK_FALSE(parse_problem(bad));
  }
}

TEST_CASE("every reference solution checks as all correct with the right answer", "[task]") {
  for (int level = kMinLevel; level <= kMaxLevel; ++level) {
    for (const auto& p : generate_set(level, 9, 1000)) {
      const auto text = solution_text(p);
      const auto result = check(p, text);
      INFO(text);
      REQUIRE(result.steps.size() == p.operations.size() + 1);
      for (const auto& step : result.steps) REQUIRE(step.label == C);
      REQUIRE(result.first_error == -1);
      REQUIRE(result.final_answer == p.answer());
      REQUIRE(result.answer_correct);
      REQUIRE(result.complete);
      REQUIRE_FALSE(result.truncated);
      // The checker's steps are exactly solution_steps.
      const auto steps = solution_steps(p);
      for (std::size_t i = 0; i < steps.size(); ++i)
        REQUIRE(text.substr(result.steps[i].span.begin, result.steps[i].span.size) == steps[i]);
    }
  }
}

TEST_CASE("checker: wrong arithmetic, and errors carried forward", "[task]") {
  const auto p = example();
  const auto r = check(p, "17 + 5 = 23\n23 * 3 = 69\n69 - 8 = 61\nAnswer: 61");
  CHECK(labels(r) == std::vector<StepLabel>{W, I, I, W});
  CHECK(carried(r) == std::vector<bool>{false, true, true, true});
  CHECK(r.first_error == 0);
  CHECK(r.final_answer == 61);
  CHECK_FALSE(r.answer_correct);
  CHECK_FALSE(r.complete);

  // Right until the last step; the answer line repeats the wrong result.
  const auto late = check(p, "17 + 5 = 22\n22 * 3 = 66\n66 - 8 = 48\nAnswer: 48");
  CHECK(labels(late) == std::vector<StepLabel>{C, C, W, W});
  CHECK(late.first_error == 2);
  CHECK(late.steps[3].carried);

  // A right last step and a wrong answer line.
  const auto answer = check(p, "17 + 5 = 22\n22 * 3 = 66\n66 - 8 = 58\nAnswer: 57");
  CHECK(labels(answer) == std::vector<StepLabel>{C, C, C, W});
  CHECK_FALSE(answer.steps[3].carried);
  CHECK(answer.first_error == 3);

  // A carried value with wrong arithmetic on top is not "carried".
  const auto twice = check(p, "17 + 5 = 23\n23 * 3 = 70");
  CHECK(labels(twice) == std::vector<StepLabel>{W, I});
  CHECK_FALSE(twice.steps[1].carried);

  // A correct chain after an error is judged against the correct chain: it is correct again,
  // but first_error stays at the first error.
  const auto recovered = check(p, "17 + 5 = 23\n22 * 3 = 66\n66 - 8 = 58\nAnswer: 58");
  CHECK(labels(recovered) == std::vector<StepLabel>{W, C, C, C});
  CHECK(recovered.first_error == 0);
  CHECK(recovered.answer_correct);
  CHECK_FALSE(recovered.complete);
}

TEST_CASE("checker: illegal steps", "[task]") {
  const auto p = example();
  SECTION("wrong operand") {
    const auto r = check(p, "17 + 6 = 23\n23 * 3 = 69\n69 - 8 = 61\nAnswer: 61");
    CHECK(labels(r) == std::vector<StepLabel>{I, I, I, W});
    CHECK(r.first_error == 0);
  }
  SECTION("wrong operator") {
    CHECK(labels(check(p, "17 + 5 = 22\n22 + 3 = 25")) == std::vector<StepLabel>{C, I});
  }
  SECTION("wrong first value") {
    CHECK(labels(check(p, "18 + 5 = 23")) == std::vector<StepLabel>{I});
  }
  SECTION("skipped step") {
    const auto r = check(p, "17 + 5 = 22\n66 - 8 = 58\nAnswer: 58");
    CHECK(labels(r) == std::vector<StepLabel>{C, I, I});
    CHECK(r.first_error == 1);
    CHECK(r.answer_correct);  // the right answer by a wrong process
    CHECK_FALSE(r.complete);
  }
  SECTION("repeated step") {
    const auto r = check(p, "17 + 5 = 22\n17 + 5 = 22\n22 * 3 = 66\n66 - 8 = 58\nAnswer: 58");
    CHECK(labels(r) == std::vector<StepLabel>{C, I, I, I, I});
  }
  SECTION("extra steps before the answer") {
    const auto r = check(p, "17 + 5 = 22\n22 * 3 = 66\n66 - 8 = 58\n58 + 1 = 59\nAnswer: 59");
    CHECK(labels(r) == std::vector<StepLabel>{C, C, C, I, I});
    CHECK(r.first_error == 3);
    CHECK(r.final_answer == 59);
  }
  SECTION("anything after the answer") {
    const auto r = check(p, "17 + 5 = 22\n22 * 3 = 66\n66 - 8 = 58\nAnswer: 58\n58 * 1 = 58\nAnswer: 58\nbye");
    CHECK(labels(r) == std::vector<StepLabel>{C, C, C, C, I, I, M});
    CHECK(r.first_error == 4);
    CHECK(r.answer_correct);
    CHECK_FALSE(r.complete);
  }
  SECTION("premature answer") {
    const auto r = check(p, "Answer: 58");
    CHECK(labels(r) == std::vector<StepLabel>{I});
    CHECK(r.answer_correct);
    CHECK(r.first_error == 0);
    CHECK(labels(check(p, "17 + 5 = 22\nAnswer: 22")) == std::vector<StepLabel>{C, I});
  }
  SECTION("the first answer line is the final answer") {
    const auto r = check(p, "17 + 5 = 22\n22 * 3 = 66\n66 - 8 = 58\nAnswer: 57\nAnswer: 58");
    CHECK(r.final_answer == 57);
    CHECK_FALSE(r.answer_correct);
  }
}

TEST_CASE("checker: malformed steps, missing answers, empty responses", "[task]") {
  const auto p = example();
  SECTION("a malformed line does not take a step's place") {
    const auto r = check(p, "17 + 5 = 22\nThen multiply by 3.\n22 * 3 = 66\n66 - 8 = 58\nAnswer: 58");
    CHECK(labels(r) == std::vector<StepLabel>{C, M, C, C, C});
    CHECK(r.first_error == 1);
    CHECK(r.answer_correct);
    CHECK_FALSE(r.complete);
  }
  SECTION("not canonical") {
    for (const char* bad : {"017 + 5 = 22", "17 + 5 = 22.0", "17 x 5 = 85", "17 + 5 == 22", "17 + 5 =",
                            "+17 + 5 = 22", "-0 + 17 = 17", "17 + 5 = 22 = 22", "17 + 5", "17 + 5 = 022",
                            "1234567890 + 1 = 1234567891", "17 + 5 = 22.", "17 +5 = 22!", "answer: 58",
                            "Answer: 58.", "Answer: fifty-eight", "Answer:", "The answer is 58", "Answer - 58"}) {
      INFO(bad);
      const auto r = check(p, bad);
      CHECK(labels(r) == std::vector<StepLabel>{M});
      CHECK_FALSE(r.final_answer);
    }
  }
  SECTION("blanks and spacing are tolerated") {
    const std::string text = "\n  17+5=22 \r\n\n\t22 *  3 = 66\r\n66 - 8 = 58\nAnswer:58\n\n";
    const auto r = check(p, text);
    CHECK(labels(r) == std::vector<StepLabel>{C, C, C, C});
    CHECK(r.complete);
    CHECK(r.steps[0].span.line == 2);
    CHECK(text.substr(r.steps[0].span.begin, r.steps[0].span.size) == "17+5=22");
    CHECK(r.steps[1].span.line == 4);
    CHECK(text.substr(r.steps[1].span.begin, r.steps[1].span.size) == "22 *  3 = 66");
    CHECK(r.steps[3].span.line == 6);
  }
  SECTION("missing answer line") {
    const auto r = check(p, "17 + 5 = 22\n22 * 3 = 66\n66 - 8 = 58");
    CHECK(labels(r) == std::vector<StepLabel>{C, C, C});
    CHECK(r.first_error == -1);
    CHECK_FALSE(r.final_answer);
    CHECK_FALSE(r.answer_correct);
    CHECK_FALSE(r.complete);
  }
  SECTION("truncated response") {
    const auto r = check(p, "17 + 5 = 22\n22 * 3 = 6");
    CHECK(labels(r) == std::vector<StepLabel>{C, W});
  }
  SECTION("empty") {
    for (const char* empty : {"", "\n", "  \n\t\r\n \n"}) {
      const auto r = check(p, empty);
      CHECK(r.steps.empty());
      CHECK(r.first_error == -1);
      CHECK_FALSE(r.final_answer);
      CHECK_FALSE(r.answer_correct);
      CHECK_FALSE(r.complete);
      CHECK_FALSE(r.truncated);
    }
  }
  SECTION("negative numbers are well-formed") {
    Problem q;
    q.start = 5;
    q.operations = {{Op::subtract, 8}, {Op::add, 10}};
    CHECK(labels(check(q, "5 - 8 = -3\n-3 + 10 = 7\nAnswer: 7")) == std::vector<StepLabel>{C, C, C});
    CHECK(labels(check(q, "5 - 8 = 3\n3 + 10 = 13\nAnswer: 13")) == std::vector<StepLabel>{W, I, W});
  }
}

TEST_CASE("checker: divisions, and a problem without operations", "[task]") {
  Problem p;
  p.start = 84;
  p.operations = {{Op::divide, 7}, {Op::multiply, 2}};
  CHECK(check(p, "84 / 7 = 12\n12 * 2 = 24\nAnswer: 24").complete);
  const auto r = check(p, "84 / 7 = 11\n11 * 2 = 22\nAnswer: 22");
  CHECK(labels(r) == std::vector<StepLabel>{W, I, W});
  CHECK(carried(r) == std::vector<bool>{false, true, true});
  // A carried division that is not exact has no right result.
  Problem q;
  q.start = 10;
  q.operations = {{Op::add, 2}, {Op::divide, 4}};
  const auto inexact = check(q, "10 + 2 = 13\n13 / 4 = 3");
  CHECK(labels(inexact) == std::vector<StepLabel>{W, I});
  CHECK_FALSE(inexact.steps[1].carried);
  Problem none;
  none.start = 5;
  CHECK(check(none, "Answer: 5").complete);
  CHECK(labels(check(none, "Answer: 6")) == std::vector<StepLabel>{W});
  CHECK(labels(check(none, "5 + 0 = 5\nAnswer: 5")) == std::vector<StepLabel>{I, I});
}

TEST_CASE("checker: garbage of any size is labelled fast and never throws", "[task]") {
  const auto p = generate(4, 1, 0);
  std::uint64_t state = 42;
  const auto next_byte = [&] { return static_cast<char>(quorum::aggregation::splitmix64(state++) & 0xFF); };

  SECTION("1 MB of random bytes") {
    std::string garbage(1 << 20, '\0');
    for (auto& c : garbage) c = next_byte();
    const auto start = std::chrono::steady_clock::now();
    CheckResult r;
    REQUIRE_NOTHROW(r = check(p, garbage));
    CHECK(seconds_since(start) < 1.0);
    CHECK(r.steps.size() <= CheckOptions{}.max_steps);
    CHECK(r.first_error == 0);
    CHECK_FALSE(r.complete);
  }
  SECTION("1 MB of short lines: capped at max_steps") {
    std::string garbage;
    while (garbage.size() < (1u << 20)) garbage += (state++ % 3 == 0) ? "1 + 1 = 2\n" : "7\n";
    const auto start = std::chrono::steady_clock::now();
    const auto r = check(p, garbage);
    CHECK(seconds_since(start) < 1.0);
    CHECK(r.steps.size() == CheckOptions{}.max_steps);
    CHECK(r.truncated);
    CHECK(r.first_error == 0);
    CheckOptions few;
    few.max_steps = 3;
    const auto capped = check(p, garbage, few);
    CHECK(capped.steps.size() == 3);
    CHECK(capped.truncated);
    CHECK(split_steps(garbage, 5).size() == 5);
  }
  SECTION("1 MB in one line") {
    std::string line = "12 + 3 = 15";
    line += std::string(1 << 20, ' ');
    line += "x";
    std::string digits(1 << 20, '7');
    const auto start = std::chrono::steady_clock::now();
    CHECK(labels(check(p, line)) == std::vector<StepLabel>{M});
    CHECK(labels(check(p, digits)) == std::vector<StepLabel>{M});
    CHECK(labels(check(p, "Answer: " + digits)) == std::vector<StepLabel>{M});
    CHECK(seconds_since(start) < 1.0);
  }
  SECTION("embedded NUL bytes") {
    const std::string text("17 + 5 = 22\0\nAnswer: 58", 23);
    CHECK(labels(check(example(), text)) == std::vector<StepLabel>{M, I});
  }
}

TEST_CASE("apply is exact int64 arithmetic", "[task]") {
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  CHECK(apply(Op::add, 2, 3) == 5);
  CHECK(apply(Op::subtract, 2, 3) == -1);
  CHECK(apply(Op::multiply, -4, 3) == -12);
  CHECK(apply(Op::divide, 12, 4) == 3);
  CHECK(apply(Op::divide, -12, 4) == -3);
  CHECK_FALSE(apply(Op::divide, 13, 4));
  CHECK_FALSE(apply(Op::divide, 13, 0));
  CHECK_FALSE(apply(Op::add, kMax, 1));
  CHECK_FALSE(apply(Op::subtract, kMin, 1));
  CHECK_FALSE(apply(Op::multiply, kMax / 2 + 1, 2));
  CHECK_FALSE(apply(Op::multiply, kMin, -1));
  CHECK_FALSE(apply(Op::divide, kMin, -1));
  CHECK(apply(Op::multiply, std::int64_t{3037000499}, std::int64_t{3037000499}) == 9223372030926249001LL);
  CHECK(std::string(label_name(StepLabel::wrong_arithmetic)) == "wrong_arithmetic");
  CHECK(std::string(label_name(StepLabel::malformed)) == "malformed");
}

TEST_CASE("quorum task generate writes valid JSONL, the same for the same seed", "[task][cli]") {
  using namespace quorum::testing;
  TempDir dir("task-generate");
  const auto out = (dir.path() / "level3.jsonl").string();
  const auto result = run_quorum("task generate --level 3 --count 25 --seed 4 --out " + out);
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  const auto text = read_text(out);
  std::istringstream lines(text);
  std::string line;
  std::size_t k = 0;
  while (std::getline(lines, line)) {
    const auto row = nlohmann::json::parse(line);
    REQUIRE(row.size() == 5);
    const auto expected = generate(3, 4, k);
    CHECK(row.at("problem_id") == problem_id(expected));
    CHECK(row.at("problem") == problem_text(expected));
    CHECK(row.at("answer") == std::to_string(expected.answer()));
    CHECK(row.at("solution") == solution_text(expected));
    CHECK(row.at("level") == 3);
    const auto parsed = parse_problem(row.at("problem").get<std::string>());
    REQUIRE(parsed);
    CHECK(check(*parsed, row.at("solution").get<std::string>()).complete);
    ++k;
  }
  CHECK(k == 25);
  const std::filesystem::path written(out);
  CHECK(!std::filesystem::exists(written.parent_path() / ("." + written.filename().string() + ".partial")));

  const auto again = (dir.path() / "again.jsonl").string();
  REQUIRE(run_quorum("task generate --level 3 --count 25 --seed 4 --out " + again).exit_code == 0);
  CHECK(read_text(again) == text);
  const auto other = (dir.path() / "other.jsonl").string();
  REQUIRE(run_quorum("task generate --level 3 --count 25 --seed 5 --out " + other).exit_code == 0);
  CHECK(read_text(other) != text);

  CHECK(run_quorum("task generate --level 9 --out " + other).exit_code != 0);
}

TEST_CASE("quorum task check labels responses from a JSONL file", "[task][cli]") {
  using namespace quorum::testing;
  TempDir dir("task-check");
  const auto problems = (dir.path() / "problems.jsonl").string();
  REQUIRE(run_quorum("task generate --level 1 --count 2 --seed 1 --out " + problems).exit_code == 0);
  const auto p0 = generate(1, 1, 0), p1 = generate(1, 1, 1);
  nlohmann::json row0{{"problem_id", problem_id(p0)}, {"responses", {solution_text(p0), "garbage", ""}}};
  nlohmann::json row1{{"problem", problem_text(p1)}, {"completions", {solution_text(p1) + "x"}}};
  const auto responses = dir.file("responses.jsonl", row0.dump() + "\n\n" + row1.dump() + "\n");
  const auto out = (dir.path() / "labels.jsonl").string();
  const auto result = run_quorum("task check --problem-file " + problems + " --responses " + responses + " --out " + out);
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  std::istringstream lines(read_text(out));
  std::vector<nlohmann::json> rows;
  std::string line;
  while (std::getline(lines, line)) rows.push_back(nlohmann::json::parse(line));
  REQUIRE(rows.size() == 4);
  CHECK(rows[0].at("complete") == true);
  CHECK(rows[0].at("first_error") == -1);
  CHECK(rows[0].at("answer") == p0.answer());
  CHECK(rows[1].at("labels") == nlohmann::json::array({"malformed"}));
  CHECK(rows[1].at("answer").is_null());
  CHECK(rows[2].at("labels").empty());
  CHECK(rows[3].at("problem_id") == problem_id(p1));
  CHECK(rows[3].at("labels") == nlohmann::json::array({"correct", "correct", "malformed"}));
  CHECK(rows[3].at("answer_correct") == false);
  CHECK(result.output.find("4 responses") != std::string::npos);

  // An unknown problem is an input error naming the file, line and field.
  const auto unknown = dir.file("unknown.jsonl", R"({"problem_id": "nope", "response": "1 + 1 = 2"})" "\n");
  const auto bad = run_quorum("task check --problem-file " + problems + " --responses " + unknown);
  CHECK(bad.exit_code == 2);
  CHECK(bad.output.find("unknown.jsonl:1: field 'problem_id'") != std::string::npos);
}

TEST_CASE("checker as a PRM: a step scores 1 while every step so far is correct, then 0", "[task][prm]") {
  const auto p = example();  // 17 + 5 = 22, 22 * 3 = 66, 66 - 8 = 58, Answer: 58
  using Scores = std::vector<float>;
  CHECK(prefix_correct_scores(p, solution_steps(p)) == Scores{1, 1, 1, 1});
  CHECK(prefix_correct_scores(p, {}).empty());
  // Wrong arithmetic in step 2: it and everything after it score 0, even a step that is right
  // again on the correct chain.
  CHECK(prefix_correct_scores(p, {"17 + 5 = 22", "22 * 3 = 67", "66 - 8 = 58", "Answer: 58"}) == Scores{1, 0, 0, 0});
  // An error carried forward: the first error decides.
  CHECK(prefix_correct_scores(p, {"17 + 5 = 23", "23 * 3 = 69", "69 - 8 = 61", "Answer: 61"}) == Scores{0, 0, 0, 0});
  // A skipped step is illegal; a malformed line is not correct.
  CHECK(prefix_correct_scores(p, {"17 + 5 = 22", "66 - 8 = 58", "Answer: 58"}) == Scores{1, 0, 0});
  CHECK(prefix_correct_scores(p, {"17 + 5 = 22", "so 22 it is", "22 * 3 = 66"}) == Scores{1, 0, 0});
  // A correct prefix cut short scores 1 throughout; an answer given too early does not.
  CHECK(prefix_correct_scores(p, {"17 + 5 = 22", "22 * 3 = 66"}) == Scores{1, 1});
  CHECK(prefix_correct_scores(p, {"17 + 5 = 22", "Answer: 58"}) == Scores{1, 0});
  // A step cut at another separator may hold several lines: all of them must be correct.
  CHECK(prefix_correct_scores(p, {"17 + 5 = 22\n22 * 3 = 66", "66 - 8 = 58\nAnswer: 58"}) == Scores{1, 1});
  CHECK(prefix_correct_scores(p, {"17 + 5 = 22\n22 * 3 = 60", "66 - 8 = 58\nAnswer: 58"}) == Scores{0, 0});
  // A step the checker finds no line in (blank) is not correct.
  CHECK(prefix_correct_scores(p, {"17 + 5 = 22", " \t", "22 * 3 = 66"}) == Scores{1, 0, 0});
  // Steps beyond max_steps are not labelled, so not known correct.
  CheckOptions two;
  two.max_steps = 2;
  CHECK(prefix_correct_scores(p, solution_steps(p), two) == Scores{1, 1, 0, 0});
}
