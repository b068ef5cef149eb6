#include "runtime/sweep/search_report.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "runtime/analysis/outputs.h"
#include "runtime/common/error.h"
#include "runtime/interchange/pools.h"
#include "runtime/sweep/plan.h"
#include "runtime/sweep/results.h"

namespace quorum::sweep {
namespace {

using analysis::number;

// The tokens a search spent per evaluated problem: its leaves carry shares of them.
std::map<std::string, Tokens> searched_tokens(store::Store& store, const interchange::Dataset& evaluated,
                                              const config::SearchRun& run) {
  const auto scores = store.scores(run.prm, run.label, kEvaluation);
  std::map<std::string, Tokens> by_problem;
  for (const auto& record : evaluated.problems) {
    auto& tokens = by_problem[record.problem_id];
    tokens.count = 1;
    for (const auto& response : record.responses) tokens.policy += response.completion_tokens;
    for (std::int64_t i = 0; i < run.n; ++i)
      tokens.verifier +=
          static_cast<double>(scores.at(store::response_id(run.label, kEvaluation, record.problem_id, i)).scored_tokens);
  }
  return by_problem;
}

// The sampled pools' cell of (policy, PRM, reduction), and the index of budget n; null when the
// analysis has no such cell or budget.
const analysis::CellResult* sampled_cell(const analysis::Analysis& sampled, const std::string& policy,
                                         const std::string& prm, aggregation::Reduction reduction) {
  for (const auto& cell : sampled.cells)
    if (cell.policy == policy && cell.prm == prm && cell.reduction == reduction) return &cell;
  return nullptr;
}

std::size_t budget_index(const analysis::Analysis& a, std::int64_t n) {
  for (std::size_t b = 0; b < a.settings.budgets.size(); ++b)
    if (a.settings.budgets[b] == static_cast<std::uint32_t>(n)) return b;
  return static_cast<std::size_t>(-1);
}

}  // namespace

Tokens mean_tokens(const std::map<std::string, Tokens>& by_problem, const std::set<std::string>* only) {
  Tokens sum;
  for (const auto& [problem, tokens] : by_problem)
    if (!only || only->count(problem))
      sum.policy += tokens.policy, sum.verifier += tokens.verifier, sum.count += tokens.count;
  if (sum.count == 0) return {NAN, NAN, 0};
  return {sum.policy / sum.count, sum.verifier / sum.count, sum.count};
}

std::map<std::string, Tokens> sampled_tokens(store::Store& store, const std::string& policy, const std::string& prm) {
  const auto scores = store.scores(prm, policy, kEvaluation);
  std::map<std::string, Tokens> by_problem;
  for (const auto& response : store.responses(policy, kEvaluation)) {
    const auto score = scores.find(response.id);
    if (score == scores.end()) continue;
    auto& tokens = by_problem[response.problem_id];
    tokens.policy += static_cast<double>(response.completion_tokens);
    tokens.verifier += static_cast<double>(score->second.scored_tokens);
    tokens.count += 1;
  }
  return by_problem;
}

analysis::Analysis analyze_search(const SearchOutcome& search, const aggregation::PolicyPool& evaluated,
                                  analysis::AnalysisSettings settings) {
  settings.budgets = {static_cast<std::uint32_t>(search.run.n)};
  std::vector<aggregation::PolicyPool> calibration;
  if (search.calibration.num_problems() > 0) calibration.push_back(search.calibration);
  return analysis::analyze({evaluated}, calibration, settings);
}

std::vector<SearchOutcome> analyze_searches(store::Store& store, const nlohmann::json& description,
                                            const analysis::AnalysisSettings& settings, bool separate_calibration) {
  std::vector<SearchOutcome> outcomes;
  // A pair's sampled pool is read once, however many searches it has.
  std::map<std::pair<std::string, std::string>, std::map<std::string, Tokens>> sampled_of_pair;
  for (const auto& run : stored_searches(description)) {
    const auto evaluated = search_dataset(store, run, kEvaluation);
    if (evaluated.problems.empty()) continue;
    std::vector<aggregation::PolicyPool> calibration;
    if (separate_calibration) {
      const auto calibrated = search_dataset(store, run, kCalibration);
      if (calibrated.problems.empty()) continue;
      calibration = interchange::build_pools(calibrated, answers::ExtractOptions{}, settings.threads);
    }
    SearchOutcome outcome;
    outcome.run = run;
    outcome.evaluated = std::move(interchange::build_pools(evaluated, answers::ExtractOptions{}, settings.threads).at(0));
    if (!calibration.empty()) outcome.calibration = std::move(calibration.at(0));
    try {
      outcome.analysis = analyze_search(outcome, outcome.evaluated, settings);
    } catch (const InputError&) {
      continue;  // too few complete problems yet (cross-fitting needs a problem per fold)
    }
    outcome.searched = searched_tokens(store, evaluated, run);
    auto pair_tokens = sampled_of_pair.find({run.policy, run.prm});
    if (pair_tokens == sampled_of_pair.end())
      pair_tokens =
          sampled_of_pair.emplace(std::make_pair(run.policy, run.prm), sampled_tokens(store, run.policy, run.prm)).first;
    outcome.sampled = pair_tokens->second;
    const auto searched = mean_tokens(outcome.searched), sampled = mean_tokens(outcome.sampled);
    outcome.policy_tokens = searched.policy, outcome.verifier_tokens = searched.verifier;
    outcome.sampled_policy_tokens = sampled.policy, outcome.sampled_verifier_tokens = sampled.verifier;
    outcomes.push_back(std::move(outcome));
  }
  return outcomes;
}

std::vector<SearchRow> best_of_n_rows(const analysis::Analysis& sampled, const std::string& policy,
                                      const std::string& prm, std::int64_t n, const Tokens& per_response) {
  std::vector<SearchRow> rows;
  const auto b = budget_index(sampled, n);
  if (b == static_cast<std::size_t>(-1)) return rows;
  const auto nb = sampled.settings.budgets.size();
  const double spent = static_cast<double>(n);
  for (const auto reduction : sampled.settings.reductions) {
    const auto* cell = sampled_cell(sampled, policy, prm, reduction);
    if (!cell) continue;
    for (std::size_t s = 0; s < sampled.settings.strategies.size(); ++s) {
      const auto k = s * nb + b;
      rows.push_back({policy, prm, "best_of_n", n, 0, 0, reduction, sampled.settings.strategies[s],
                      cell->accuracy.accuracy[k], cell->accuracy.ci_low[k], cell->accuracy.ci_high[k], 0,
                      spent * per_response.policy, spent * per_response.verifier});
    }
  }
  return rows;
}

std::vector<SearchRow> searched_rows(const config::SearchRun& run, const analysis::Analysis& a, const Tokens& per_problem) {
  std::vector<SearchRow> rows;
  for (const auto& cell : a.cells)
    for (std::size_t s = 0; s < a.settings.strategies.size(); ++s)
      rows.push_back({run.policy, run.prm, run.method, run.n, run.m, run.lookahead, cell.reduction,
                      a.settings.strategies[s], cell.accuracy.accuracy[s], cell.accuracy.ci_low[s],
                      cell.accuracy.ci_high[s], a.problems, per_problem.policy, per_problem.verifier});
  return rows;
}

std::vector<SearchRow> search_rows(const std::vector<SearchOutcome>& searches, const analysis::Analysis& sampled) {
  std::vector<SearchRow> rows;
  std::set<std::tuple<std::string, std::string, std::int64_t>> compared;  // (policy, PRM, n) given best_of_n rows
  const auto append = [&rows](std::vector<SearchRow> more) { rows.insert(rows.end(), more.begin(), more.end()); };
  for (const auto& search : searches) {
    const auto& run = search.run;
    append(searched_rows(run, search.analysis, {search.policy_tokens, search.verifier_tokens, 1}));
    if (compared.insert({run.policy, run.prm, run.n}).second)
      append(best_of_n_rows(sampled, run.policy, run.prm, run.n,
                            {search.sampled_policy_tokens, search.sampled_verifier_tokens, 1}));
  }
  return rows;
}

std::string search_csv_header() {
  return "policy,prm,method,n,m,lookahead,reduction,strategy,accuracy,ci_low,ci_high,problems,policy_tokens,"
         "verifier_tokens";
}

std::string search_csv_fields(const SearchRow& r) {
  const bool searched = r.method != "best_of_n";
  std::ostringstream out;
  out << r.policy << "," << r.prm << "," << r.method << "," << r.n << "," << (searched ? std::to_string(r.m) : "") << ","
      << (searched ? std::to_string(r.lookahead) : "") << "," << aggregation::name(r.reduction) << ","
      << aggregation::name(r.strategy) << "," << number(r.accuracy, 8) << "," << number(r.ci_low, 8) << ","
      << number(r.ci_high, 8) << "," << (searched ? std::to_string(r.problems) : "") << "," << number(r.policy_tokens, 8)
      << "," << number(r.verifier_tokens, 8);
  return out.str();
}

std::string search_csv(const std::vector<SearchRow>& rows) {
  std::string out = search_csv_header() + "\n";
  for (const auto& r : rows) out += search_csv_fields(r) + "\n";
  return out;
}

nlohmann::json search_row_json(const SearchRow& r) {
  // JSON has no NaN: an unknown number is null.
  const auto value = [](double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); };
  return {{"policy", r.policy}, {"prm", r.prm}, {"method", r.method}, {"n", r.n}, {"m", r.m},
          {"lookahead", r.lookahead}, {"reduction", std::string(aggregation::name(r.reduction))},
          {"strategy", std::string(aggregation::name(r.strategy))}, {"accuracy", value(r.accuracy)},
          {"ci_low", value(r.ci_low)}, {"ci_high", value(r.ci_high)},
          {"tokens", value(r.policy_tokens + r.verifier_tokens)}, {"policy_tokens", value(r.policy_tokens)},
          {"verifier_tokens", value(r.verifier_tokens)}};
}

