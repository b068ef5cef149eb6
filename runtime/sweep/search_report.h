// The searches of a sweep analysed: each search run's leaves, a pool of n responses per problem,
// through the sweep's strategies and reductions at budget n (calibrated strategies fitted on the
// calibration split of the same search, or cross-fitted like the sampled pools), beside
// best-of-N (the sampled pools) at the same n, with what each spent in tokens (docs/search.md).
#pragma once

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/analysis/analyze.h"
#include "runtime/config/sweep.h"
#include "runtime/store/store.h"

namespace quorum::sweep {

// Tokens summed over some responses or searches, and how many were summed.
struct Tokens {
  double policy = 0, verifier = 0, count = 0;
};
// The mean per summed item over the problems in `only` (all when null); NaN when none.
Tokens mean_tokens(const std::map<std::string, Tokens>& by_problem, const std::set<std::string>* only = nullptr);
// Per evaluated problem of a pair's sampled pool: its responses' completion tokens and the tokens
// the PRM read for them (0 for a checker), over the responses the PRM scored.
std::map<std::string, Tokens> sampled_tokens(store::Store& store, const std::string& policy, const std::string& prm);

struct SearchOutcome {
  config::SearchRun run;
  analysis::Analysis analysis;  // its one budget: n
  // The leaves as pools (the calibration split's empty when cross-fitted).
  aggregation::PolicyPool evaluated, calibration;
  // Per evaluated problem: every token the search generated (pruned candidates and lookahead
  // rollouts included) and every token its verifier read (count 1).
  std::map<std::string, Tokens> searched;
  // The sampled pool of the same pair (sampled_tokens).
  std::map<std::string, Tokens> sampled;
  // The means of the two over every evaluated problem: per search, and per sampled response
  // (best-of-N at n spends n of each).
  double policy_tokens = NAN, verifier_tokens = NAN;
  double sampled_policy_tokens = NAN, sampled_verifier_tokens = NAN;
};

// The searches with complete problems enough to analyse (a running sweep's others wait).
std::vector<SearchOutcome> analyze_searches(store::Store& store, const nlohmann::json& description,
                                            const analysis::AnalysisSettings& settings, bool separate_calibration);

// A search's leaves `evaluated` (all of search.evaluated, or some of its problems) analysed at
// budget n, calibrated strategies fitted on search.calibration (cross-fitted when it is empty).
analysis::Analysis analyze_search(const SearchOutcome& search, const aggregation::PolicyPool& evaluated,
                                  analysis::AnalysisSettings settings);

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
// best_of_n rows of a pair at budget n from the sampled pools' analysis (none when the analysis
// lacks the pair or n), each spending n times `per_response`.
std::vector<SearchRow> best_of_n_rows(const analysis::Analysis& sampled, const std::string& policy,
                                      const std::string& prm, std::int64_t n, const Tokens& per_response);
// A search's rows: every reduction and strategy of its analysis, spending `per_problem`.
std::vector<SearchRow> searched_rows(const config::SearchRun& run, const analysis::Analysis& analysis,
                                     const Tokens& per_problem);
std::vector<SearchRow> search_rows(const std::vector<SearchOutcome>& searches, const analysis::Analysis& sampled);

// search.csv: policy,prm,method,n,m,lookahead,reduction,strategy,accuracy,ci_low,ci_high,
// problems,policy_tokens,verifier_tokens (best_of_n rows leave m, lookahead and problems empty).
std::string search_csv(const std::vector<SearchRow>& rows);
// The rows as report.html's data draws them (docs/report.md).
nlohmann::json search_json(const std::vector<SearchRow>& rows);
// One row's parts of the two: the CSV header and fields (no newline), and its JSON object.
std::string search_csv_header();
std::string search_csv_fields(const SearchRow& row);
nlohmann::json search_row_json(const SearchRow& row);

// summary.md's section: per pair and n, each method's accuracy by majority, best_of_n and
// weighted with the `last` reduction (or the first evaluated), and its tokens per problem.
std::string search_markdown(const std::vector<SearchOutcome>& searches, const analysis::Analysis& sampled);

}  // namespace quorum::sweep
