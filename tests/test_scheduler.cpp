// The lease scheduler (runtime/scheduler): every rule of which ready unit goes to which worker,
// without actors or sockets. The coordinator's end-to-end behaviour is tests/test_bus.cpp,
// test_run.cpp and test_faults.cpp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <stdexcept>

#include "runtime/scheduler/scheduler.h"

using namespace quorum::scheduler;

namespace {

constexpr std::uint64_t MB = 1 << 20;

// The leases of a dispatch as "worker:unit", and its releases as "worker-model", in order.
std::vector<std::string> steps(const std::vector<Action>& actions) {
  std::vector<std::string> out;
  for (const auto& a : actions)
    out.push_back(a.kind == Action::Kind::lease ? a.worker + ":" + a.unit : a.worker + "-" + a.model);
  return out;
}

std::string lease_of(const std::vector<Action>& actions, const std::string& unit) {
  for (const auto& a : actions)
    if (a.kind == Action::Kind::lease && a.unit == unit) return a.lease_id;
  FAIL("no lease of " << unit);
  return "";
}

// Units u<first>..u<first+count-1> needing `models`, all ready.
void ready_units(Scheduler& s, const std::string& prefix, int count, const std::vector<std::string>& models) {
  for (int k = 0; k < count; ++k) {
    s.add_unit(prefix + std::to_string(k), models);
    s.enqueue(prefix + std::to_string(k));
  }
}

}  // namespace

TEST_CASE("scheduler: a CUDA model goes only to a CUDA worker; one too big for every worker is never leased",
          "[scheduler]") {
  Scheduler s({{"policy/gpu", {100 * MB, true, 1}}, {"prm/big", {900 * MB, false, 1}}}, "e");
  ready_units(s, "g", 1, {"policy/gpu"});
  ready_units(s, "b", 1, {"prm/big"});
  CHECK(s.unrunnable().empty());  // no worker yet: nothing to say
  s.join("cpu", {false, 512 * MB, 0}, {});
  CHECK(s.dispatch().empty());
  const auto unrunnable = s.unrunnable();
  REQUIRE(unrunnable.size() == 2);
  CHECK(unrunnable[0].models == ModelSet{"policy/gpu"});
  CHECK(unrunnable[1].models == ModelSet{"prm/big"});
  CHECK(unrunnable[1].resident_bytes == 900 * MB);
  s.join("gpu", {true, 512 * MB, 0}, {});
  CHECK(steps(s.dispatch()) == std::vector<std::string>{"gpu:g0"});
  REQUIRE(s.unrunnable().size() == 1);  // still too big for both
  s.join("large", {false, 0, 0}, {});   // memory 0: no bound
  CHECK(steps(s.dispatch()) == std::vector<std::string>{"large:b0"});
  CHECK(s.unrunnable().empty());
}

TEST_CASE("scheduler: a worker runs at most its slots, and per model at most its replicas", "[scheduler]") {
  Scheduler s({{"policy/a", {MB, false, 2}}, {"prm/x", {MB, false, 1}}}, "e");
  ready_units(s, "a", 5, {"policy/a"});
  ready_units(s, "x", 3, {"prm/x"});
  SECTION("slots bound the leases out") {
    s.join("w", {false, 0, 2}, {"policy/a", "prm/x"});
    const auto first = s.dispatch();
    CHECK(first.size() == 2);
    CHECK(s.leases_out() == 2);
    CHECK(s.dispatch().empty());  // full: nothing more until a lease ends
    s.complete(first[0].lease_id);
    CHECK(s.dispatch().size() == 1);
    CHECK(s.leases_out() == 2);
  }
  SECTION("slots 0: one unit per replica of each model") {
    s.join("w", {false, 0, 0}, {"policy/a"});
    CHECK(steps(s.dispatch()) == std::vector<std::string>{"w:a0", "w:a1", "w:x0"});
    CHECK(s.dispatch().empty());
  }
}

