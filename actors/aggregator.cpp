#include "actors/aggregator.h"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "actors/handoff.h"
#include "actors/messages.h"
#include "runtime/aggregation/strategy.h"
#include "runtime/answers/answer.h"
#include "runtime/common/error.h"
#include "runtime/store/store.h"
#include "runtime/sweep/results.h"

namespace quorum::actors {
namespace {

// Credit of the class with the largest total weight: 1 if it is correct, 1/k for a k-way tie
// that includes the correct class (the convention of docs/aggregation.md).
double vote_credit(const std::vector<int>& classes, const std::vector<double>& weights, const std::vector<bool>& correct) {
  std::map<int, double> totals;
  for (std::size_t i = 0; i < classes.size(); ++i)
    if (classes[i] >= 0) totals[classes[i]] += weights[i];
  if (totals.empty()) return 0;
  double best = -1e300;
  for (const auto& [c, total] : totals) best = std::max(best, total);
  int winners = 0;
  bool correct_wins = false;
  for (const auto& [c, total] : totals)
    if (total == best) {
      ++winners;
      for (std::size_t i = 0; i < classes.size(); ++i)
        if (classes[i] == c && correct[i]) correct_wins = true;
    }
  return correct_wins ? 1.0 / winners : 0.0;
}

void tally(AggregatorState::Tally& t, const nlohmann::json& problem) {
  const auto gold = problem.at("gold").get<std::string>();
  std::vector<answers::Answer> parsed;
  std::vector<bool> correct;
  std::vector<double> ones, scores;
  for (const auto& r : problem.at("responses")) {
    const auto answer = r.at("answer").is_null() ? std::string() : r.at("answer").get<std::string>();
    parsed.push_back(answers::Answer::parse(answer));
    correct.push_back(!answer.empty() && answers::equivalent(gold, answer));
    const auto steps = r.at("scores").get<std::vector<float>>();
    scores.push_back(steps.empty() ? 0.0 : aggregation::reduce(aggregation::Reduction::min, steps.data(), steps.size()));
    ones.push_back(1.0);
  }
  const auto classes = answers::group_classes(parsed);
  t.problems += 1;
  t.majority += vote_credit(classes, ones, correct);
  t.weighted += vote_credit(classes, scores, correct);
  // Best-of-N: the class of the single highest-scored response.
  std::vector<double> top(scores.size(), 0.0);
  if (!scores.empty()) {
    const double best = *std::max_element(scores.begin(), scores.end());
    for (std::size_t i = 0; i < scores.size(); ++i) top[i] = scores[i] == best ? 1.0 : 0.0;
  }
  t.best_of_n += vote_credit(classes, top, correct);
}

std::string standing_text(const AggregatorState& state) {
  std::string text;
  for (const auto& [pair, t] : state.pairs) {
    if (t.problems == 0) continue;
    const std::pair<const char*, double> options[] = {
        {"majority", t.majority}, {"weighted", t.weighted}, {"best_of_n", t.best_of_n}};
    const auto* lead = &options[0];
    for (const auto& o : options)
      if (o.second > lead->second) lead = &o;
    char line[256];
    std::snprintf(line, sizeof line, "  %s x %s: accuracy at N=max over %zu problems: %s %.3f", pair.first.c_str(),
                  pair.second.c_str(), t.problems, lead->first, lead->second / t.problems);
    text += line;
    if (lead != &options[0]) {
      std::snprintf(line, sizeof line, " (majority %.3f)", t.majority / t.problems);
      text += line;
    }
    text += "\n";
  }
  return text;
}

}  // namespace

caf::behavior aggregator(caf::stateful_actor<AggregatorState>* self, std::string store_path) {
  handoff::started();
  return {
      [self](scored_atom, const std::string& message) {
        handoff::received(self->id());
        const auto j = nlohmann::json::parse(message);
        auto& t = self->state.pairs[{j.at("policy").get<std::string>(), j.at("prm").get<std::string>()}];
        for (const auto& problem : j.at("problems")) tally(t, problem);
      },
      // Replies: a string, or an error (CAF's error response) when the report cannot be written.
      [self](standing_atom) -> caf::message {
        handoff::received(self->id());
        return handoff::message_to(self->current_sender(), standing_text(self->state));
      },
      [self, store_path](report_atom, int refresh_seconds) -> caf::message {
        handoff::received(self->id());
        try {
          store::Store store(store_path);
          const auto summary = sweep::write_report(store, "", refresh_seconds);
          return handoff::message_to(self->current_sender(), summary.directory);
        } catch (const std::exception& e) {
          return handoff::message_to(self->current_sender(), caf::make_error(caf::sec::runtime_error, e.what()));
        }
      },
  };
}

}  // namespace quorum::actors
