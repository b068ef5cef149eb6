// The SQLite store and the bus protocol: idempotent upserts, one transaction per unit,
// leases taken back on restart, clean refusals of foreign files and malformed messages.
#include <catch2/catch.hpp>

#include <fstream>

#include "cli_runner.h"
#include "runtime/bus/protocol.h"
#include "runtime/common/error.h"
#include "runtime/store/store.h"

using quorum::testing::TempDir;
namespace store = quorum::store;
namespace bus = quorum::bus;

namespace {

store::ResponseRow response(const std::string& problem, std::int64_t sample) {
  store::ResponseRow r;
  r.id = store::response_id("pol", "evaluation", problem, sample);
  r.policy = "pol", r.split = "evaluation", r.problem_id = problem, r.sample_index = sample;
  r.text = "1 + 2 = 3\nAnswer: 3";
  r.steps = {"1 + 2 = 3", "Answer: 3"};
  r.answer = "3";
  r.prompt_tokens = 11, r.completion_tokens = 9, r.seconds = 0.25;
  return r;
}

}  // namespace

TEST_CASE("store: units, responses and scores are upserted and committed per unit", "[store]") {
  TempDir dir("store");
  const auto path = (dir.path() / "sub" / "sweep.db").string();
  {
    store::Store s(path);
    s.set_meta("plan", "{}");
    s.upsert_problems({{"evaluation", "p1", 0, "Start with 1. Add 2. What is the result?", "3"},
                       {"evaluation", "p0", 1, "Start with 5. Add 1. What is the result?", "6"}});
    s.add_units({{"sample/pol/evaluation/0", "sample", "{}", store::UnitState::pending, 0},
                 {"score/prm/pol/evaluation/0", "score", "{}", store::UnitState::pending, 0}});
    s.mark_leased("sample/pol/evaluation/0");
    s.add_units({{"sample/pol/evaluation/0", "sample", "{}", store::UnitState::pending, 0}});  // no reset
    CHECK(s.unit_counts()["sample"].leased == 1);
    CHECK(s.release_leases() == 1);
    CHECK(s.unit_counts()["sample"].pending == 1);

    const std::vector<store::ResponseRow> rows = {response("p0", 0), response("p0", 1), response("p1", 0)};
    s.commit_responses("sample/pol/evaluation/0", rows);
    s.commit_responses("sample/pol/evaluation/0", rows);  // a unit re-executed after a fault
    CHECK(s.response_count() == 3);
    CHECK(s.unit_counts()["sample"].done == 1);
    const auto read = s.responses("pol", "evaluation");
    REQUIRE(read.size() == 3);
    CHECK(read[0].problem_id == "p1");  // problem order by position, then sample index
    CHECK(read[1].problem_id == "p0");
    CHECK(read[2].sample_index == 1);
    CHECK(read[1].steps == rows[0].steps);
    CHECK(read[1].answer == std::optional<std::string>("3"));
    CHECK(read[1].completion_tokens == 9);

    const float third = 1.0f / 3.0f;
    s.commit_scores("score/prm/pol/evaluation/0", {{rows[0].id, "prm", {0.5f, third}, 20, 0.1}});
    s.commit_scores("score/prm/pol/evaluation/0", {{rows[0].id, "prm", {0.5f, third}, 20, 0.1}});
    CHECK(s.score_count() == 1);
    const auto scores = s.scores("prm", "pol", "evaluation");
    REQUIRE(scores.count(rows[0].id) == 1);
    CHECK(scores.at(rows[0].id).scores == std::vector<float>{0.5f, third});  // exact round trip
    CHECK(s.scores_for("prm", {rows[0].id, rows[1].id}).size() == 1);
  }
  store::Store reopened(path, true);
  CHECK(reopened.meta("plan") == std::optional<std::string>("{}"));
  CHECK(reopened.response_count() == 3);
}

TEST_CASE("store: a response for an unknown unit's rows rolls back as a whole", "[store]") {
  TempDir dir("store-rollback");
  store::Store s((dir.path() / "s.db").string());
  auto bad = response("p0", 0);
  std::vector<store::ResponseRow> rows = {response("p0", 1), bad};
  rows.back().id = rows.front().id;  // same id, other sample index: violates the unique key
  rows.back().sample_index = 1;
  rows.back().id = "other";
  CHECK_THROWS(s.commit_responses("u", rows));
  CHECK(s.response_count() == 0);
}

