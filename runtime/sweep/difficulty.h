// The compute-optimal choice by difficulty, as in the compute-optimal test-time-scaling studies:
// the evaluated problems grouped by their level (the arithmetic task's level, a problem file's
// `level` field), and at each budget the method (best-of-N or a search) and strategy that is
// most accurate on that level's problems (docs/search.md, "By difficulty").
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/aggregation/pool.h"
#include "runtime/analysis/analyze.h"
#include "runtime/store/store.h"
#include "runtime/sweep/search_report.h"

namespace quorum::sweep {

struct LevelRow {
  std::string level;
  SearchRow row;         // problems: the level's evaluated problems that the row's pool has
  bool optimal = false;  // the most accurate deployable row of its (level, policy, PRM, n)
};

struct Difficulty {
  std::vector<std::string> levels;  // analysed, numerically ordered when every level is a number
  std::vector<std::string> skipped;  // what was left out at a level, and why
  std::vector<LevelRow> rows;
};

// Evaluated problem ids by level.
using ProblemLevels = std::map<std::string, std::set<std::string>>;
// Per problem, what a pair's sampled responses spent (sampled_tokens' rows).
using SampledTokens = std::function<std::map<std::string, Tokens>(const std::string& policy, const std::string& prm)>;

// Each level's evaluated problems analysed alone: the sampled pools at every budget of
// `settings`, and every search at its n. Calibrated strategies are fitted on the whole
// calibration split when there is one, and cross-fitted within the level otherwise (a level with
// fewer problems than folds is skipped). Tokens are per problem of the level. The choice is made
// on the problems it is measured on, so its accuracy is optimistic, as in the studies. Empty when
// no evaluated problem has a level.
Difficulty analyze_difficulty(const ProblemLevels& levels, const std::vector<aggregation::PolicyPool>& pools,
                              const std::vector<aggregation::PolicyPool>& calibration_pools,
                              const analysis::AnalysisSettings& settings, const std::vector<SearchOutcome>& searches,
                              const SampledTokens& sampled_tokens);
// A sweep's: the levels of the store's evaluated problems, the tokens of its responses and scores.
Difficulty analyze_difficulty(store::Store& store, const std::vector<aggregation::PolicyPool>& pools,
                              const std::vector<aggregation::PolicyPool>& calibration_pools,
                              const analysis::AnalysisSettings& settings, const std::vector<SearchOutcome>& searches);
// difficulty.csv: level, then search.csv's columns, then optimal (1 or 0).
std::string difficulty_csv(const Difficulty& difficulty);
// {"levels": [...], "skipped": [...], "rows": [search_json's rows with level and optimal]}.
nlohmann::json difficulty_json(const Difficulty& difficulty);
// summary.md's section: per pair, a table of levels against budgets naming the optimal method
// and strategy with its accuracy.
std::string difficulty_markdown(const Difficulty& difficulty);

}  // namespace quorum::sweep
