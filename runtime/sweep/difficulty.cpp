#include "runtime/sweep/difficulty.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "runtime/analysis/outputs.h"
#include "runtime/common/error.h"
#include "runtime/sweep/plan.h"

namespace quorum::sweep {
namespace {

using analysis::number;

bool is_number(const std::string& text) {
  char* end = nullptr;
  std::strtod(text.c_str(), &end);
  return !text.empty() && end == text.c_str() + text.size();
}

// Levels in order: numerically when every one is a number ("2" before "10"), else as text.
std::vector<std::string> ordered(const std::set<std::string>& levels) {
  std::vector<std::string> out(levels.begin(), levels.end());
  if (std::all_of(out.begin(), out.end(), is_number))
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& a, const auto& b) { return std::strtod(a.c_str(), nullptr) < std::strtod(b.c_str(), nullptr); });
  return out;
}

// The indices of a pool's problems in `problems`, in pool order.
std::vector<std::size_t> indices_in(const aggregation::PolicyPool& pool, const std::set<std::string>& problems) {
  std::vector<std::size_t> picked;
  for (std::size_t j = 0; j < pool.num_problems(); ++j)
    if (problems.count(pool.problem_ids[j])) picked.push_back(j);
  return picked;
}

// The problems of a policy's pool among pools.
std::size_t problems_in(const std::vector<aggregation::PolicyPool>& pools, const std::string& policy) {
  for (const auto& pool : pools)
    if (pool.policy == policy) return pool.num_problems();
  return 0;
}

// Marks the most accurate deployable row of each (level, policy, PRM, n): ties go to the row
// that spends fewer tokens, then to the first.
void mark_optimal(std::vector<LevelRow>& rows) {
  std::map<std::tuple<std::string, std::string, std::string, std::int64_t>, std::size_t> best;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i].row;
    if (!aggregation::is_deployable(r.strategy) || std::isnan(r.accuracy)) continue;
    const auto key = std::make_tuple(rows[i].level, r.policy, r.prm, r.n);
    const auto found = best.find(key);
    if (found == best.end()) {
      best.emplace(key, i);
      continue;
    }
    const auto& b = rows[found->second].row;
    const double tokens = r.policy_tokens + r.verifier_tokens, best_tokens = b.policy_tokens + b.verifier_tokens;
    if (r.accuracy > b.accuracy || (r.accuracy == b.accuracy && tokens < best_tokens)) found->second = i;
  }
  for (const auto& [key, i] : best) rows[i].optimal = true;
}

std::string describe(const SearchRow& r) {
  std::string text = r.method;
  if (r.method != "best_of_n")
    text += " m=" + std::to_string(r.m) + (r.lookahead ? " k=" + std::to_string(r.lookahead) : "");
  return text + ", " + std::string(aggregation::name(r.strategy)) + " (" + std::string(aggregation::name(r.reduction)) + ")";
}

}  // namespace

Difficulty analyze_difficulty(const ProblemLevels& levels, const std::vector<aggregation::PolicyPool>& pools,
                              const std::vector<aggregation::PolicyPool>& calibration_pools,
                              const analysis::AnalysisSettings& settings, const std::vector<SearchOutcome>& searches,
                              const SampledTokens& sampled_tokens) {
  Difficulty difficulty;
  if (levels.empty()) return difficulty;
  std::set<std::string> level_names;
  for (const auto& [level, ids] : levels) level_names.insert(level);

  // Tokens per problem of every pair's sampled pool: the searches read them already.
  std::map<std::pair<std::string, std::string>, std::map<std::string, Tokens>> sampled;
  for (const auto& search : searches) sampled.emplace(std::make_pair(search.run.policy, search.run.prm), search.sampled);
  const auto sampled_of = [&](const std::string& policy, const std::string& prm) -> const std::map<std::string, Tokens>& {
    const auto key = std::make_pair(policy, prm);
    auto found = sampled.find(key);
    if (found == sampled.end()) found = sampled.emplace(key, sampled_tokens(policy, prm)).first;
    return found->second;
  };

  for (const auto& level : ordered(level_names)) {
    const auto& ids = levels.at(level);
    std::vector<LevelRow> rows;
    std::vector<aggregation::PolicyPool> level_pools;
    for (const auto& pool : pools)
      if (const auto picked = indices_in(pool, ids); !picked.empty()) level_pools.push_back(aggregation::subset(pool, picked));
    if (!level_pools.empty()) {
      // Calibration pools of the policies the level has (the analysis pairs them by policy).
      std::vector<aggregation::PolicyPool> calibration;
      for (const auto& pool : calibration_pools)
        if (std::any_of(level_pools.begin(), level_pools.end(), [&](const auto& p) { return p.policy == pool.policy; }))
          calibration.push_back(pool);
      try {
        const auto analysed = analysis::analyze(level_pools, calibration, settings);
        for (const auto& cell : analysed.cells) {
          if (cell.reduction != analysed.settings.reductions.front()) continue;  // one pass per pair
          const auto per_response = mean_tokens(sampled_of(cell.policy, cell.prm), &ids);
          for (const auto n : analysed.settings.budgets)
            for (auto& row : best_of_n_rows(analysed, cell.policy, cell.prm, n, per_response)) {
              row.problems = problems_in(level_pools, cell.policy);
              rows.push_back({level, std::move(row), false});
            }
        }
      } catch (const InputError& e) {
        difficulty.skipped.push_back("level " + level + ", best-of-N: " + e.what());
      }
    }
    for (const auto& search : searches) {
      const auto picked = indices_in(search.evaluated, ids);
      if (picked.empty()) continue;
      try {
        const auto analysed = analyze_search(search, aggregation::subset(search.evaluated, picked), settings);
        for (auto& row : searched_rows(search.run, analysed, mean_tokens(search.searched, &ids)))
          rows.push_back({level, std::move(row), false});
      } catch (const InputError& e) {
        difficulty.skipped.push_back("level " + level + ", " + search.run.label + ": " + e.what());
      }
    }
    if (rows.empty()) continue;
    difficulty.levels.push_back(level);
    difficulty.rows.insert(difficulty.rows.end(), std::make_move_iterator(rows.begin()), std::make_move_iterator(rows.end()));
  }
  mark_optimal(difficulty.rows);
  return difficulty;
}

