#include "runtime/interchange/pools.h"

#include <cmath>
#include <map>

#include "runtime/common/error.h"
#include "runtime/common/parallel.h"

namespace quorum::interchange {

namespace {

struct GroupedProblem {
  std::vector<std::int32_t> answer_class;
  std::vector<std::uint8_t> class_correct;
};

GroupedProblem group_answers(const ProblemRecord& problem, const answers::ExtractOptions& extract) {
  const auto gold = answers::Answer::parse(problem.gold);
  std::vector<answers::Answer> parsed;
  std::vector<std::size_t> parsed_response;  // response index of each parsed answer
  for (std::size_t i = 0; i < problem.responses.size(); ++i) {
    const auto& response = problem.responses[i];
    auto answer = response.answer ? response.answer : answers::extract_answer(response.text, extract);
    if (!answer) continue;
    parsed.push_back(answers::Answer::parse(*answer));
    parsed_response.push_back(i);
  }
  GroupedProblem grouped;
  grouped.answer_class.assign(problem.responses.size(), -1);
  const auto classes = answers::group_classes(parsed);
  std::int32_t class_count = 0;
  for (std::size_t k = 0; k < parsed.size(); ++k) {
    grouped.answer_class[parsed_response[k]] = classes[k];
    if (classes[k] == class_count) {  // first member: the class's representative
      grouped.class_correct.push_back(parsed[k].equivalent_to(gold));
      ++class_count;
    }
  }
  return grouped;
}

}  // namespace

std::vector<aggregation::PolicyPool> build_pools(const Dataset& dataset,
                                                 const answers::ExtractOptions& extract,
                                                 int threads) {
  std::vector<GroupedProblem> grouped(dataset.problems.size());
  parallel_for(dataset.problems.size(), threads,
               [&](std::size_t p, int) { grouped[p] = group_answers(dataset.problems[p], extract); });

  std::vector<aggregation::PolicyPool> pools;
  std::map<std::string, std::size_t> pool_of_policy;
  for (std::size_t p = 0; p < dataset.problems.size(); ++p) {
    const auto& problem = dataset.problems[p];
    auto [it, added] = pool_of_policy.emplace(problem.policy, pools.size());
    if (added) {
      pools.emplace_back();
      auto& pool = pools.back();
      pool.policy = problem.policy;
      pool.response_offsets = {0};
      pool.class_offsets = {0};
      for (const auto& [prm, scores] : problem.responses.front().scores) {
        pool.step_scores.push_back({prm, {0}, {}});
      }
    }
    auto& pool = pools[it->second];
    pool.problem_ids.push_back(problem.problem_id);
    for (std::size_t i = 0; i < problem.responses.size(); ++i) {
      const auto& response = problem.responses[i];
      pool.answer_class.push_back(grouped[p].answer_class[i]);
      pool.sampled_tokens.push_back(response.completion_tokens);
      pool.scored_tokens.push_back(response.prompt_tokens + response.completion_tokens);
      for (auto& steps : pool.step_scores) {
        const auto& scores = response.scores.at(steps.prm);
        steps.values.insert(steps.values.end(), scores.begin(), scores.end());
        steps.offsets.push_back(static_cast<std::uint32_t>(steps.values.size()));
      }
    }
    pool.response_offsets.push_back(static_cast<std::uint32_t>(pool.answer_class.size()));
    pool.class_correct.insert(pool.class_correct.end(), grouped[p].class_correct.begin(),
                              grouped[p].class_correct.end());
    pool.class_offsets.push_back(static_cast<std::uint32_t>(pool.class_correct.size()));
  }
  // Token costs are all or nothing: a partly known cost would bias the savings in tokens.
  for (auto& pool : pools) {
    for (double t : pool.scored_tokens)
      if (std::isnan(t)) {
        pool.sampled_tokens.clear();
        pool.scored_tokens.clear();
        break;
      }
  }
  return pools;
}

std::map<std::string, std::set<std::string>> problem_levels(const Dataset& dataset) {
  std::map<std::string, const ProblemRecord*> first;  // problem id -> the first row giving its level
  std::map<std::string, std::set<std::string>> levels;
  for (const auto& problem : dataset.problems) {
    if (problem.level.empty()) continue;
    const auto [it, fresh] = first.emplace(problem.problem_id, &problem);
    if (!fresh && it->second->level != problem.level)
      throw InputError(problem.file, problem.line, "level",
                       "problem '" + problem.problem_id + "' is level " + problem.level + " here but " +
                           it->second->level + " at " + it->second->file + ":" + std::to_string(it->second->line));
    levels[problem.level].insert(problem.problem_id);
  }
  return levels;
}

}  // namespace quorum::interchange
