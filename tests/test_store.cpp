// The SQLite store and the bus protocol: idempotent upserts, one transaction per unit,
// leases taken back on restart, clean refusals of foreign files and malformed messages; damaged
// stores and read-only folders refused before anything is written.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <filesystem>
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
    s.upsert_problems({{"evaluation", "p1", 0, "Start with 1. Add 2. What is the result?", "3", ""},
                       {"evaluation", "p0", 1, "Start with 5. Add 1. What is the result?", "6", ""}});
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
  lease.score = {"prm", "pol", "evaluation", {{"p1", "text"}}, {{"r1", "p1", {"a", "b"}, ""}}};
  const auto back = bus::decode_lease(bus::encode(lease));
  CHECK(back.lease_id == lease.lease_id);
  CHECK(back.unit_id == lease.unit_id);
  CHECK(back.models() == std::vector<std::string>{"prm/prm"});
  CHECK(back.score.responses.at(0).steps == std::vector<std::string>{"a", "b"});
  lease.score.responses.at(0).text = "a\nb";
  CHECK(bus::decode_lease(bus::encode(lease)).score.responses.at(0).text == "a\nb");

  bus::Lease search;
  search.lease_id = "search/x/evaluation/0@7.2", search.unit_id = "search/x/evaluation/0", search.kind = "search";
  search.search = {{"pol~dvts-n4-m2~prm", "pol", "prm", "dvts", 4, 2, 1, 12, 64}, "evaluation", {{"p1", "text"}}, 9};
  const auto searched = bus::decode_lease(bus::encode(search));
  CHECK(searched.models() == std::vector<std::string>{"policy/pol", "prm/prm"});
  CHECK(quorum::config::search_json(searched.search.run) == quorum::config::search_json(search.search.run));
  CHECK(searched.search.seed == 9);
  CHECK(searched.search.problems.at(0).text == "text");
  CHECK_FALSE(searched.prm_served);
  search.prm_served = true;  // split: the lessee holds the policy alone
  CHECK(bus::decode_lease(bus::encode(search)).models() == std::vector<std::string>{"policy/pol"});

  // A split search's messages.
  const auto serve = bus::decode_serve(bus::encode(bus::Serve{"l2", "prm/prm"}));
  CHECK((serve.lease_id == "l2" && serve.model == "prm/prm"));
  const auto round = bus::decode_paths_to_score(bus::encode(bus::PathsToScore{"l2", 7, "1+1?", {{"a", "b"}, {"c"}}}));
  CHECK(round.request == 7);
  CHECK(round.paths == std::vector<std::vector<std::string>>{{"a", "b"}, {"c"}});
  const auto scored = bus::decode_path_scores(bus::encode(bus::PathScores{"l2", 7, {{0.25, 0.1}, {1.0}}, 40, "", false}));
  CHECK(scored.scores == std::vector<std::vector<double>>{{0.25, 0.1}, {1.0}});  // exactly, as doubles
  CHECK(scored.tokens_read == 40);
  CHECK(bus::decode_path_scores(bus::encode(bus::PathScores{"l2", 0, {}, 0, "gone", true})).input_error);
  CHECK(bus::decode_cancel(bus::encode(bus::Cancel{"l2"})).lease_id == "l2");
  CHECK_THROWS_AS(bus::decode_path_scores(
                      R"({"v":3,"type":"path_scores","lease":"l","request":1,"scores":[[null]],"tokens_read":0,"error":"","input_error":false})"),
                  bus::ProtocolError);
  CHECK_THROWS_AS(bus::decode_paths_to_score(R"({"v":3,"type":"score_paths","lease":"l","request":-1,"problem":"","paths":[]})"),
                  bus::ProtocolError);

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
  CHECK_THROWS_AS(bus::decode_lease(R"({"v":3,"type":"lease","unit":3})"), bus::ProtocolError);
  CHECK_THROWS_AS(bus::decode_lease(bus::encode(bus::Ack{"u"})), bus::ProtocolError);
  CHECK_THROWS_AS(bus::decode_welcome(R"({"v":3,"type":"welcome"})"), bus::ProtocolError);
}

namespace {

std::string bytes_of(const std::string& path) { return quorum::testing::read_text(path); }

}  // namespace

TEST_CASE("store: another program's SQLite database is refused and left byte for byte as it was", "[store]") {
  TempDir dir("store-other-database");
  const auto path = (dir.path() / "other.db").string();
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('keep me')", nullptr, nullptr,
                         nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  const auto before = bytes_of(path);
  try {
    store::Store s(path);
    FAIL("another program's database opened as a store");
  } catch (const quorum::InputError& e) {
    CHECK(e.file() == path);
    CHECK(std::string(e.what()).find("not a quorum store") != std::string::npos);
  }
  // Not even the journal mode was switched to WAL (a write to the file's header).
  CHECK(bytes_of(path) == before);
  CHECK_FALSE(std::filesystem::exists(path + "-wal"));
}

