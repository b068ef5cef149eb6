// The built-in verifiable reasoning task: multi-step integer arithmetic.
//
// A problem is a start value and a chain of operations ("Start with 17. Add 5, then multiply by
// 3, then subtract 8. What is the result?"); its solution is written one step per line
// ("17 + 5 = 22" ... "Answer: 58"), so every step of any response can be checked exactly.
// Problems are a pure function of (level, seed, index) through counter-based splitmix64 draws,
// the same on every machine and compiler. docs/task.md gives the exact formats and rules.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace quorum::task {

// ---------------------------------------------------------------------------------------------
// Problems

enum class Op : char { add = '+', subtract = '-', multiply = '*', divide = '/' };

struct Operation {
  Op op;
  std::int64_t operand;
};

struct Problem {
  std::int64_t start = 0;
  std::vector<Operation> operations;
  // Where a generated problem came from; 0 for a problem parsed from text.
  int level = 0;
  std::uint64_t seed = 0;
  std::uint64_t index = 0;

  // The chain of values: values()[0] == start, values()[i + 1] is the result of step i.
  std::vector<std::int64_t> values() const;
  std::int64_t answer() const;  // the last value
};

// a op b exactly (division truncates toward zero; the generator only makes exact divisions).
// Returns nullopt on division by zero or overflow of int64.
std::optional<std::int64_t> apply(Op op, std::int64_t a, std::int64_t b);

// ---------------------------------------------------------------------------------------------
// Difficulty levels

constexpr int kMinLevel = 1;
constexpr int kMaxLevel = 4;

struct LevelSpec {
  int level;
  int min_steps, max_steps;   // number of operations, drawn uniformly in [min, max]
  bool allow_multiply, allow_divide;  // + and - are always allowed
  std::optional<Op> required;  // at least one operation of this kind (nullopt: none required)
  std::int64_t start_min, start_max;  // the start value
  std::int64_t add_max;       // + and - operands in [1, add_max]
  std::int64_t factor_max;    // * operands and / divisors in [2, factor_max]
  std::int64_t value_max;     // every value of the chain lies in [0, value_max]
};

// The spec of a level in [kMinLevel, kMaxLevel]; throws std::invalid_argument otherwise.
const LevelSpec& level_spec(int level);

// ---------------------------------------------------------------------------------------------
// Generation and texts

// Problem `index` of `level` with `seed`: a pure function of the three (docs/task.md gives the
// draws). Throws std::invalid_argument for an unknown level.
Problem generate(int level, std::uint64_t seed, std::uint64_t index);

// Problems first .. first + count - 1.
std::vector<Problem> generate_set(int level, std::uint64_t seed, std::size_t count,
                                  std::uint64_t first = 0);

// "arith-l2-s7-42" for level 2, seed 7, index 42.
std::string problem_id(const Problem& problem);

// "Start with 17. Add 5, then multiply by 3, then subtract 8. What is the result?"
std::string problem_text(const Problem& problem);

// The inverse of problem_text (exact format, no tolerance); nullopt if `text` is not one.
// Operands may be any integers the format can spell (at most 9 digits).
std::optional<Problem> parse_problem(std::string_view text);

// The reference solution, one step per entry: "17 + 5 = 22", "22 * 3 = 66", "66 - 8 = 58",
// then "Answer: 58" (the answer line is a step too).
std::vector<std::string> solution_steps(const Problem& problem);

// The steps joined with "\n" (no trailing newline).
std::string solution_text(const Problem& problem);

// What a policy model is conditioned on: "Problem: <problem_text>\nSolution:\n". A training
// example is prompt_for(p) + solution_text(p) followed by the tokenizer's end-of-text token.
std::string prompt_for(const Problem& problem);

// ---------------------------------------------------------------------------------------------
// Checking responses

enum class StepLabel : std::uint8_t { correct, wrong_arithmetic, illegal, malformed };

// "correct", "wrong_arithmetic", "illegal", "malformed".
const char* label_name(StepLabel label);

// One step of a response: a line that is not blank after trimming spaces, tabs and '\r'.
struct StepSpan {
  std::size_t begin = 0;  // byte offset of the trimmed step in the response
  std::size_t size = 0;   // bytes of the trimmed step
  std::size_t line = 0;   // 1-based line number in the response
};

// The steps of a response, in order; at most max_steps (the rest are not returned).
// Linear in the response's size.
std::vector<StepSpan> split_steps(std::string_view response,
                                  std::size_t max_steps = static_cast<std::size_t>(-1));

// "a op b = c": canonical integers (an optional '-', then 1 to 9 digits without leading zeros),
// op one of + - * /, spaces or tabs optional around op and '='.
struct Equation {
  std::int64_t a, b, c;
  Op op;
};
std::optional<Equation> parse_equation(std::string_view step);

// "Answer: n" (n a canonical integer as above; spaces optional after the colon); the number.
std::optional<std::int64_t> parse_answer_line(std::string_view step);

struct StepCheck {
  StepLabel label = StepLabel::malformed;
  // The step is not correct, yet it applies the problem's operation to the response's own
  // previous (wrong) result with right arithmetic, or its answer line repeats that result:
  // an error carried forward. Informational only: the label already says "not correct".
  bool carried = false;
  StepSpan span;
};

struct CheckOptions {
  // Steps beyond this many are not labelled (the result says `truncated`); bounds memory for
  // garbage responses. Checking is linear in the response's size either way.
  std::size_t max_steps = 4096;
};

struct CheckResult {
  std::vector<StepCheck> steps;
  // The number on the first well-formed "Answer:" line, or nullopt.
  std::optional<std::int64_t> final_answer;
  bool answer_correct = false;  // final_answer == the gold answer
  // Index into `steps` of the first step that is not correct, or -1.
  std::ptrdiff_t first_error = -1;
  // The response ended with all of the problem's steps and a correct answer line, every step
  // correct and nothing after it.
  bool complete = false;
  bool truncated = false;  // more than max_steps steps: the rest were not labelled
};

// Labels every step of `response` against `problem` (docs/task.md, "The checker"). Never throws
// on any input (std::bad_alloc aside); linear in the response's size.
CheckResult check(const Problem& problem, std::string_view response,
                  const CheckOptions& options = {});

// The checker as an exact PRM (a sweep's `kind: checker`, docs/prms.md): one score per step of
// a response already cut into steps (as a policy's step_separator cuts it). Step i scores 1 when
// steps 0..i are all correct, else 0: the probability that the solution so far has no error,
// known exactly. A step is correct when every line the checker finds in it is labelled correct
// (a step cut at another separator may hold several lines); a step with no line the checker
// labels is not correct. The steps are checked joined by "\n", in one pass.
std::vector<float> prefix_correct_scores(const Problem& problem, const std::vector<std::string>& steps,
                                         const CheckOptions& options = {});

}  // namespace quorum::task
