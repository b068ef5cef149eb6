// Calibration: the grid searches find the offsets the data call for, the KDE ratio has the
// right sign, and savings interpolate on the budget grid.
#include <catch2/catch.hpp>

#include <cmath>

#include "pool_builder.h"
#include "runtime/analysis/analyze.h"
#include "runtime/calibration/calibration.h"

using namespace quorum;
using quorum::testing::HandProblem;
using quorum::testing::hand_pool;

namespace {

// Each problem: 3 correct responses scored high (0.8) and 9 wrong ones sharing one answer,
// scored low (0.3). Majority and the weighted vote (9 x 0.3 = 2.7 > 3 x 0.8 = 2.4) pick the
// wrong cluster.
aggregation::PolicyPool clustered_pool(int problems) {
  std::vector<HandProblem> hand;
  for (int j = 0; j < problems; ++j) {
    HandProblem problem{{}, {0}, 2};
    for (int i = 0; i < 3; ++i) problem.responses.push_back({0, 0.8f});
    for (int i = 0; i < 9; ++i) problem.responses.push_back({1, 0.3f});
    hand.push_back(problem);
  }
  return hand_pool(hand);
}

}  // namespace

TEST_CASE("linear and logit grid searches learn that low scores are evidence against", "[calibration]") {
  const auto pool = clustered_pool(20);
  const auto scores = aggregation::reduced_scores(pool, 0, aggregation::Reduction::last);
  calibration::CalibrationSettings settings;
  settings.budgets = {12};  // the full pool: the vote is deterministic
  settings.draws = 2;
  const auto credit = calibration::offset_credit(pool, {scores}, settings).front();
  const auto fit = calibration::fit(pool, scores, credit, std::vector<std::uint8_t>(20, 1));
  // Correct wins iff 3 (0.8 - b) > 9 (0.3 - b), i.e. b > 0.05. Ties at b = 0.05 are on the grid.
  CHECK(fit.linear_b > 0.05);
  CHECK(fit.linear_b == Approx(0.06));  // the winning b nearest the vanilla vote (b = 0)
  CHECK(fit.linear_accuracy[calibration::linear_grid().size() / 2] == 0.0);  // b = 0 loses
  // logit: 3 (1.386 - c) > 9 (-0.847 - c) iff c > -1.964, i.e. b > 0.123
  CHECK(fit.logit_b == Approx(0.5));  // the vanilla logit vote (c = 0) already wins
  CHECK(fit.q.at(0.85) > 0.6);
  CHECK(fit.q.at(0.3) < 0.4);
  REQUIRE(fit.kde.informative());
  CHECK(fit.weight(aggregation::Strategy::kde_wv, 0.8) > 0);
  CHECK(fit.weight(aggregation::Strategy::kde_wv, 0.3) < 0);
  CHECK(fit.weight(aggregation::Strategy::linear_wv, 0.03) < 0);
}

TEST_CASE("calibration uses only the problems it is given", "[calibration]") {
  const auto pool = clustered_pool(10);
  const auto scores = aggregation::reduced_scores(pool, 0, aggregation::Reduction::last);
  calibration::CalibrationSettings settings;
  settings.budgets = {12};
  const auto credit = calibration::offset_credit(pool, {scores}, settings).front();
  std::vector<std::uint8_t> use(10, 0);
  use[2] = use[7] = 1;
  const auto fit = calibration::fit(pool, scores, credit, use);
  CHECK(fit.problems == 2);
  CHECK(fit.responses == 24);
  CHECK(fit.correct_responses == 6);
}

TEST_CASE("a draw in which no response has an answer credits no offset", "[calibration]") {
  // One problem with three answered responses, one with four responses none of which is.
  // Without a guard the empty draw read a group that is not there: stale memory (NaN credit)
  // when the thread had grouped another draw before, address 0x14 (SIGSEGV) when it was the
  // thread's first, as in the coordinator crash of docs/reliability.md. Both orders, on one
  // thread (either comes first) and on one thread per problem (each is some thread's first).
  const bool unanswered_first = GENERATE(false, true);
  const int threads = GENERATE(1, 2);
  auto hand = std::vector<HandProblem>{{{}, {0}, 2}, {{}, {0}, 1}};
  for (int i = 0; i < 3; ++i) hand[unanswered_first].responses.push_back({0, 0.8f});
  for (int i = 0; i < 4; ++i) hand[!unanswered_first].responses.push_back({-1, 0.5f});
  const auto pool = hand_pool(hand);
  const auto scores = aggregation::reduced_scores(pool, 0, aggregation::Reduction::last);
  calibration::CalibrationSettings settings;
  settings.budgets = {1, 2, 3};
  settings.draws = 4;
  settings.threads = threads;
  const auto credit = calibration::offset_credit(pool, {scores}, settings).front();
  for (const auto& values : {credit.linear, credit.logit})
    for (const double v : values) CHECK(std::isfinite(v));
}

TEST_CASE("kde ratio is uninformative without both kinds of responses", "[calibration]") {
  const auto ratio = calibration::KdeRatio::fit({1.0, 2.0, 3.0}, {0.5});
  CHECK_FALSE(ratio.informative());
  CHECK(ratio.at(2.0) == 0.0);
}

TEST_CASE("folds keep a problem's fold and balance sizes", "[calibration]") {
  const auto pool = clustered_pool(23);
  const auto folds = analysis::assign_folds(pool, 5);
  std::vector<int> sizes(5, 0);
  for (int f : folds) ++sizes[f];
  for (int s : sizes) CHECK((s == 4 || s == 5));
  CHECK(analysis::assign_folds(pool, 5) == folds);
}

TEST_CASE("cross-fitted analysis never calibrates on the evaluated problem", "[calibration]") {
  // With 2 folds, each fold's fit must count exactly the problems of the other fold.
  const auto pool = clustered_pool(20);
  analysis::AnalysisSettings settings;
  settings.folds = 2;
  settings.draws = 5;
  settings.bootstrap_resamples = 10;
  settings.reductions = {aggregation::Reduction::last};
  const auto result = analysis::analyze({pool}, {}, settings);
  REQUIRE(result.cells.size() == 1);
  const auto& fits = result.cells[0].calibrations;
  REQUIRE(fits.size() == 2);
  const auto folds = analysis::assign_folds(pool, 2);
  for (int f = 0; f < 2; ++f) {
    std::size_t others = 0;
    for (int g : folds) others += g != f;
    CHECK(fits[f].problems == others);
  }
}

TEST_CASE("compute saving interpolates in log2 of the budget", "[calibration]") {
  const std::vector<std::uint32_t> budgets = {1, 2, 4, 8};
  const double accuracy[] = {0.1, 0.3, 0.5, 0.7};
  CHECK(analysis::budget_reaching(budgets, accuracy, 0.4) == Approx(std::exp2(1.5)));
  CHECK(analysis::budget_reaching(budgets, accuracy, 0.05) == 1.0);
  CHECK(analysis::budget_reaching(budgets, accuracy, 0.7) == Approx(8.0));
  CHECK(std::isnan(analysis::budget_reaching(budgets, accuracy, 0.71)));
}