TEST_CASE("scheduler: a worker takes the units of the models it holds first", "[scheduler]") {
  Scheduler s({{"policy/a", {MB, false, 1}}, {"prm/x", {MB, false, 1}}}, "e");
  ready_units(s, "a", 5, {"policy/a"});
  ready_units(s, "x", 1, {"prm/x"});
  s.join("w", {false, 0, 1}, {"prm/x"});
  // The policy's queue is longer, but the worker holds the PRM: no load.
  CHECK(steps(s.dispatch()) == std::vector<std::string>{"w:x0"});
}

TEST_CASE("scheduler: a worker holding nothing loads the model with the most ready units per holder",
          "[scheduler]") {
  Scheduler s({{"policy/a", {MB, false, 1}}, {"policy/b", {MB, false, 1}}}, "e");
  ready_units(s, "a", 4, {"policy/a"});
  ready_units(s, "b", 3, {"policy/b"});
  s.join("w1", {false, 0, 1}, {"policy/a"});
  s.join("w2", {false, 0, 1}, {});
  // w1 holds a: it takes a0. w2: a has 3 left for 1 holder (3/2), b 3 for none (3/1).
  CHECK(steps(s.dispatch()) == std::vector<std::string>{"w1:a0", "w2:b0"});
}

TEST_CASE("scheduler: a queue is first in, first out, and a lease taken back is next", "[scheduler]") {
  Scheduler s({{"policy/a", {MB, false, 1}}}, "e");
  ready_units(s, "u", 3, {"policy/a"});
  s.join("w", {false, 0, 1}, {});
  const auto first = s.dispatch();
  REQUIRE(steps(first) == std::vector<std::string>{"w:u0"});
  CHECK(first[0].lease_id == "u0@e.1");
  REQUIRE(s.lease(first[0].lease_id));
  CHECK(s.lease(first[0].lease_id)->worker == "w");
  CHECK(s.take_back(first[0].lease_id) == std::optional<std::string>("u0"));
  CHECK(s.lease(first[0].lease_id) == nullptr);
  CHECK_FALSE(s.take_back(first[0].lease_id));  // once only
  const auto again = s.dispatch();
  REQUIRE(steps(again) == std::vector<std::string>{"w:u0"});
  CHECK(again[0].lease_id == "u0@e.2");  // a new id: the old lease's result is late
  CHECK(s.complete(again[0].lease_id) == "u0");
  CHECK(steps(s.dispatch()) == std::vector<std::string>{"w:u1"});
}

TEST_CASE("scheduler: a unit is queued once, and a completed lease is not taken back", "[scheduler]") {
  Scheduler s({{"policy/a", {MB, false, 1}}}, "e");
  ready_units(s, "u", 1, {"policy/a"});
  CHECK_THROWS_WITH(s.enqueue("u0"), Catch::Contains("ready already"));
  s.join("w1", {false, 0, 1}, {});
  const auto lease = s.dispatch().at(0).lease_id;
  CHECK_THROWS_AS(s.enqueue("u0"), std::invalid_argument);  // leased
  s.complete(lease);
  CHECK_FALSE(s.take_back(lease));
  CHECK(s.ready_units() == 0);
  CHECK_THROWS_AS(s.enqueue("u0"), std::invalid_argument);  // done
}