Difficulty analyze_difficulty(store::Store& store, const std::vector<aggregation::PolicyPool>& pools,
                              const std::vector<aggregation::PolicyPool>& calibration_pools,
                              const analysis::AnalysisSettings& settings, const std::vector<SearchOutcome>& searches) {
  ProblemLevels levels;
  for (const auto& problem : store.problems(kEvaluation))
    if (!problem.level.empty()) levels[problem.level].insert(problem.id);
  return analyze_difficulty(levels, pools, calibration_pools, settings, searches,
                            [&](const std::string& policy, const std::string& prm) { return sampled_tokens(store, policy, prm); });
}

std::string difficulty_csv(const Difficulty& difficulty) {
  std::string out = "level," + search_csv_header() + ",optimal\n";
  for (const auto& r : difficulty.rows)
    out += r.level + "," + search_csv_fields(r.row) + "," + (r.optimal ? "1" : "0") + "\n";
  return out;
}

nlohmann::json difficulty_json(const Difficulty& difficulty) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : difficulty.rows) {
    auto row = search_row_json(r.row);
    row["level"] = r.level;
    row["optimal"] = r.optimal;
    row["problems"] = r.row.problems;
    rows.push_back(std::move(row));
  }
  return {{"levels", difficulty.levels}, {"skipped", difficulty.skipped}, {"rows", std::move(rows)}};
}

std::string difficulty_markdown(const Difficulty& difficulty) {
  if (difficulty.rows.empty()) return "";
  // (policy, PRM) -> level -> n -> the optimal row
  std::map<std::pair<std::string, std::string>, std::map<std::string, std::map<std::int64_t, const LevelRow*>>> chosen;
  std::map<std::pair<std::string, std::string>, std::set<std::int64_t>> budgets;
  for (const auto& r : difficulty.rows) {
    if (!r.optimal) continue;
    const auto pair = std::make_pair(r.row.policy, r.row.prm);
    chosen[pair][r.level][r.row.n] = &r;
    budgets[pair].insert(r.row.n);
  }
  std::ostringstream out;
  out << "## Compute-optimal choice by difficulty\n\nPer level of the evaluated problems and budget n, the most "
      << "accurate method and strategy (step scores' reduction in brackets) on that level's problems, with its accuracy "
      << "and tokens per problem (policy + PRM). The choice is made on the problems it is measured on, so its accuracy "
      << "is optimistic. difficulty.csv has every method, strategy and interval per level.\n";
  for (const auto& [pair, levels] : chosen) {
    out << "\n### " << pair.first << " with " << pair.second << "\n\n| level | problems |";
    for (const auto n : budgets[pair]) out << " n = " << n << " |";
    out << "\n|---|---:|";
    for (std::size_t i = 0; i < budgets[pair].size(); ++i) out << "---|";
    out << "\n";
    for (const auto& level : difficulty.levels) {
      const auto found = levels.find(level);
      if (found == levels.end()) continue;
      out << "| " << level << " | " << found->second.begin()->second->row.problems << " |";
      for (const auto n : budgets[pair]) {
        const auto cell = found->second.find(n);
        if (cell == found->second.end()) {
          out << " - |";
          continue;
        }
        const auto& r = cell->second->row;
        out << " " << describe(r) << ": " << number(r.accuracy, 3) << ", " << number(r.policy_tokens + r.verifier_tokens, 4)
            << " tokens |";
      }
      out << "\n";
    }
  }
  for (const auto& skipped : difficulty.skipped) out << "\nNot analysed: " << skipped << "\n";
  return out.str();
}

}  // namespace quorum::sweep