nlohmann::json search_json(const std::vector<SearchRow>& rows) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : rows) out.push_back(search_row_json(r));
  return out;
}

std::string search_markdown(const std::vector<SearchOutcome>& searches, const analysis::Analysis& sampled) {
  if (searches.empty()) return "";
  const auto& reductions = searches.front().analysis.settings.reductions;
  const auto reduction = std::find(reductions.begin(), reductions.end(), aggregation::Reduction::last) != reductions.end()
                             ? aggregation::Reduction::last
                             : reductions.front();
  const std::vector<aggregation::Strategy> shown = {aggregation::Strategy::majority, aggregation::Strategy::best_of_n,
                                                    aggregation::Strategy::weighted};
  std::ostringstream out;
  out << "## Step-level search\n\nAccuracy at budget n (n leaves of a search, or n sampled responses for best_of_n), "
      << "step scores reduced by `" << aggregation::name(reduction) << "`; tokens per problem: every token the policy "
      << "generated (pruned candidates and lookahead included) and every token the PRM read. search.csv has every "
      << "strategy, reduction and 95% interval.\n\n| policy | PRM | n | method |";
  for (const auto s : shown) out << " " << aggregation::name(s) << " |";
  out << " policy tokens | PRM tokens |\n|---|---|---:|---|";
  for (std::size_t i = 0; i < shown.size(); ++i) out << "---:|";
  out << "---:|---:|\n";
  auto cells = [&](const analysis::Analysis& a, const analysis::CellResult& cell, std::size_t budget) {
    std::string text;
    for (const auto s : shown) {
      const auto k = a.strategy_index(s);
      text += " " + (k == static_cast<std::size_t>(-1) ? std::string("-")
                                                       : number(cell.accuracy.accuracy[k * a.settings.budgets.size() + budget], 3)) +
              " |";
    }
    return text;
  };
  std::set<std::tuple<std::string, std::string, std::int64_t>> compared;
  for (const auto& search : searches) {
    const auto& run = search.run;
    if (compared.insert({run.policy, run.prm, run.n}).second) {
      const auto b = budget_index(sampled, run.n);
      const auto* cell = sampled_cell(sampled, run.policy, run.prm, reduction);
      if (cell && b != static_cast<std::size_t>(-1))
        out << "| " << run.policy << " | " << run.prm << " | " << run.n << " | best_of_n |" << cells(sampled, *cell, b) << " "
            << number(run.n * search.sampled_policy_tokens, 4) << " | " << number(run.n * search.sampled_verifier_tokens, 4)
            << " |\n";
    }
    for (const auto& cell : search.analysis.cells)
      if (cell.reduction == reduction)
        out << "| " << run.policy << " | " << run.prm << " | " << run.n << " | " << run.method << " (m = " << run.m
            << (run.lookahead ? ", lookahead " + std::to_string(run.lookahead) : "") << ") |"
            << cells(search.analysis, cell, 0) << " " << number(search.policy_tokens, 4) << " | "
            << number(search.verifier_tokens, 4) << " |\n";
  }
  return out.str();
}

}  // namespace quorum::sweep
