// Properties of the budget sweep on random pools, and its reproducibility.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "pool_builder.h"
#include "runtime/aggregation/bootstrap.h"
#include "runtime/aggregation/draws.h"
#include "runtime/aggregation/sweep.h"

using namespace quorum::aggregation;
using quorum::testing::HandProblem;
using quorum::testing::hand_pool;

namespace {

// Problems with `responses` responses over up to 5 classes, class 0 correct, scores from a
// fixed generator; score_of lets a test tie the score to correctness.
template <class ScoreOf>
PolicyPool random_pool(int problems, int responses, std::uint64_t seed, ScoreOf score_of) {
  std::vector<HandProblem> hand;
  std::uint64_t state = seed;
  auto next = [&] { return (state = splitmix64(state)) >> 11; };
  for (int j = 0; j < problems; ++j) {
    HandProblem problem{{}, {0}, 5};
    for (int i = 0; i < responses; ++i) {
      int cls = static_cast<int>(next() % 6) - 1;  // -1 .. 4, -1 abstains
      const double u = (next() % 1000) / 1000.0;
      problem.responses.push_back({cls, static_cast<float>(score_of(cls, u))});
    }
    hand.push_back(problem);
  }
  return hand_pool(hand);
}

SignalTable plain_signals(const PolicyPool& pool) {
  const auto& scores = pool.step_scores[0].values;
  SignalTable signals(scores.size(), 1);
  for (std::size_t r = 0; r < scores.size(); ++r) {
    ResponseSignal s;
    s.p = scores[r];
    s.logit = clamped_logit(scores[r]);
    s.q = 0.5;
    signals.set(r, 0, s);
  }
  return signals;
}

CellAccuracy sweep_one(const PolicyPool& pool, const SweepSettings& settings) {
  SweepInputs inputs{1, plain_signals(pool), std::vector<VoteParams>(pool.num_problems())};
  return sweep_cells(pool, inputs, settings).front();
}

SweepSettings settings_for(std::vector<std::uint32_t> budgets) {
  SweepSettings settings;
  settings.budgets = std::move(budgets);
  settings.strategies = all_strategies();
  settings.draws = 50;
  settings.seed = 3;
  settings.bootstrap_resamples = 200;
  settings.threads = 2;
  return settings;
}

std::size_t index(Strategy s) { return static_cast<std::size_t>(s); }

}  // namespace

TEST_CASE("when every weight is equal, weighted equals majority", "[sweep]") {
  const auto pool = random_pool(40, 16, 1, [](int, double) { return 0.7; });
  const auto settings = settings_for({1, 2, 4, 8, 16});
  const auto cell = sweep_one(pool, settings);
  const std::size_t nb = settings.budgets.size();
  for (std::size_t k = 0; k < nb * 40; ++k)
    REQUIRE(cell.per_problem[index(Strategy::weighted) * nb * 40 + k] ==
            cell.per_problem[index(Strategy::majority) * nb * 40 + k]);
}

TEST_CASE("when the score equals correctness, best_of_n equals oracle", "[sweep]") {
  const auto pool = random_pool(40, 16, 2, [](int cls, double) { return cls == 0 ? 1.0 : 0.0; });
  const auto settings = settings_for({1, 2, 4, 8, 16});
  const auto cell = sweep_one(pool, settings);
  const std::size_t nb = settings.budgets.size();
  for (std::size_t k = 0; k < nb * 40; ++k)
    REQUIRE(cell.per_problem[index(Strategy::best_of_n) * nb * 40 + k] ==
            cell.per_problem[index(Strategy::oracle) * nb * 40 + k]);
}

TEST_CASE("at budget N_max every draw is the full pool", "[sweep]") {
  std::vector<std::uint16_t> order(16);
  std::vector<std::uint64_t> keys;
  for (int d = 0; d < 20; ++d) {
    draw_permutation(stream_key(5, Stream::evaluation), 3, d, 16, 16, order.data(), keys);
    REQUIRE(std::set<int>(order.begin(), order.end()).size() == 16);
  }
  // So every draw gives the same credit: per-problem accuracy is the full-pool vote's credit,
  // a multiple of 1/k for some k <= 5 tied classes, never an average of different draws.
  const auto pool = random_pool(30, 16, 4, [](int, double u) { return u; });
  const auto settings = settings_for({4, 16});
  const auto cell = sweep_one(pool, settings);
  const auto signals = plain_signals(pool);
  for (auto s : {Strategy::majority, Strategy::weighted, Strategy::best_of_n}) {
    for (std::size_t j = 0; j < 30; ++j) {
      DrawState state;
      state.reset(pool.class_correct.data() + pool.class_offsets[j], pool.num_classes(j));
      for (auto r = pool.response_offsets[j]; r < pool.response_offsets[j + 1]; ++r)
        state.add(pool.answer_class[r], signals.row(r));
      REQUIRE(cell.per_problem[(index(s) * 2 + 1) * 30 + j] == Approx(state.credit(s, {})).margin(1e-12));
    }
  }
}

TEST_CASE("draws are without replacement, seeded and reproducible", "[sweep]") {
  const auto pool = random_pool(30, 32, 6, [](int, double u) { return u; });
  auto settings = settings_for({1, 4, 32});
  const auto first = sweep_one(pool, settings);
  const auto again = sweep_one(pool, settings);
  CHECK(first.per_problem == again.per_problem);
  CHECK(first.ci_low == again.ci_low);
  settings.threads = 1;  // the thread count never changes a result
  CHECK(sweep_one(pool, settings).per_problem == first.per_problem);
  settings.seed = 4;
  CHECK(sweep_one(pool, settings).per_problem != first.per_problem);
}

TEST_CASE("oracle over many draws converges to the exact pass_at_n", "[sweep]") {
  const auto pool = random_pool(20, 12, 8, [](int, double u) { return u; });
  auto settings = settings_for({1, 3, 6});
  settings.draws = 4000;
  const auto cell = sweep_one(pool, settings);
  for (std::size_t b = 0; b < 3; ++b)
    CHECK(cell.accuracy[index(Strategy::oracle) * 3 + b] ==
          Approx(cell.accuracy[index(Strategy::pass_at_n) * 3 + b]).margin(0.01));
}

TEST_CASE("bootstrap intervals bracket the mean and NumPy-style quantiles", "[sweep]") {
  std::vector<double> values = {4, 1, 3, 2};
  CHECK(quantile(values, 0.25) == Approx(1.75));
  CHECK(quantile(values, 0.5) == Approx(2.5));
  CHECK(quantile(values, 1.0) == Approx(4.0));

  const auto pool = random_pool(60, 8, 9, [](int, double u) { return u; });
  const auto settings = settings_for({1, 8});
  const auto cell = sweep_one(pool, settings);
  for (std::size_t k = 0; k < cell.accuracy.size(); ++k) {
    CHECK(cell.ci_low[k] <= cell.accuracy[k] + 1e-12);
    CHECK(cell.ci_high[k] >= cell.accuracy[k] - 1e-12);
  }
  // A constant series has a zero-width interval.
  std::vector<double> constant(60, 0.25);
  const Bootstrap bootstrap(60, 100, 1);
  const auto interval = bootstrap.intervals(constant.data(), 1, 1).front();
  CHECK(interval.low == Approx(0.25));
  CHECK(interval.high == Approx(0.25));
}
