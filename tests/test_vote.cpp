// Hand-computed expectations for every strategy on single draws.
#include <catch2/catch.hpp>

#include <cmath>

#include "runtime/aggregation/sweep.h"
#include "runtime/aggregation/vote.h"

using namespace quorum::aggregation;

namespace {

ResponseSignal signal_of(double p, double llr = 0.0, double q = 0.5) {
  ResponseSignal s;
  s.p = p;
  s.logit = clamped_logit(p);
  s.llr = llr;
  s.q = q;
  return s;
}

void add_one(DrawState& state, std::int32_t cls, const ResponseSignal& signal) {
  const double row[] = {signal.p, signal.logit, signal.llr, signal.q};  // one cell's table row
  state.add(cls, row);
}

}  // namespace

TEST_CASE("every strategy on one hand-computed draw", "[vote]") {
  // Classes: A (0, correct), B (1), C (2). Responses: A 0.9, B 0.6, B 0.5, C 0.2.
  const std::uint8_t correct[] = {1, 0, 0};
  DrawState state;
  state.reset(correct, 3);
  add_one(state, 0, signal_of(0.9, 1.0));
  add_one(state, 1, signal_of(0.6, -0.5));
  add_one(state, 1, signal_of(0.5, -0.5));
  add_one(state, 2, signal_of(0.2, 0.0));
  VoteParams vanilla;                // b = 0 and logit(b) = logit(0.5) = 0
  VoteParams offset{0.5, 0.0};

  CHECK(state.credit(Strategy::majority, vanilla) == 0.0);   // B has two responses
  CHECK(state.credit(Strategy::best_of_n, vanilla) == 1.0);  // A holds 0.9
  CHECK(state.credit(Strategy::weighted, vanilla) == 0.0);   // A 0.9 < B 1.1
  CHECK(state.credit(Strategy::linear_wv, vanilla) == 0.0);  // b = 0 is the weighted vote
  CHECK(state.credit(Strategy::linear_wv, offset) == 1.0);   // A 0.4 > B 0.1 > C -0.3
  // logit: A 2.197, B 0.405 + 0, C -1.386
  CHECK(state.credit(Strategy::logit_wv, vanilla) == 1.0);
  // logit(b) = 1.0: A 1.197, B -1.595, C -2.386: still A
  CHECK(state.credit(Strategy::logit_wv, VoteParams{0.0, 1.0}) == 1.0);
  // kde: q = 0.5, m = 3: prior log(0.5*2/0.5) = log 2. A 1 + log2, B -1 + 2 log2, C log2.
  CHECK(state.credit(Strategy::kde_wv, vanilla) == 1.0);
  CHECK(state.credit(Strategy::oracle, vanilla) == 1.0);
}

TEST_CASE("kde_wv: a large prior term turns it into a majority vote", "[vote]") {
  const std::uint8_t correct[] = {1, 0};
  DrawState state;
  state.reset(correct, 2);
  // q = 0.99: prior log(0.99 * 1 / 0.01) = 4.6 per response outweighs llr differences.
  add_one(state, 0, signal_of(0.9, 2.0, 0.99));
  add_one(state, 1, signal_of(0.3, -1.0, 0.99));
  add_one(state, 1, signal_of(0.3, -1.0, 0.99));
  CHECK(state.credit(Strategy::kde_wv, {}) == 0.0);  // A 2 + 4.6 < B -2 + 9.2
  // q = 0.2: prior log(0.2/0.8) = -1.39 per response: each extra response counts against.
  DrawState low;
  low.reset(correct, 2);
  add_one(low, 0, signal_of(0.9, 2.0, 0.2));
  add_one(low, 1, signal_of(0.3, -1.0, 0.2));
  add_one(low, 1, signal_of(0.3, -1.0, 0.2));
  CHECK(low.credit(Strategy::kde_wv, {}) == 1.0);
}

TEST_CASE("ties are credited fractionally", "[vote]") {
  const std::uint8_t correct[] = {1, 0, 0};
  DrawState state;
  state.reset(correct, 3);
  add_one(state, 0, signal_of(0.7));
  add_one(state, 1, signal_of(0.7));
  CHECK(state.credit(Strategy::majority, {}) == 0.5);
  CHECK(state.credit(Strategy::best_of_n, {}) == 0.5);
  CHECK(state.credit(Strategy::weighted, {}) == 0.5);
  add_one(state, 2, signal_of(0.7));
  CHECK(state.credit(Strategy::majority, {}) == Approx(1.0 / 3.0));
  // A correct class that does not tie for the top gets nothing.
  add_one(state, 1, signal_of(0.1));
  CHECK(state.credit(Strategy::majority, {}) == 0.0);
}

TEST_CASE("responses without an answer abstain", "[vote]") {
  const std::uint8_t correct[] = {1};
  DrawState state;
  state.reset(correct, 1);
  add_one(state, -1, signal_of(0.99));
  CHECK(state.credit(Strategy::majority, {}) == 0.0);
  CHECK(state.credit(Strategy::best_of_n, {}) == 0.0);
  CHECK(state.credit(Strategy::oracle, {}) == 0.0);
  add_one(state, 0, signal_of(0.1));
  CHECK(state.credit(Strategy::best_of_n, {}) == 1.0);
  CHECK(state.drawn() == 2);
}

TEST_CASE("a positive offset b gives low scores negative weight: they vote against their answer", "[vote]") {
  // w = p - b with b = 0.5. A: one response at 0.2 (w = -0.3). B: three at 0.3 (w = -0.6).
  // The weighted vote follows the mass (B); with negative weights more low-scored support
  // is more evidence against, so A wins.
  const std::uint8_t correct[] = {1, 0};
  DrawState state;
  state.reset(correct, 2);
  add_one(state, 0, signal_of(0.2));
  for (int i = 0; i < 3; ++i) add_one(state, 1, signal_of(0.3));
  CHECK(state.credit(Strategy::weighted, {}) == 0.0);
  CHECK(state.credit(Strategy::linear_wv, VoteParams{0.5, 0.0}) == 1.0);
  CHECK(state.credit(Strategy::linear_wv, VoteParams{-0.5, 0.0}) == 0.0);  // all weights positive
  // logit_wv with b = 0.5 (offset 0): logit(0.2) = -1.39 > 3 logit(0.3) = -2.54
  CHECK(state.credit(Strategy::logit_wv, VoteParams{0.0, 0.0}) == 1.0);
}

TEST_CASE("pass_at_n is the exact coverage of draws without replacement", "[vote]") {
  CHECK(pass_at_n(4, 1, 2) == Approx(0.5));          // 1 - C(3,2)/C(4,2)
  CHECK(pass_at_n(10, 3, 3) == Approx(1.0 - 35.0 / 120.0));
  CHECK(pass_at_n(5, 0, 5) == 0.0);
  CHECK(pass_at_n(5, 1, 5) == 1.0);
  CHECK(pass_at_n(8, 6, 3) == 1.0);                   // fewer than 3 incorrect
}