TEST_CASE("store: problems keep their level; a schema-1 store is read without levels and migrated when written",
          "[store]") {
  TempDir dir("store-schema-1");
  const auto path = (dir.path() / "old.db").string();
  {
    store::Store s(path);
    s.upsert_problems({{"evaluation", "p0", 0, "text 0", "1", "3"}, {"evaluation", "p1", 1, "text 1", "2", ""}});
    CHECK(s.problems("evaluation")[0].level == "3");
  }
  {  // The store as quorum wrote it before levels: no column, schema 1.
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "ALTER TABLE problems DROP COLUMN level; UPDATE meta SET value = '1' WHERE key = 'schema_version'",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  {
    store::Store s(path, true);  // read-only: read as it is, nothing written
    const auto problems = s.problems("evaluation");
    REQUIRE(problems.size() == 2);
    CHECK(problems[0].text == "text 0");
    CHECK(problems[0].level.empty());
    CHECK(s.meta("schema_version") == "1");
  }
  {
    store::Store s(path);  // writable: migrated
    CHECK(s.meta("schema_version") == "2");
    s.update_levels({{"evaluation", "p0", 0, "ignored", "ignored", "4"}, {"evaluation", "p9", 2, "x", "x", "1"}});
    const auto problems = s.problems("evaluation");
    REQUIRE(problems.size() == 2);  // update_levels adds no problem
    CHECK(problems[0].level == "4");
    CHECK(problems[0].text == "text 0");  // and changes nothing but the level
    CHECK(problems[0].answer == "1");
    CHECK(problems[1].level.empty());
  }
  {  // A schema quorum does not know is still refused.
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "UPDATE meta SET value = '3' WHERE key = 'schema_version'", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
    CHECK_THROWS_WITH(store::Store(path), Catch::Contains("store schema 3, this quorum reads 2"));
  }
}

TEST_CASE("store: a damaged store is found by quick_check, refused for writing, named by quorum status", "[store][cli]") {
  TempDir dir("store-damaged");
  const auto path = (dir.path() / "damaged.db").string();
  {
    store::Store s(path);
    std::vector<store::ProblemRow> problems;
    for (int i = 0; i < 2000; ++i)
      problems.push_back({"evaluation", "p" + std::to_string(i), i, std::string(200, 'a' + i % 26), "1", ""});
    s.upsert_problems(problems);
    CHECK(s.quick_check().empty());
  }  // the last connection's close folds the WAL into the file
  REQUIRE_FALSE(std::filesystem::exists(path + "-wal"));
  int page_size = 0, root_page = 0;
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_stmt* statement = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "SELECT (SELECT page_size FROM pragma_page_size), rootpage FROM sqlite_master "
                                   "WHERE name = 'problems'",
                               -1, &statement, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(statement) == SQLITE_ROW);
    page_size = sqlite3_column_int(statement, 0), root_page = sqlite3_column_int(statement, 1);
    sqlite3_finalize(statement);
    sqlite3_close(db);
  }
  REQUIRE(root_page > 1);
  {  // the problems table's root page overwritten: what a bad sector or a stray write leaves
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(std::streamoff(root_page - 1) * page_size);
    const std::string garbage(page_size, '\x55');
    file.write(garbage.data(), page_size);
  }
  const auto damaged = bytes_of(path);
  CHECK_FALSE(store::Store(path, true).quick_check().empty());
  try {
    store::Store s(path);
    FAIL("a damaged store opened for writing");
  } catch (const quorum::InputError& e) {
    CHECK(e.file() == path);
    CHECK(std::string(e.what()).find("the store is damaged (SQLite's quick_check") != std::string::npos);
  }
  const auto status = quorum::testing::run_quorum("status " + path);
  INFO(status.output);
  CHECK(status.exit_code == 2);
  CHECK(status.output.find("quorum: error: " + path + ": the store is damaged") != std::string::npos);
  CHECK(status.output.find("damage: ") != std::string::npos);
  CHECK(bytes_of(path) == damaged);
}

TEST_CASE("store: a store in a read-only folder is refused before any work, nothing written", "[store][cli]") {
  if (!quorum::testing::private_mounts_available()) {
    WARN("skipped: this machine forbids the user and mount namespaces that its private mounts need");
    return;
  }
  TempDir dir("store-read-only");
  std::filesystem::create_directories(dir.path() / "stores");
  const auto path = (dir.path() / "stores" / "s.db").string();
  {
    store::Store s(path);
    s.set_meta("sweep", "{}");
  }
  const auto before = bytes_of(path);
  // A sweep on the shipped policy whose store sits in a read-only folder: refused after the
  // model checks, before the plan is written or a model loaded.
  const auto shipped = std::filesystem::path(QUORUM_TEST_DATA) / ".." / ".." / "models" / "policy-small";
  const auto config = dir.file("sweep.yaml", "sweep: read-only\nstore: stores/s.db\nproblems:\n"
                                             "  evaluation: {task: arithmetic, levels: [1], count: 2}\n"
                                             "policies:\n  - {name: p, path: " + std::filesystem::canonical(shipped).string() +
                                             "}\nsamples: 2\nanalysis: {strategies: [majority], reference: majority}\n");
  const auto stores = (dir.path() / "stores").string();
  const auto run = quorum::testing::run_with_private_mounts(
      dir, "mount --bind " + stores + " " + stores + "\nmount -o remount,bind,ro " + stores + "\n" +
               QUORUM_BINARY + " run " + config);
  INFO(run.output);
  CHECK(run.exit_code == 2);
  CHECK(run.output.find("quorum: error: " + path + ": the store's folder " + stores + " is not writable") !=
        std::string::npos);
  CHECK(bytes_of(path) == before);
  CHECK_FALSE(std::filesystem::exists(path + "-wal"));
}
