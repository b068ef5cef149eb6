// quorum analyze: aggregation strategies, calibration and budget sweep over stored responses.
#include <filesystem>
#include <iostream>
#include <sstream>

#include "runtime/analysis/analyze.h"
#include "runtime/analysis/outputs.h"
#include "runtime/cli/command.h"
#include "runtime/cli/progress.h"
#include "runtime/common/error.h"
#include "runtime/common/files.h"
#include "runtime/interchange/jsonl_reader.h"
#include "runtime/interchange/pools.h"
#include "runtime/interchange/verdicts.h"
#include "runtime/report/page.h"
#include "runtime/sweep/difficulty.h"

namespace quorum::cli {
namespace {

struct AnalyzeArgs {
  std::vector<std::string> inputs, calibration;
  std::string out;
  int folds = 5;
  std::vector<std::uint32_t> budgets;
  std::vector<std::string> reductions, strategies;
  analysis::AnalysisSettings settings;
  std::string reference = "weighted";
  bool reference_given = false;
  std::string policy = "policy";
  std::string step_separator = "\n\n";
  std::string score_transform = "none";
  std::vector<std::string> answer_patterns;
  bool no_last_number = false;
  bool quiet = false;
};

// Lets a shell user write the separator as "\n\n".
std::string unescape(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    const char next = text[++i];
    out += next == 'n' ? '\n' : next == 't' ? '\t' : next == 'r' ? '\r' : next;
  }
  return out;
}

// The pools of the files; with `lookup`, also the verdict of every response as verdicts.jsonl
// rows (docs/answers.md, "Audit") and the report page's per-problem lookup, so that each
// correctness label can be looked up, and the problems' levels.
struct Lookup {
  std::string verdict_lines;
  nlohmann::json problems;
  sweep::ProblemLevels levels;
  // policy -> problem -> its responses' completion tokens and prompt + completion tokens (what
  // a PRM reads), NaN where a row does not give them.
  std::map<std::string, std::map<std::string, sweep::Tokens>> tokens;
};
std::vector<aggregation::PolicyPool> load(const std::vector<std::string>& specs, const AnalyzeArgs& args,
                                          Lookup* lookup = nullptr) {
  interchange::Dataset dataset;
  interchange::ReadOptions options;
  options.default_policy = args.policy;
  options.step_separator = unescape(args.step_separator);
  try {
    options.score_transform = interchange::parse_score_transform(args.score_transform);
  } catch (const std::invalid_argument& e) {
    throw InputError("", 0, "--score-transform", e.what());
  }
  for (const auto& spec : specs) interchange::read_jsonl(interchange::parse_input_spec(spec), options, dataset);
  interchange::check_complete(dataset);
  answers::ExtractOptions extract;
  if (!args.answer_patterns.empty()) extract.fallback_patterns = args.answer_patterns;
  extract.last_number_fallback = !args.no_last_number;
  try {  // compiles the patterns: a bad one is the user's input error, named as such
    answers::extract_answer("", extract);
  } catch (const std::invalid_argument& e) {
    throw InputError("", 0, "--answer-pattern", e.what());
  }
  if (lookup) {
    const auto verdicts = interchange::verdict_rows(dataset, extract);
    std::ostringstream lines;
    interchange::write_verdict_lines(verdicts, lines);
    lookup->verdict_lines = lines.str();
    lookup->problems = report::problem_lookup(dataset, verdicts);
    lookup->levels = interchange::problem_levels(dataset);
    for (const auto& problem : dataset.problems) {
      auto& tokens = lookup->tokens[problem.policy][problem.problem_id];
      for (const auto& response : problem.responses)
        tokens.policy += response.completion_tokens, tokens.verifier += response.prompt_tokens + response.completion_tokens,
            tokens.count += 1;
    }
  }
  return interchange::build_pools(dataset, extract, args.settings.threads);
}

template <class T, class Parse>
std::vector<T> parse_names(const std::vector<std::string>& names, const char* option, Parse parse) {
  std::vector<T> parsed;
  for (const auto& n : names) {
    try {
      parsed.push_back(parse(n));
    } catch (const std::invalid_argument& e) {
      throw InputError("", 0, option, e.what());
    }
  }
  return parsed;
}

void run(AnalyzeArgs& args) {
  auto& settings = args.settings;
  settings.folds = args.folds;
  settings.budgets = args.budgets;
  settings.strategies = parse_names<aggregation::Strategy>(args.strategies, "--strategies", aggregation::parse_strategy);
  settings.reductions = parse_names<aggregation::Reduction>(args.reductions, "--reductions", aggregation::parse_reduction);
  settings.reference = parse_names<aggregation::Strategy>({args.reference}, "--reference", aggregation::parse_strategy).front();
  settings.reference_given = args.reference_given;

  Lookup lookup;
  const auto pools = load(args.inputs, args, &lookup);
  const auto calibration_pools = args.calibration.empty() ? std::vector<aggregation::PolicyPool>{}
                                                          : load(args.calibration, args);
  ProgressLine progress("analyze: problems (calibration + sweep)");
  const auto result = analysis::analyze(pools, calibration_pools, settings, [&](std::size_t done, std::size_t total) {
    if (!args.quiet) progress.update(done, total);
  });
  analysis::RunDescription description{args.inputs, args.calibration};
  // Said even with --quiet: it changes what the savings mean.
  if (!result.reference_choice.empty()) std::cerr << "analyze: savings reference: " << result.reference_choice << "\n";
  analysis::write_outputs(args.out, result, description);
  write_file_atomically(std::filesystem::path(args.out) / "verdicts.jsonl", lookup.verdict_lines);
  // The same page as a sweep's report, naming the files instead of a store.
  report::PageInputs page;
  // Per difficulty level, when the rows have levels (MATH's `level`): the best strategy at each budget.
  const auto difficulty = sweep::analyze_difficulty(lookup.levels, pools, calibration_pools, settings, {},
                                                    [&](const std::string& policy, const std::string&) {
                                                      return lookup.tokens[policy];
                                                    });
  if (!difficulty.rows.empty()) {
    write_file_atomically(std::filesystem::path(args.out) / "difficulty.csv", sweep::difficulty_csv(difficulty));
    write_file_atomically(std::filesystem::path(args.out) / "summary.md",
                          analysis::summary_markdown(result, description) + "\n" + sweep::difficulty_markdown(difficulty));
    page.difficulty = sweep::difficulty_json(difficulty);
    if (!args.quiet)
      for (const auto& skipped : difficulty.skipped) std::cerr << "analyze: by difficulty, skipped " << skipped << "\n";
  }
  page.analysis = &result;
  page.progress.name = "analysis of " + std::to_string(args.inputs.size()) + " file" + (args.inputs.size() == 1 ? "" : "s");
  page.input_files = args.inputs, page.calibration_files = args.calibration;
  page.problems = std::move(lookup.problems);
  write_file_atomically(std::filesystem::path(args.out) / "report.html", report::render_page(page));
  if (!args.quiet)
    std::cerr << "analyze: " << result.cells.size() << " cells, " << result.problems << " problems; wrote "
              << args.out << "/{report.html,results.csv,calibration.json,savings.csv,summary.md,verdicts.jsonl"
              << (difficulty.rows.empty() ? "" : ",difficulty.csv") << "}\n";
}

}  // namespace

