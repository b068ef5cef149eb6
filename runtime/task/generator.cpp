// Arithmetic problems: levels, seeded generation, problem and solution texts, problem parsing.
#include <limits>
#include <stdexcept>

#include "runtime/aggregation/draws.h"
#include "runtime/task/arithmetic.h"
#include "runtime/task/text_scan.h"

namespace quorum::task {
namespace {

using aggregation::splitmix64;

constexpr LevelSpec kLevels[] = {
    // level, steps, *, /, required, start, +- operand, factor, values
    {1, 2, 2, false, false, std::nullopt, 1, 99, 99, 0, 999},
    {2, 3, 3, true, false, Op::multiply, 1, 99, 99, 9, 999},
    {3, 4, 5, true, false, Op::multiply, 10, 999, 999, 12, 9999},
    {4, 6, 6, true, true, Op::divide, 10, 999, 999, 12, 9999},
};

constexpr std::uint64_t kMaxAttempts = 1000;

// Draw t of one attempt is splitmix64(key + t); uniform(lo, hi) maps its high 32 bits onto
// [lo, hi] by a multiply and shift (hi - lo < 2^32), the same on every platform.
class Draws {
 public:
  explicit Draws(std::uint64_t key) : key_(key) {}
  std::int64_t uniform(std::int64_t lo, std::int64_t hi) {
    const std::uint64_t r = splitmix64(key_ + counter_++);
    const std::uint64_t n = static_cast<std::uint64_t>(hi - lo) + 1;
    return lo + static_cast<std::int64_t>(((r >> 32) * n) >> 32);
  }

 private:
  std::uint64_t key_;
  std::uint64_t counter_ = 0;
};

std::uint64_t attempt_key(int level, std::uint64_t seed, std::uint64_t index, std::uint64_t attempt) {
  return splitmix64(splitmix64(splitmix64(splitmix64(seed) ^ static_cast<std::uint64_t>(level)) ^ index) ^
                    attempt);
}

// One attempt: the chain drawn from `key`, every value in [0, value_max].
Problem draw_problem(const LevelSpec& spec, std::uint64_t key) {
  Draws draws(key);
  Problem problem;
  const auto steps = draws.uniform(spec.min_steps, spec.max_steps);
  problem.start = draws.uniform(spec.start_min, spec.start_max);
  std::int64_t value = problem.start;
  for (std::int64_t s = 0; s < steps; ++s) {
    // The operations possible from `value`, in the fixed order + - * /.
    Op available[4];
    int count = 0;
    std::int64_t divisors[16];
    int divisor_count = 0;
    if (value < spec.value_max) available[count++] = Op::add;
    if (value >= 1) available[count++] = Op::subtract;
    if (spec.allow_multiply && value >= 1 && spec.value_max / value >= 2) available[count++] = Op::multiply;
    if (spec.allow_divide && value >= 2) {
      for (std::int64_t d = 2; d <= spec.factor_max && divisor_count < 16; ++d)
        if (value % d == 0) divisors[divisor_count++] = d;
      if (divisor_count > 0) available[count++] = Op::divide;
    }
    const Op op = available[draws.uniform(0, count - 1)];
    std::int64_t operand = 0;
    switch (op) {
      case Op::add: operand = draws.uniform(1, std::min(spec.add_max, spec.value_max - value)); break;
      case Op::subtract: operand = draws.uniform(1, std::min(spec.add_max, value)); break;
      case Op::multiply: operand = draws.uniform(2, std::min(spec.factor_max, spec.value_max / value)); break;
      case Op::divide: operand = divisors[draws.uniform(0, divisor_count - 1)]; break;
    }
    value = *apply(op, value, operand);
    problem.operations.push_back({op, operand});
  }
  return problem;
}

bool has_op(const Problem& problem, Op op) {
  for (const auto& operation : problem.operations)
    if (operation.op == op) return true;
  return false;
}

const char* verb(Op op) {
  switch (op) {
    case Op::add: return "add ";
    case Op::subtract: return "subtract ";
    case Op::multiply: return "multiply by ";
    case Op::divide: return "divide by ";
  }
  return "";
}

std::string equation_text(std::int64_t a, Op op, std::int64_t b, std::int64_t c) {
  std::string line = std::to_string(a);
  line += ' ';
  line += static_cast<char>(op);
  line += ' ';
  line += std::to_string(b);
  line += " = ";
  line += std::to_string(c);
  return line;
}

}  // namespace

std::optional<std::int64_t> apply(Op op, std::int64_t a, std::int64_t b) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  switch (op) {
    case Op::add:
      if ((b > 0 && a > kMax - b) || (b < 0 && a < kMin - b)) return std::nullopt;
      return a + b;
    case Op::subtract:
      if ((b < 0 && a > kMax + b) || (b > 0 && a < kMin + b)) return std::nullopt;
      return a - b;
    case Op::multiply: {
      if (a == 0 || b == 0) return std::int64_t{0};
      // Both magnitudes below 2^31 cannot overflow; otherwise check by division.
      const std::int64_t limit = std::int64_t{1} << 31;
      if (a > -limit && a < limit && b > -limit && b < limit) return a * b;
      if (a == kMin || b == kMin) return std::nullopt;
      const std::int64_t abs_a = a < 0 ? -a : a, abs_b = b < 0 ? -b : b;
      if (abs_a > kMax / abs_b) return std::nullopt;
      return a * b;
    }
    case Op::divide:
      if (b == 0 || (a == kMin && b == -1) || a % b != 0) return std::nullopt;
      return a / b;
  }
  return std::nullopt;
}

