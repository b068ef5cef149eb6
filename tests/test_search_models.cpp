// Step-level search over the shipped models (runtime/model/search_models.h): the policy writes
// the arithmetic task's steps, the PRM scores them.
#include <catch2/catch.hpp>

#include <algorithm>

#include "runtime/model/search_models.h"
#include "runtime/task/arithmetic.h"

using namespace quorum;

namespace {

std::string shipped_model(const char* name) { return std::string(QUORUM_TEST_DATA) + "/../../models/" + name; }

model::SearchModels shipped_search_models(std::size_t batch_size, bool checker = false,
                                          model::PathCaches caches = model::PathCaches::kept) {
  config::PolicySpec policy;
  policy.name = "policy-medium", policy.path = shipped_model("policy-medium"), policy.device = "cpu";
  policy.max_new_tokens = 96;
  config::PrmSpec prm;
  prm.name = "prm-small", prm.path = shipped_model("prm-small"), prm.device = "cpu";
  if (checker) prm = {}, prm.name = "checker", prm.kind = "checker";
  return model::SearchModels(policy, prm, batch_size, caches);
}

search::SearchSettings settings_of(search::Method method, std::int64_t n, std::int64_t m, std::int64_t lookahead = 0) {
  search::SearchSettings settings;
  settings.method = method, settings.n = n, settings.m = m, settings.lookahead = lookahead;
  settings.max_steps = 12, settings.max_tokens = 96;
  return settings;
}

}  // namespace

TEST_CASE("searches over the shipped policy and PRM return scored, separator-free steps", "[search][model]") {
  auto models = shipped_search_models(8);
  const auto problems = task::generate_set(2, 31, 3);
  for (const auto& settings : {settings_of(search::Method::best_of_n, 4, 1), settings_of(search::Method::beam_search, 4, 2),
                               settings_of(search::Method::dvts, 4, 2, 1)}) {
    INFO(search::method_name(settings.method));
    for (const auto& problem : problems) {
      const auto result = models.run(settings, 3, task::problem_text(problem));
      REQUIRE(result.leaves.size() == 4);
      std::int64_t leaf_tokens = 0;
      for (const auto& leaf : result.leaves) {
        REQUIRE(leaf.step_scores.size() == leaf.steps.size());
        for (const auto& step : leaf.steps) CHECK(step.find('\n') == std::string::npos);
        for (const auto score : leaf.step_scores) CHECK((score >= 0 && score <= 1));
        leaf_tokens += leaf.tokens;
      }
      CHECK(result.verifier_tokens > 0);
      // The steps are the task's lines: the trained policy's leaves are mostly whole, right solutions.
      int solved = 0;
      for (const auto& leaf : result.leaves) {
        std::string text;
        for (const auto& step : leaf.steps) text += step + "\n";
        solved += task::check(problem, text).complete;
      }
      CHECK(solved >= 2);
      if (settings.method == search::Method::best_of_n) CHECK(result.policy_tokens == leaf_tokens);
      // The trained policy finishes its short chains well within the limits.
      CHECK(std::count_if(result.leaves.begin(), result.leaves.end(), [](const search::Leaf& l) { return l.finished; }) >= 3);
    }
  }
}

TEST_CASE("a search over models is the same at every batch size", "[search][model]") {
  const auto problem = task::problem_text(task::generate(3, 5, 2));
  const auto settings = settings_of(search::Method::beam_search, 8, 2, 1);
  const auto leaves = [&](std::size_t batch_size) {
    auto models = shipped_search_models(batch_size);
    std::vector<std::vector<std::string>> steps;
    for (const auto& leaf : models.run(settings, 17, problem).leaves) steps.push_back(leaf.steps);
    return steps;
  };
  const auto one = leaves(1);
  CHECK(one == leaves(8));
  CHECK(one == leaves(3));
}

TEST_CASE("a search keeping its paths' caches across rounds finds what one prefilling them every round does",
          "[search][model]") {
  // The kept keys and values were computed token by token while decoding, the recomputed ones
  // in one prefill: they agree to rounding (tests/test_generate.cpp checks them within 1e-5),
  // and on the shipped models no token is flipped by it, so the leaves are the same.
  auto kept = shipped_search_models(8, false, model::PathCaches::kept);
  auto recomputed = shipped_search_models(8, false, model::PathCaches::recomputed);
  const auto problems = task::generate_set(3, 23, 2);
  for (const auto& settings : {settings_of(search::Method::beam_search, 8, 2, 1), settings_of(search::Method::dvts, 8, 4)}) {
    INFO(search::method_name(settings.method));
    for (const auto& problem : problems) {
      const auto text = task::problem_text(problem);
      const auto kept_before = kept.prefilled_tokens(), recomputed_before = recomputed.prefilled_tokens();
      const auto a = kept.run(settings, 29, text), b = recomputed.run(settings, 29, text);
      REQUIRE(a.leaves.size() == b.leaves.size());
      for (std::size_t i = 0; i < a.leaves.size(); ++i) {
        CHECK(a.leaves[i].steps == b.leaves[i].steps);
        CHECK(a.leaves[i].step_scores == b.leaves[i].step_scores);
        CHECK(a.leaves[i].tokens == b.leaves[i].tokens);
      }
      // Accounting counts generated tokens only, however the prefixes were had.
      CHECK(a.policy_tokens == b.policy_tokens);
      CHECK(a.verifier_tokens == b.verifier_tokens);
      CHECK(a.rounds == b.rounds);
      CHECK(a.rounds > 1);
      // After the first round only each parent's last token is prefilled (once for its
      // siblings): one token per kept parent and per lookahead rollout step.
      const auto prompt = static_cast<std::int64_t>(kept.prompt_tokens(text));
      const auto kept_prefilled = kept.prefilled_tokens() - kept_before;
      const auto recomputed_prefilled = recomputed.prefilled_tokens() - recomputed_before;
      CHECK(kept_prefilled > prompt);
      CHECK(kept_prefilled < recomputed_prefilled);
      CHECK(kept_prefilled - prompt <= a.policy_tokens);
    }
  }
}

TEST_CASE("with the task's checker as verifier, beam search at n solves at least what best-of-N at n does",
          "[search][model]") {
  // The shipped medium policy on level-3 problems, whose whole responses are often wrong; the
  // best-scored leaf (the first of the top score) is the method's answer.
  auto models = shipped_search_models(8, true);
  int best_of_n = 0, beam = 0;
  const auto problems = task::generate_set(3, 41, 12);
  for (std::size_t i = 0; i < problems.size(); ++i) {
    const auto text = task::problem_text(problems[i]);
    const auto solved = [&](const search::SearchSettings& settings) {
      const auto result = models.run(settings, i, text);
      const search::Leaf* best = &result.leaves.front();
      for (const auto& leaf : result.leaves)
        if (leaf.step_scores.back() > best->step_scores.back()) best = &leaf;
      std::string response;
      for (const auto& step : best->steps) response += step + "\n";
      CHECK(result.verifier_tokens == 0);
      return task::check(problems[i], response).complete ? 1 : 0;
    };
    best_of_n += solved(settings_of(search::Method::best_of_n, 8, 1));
    beam += solved(settings_of(search::Method::beam_search, 8, 2));
  }
  INFO("solved of " << problems.size() << ": best-of-N " << best_of_n << ", beam search " << beam);
  CHECK(beam >= best_of_n);
  CHECK(beam > 0);
}