TEST_CASE("scheduler: memory makes room by releasing idle models, those without ready work first", "[scheduler]") {
  Scheduler s({{"policy/a", {300 * MB, false, 1}},
                {"policy/b", {300 * MB, false, 1}},
                {"prm/x", {300 * MB, false, 1}},
                {"prm/y", {300 * MB, false, 1}}},
               "e");
  SECTION("the idle model without ready work goes first") {
    // a has ready work, which this CPU worker cannot run (it needs a CUDA model too).
    Scheduler with_gpu({{"policy/a", {300 * MB, false, 1}},
                        {"policy/b", {300 * MB, false, 1}},
                        {"prm/gpu", {10 * MB, true, 1}},
                        {"prm/y", {300 * MB, false, 1}}},
                       "e");
    ready_units(with_gpu, "ag", 1, {"policy/a", "prm/gpu"});
    with_gpu.add_unit("b0", {"policy/b"});
    ready_units(with_gpu, "y", 1, {"prm/y"});
    with_gpu.join("w", {false, 700 * MB, 1}, {"policy/a", "policy/b"});
    // y needs a or b gone: b, idle without ready work, though a comes first in order.
    CHECK(steps(with_gpu.dispatch()) == std::vector<std::string>{"w-policy/b", "w:y0"});
  }
  SECTION("a model with a lease out on the worker is never released; nothing is released in vain") {
    // a and x have units not ready yet (they must not be released as finished).
    s.add_unit("a0", {"policy/a"});
    s.add_unit("x0", {"prm/x"});
    ready_units(s, "b", 1, {"policy/b"});
    ready_units(s, "y", 1, {"prm/y"});
    s.join("w", {false, 600 * MB, 0}, {"policy/a"});
    // y (tied with b on ready units, the greater key) fits beside a; then b needs a or y gone:
    // y is leased, a is idle, so a goes.
    CHECK(steps(s.dispatch()) == std::vector<std::string>{"w:y0", "w-policy/a", "w:b0"});
    const auto held = s.held("w");
    REQUIRE(held);
    CHECK(*held == std::set<std::string>{"policy/b", "prm/y"});
    // x becomes ready, but both held models are leased: x cannot fit and nothing is released.
    s.enqueue("x0");
    CHECK(s.dispatch().empty());
    CHECK(*s.held("w") == std::set<std::string>{"policy/b", "prm/y"});
  }
}

TEST_CASE("scheduler: a worker releases the models no unit still to be done needs", "[scheduler]") {
  Scheduler s({{"policy/a", {MB, false, 1}}, {"prm/x", {MB, false, 1}}}, "e");
  s.add_unit("a0", {"policy/a"});
  s.enqueue("a0");
  s.add_unit("x0", {"prm/x"});  // waits for a0's samples
  s.join("w", {false, 0, 0}, {"prm/x", "policy/old"});  // a model of no sweep is not kept
  CHECK(*s.held("w") == std::set<std::string>{"prm/x"});
  const auto leased = s.dispatch();
  CHECK(steps(leased) == std::vector<std::string>{"w:a0"});  // x0 is not ready, but x is still needed
  s.complete(leased[0].lease_id);
  s.enqueue("x0");
  CHECK(steps(s.dispatch()) == std::vector<std::string>{"w:x0", "w-policy/a"});
}

TEST_CASE("scheduler: a unit needing two models goes only to a worker that can hold both", "[scheduler]") {
  Scheduler s({{"policy/p", {400 * MB, false, 1}}, {"prm/r", {300 * MB, false, 1}}, {"prm/gpu", {10 * MB, true, 1}}},
              "e");
  s.add_unit("search0", {"prm/r", "policy/p", "prm/r"});  // repeats count once
  s.enqueue("search0");
  SECTION("memory for each alone is not enough") {
    s.join("small", {false, 600 * MB, 0}, {});
    CHECK(s.dispatch().empty());
    const auto unrunnable = s.unrunnable();
    REQUIRE(unrunnable.size() == 1);
    CHECK(unrunnable[0].models == ModelSet{"policy/p", "prm/r"});
    CHECK(unrunnable[0].resident_bytes == 700 * MB);
    CHECK(model_set_text(unrunnable[0].models) == "policy/p + prm/r");
    s.join("big", {false, 700 * MB, 0}, {});
    const auto actions = s.dispatch();
    CHECK(steps(actions) == std::vector<std::string>{"big:search0"});
    CHECK(*s.held("big") == std::set<std::string>{"policy/p", "prm/r"});
  }
  SECTION("what it holds already counts, and idle models make room") {
    s.add_unit("g0", {"prm/gpu"});  // keeps prm/gpu needed, not ready
    // Holds the policy and an idle CUDA PRM: 410 MB of 705; the PRM r needs 300 more.
    s.join("w", {true, 705 * MB, 0}, {"policy/p", "prm/gpu"});
    CHECK(steps(s.dispatch()) == std::vector<std::string>{"w-prm/gpu", "w:search0"});
  }
  SECTION("one model needing CUDA makes the unit need a CUDA worker") {
    s.add_unit("both0", {"policy/p", "prm/gpu"});
    s.enqueue("both0");
    s.join("cpu", {false, 0, 0}, {});
    CHECK(steps(s.dispatch()) == std::vector<std::string>{"cpu:search0"});
    const auto unrunnable = s.unrunnable();
    REQUIRE(unrunnable.size() == 1);
    CHECK(unrunnable[0].models == ModelSet{"policy/p", "prm/gpu"});
  }
}