TEST_CASE("store: files that are not quorum stores are refused by name", "[store]") {
  TempDir dir("store-foreign");
  CHECK_THROWS_AS(store::Store((dir.path() / "missing.db").string(), true), quorum::InputError);
  const auto junk = dir.file("junk.db", std::string(4096, 'x'));
  try {
    store::Store s(junk);
    FAIL("a file of junk opened as a store");
  } catch (const quorum::InputError& e) {
    CHECK(e.file() == junk);
  }
}

TEST_CASE("protocol: messages round-trip - other versions and garbage are refused", "[store][protocol]") {
  bus::Lease lease;
  lease.lease_id = "score/prm/pol/evaluation/3@7.1";
  lease.unit_id = "score/prm/pol/evaluation/3";
  lease.kind = "score";
  lease.score = {"prm", "pol", "evaluation", {{"p1", "text"}}, {{"r1", "p1", {"a", "b"}}}};
  const auto back = bus::decode_lease(bus::encode(lease));
  CHECK(back.lease_id == lease.lease_id);
  CHECK(back.unit_id == lease.unit_id);
  CHECK(back.model() == "prm/prm");
  CHECK(back.score.responses.at(0).steps == std::vector<std::string>{"a", "b"});

  bus::Result result{"l", "sample/pol/evaluation/0", {response("p0", 0)}, {}};
  result.responses[0].answer.reset();
  const auto decoded = bus::decode_result(bus::encode(result));
  CHECK(decoded.responses.at(0).text == result.responses[0].text);
  CHECK_FALSE(decoded.responses.at(0).answer.has_value());
  CHECK(bus::message_type(bus::encode(bus::Ack{"u", false})) == "ack");
  CHECK_FALSE(bus::decode_ack(bus::encode(bus::Ack{"u", false})).stored);
  CHECK(bus::decode_failure(bus::encode(bus::Failure{"l", "u", "why", true})).input_error);

  const auto hello = bus::decode_hello(bus::encode(bus::Hello{"w1", true, 1 << 20, 2, {"policy/p"}, {"l1", "l2"}}));
  CHECK(hello.worker == "w1");
  CHECK(hello.cuda);
  CHECK(hello.running == std::vector<std::string>{"l1", "l2"});
  bus::Welcome welcome;
  welcome.sweep = "s";
  welcome.policies.push_back({});
  welcome.policies[0].name = "p", welcome.policies[0].stop = {"\n\n"}, welcome.policies[0].temperature = 0.7;
  welcome.prms.push_back({});
  welcome.prms[0].name = "r", welcome.prms[0].kind = "reward_head";
  welcome.batch_size = 8, welcome.heartbeat_ms = 250;
  const auto welcomed = bus::decode_welcome(bus::encode(welcome));
  CHECK(welcomed.policies.at(0).stop == welcome.policies[0].stop);
  CHECK(welcomed.policies.at(0).temperature == 0.7);
  CHECK(welcomed.prms.at(0).kind == "reward_head");
  CHECK(welcomed.heartbeat_ms == 250);
  CHECK(bus::decode_release(bus::encode(bus::Release{"prm/r"})).model == "prm/r");
  CHECK(bus::message_type(bus::encode_done()) == "done");

  CHECK_THROWS_AS(bus::message_type(R"({"v":99,"type":"lease"})"), bus::VersionError);
  // A refusal is understood whatever version sent it.
  CHECK(bus::message_type(R"({"v":99,"type":"refused","reason":"r"})") == "refused");
  CHECK(bus::decode_refused(R"({"v":99,"type":"refused","reason":"r"})").reason == "r");
  CHECK_THROWS_AS(bus::message_type("\x01\x02garbage"), bus::ProtocolError);
  CHECK_THROWS_AS(bus::decode_lease(R"({"v":1,"type":"lease","unit":3})"), bus::ProtocolError);
  CHECK_THROWS_AS(bus::decode_lease(bus::encode(bus::Ack{"u"})), bus::ProtocolError);
  CHECK_THROWS_AS(bus::decode_welcome(R"({"v":1,"type":"welcome"})"), bus::ProtocolError);
}