std::vector<std::int64_t> Problem::values() const {
  std::vector<std::int64_t> chain;
  chain.reserve(operations.size() + 1);
  chain.push_back(start);
  for (const auto& operation : operations) {
    const auto next = apply(operation.op, chain.back(), operation.operand);
    if (!next) throw std::invalid_argument("arithmetic problem: a step is not an exact int64 operation");
    chain.push_back(*next);
  }
  return chain;
}

std::int64_t Problem::answer() const { return values().back(); }

const LevelSpec& level_spec(int level) {
  if (level < kMinLevel || level > kMaxLevel)
    throw std::invalid_argument("arithmetic level " + std::to_string(level) + " is not in [" +
                                std::to_string(kMinLevel) + ", " + std::to_string(kMaxLevel) + "]");
  return kLevels[level - kMinLevel];
}

Problem generate(int level, std::uint64_t seed, std::uint64_t index) {
  const LevelSpec& spec = level_spec(level);
  Problem problem;
  for (std::uint64_t attempt = 0; attempt < kMaxAttempts; ++attempt) {
    problem = draw_problem(spec, attempt_key(level, seed, index, attempt));
    if (!spec.required || has_op(problem, *spec.required)) break;
  }
  problem.level = level;
  problem.seed = seed;
  problem.index = index;
  return problem;
}

std::vector<Problem> generate_set(int level, std::uint64_t seed, std::size_t count, std::uint64_t first) {
  level_spec(level);
  std::vector<Problem> problems;
  problems.reserve(count);
  for (std::size_t k = 0; k < count; ++k) problems.push_back(generate(level, seed, first + k));
  return problems;
}

std::string problem_id(const Problem& problem) {
  return "arith-l" + std::to_string(problem.level) + "-s" + std::to_string(problem.seed) + "-" +
         std::to_string(problem.index);
}

std::string problem_text(const Problem& problem) {
  std::string text = "Start with " + std::to_string(problem.start) + ".";
  for (std::size_t i = 0; i < problem.operations.size(); ++i) {
    std::string phrase = verb(problem.operations[i].op);
    if (i == 0) {
      phrase[0] = static_cast<char>(phrase[0] - 'a' + 'A');
      text += ' ';
    } else {
      text += ", then ";
    }
    text += phrase + std::to_string(problem.operations[i].operand);
  }
  if (!problem.operations.empty()) text += '.';
  text += " What is the result?";
  return text;
}

std::optional<Problem> parse_problem(std::string_view text) {
  Scanner in(text);
  Problem problem;
  if (!in.literal("Start with ")) return std::nullopt;
  const auto start = in.integer();
  if (!start || !in.literal(".")) return std::nullopt;
  problem.start = *start;
  static constexpr Op kOps[] = {Op::add, Op::subtract, Op::multiply, Op::divide};
  // Zero operations: "Start with 17. What is the result?"
  if (!in.literal(" What is the result?")) {
    do {
      const bool first = problem.operations.empty();
      if (!in.literal(first ? " " : ", then ")) return std::nullopt;
      bool found = false;
      for (const Op op : kOps) {
        std::string phrase = verb(op);
        if (first) phrase[0] = static_cast<char>(phrase[0] - 'a' + 'A');
        if (in.literal(phrase)) {
          const auto operand = in.integer();
          if (!operand) return std::nullopt;
          problem.operations.push_back({op, *operand});
          found = true;
          break;
        }
      }
      if (!found) return std::nullopt;
    } while (!in.literal("."));
    if (!in.literal(" What is the result?")) return std::nullopt;
  }
  if (!in.at_end()) return std::nullopt;
  // Only chains that are exact int64 arithmetic are problems.
  std::int64_t value = problem.start;
  for (const auto& operation : problem.operations) {
    const auto next = apply(operation.op, value, operation.operand);
    if (!next) return std::nullopt;
    value = *next;
  }
  return problem;
}

std::vector<std::string> solution_steps(const Problem& problem) {
  const auto chain = problem.values();
  std::vector<std::string> steps;
  steps.reserve(problem.operations.size() + 1);
  for (std::size_t i = 0; i < problem.operations.size(); ++i)
    steps.push_back(equation_text(chain[i], problem.operations[i].op, problem.operations[i].operand, chain[i + 1]));
  steps.push_back("Answer: " + std::to_string(chain.back()));
  return steps;
}

std::string solution_text(const Problem& problem) {
  std::string text;
  for (const auto& step : solution_steps(problem)) {
    if (!text.empty()) text += '\n';
    text += step;
  }
  return text;
}

std::string prompt_for(const Problem& problem) { return "Problem: " + problem_text(problem) + "\nSolution:\n"; }

}  // namespace quorum::task