TEST_CASE("scheduler: a two-model unit takes a replica of each model", "[scheduler]") {
  Scheduler s({{"policy/p", {MB, false, 1}}, {"prm/r", {MB, false, 2}}}, "e");
  ready_units(s, "s", 3, {"policy/p", "prm/r"});
  ready_units(s, "r", 2, {"prm/r"});
  s.join("w", {false, 0, 0}, {"policy/p", "prm/r"});
  // s0 holds the policy's only replica and one of the PRM's two: one score unit fits beside it.
  CHECK(steps(s.dispatch()) == std::vector<std::string>{"w:s0", "w:r0"});
}

TEST_CASE("scheduler: a search no worker can hold alone is split - its PRM served by a second worker", "[scheduler]") {
  Scheduler s({{"policy/p", {400 * MB, false, 1}}, {"prm/r", {300 * MB, false, 1}}}, "e");
  s.add_unit("search0", {"policy/p", "prm/r"}, "prm/r");
  s.add_unit("search1", {"policy/p", "prm/r"}, "prm/r");
  s.enqueue("search0"), s.enqueue("search1");
  s.add_unit("score0", {"prm/r"});  // keeps prm/r needed, not ready
  SECTION("one worker that can hold both takes it whole") {
    s.join("a", {false, 500 * MB, 0}, {});
    s.join("b", {false, 700 * MB, 0}, {});
    const auto actions = s.dispatch();
    CHECK(steps(actions) == std::vector<std::string>{"b:search0"});
    CHECK(actions.at(0).partner.empty());
    CHECK(!s.lease(lease_of(actions, "search0"))->split);
  }
  SECTION("two workers that cannot: the policy's worker runs it, the other serves the PRM") {
    s.join("a", {false, 450 * MB, 0}, {});
    CHECK(s.dispatch().empty());  // alone, nobody can serve the PRM: it waits
    CHECK(s.unrunnable().size() == 1);
    s.join("b", {false, 350 * MB, 0}, {});
    CHECK(s.unrunnable().empty());
    const auto actions = s.dispatch();
    CHECK(steps(actions) == std::vector<std::string>{"a:search0"});  // one replica each: search1 waits
    CHECK(actions.at(0).partner == "b");
    const auto id = lease_of(actions, "search0");
    CHECK(s.lease(id)->split);
    CHECK(s.lease(id)->partner == "b");
    CHECK(*s.held("a") == std::set<std::string>{"policy/p"});
    CHECK(*s.held("b") == std::set<std::string>{"prm/r"});
    CHECK(s.leases_of("b").empty());  // b computes nothing: it serves
    SECTION("done, the next one goes the same way") {
      s.complete(id);
      const auto next = s.dispatch();
      CHECK(steps(next) == std::vector<std::string>{"a:search1"});
      CHECK(next.at(0).partner == "b");
    }
    SECTION("the serving worker leaves: the lease is among its leases, its partner cleared") {
      CHECK(s.leave("b") == std::vector<std::string>{id});
      CHECK(s.lease(id)->partner.empty());
      CHECK(s.lease(id)->worker == "a");
      REQUIRE(s.take_back(id));
      CHECK(s.dispatch().empty());  // nobody serves the PRM now
    }
    SECTION("the serving worker's slot and replica are taken") {
      s.enqueue("score0");
      CHECK(s.dispatch().empty());  // b's one replica of prm/r serves search0
      s.complete(id);
      // a is served first (ids in order) and takes search1, which b serves again.
      CHECK(steps(s.dispatch()) == std::vector<std::string>{"a:search1"});
    }
  }
  SECTION("a unit with no served model is never split") {
    s.add_unit("whole0", {"policy/p", "prm/r"});
    s.join("a", {false, 450 * MB, 0}, {});
    s.join("b", {false, 350 * MB, 0}, {});
    for (const auto& a : s.dispatch()) CHECK(a.unit != "whole0");
  }
  SECTION("a served model must be one the unit needs beside another") {
    CHECK_THROWS_AS(s.add_unit("bad0", {"policy/p"}, "prm/r"), std::invalid_argument);
    CHECK_THROWS_AS(s.add_unit("bad1", {"prm/r"}, "prm/r"), std::invalid_argument);
  }
}