void register_analyze(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<AnalyzeArgs>();
  auto* cmd = app.add_subcommand("analyze", "Evaluate aggregation strategies over a pool of scored responses");
  cmd->add_option("--input,-i", args->inputs,
                  "JSONL file(s) of problems, responses and step scores; PATH:prm=NAME,policy=NAME names "
                  "the PRM of a plain \"scores\" column and the policy of rows without one")
      ->required();
  cmd->add_option("--out,-o", args->out, "Output directory")->required();
  cmd->add_option("--calibration", args->calibration,
                  "Separate labelled calibration split (same format); default: k-fold cross-fitting");
  cmd->add_option("--folds", args->folds, "Cross-fitting folds when no --calibration is given")
      ->capture_default_str();
  cmd->add_option("--budgets", args->budgets, "Budgets N (default: powers of two up to the smallest pool)")
      ->delimiter(',');
  cmd->add_option("--reductions", args->reductions, "Step-score reductions: last,min,prod,mean,max (default all)")
      ->delimiter(',');
  cmd->add_option("--strategies", args->strategies,
                  "majority,best_of_n,weighted,linear_wv,logit_wv,kde_wv,oracle,pass_at_n (default all)")
      ->delimiter(',');
  cmd->add_option("--draws", args->settings.draws, "Random subsets per problem and budget")->capture_default_str();
  cmd->add_option("--calibration-draws", args->settings.calibration_draws,
                  "Subsets per problem and budget when grid-searching b")
      ->capture_default_str();
  cmd->add_option("--bootstrap", args->settings.bootstrap_resamples, "Bootstrap resamples for the 95% intervals")
      ->capture_default_str();
  cmd->add_option("--seed", args->settings.seed, "Seed of draws, calibration and bootstrap")->capture_default_str();
  auto* reference = cmd->add_option("--reference", args->reference,
                                    "Strategy whose accuracy at the largest budget the savings target (default: "
                                    "weighted, or when --strategies leaves it out the best evaluated deployable "
                                    "strategy)");
  cmd->add_option("--policy", args->policy, "Policy name for rows that carry none")->capture_default_str();
  cmd->add_option("--step-separator", args->step_separator, "Splits completion text into steps (\\n and \\t are understood)")
      ->default_str("\\n\\n");
  cmd->add_option("--score-transform", args->score_transform,
                  "none: scores are probabilities in [0, 1]; sigmoid: raw logits (e.g. outcome reward models "
                  "such as Qwen2.5-Math-RM), mapped through 1/(1+e^-x)")
      ->capture_default_str();
  cmd->add_option("--answer-pattern", args->answer_patterns,
                  "Regex with one capture group for answers outside \\boxed{} (repeatable; replaces the defaults "
                  "\"#### n\", \"The answer is ...\", \"Final Answer: ...\")");
  cmd->add_flag("--no-last-number", args->no_last_number,
                "Do not fall back to the last number in a response without a boxed or matched answer");
  cmd->add_option("--threads", args->settings.threads, "Worker threads (0: one per core)")->capture_default_str();
  cmd->add_flag("--quiet,-q", args->quiet, "No progress output");
  cmd->callback([args, reference, &exit_code] {
    args->reference_given = reference->count() > 0;
    run(*args);
    exit_code = 0;
  });
}

}  // namespace quorum::cli
