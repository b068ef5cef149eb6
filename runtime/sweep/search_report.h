// The searches of a sweep analysed: each search run's leaves, a pool of n responses per problem,
// through the sweep's strategies and reductions at budget n (calibrated strategies fitted on the
// calibration split of the same search, or cross-fitted like the sampled pools), beside
// best-of-N (the sampled pools) at the same n, with what each spent in tokens (docs/search.md).
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/analysis/analyze.h"
#include "runtime/config/sweep.h"
#include "runtime/store/store.h"

namespace quorum::sweep {

struct SearchOutcome {
  config::SearchRun run;
  analysis::Analysis analysis;  // its one budget: n
  // Per evaluated problem: every token the search generated (pruned candidates and lookahead
  // rollouts included) and every token its verifier read.
  double policy_tokens = NAN, verifier_tokens = NAN;
  // Per sampled response of the same pair (evaluation split): completion tokens, and the tokens
  // its PRM read (0 for a checker); best-of-N at n spends n of each.
  double sampled_policy_tokens = NAN, sampled_verifier_tokens = NAN;
};

// The searches with complete problems enough to analyse (a running sweep's others wait).
std::vector<SearchOutcome> analyze_searches(store::Store& store, const nlohmann::json& description,
                                            const analysis::AnalysisSettings& settings, bool separate_calibration);

// One row per search, reduction and strategy, and rows of method best_of_n from the sampled
// pools' analysis at every budget n some search of the same pair has (its tokens: n times a
// sampled response's completion tokens and its PRM's read ones).
struct SearchRow {
  std::string policy, prm, method;
  std::int64_t n = 0, m = 0, lookahead = 0;  // best_of_n: m and lookahead 0
  aggregation::Reduction reduction;
  aggregation::Strategy strategy;
  double accuracy = NAN, ci_low = NAN, ci_high = NAN;
  std::size_t problems = 0;  // best_of_n: 0 (the sampled pools' own)
  double policy_tokens = NAN, verifier_tokens = NAN;  // per problem
};
std::vector<SearchRow> search_rows(const std::vector<SearchOutcome>& searches, const analysis::Analysis& sampled);

// search.csv: policy,prm,method,n,m,lookahead,reduction,strategy,accuracy,ci_low,ci_high,
// problems,policy_tokens,verifier_tokens (best_of_n rows leave m, lookahead and problems empty).
std::string search_csv(const std::vector<SearchRow>& rows);
// The rows as report.html's data draws them (docs/report.md).
nlohmann::json search_json(const std::vector<SearchRow>& rows);

// summary.md's section: per pair and n, each method's accuracy by majority, best_of_n and
// weighted with the `last` reduction (or the first evaluated), and its tokens per problem.
std::string search_markdown(const std::vector<SearchOutcome>& searches, const analysis::Analysis& sampled);

}  // namespace quorum::sweep