TEST_CASE("scheduler: a worker prefers units whose models it holds all of, then some of", "[scheduler]") {
  Scheduler s({{"policy/p", {MB, false, 1}}, {"prm/r", {MB, false, 1}}, {"prm/q", {MB, false, 1}}}, "e");
  ready_units(s, "q", 9, {"prm/q"});
  ready_units(s, "pq", 1, {"policy/p", "prm/q"});
  ready_units(s, "pr", 1, {"policy/p", "prm/r"});
  SECTION("all of them") {
    s.join("w", {false, 0, 1}, {"policy/p", "prm/r"});
    CHECK(steps(s.dispatch()) == std::vector<std::string>{"w:pr0"});
  }
  SECTION("some of them beats none, however long the other queue") {
    s.join("w", {false, 0, 1}, {"policy/p"});
    // pq and pr both hold p; tied on units per holder, the greater model set comes first.
    CHECK(steps(s.dispatch()) == std::vector<std::string>{"w:pr0"});
    CHECK(steps(s.dispatch()).empty());
  }
}

TEST_CASE("scheduler: a worker that leaves keeps its leases out until they are moved or taken back",
          "[scheduler]") {
  Scheduler s({{"policy/a", {MB, false, 2}}}, "e");
  ready_units(s, "u", 2, {"policy/a"});
  s.join("old", {false, 0, 0}, {});
  const auto actions = s.dispatch();
  REQUIRE(actions.size() == 2);
  const auto kept = lease_of(actions, "u0"), lost = lease_of(actions, "u1");
  auto leases = s.leave("old");
  std::sort(leases.begin(), leases.end());
  CHECK(leases == std::vector<std::string>{kept, lost});
  CHECK(s.leases_out() == 2);
  s.join("new", {false, 0, 0}, {});
  s.move_lease(kept, "new");
  CHECK(s.lease(kept)->worker == "new");
  CHECK(*s.held("new") == std::set<std::string>{"policy/a"});  // it computes a unit of it
  CHECK(s.take_back(lost) == std::optional<std::string>("u1"));
  CHECK(steps(s.dispatch()) == std::vector<std::string>{"new:u1"});
  CHECK(s.leases_of("new").size() == 2);
}

TEST_CASE("scheduler: units naming no model, an unknown model or added twice are refused", "[scheduler]") {
  Scheduler s({{"policy/a", {MB, false, 1}}}, "e");
  CHECK_THROWS_AS(s.add_unit("u", {}), std::invalid_argument);
  CHECK_THROWS_WITH(s.add_unit("u", {"prm/none"}), Catch::Contains("prm/none"));
  s.add_unit("u", {"policy/a"});
  CHECK_THROWS_WITH(s.add_unit("u", {"policy/a"}), Catch::Contains("twice"));
  CHECK_THROWS_AS(s.enqueue("v"), std::invalid_argument);
}

TEST_CASE("scheduler: a unit that does not fit beside the leased models gives way to one that does",
          "[scheduler]") {
  Scheduler s({{"policy/held", {200 * MB, false, 1}}, {"policy/big", {400 * MB, false, 1}}, {"prm/small", {100 * MB, false, 1}}},
              "e");
  ready_units(s, "h", 2, {"policy/held"});
  ready_units(s, "b", 5, {"policy/big"});
  ready_units(s, "s", 1, {"prm/small"});
  s.join("w", {false, 500 * MB, 0}, {"policy/held"});
  // h0 keeps held busy (200 MB); big would need 600 in all, so the short queue of small is next.
  CHECK(steps(s.dispatch()) == std::vector<std::string>{"w:h0", "w:s0"});
  CHECK(s.unrunnable().empty());  // big fits the worker alone: it waits, it is not unrunnable
}
