// `quorum grade`: grade one response against a gold answer and show every step of the
// decision, or grade every response of a pool into verdicts.jsonl.
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/answers/answer.h"
#include "runtime/cli/command.h"
#include "runtime/common/error.h"
#include "runtime/common/files.h"
#include "runtime/interchange/jsonl_reader.h"
#include "runtime/interchange/verdicts.h"

namespace quorum::cli {
namespace {

struct GradeArgs {
  std::string gold;
  std::string response;
  std::vector<std::string> inputs;
  std::string out;
  std::string policy = "policy";
  std::vector<std::string> answer_patterns;
  bool no_math_environment = false;
  bool no_last_number = false;
};

answers::ExtractOptions extract_options(const GradeArgs& args) {
  answers::ExtractOptions extract;
  if (!args.answer_patterns.empty()) extract.fallback_patterns = args.answer_patterns;
  extract.math_environment_fallback = !args.no_math_environment;
  extract.last_number_fallback = !args.no_last_number;
  try {  // compiles the patterns: a bad one is the user's input error, named as such
    answers::extract("", extract);
  } catch (const std::invalid_argument& e) {
    throw InputError("", 0, "--answer-pattern", e.what());
  }
  return extract;
}

// Exit 0: correct, 1: not (as `quorum equiv`).
int grade_one(const GradeArgs& args) {
  const auto extraction = answers::extract(args.response, extract_options(args));
  std::string rule(answers::rule_name(extraction.rule));
  if (extraction.rule == answers::ExtractionRule::pattern) {
    rule += " " + std::to_string(extraction.pattern + 1);
  }
  const auto gold = answers::Answer::parse(args.gold);
  std::cout << "extracted:  " << (extraction.answer ? *extraction.answer : "(none)") << "\n"
            << "extraction: " << rule << "\n"
            << "gold:       " << gold.normalized() << "\n";
  if (!extraction.answer) {
    std::cout << "answer:     (none)\n"
              << "verdict:    incorrect\n"
              << "decided by: no answer\n";
    return 1;
  }
  const auto answer = answers::Answer::parse(*extraction.answer);
  const auto verdict = gold.compare(answer);
  std::cout << "answer:     " << answer.normalized() << "\n"
            << "verdict:    " << (verdict.equivalent ? "correct" : "incorrect") << "\n"
            << "decided by: " << verdict.rule << "\n";
  return verdict.equivalent ? 0 : 1;
}

int grade_pool(const GradeArgs& args) {
  const auto extract = extract_options(args);
  interchange::Dataset dataset;
  interchange::ReadOptions options;
  options.default_policy = args.policy;
  options.require_scores = false;
  for (const auto& spec : args.inputs) {
    interchange::read_jsonl(interchange::parse_input_spec(spec), options, dataset);
  }
  std::ostringstream verdicts;
  const auto counts = interchange::write_verdicts(dataset, extract, verdicts);
  // Whole or not at all: a failed run never leaves half a verdicts file behind.
  write_file_atomically(args.out, verdicts.str());
  std::cerr << "quorum grade: " << counts.responses << " responses of " << counts.problems
            << " problems, " << counts.answered << " with an answer, " << counts.correct
            << " correct; verdicts in " << args.out << "\n";
  return 0;
}

}  // namespace

void register_grade(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<GradeArgs>();
  CLI::App* grade = app.add_subcommand(
      "grade",
      "Grade a response against a gold answer, printing the extracted answer, the extraction "
      "rule, both normalised forms, the verdict and the rule that decided it (exit 0: correct, "
      "1: not); or grade every response of JSONL pools into a verdicts file");
  auto* gold =
      grade->add_option("GOLD", args->gold, "gold (reference) answer, e.g. '\\frac{1}{2}'");
  auto* response =
      grade->add_option("RESPONSE", args->response, "the whole response text, e.g. 'so $x=0.5$'");
  auto* inputs =
      grade->add_option("--input,-i", args->inputs,
                        "JSONL pool file(s) (docs/interchange.md; step scores optional), "
                        "optionally PATH:policy=NAME");
  auto* out = grade->add_option("--out,-o", args->out, "verdicts JSONL to write (with --input)");
  grade->add_option("--policy", args->policy, "Policy name for rows that carry none")
      ->capture_default_str();
  grade->add_option("--answer-pattern", args->answer_patterns,
                    "Regex with one capture group tried when no box or math environment is found "
                    "(replaces the defaults; repeatable)");
  grade->add_flag("--no-math-environment", args->no_math_environment,
                  "Do not take the last $...$ / \\[...\\] of the response as its answer");
  grade->add_flag("--no-last-number", args->no_last_number,
                  "Do not fall back to the last number of the response");
  grade->callback([args, gold, response, inputs, out, &exit_code] {
    const bool has_pair = gold->count() > 0 || response->count() > 0;
    if (inputs->count() > 0) {
      if (has_pair) {
        throw CLI::ValidationError("grade", "give GOLD RESPONSE or --input FILE, not both");
      }
      if (out->count() == 0) throw CLI::ValidationError("grade", "--input needs --out FILE");
      exit_code = grade_pool(*args);
      return;
    }
    if (out->count() > 0) throw CLI::ValidationError("grade", "--out needs --input FILE");
    if (gold->count() == 0 || response->count() == 0) {
      throw CLI::ValidationError("grade", "give GOLD and RESPONSE, or --input FILE --out FILE");
    }
    exit_code = grade_one(*args);
  });
}

}  // namespace quorum::cli
