#include "runtime/interchange/verdicts.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace quorum::interchange {

std::vector<nlohmann::json> verdict_rows(const Dataset& dataset, const answers::ExtractOptions& extract,
                                         VerdictCounts* counted) {
  VerdictCounts counts;
  std::vector<nlohmann::json> rows;
  for (const auto& problem : dataset.problems) {
    ++counts.problems;
    const auto gold = answers::Answer::parse(problem.gold);
    // Classes as analyze forms them: answers in response order, abstentions left out.
    std::vector<std::optional<std::string>> answer_text(problem.responses.size());
    std::vector<std::optional<answers::Answer>> parsed(problem.responses.size());
    std::vector<answers::Answer> answered;
    std::vector<std::string> extraction(problem.responses.size());
    for (std::size_t i = 0; i < problem.responses.size(); ++i) {
      const auto& response = problem.responses[i];
      std::optional<std::string> answer = response.answer;
      if (answer) {
        extraction[i] = "given";
      } else {
        auto found = answers::extract(response.text, extract);
        answer = std::move(found.answer);
        extraction[i] = std::string(answers::rule_name(found.rule));
        if (found.rule == answers::ExtractionRule::pattern) {
          extraction[i] += " " + std::to_string(found.pattern + 1);
        }
      }
      if (answer) {
        parsed[i] = answers::Answer::parse(*answer);
        answered.push_back(*parsed[i]);
        answer_text[i] = std::move(answer);
      }
    }
    const auto classes = answers::group_classes(answered);
    std::size_t next_answered = 0;
    for (std::size_t i = 0; i < problem.responses.size(); ++i) {
      ++counts.responses;
      nlohmann::json row;
      row["policy"] = problem.policy;
      row["problem_id"] = problem.problem_id;
      row["response"] = i;
      row["gold"] = problem.gold;
      row["normalized_gold"] = gold.normalized();
      row["extraction"] = extraction[i];
      if (parsed[i]) {
        ++counts.answered;
        const auto verdict = gold.compare(*parsed[i]);
        if (verdict.equivalent) ++counts.correct;
        row["answer"] = *answer_text[i];
        row["normalized_answer"] = parsed[i]->normalized();
        row["class"] = classes[next_answered++];
        row["correct"] = verdict.equivalent;
        row["rule"] = verdict.rule;
      } else {
        row["answer"] = nullptr;
        row["normalized_answer"] = nullptr;
        row["class"] = -1;
        row["correct"] = false;
        row["rule"] = "no answer";
      }
      rows.push_back(std::move(row));
    }
  }
  if (counted) *counted = counts;
  return rows;
}

void write_verdict_lines(const std::vector<nlohmann::json>& rows, std::ostream& out) {
  for (const auto& row : rows) out << row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

VerdictCounts write_verdicts(const Dataset& dataset, const answers::ExtractOptions& extract, std::ostream& out) {
  VerdictCounts counts;
  write_verdict_lines(verdict_rows(dataset, extract, &counts), out);
  return counts;
}

}  // namespace quorum::interchange
