// The exact step checker: splits a response into lines and labels each against the problem's
// correct chain of values (docs/task.md, "The checker").
#include <algorithm>
#include <cstring>

#include "runtime/task/arithmetic.h"
#include "runtime/task/text_scan.h"

namespace quorum::task {

const char* label_name(StepLabel label) {
  switch (label) {
    case StepLabel::correct: return "correct";
    case StepLabel::wrong_arithmetic: return "wrong_arithmetic";
    case StepLabel::illegal: return "illegal";
    case StepLabel::malformed: return "malformed";
  }
  return "malformed";
}

namespace {

// Calls visit(span) for each step until it returns false; returns whether it stopped early.
template <typename Visit>
bool for_each_step(std::string_view response, Visit&& visit) {
  std::size_t line_begin = 0;
  std::size_t line_number = 0;
  while (line_begin <= response.size()) {
    const void* newline = line_begin < response.size()
                              ? std::memchr(response.data() + line_begin, '\n', response.size() - line_begin)
                              : nullptr;
    const std::size_t line_end =
        newline ? static_cast<std::size_t>(static_cast<const char*>(newline) - response.data()) : response.size();
    ++line_number;
    std::size_t b = line_begin, e = line_end;
    while (b < e && is_blank(response[b])) ++b;
    while (e > b && is_blank(response[e - 1])) --e;
    if (e > b && !visit(StepSpan{b, e - b, line_number})) return true;
    if (!newline) break;
    line_begin = line_end + 1;
  }
  return false;
}

}  // namespace

std::vector<StepSpan> split_steps(std::string_view response, std::size_t max_steps) {
  std::vector<StepSpan> steps;
  for_each_step(response, [&](const StepSpan& span) {
    if (steps.size() >= max_steps) return false;
    steps.push_back(span);
    return true;
  });
  return steps;
}

std::optional<Equation> parse_equation(std::string_view step) {
  Scanner in(step);
  in.skip_blanks();
  const auto a = in.integer();
  if (!a) return std::nullopt;
  in.skip_blanks();
  const char op = in.peek();
  if (op != '+' && op != '-' && op != '*' && op != '/') return std::nullopt;
  in.advance();
  in.skip_blanks();
  const auto b = in.integer();
  if (!b) return std::nullopt;
  in.skip_blanks();
  if (!in.literal("=")) return std::nullopt;
  in.skip_blanks();
  const auto c = in.integer();
  if (!c) return std::nullopt;
  in.skip_blanks();
  if (!in.at_end()) return std::nullopt;
  return Equation{*a, *b, *c, static_cast<Op>(op)};
}

std::optional<std::int64_t> parse_answer_line(std::string_view step) {
  Scanner in(step);
  in.skip_blanks();
  if (!in.literal("Answer:")) return std::nullopt;
  in.skip_blanks();
  const auto value = in.integer();
  if (!value) return std::nullopt;
  in.skip_blanks();
  if (!in.at_end()) return std::nullopt;
  return value;
}

CheckResult check(const Problem& problem, std::string_view response, const CheckOptions& options) {
  const auto chain = problem.values();
  const std::size_t n = problem.operations.size();
  const std::int64_t gold = chain.back();

  CheckResult result;
  std::size_t position = 0;         // well-formed equations seen so far
  bool answered = false;            // an answer line has been seen
  std::int64_t own_previous = problem.start;  // the response's own latest result

  result.truncated = for_each_step(response, [&](const StepSpan& span) {
    if (result.steps.size() >= options.max_steps) return false;
    const std::string_view text = response.substr(span.begin, span.size);
    StepCheck step;
    step.span = span;
    if (const auto eq = parse_equation(text)) {
      if (answered || position >= n) {
        step.label = StepLabel::illegal;  // after the solution should have ended
      } else {
        const Operation& expected = problem.operations[position];
        const bool follows = eq->op == expected.op && eq->b == expected.operand;
        if (follows && eq->a == chain[position])
          step.label = eq->c == chain[position + 1] ? StepLabel::correct : StepLabel::wrong_arithmetic;
        else
          step.label = StepLabel::illegal;
        if (follows && eq->a != chain[position] && eq->a == own_previous) {
          const auto value = apply(eq->op, eq->a, eq->b);
          step.carried = value && *value == eq->c;
        }
      }
      ++position;
      own_previous = eq->c;
    } else if (const auto value = parse_answer_line(text)) {
      if (answered) {
        step.label = StepLabel::illegal;  // a second answer
      } else {
        answered = true;
        result.final_answer = *value;
        if (position != n) {
          step.label = StepLabel::illegal;  // too early (steps missing) or after extra steps
        } else if (*value == gold) {
          step.label = StepLabel::correct;
        } else {
          step.label = StepLabel::wrong_arithmetic;
          step.carried = n > 0 && *value == own_previous;
        }
      }
    } else {
      step.label = StepLabel::malformed;
    }
    if (step.label != StepLabel::correct && result.first_error < 0)
      result.first_error = static_cast<std::ptrdiff_t>(result.steps.size());
    result.steps.push_back(step);
    return true;
  });

  result.answer_correct = result.final_answer && *result.final_answer == gold;
  result.complete = result.first_error < 0 && answered && !result.truncated;
  return result;
}

std::vector<float> prefix_correct_scores(const Problem& problem, const std::vector<std::string>& steps,
                                         const CheckOptions& options) {
  std::string joined;
  std::vector<std::size_t> starts;  // byte offset of each step in `joined`
  for (const auto& step : steps) {
    if (!joined.empty()) joined += '\n';
    starts.push_back(joined.size());
    joined += step;
  }
  const auto result = check(problem, joined, options);
  std::vector<bool> labelled(steps.size(), false), wrong(steps.size(), false);
  for (const auto& line : result.steps) {
    // The step holding this line: the last one starting at or before it.
    const auto at = std::upper_bound(starts.begin(), starts.end(), line.span.begin) - starts.begin() - 1;
    labelled[at] = true;
    wrong[at] = wrong[at] || line.label != StepLabel::correct;
  }
  std::vector<float> scores(steps.size());
  bool all_correct = true;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    all_correct = all_correct && labelled[i] && !wrong[i];
    scores[i] = all_correct ? 1.0f : 0.0f;
  }
  return scores;
}

}  // namespace quorum::task
