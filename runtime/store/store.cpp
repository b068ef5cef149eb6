#include "runtime/store/store.h"

#include <sqlite3.h>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "runtime/common/error.h"
#include "runtime/common/hash.h"

namespace quorum::store {
namespace {

// 2 added problems.level; a store of schema 1 is migrated when opened for writing, and read as
// having no levels when opened read-only.
constexpr int kSchemaVersion = 2;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS problems (
  split TEXT NOT NULL, id TEXT NOT NULL, position INTEGER NOT NULL,
  text TEXT NOT NULL, answer TEXT NOT NULL, level TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (split, id));
CREATE TABLE IF NOT EXISTS units (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, spec TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'leased', 'done')),
  attempts INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS responses (
  id TEXT PRIMARY KEY, policy TEXT NOT NULL, split TEXT NOT NULL, problem_id TEXT NOT NULL,
  sample_index INTEGER NOT NULL, text TEXT NOT NULL, steps TEXT NOT NULL, answer TEXT,
  prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, seconds REAL NOT NULL,
  unit_id TEXT NOT NULL,
  UNIQUE (policy, split, problem_id, sample_index));
CREATE TABLE IF NOT EXISTS step_scores (
  response_id TEXT NOT NULL REFERENCES responses (id), prm TEXT NOT NULL, scores TEXT NOT NULL,
  scored_tokens INTEGER NOT NULL, seconds REAL NOT NULL, unit_id TEXT NOT NULL,
  PRIMARY KEY (response_id, prm));
CREATE TABLE IF NOT EXISTS outputs (name TEXT PRIMARY KEY, content TEXT NOT NULL);
)sql";

// A step_scores row selected as (response_id, prm, scores, scored_tokens, seconds).
template <typename Row>
ScoreRow score_row(const Row& s) {
  const nlohmann::json scores = nlohmann::json::parse(s.text(2));
  return {s.text(0), s.text(1), scores.get<std::vector<float>>(), s.integer(3), s.real(4)};
}

UnitState parse_state(const std::string& text) {
  if (text == "pending") return UnitState::pending;
  if (text == "leased") return UnitState::leased;
  return UnitState::done;
}

// An SQLite failure as one line naming the store. A full disk says what the user can do: the
// failed transaction was rolled back whole, so nothing committed is lost and a rerun resumes.
[[noreturn]] void fail(sqlite3* db, int rc, const std::string& what, const std::string& message) {
  const char* file = sqlite3_db_filename(db, "main");
  std::string line = "store " + std::string(file && *file ? file : "?") + ": " + what + ": " + message;
  if ((rc & 0xff) == SQLITE_FULL)
    line += " (the disk holding the store is full: the rows committed so far are kept; free space and run the "
            "same command again to resume)";
  throw std::runtime_error(line);
}

}  // namespace

std::string_view name(UnitState state) {
  switch (state) {
    case UnitState::pending: return "pending";
    case UnitState::leased: return "leased";
    case UnitState::done: return "done";
  }
  return "?";
}

std::string response_id(const std::string& policy, const std::string& split, const std::string& problem_id,
                        std::int64_t sample_index) {
  // The separator cannot occur in names, so distinct tuples never share a key.
  return "r" + hex64(fnv1a64(policy + '\x1f' + split + '\x1f' + problem_id + '\x1f' + std::to_string(sample_index)));
}

// A prepared statement that finalizes itself; bind() takes 1-based positions in order.
class Store::Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (const int rc = sqlite3_prepare_v2(db, sql, -1, &statement_, nullptr); rc != SQLITE_OK) fail("prepare", rc);
  }
  ~Statement() { sqlite3_finalize(statement_); }

  Statement& bind(const std::string& text) {
    check(sqlite3_bind_text(statement_, ++next_, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Statement& bind(std::int64_t value) {
    check(sqlite3_bind_int64(statement_, ++next_, value));
    return *this;
  }
  Statement& bind(double value) {
    check(sqlite3_bind_double(statement_, ++next_, value));
    return *this;
  }
  Statement& bind(const std::optional<std::string>& text) {
    if (text) return bind(*text);
    check(sqlite3_bind_null(statement_, ++next_));
    return *this;
  }
  // True while a row is available.
  bool step() {
    const int rc = sqlite3_step(statement_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) fail("step", rc);
    return false;
  }
  void run() {
    while (step()) {
    }
  }
  void reset() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
    next_ = 0;
  }
  std::string text(int column) const {
    const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(statement_, column));
    return data ? std::string(data, sqlite3_column_bytes(statement_, column)) : std::string();
  }
  bool is_null(int column) const { return sqlite3_column_type(statement_, column) == SQLITE_NULL; }
  std::int64_t integer(int column) const { return sqlite3_column_int64(statement_, column); }
  double real(int column) const { return sqlite3_column_double(statement_, column); }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) fail("bind", rc);
  }
  [[noreturn]] void fail(const char* what, int rc) { store::fail(db_, rc, what, sqlite3_errmsg(db_)); }
  sqlite3* db_;
  sqlite3_stmt* statement_ = nullptr;
  int next_ = 0;
};

Store::Store(const std::string& path, bool read_only) : path_(path) {
  if (read_only && !std::filesystem::exists(path)) throw InputError(path, 0, "", "no such store");
  if (!read_only) check_writable(path);
  const int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    const std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw InputError(path, 0, "", "cannot open the store: " + message);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, 10000);
  try {
    // SQLite opens a file it may not write read-only without a word; a sweep would then fail
    // at its first commit, after the models were loaded.
    if (!read_only && sqlite3_db_readonly(db_, "main") == 1)
      throw InputError(path, 0, "", "the store file is read-only: a sweep must write to it");
    // A file that is not SQLite fails on its first read.
    bool empty = false;
    {  // the statement must be finished before the journal mode can change
      Statement tables(db_, "SELECT count(*) FROM sqlite_master WHERE type = 'table'");
      tables.step();
      empty = tables.integer(0) == 0;
    }
    // Someone else's database is recognised before anything is written to it: even the journal
    // mode is a write to the file's header.
    if (!empty) check_schema();
    if (!read_only) {
      execute("PRAGMA journal_mode = WAL");
      execute("PRAGMA synchronous = FULL");
      execute("PRAGMA foreign_keys = ON");
    }
    if (empty) {
      if (read_only) throw InputError(path, 0, "", "not a quorum store (it has no tables)");
      execute(kSchema);
      set_meta("schema_version", std::to_string(kSchemaVersion));
    } else if (!read_only) {
      // A store that a sweep will write to is checked for damage first, so that no work is
      // done on top of it (a read-only look, like `quorum status`, reports it instead).
      const auto damage = quick_check();
      if (!damage.empty())
        throw InputError(path, 0, "", "the store is damaged (SQLite's quick_check: " + damage.front() +
                                          (damage.size() > 1 ? ", and " + std::to_string(damage.size() - 1) + " more" : "") +
                                          "); restore it from a copy or start a new store");
      if (schema_version_ == 1) migrate_from_schema_1();
    }
  } catch (const InputError&) {
    sqlite3_close(db_);
    throw;
  } catch (const std::exception& e) {
    sqlite3_close(db_);
    throw InputError(path, 0, "", std::string("not a quorum store: ") + e.what());
  }
}

Store::~Store() { sqlite3_close(db_); }

void Store::check_writable(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path parent = fs::absolute(path).parent_path();
  std::error_code error;
  fs::create_directories(parent, error);
  if (error) throw InputError(path, 0, "", "cannot create the store's folder " + parent.string() + ": " + error.message());
  // WAL mode keeps two files beside the store (-wal, -shm), which SQLite creates when it first
  // writes: a folder it cannot write to would fail the first commit, after work was done.
  if (::access(parent.c_str(), W_OK) != 0)
    throw InputError(path, 0, "", "the store's folder " + parent.string() + " is not writable (" +
                                      std::strerror(errno) + "): a sweep keeps its journal files beside the store");
}

void Store::check_schema() {
  {
    Statement table(db_, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'");
    if (!table.step()) throw InputError(path_, 0, "", "not a quorum store (an SQLite database without quorum's tables)");
  }
  Statement version(db_, "SELECT value FROM meta WHERE key = 'schema_version'");
  if (!version.step()) throw InputError(path_, 0, "", "not a quorum store (no schema version)");
  if (version.text(0) == "1") {
    schema_version_ = 1;
    return;
  }
  if (version.text(0) != std::to_string(kSchemaVersion))
    throw InputError(path_, 0, "schema_version",
                     "store schema " + version.text(0) + ", this quorum reads " + std::to_string(kSchemaVersion));
}

void Store::migrate_from_schema_1() {
  in_transaction([&] {
    execute("ALTER TABLE problems ADD COLUMN level TEXT NOT NULL DEFAULT ''");
    set_meta("schema_version", std::to_string(kSchemaVersion));
  });
  schema_version_ = kSchemaVersion;
}

std::vector<std::string> Store::quick_check() {
  Statement check(db_, "PRAGMA quick_check");
  std::vector<std::string> damage;
  while (check.step())
    if (check.text(0) != "ok") damage.push_back(check.text(0));
  return damage;
}

void Store::execute(const char* sql) {
  char* error = nullptr;
  if (const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &error); rc != SQLITE_OK) {
    const std::string message = error ? error : sqlite3_errstr(rc);
    sqlite3_free(error);
    fail(db_, rc, sql, message);
  }
}

template <typename Write>
void Store::in_transaction(Write write) {
  execute("BEGIN IMMEDIATE");
  try {
    write();
    execute("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

template <typename Write>
void Store::commit_unit(const std::string& unit_id, Write write_rows) {
  in_transaction([&] {
    write_rows();
    Statement done(db_, "UPDATE units SET state = 'done' WHERE id = ?");
    done.bind(unit_id).run();
  });
}

std::optional<std::string> Store::meta(const std::string& key) {
  Statement s(db_, "SELECT value FROM meta WHERE key = ?");
  s.bind(key);
  if (!s.step()) return std::nullopt;
  return s.text(0);
}

void Store::set_meta(const std::string& key, const std::string& value) {
  Statement s(db_, "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  s.bind(key).bind(value).run();
}

void Store::upsert_problems(const std::vector<ProblemRow>& rows) {
  in_transaction([&] {
    Statement s(db_,
                "INSERT INTO problems (split, id, position, text, answer, level) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (split, id) DO UPDATE SET position = excluded.position, text = excluded.text, "
                "answer = excluded.answer, level = excluded.level");
    for (const auto& row : rows) {
      s.reset();
      s.bind(row.split).bind(row.id).bind(row.position).bind(row.text).bind(row.answer).bind(row.level).run();
    }
  });
}

void Store::update_levels(const std::vector<ProblemRow>& rows) {
  in_transaction([&] {
    Statement s(db_, "UPDATE problems SET level = ? WHERE split = ? AND id = ? AND level != ?");
    for (const auto& row : rows) {
      s.reset();
      s.bind(row.level).bind(row.split).bind(row.id).bind(row.level).run();
    }
  });
}

std::vector<ProblemRow> Store::problems(const std::string& split) {
  Statement s(db_, schema_version_ == 1
                       ? "SELECT split, id, position, text, answer, '' FROM problems WHERE split = ? ORDER BY position"
                       : "SELECT split, id, position, text, answer, level FROM problems WHERE split = ? ORDER BY position");
  s.bind(split);
  std::vector<ProblemRow> rows;
  while (s.step()) rows.push_back({s.text(0), s.text(1), s.integer(2), s.text(3), s.text(4), s.text(5)});
  return rows;
}

void Store::add_units(const std::vector<UnitRow>& rows) {
  in_transaction([&] {
    Statement s(db_, "INSERT INTO units (id, kind, spec, state, attempts) VALUES (?, ?, ?, 'pending', 0) "
                     "ON CONFLICT (id) DO NOTHING");
    for (const auto& row : rows) {
      s.reset();
      s.bind(row.id).bind(row.kind).bind(row.spec).run();
    }
  });
}

std::vector<UnitRow> Store::units() {
  Statement s(db_, "SELECT id, kind, spec, state, attempts FROM units ORDER BY rowid");
  std::vector<UnitRow> rows;
  while (s.step()) rows.push_back({s.text(0), s.text(1), s.text(2), parse_state(s.text(3)), s.integer(4)});
  return rows;
}

std::map<std::string, UnitCounts> Store::unit_counts() {
  Statement s(db_, "SELECT kind, state, count(*) FROM units GROUP BY kind, state");
  std::map<std::string, UnitCounts> counts;
  while (s.step()) {
    auto& c = counts[s.text(0)];
    const auto state = parse_state(s.text(1));
    (state == UnitState::pending ? c.pending : state == UnitState::leased ? c.leased : c.done) = s.integer(2);
  }
  return counts;
}

UnitCounts sum(const std::map<std::string, UnitCounts>& by_kind) {
  UnitCounts all;
  for (const auto& [kind, c] : by_kind) all.pending += c.pending, all.leased += c.leased, all.done += c.done;
  return all;
}

UnitCounts Store::unit_totals() { return sum(unit_counts()); }

void Store::mark_leased(const std::string& unit_id) {
  Statement s(db_, "UPDATE units SET state = 'leased', attempts = attempts + 1 WHERE id = ? AND state != 'done'");
  s.bind(unit_id).run();
}

void Store::mark_pending(const std::string& unit_id) {
  Statement s(db_, "UPDATE units SET state = 'pending' WHERE id = ? AND state = 'leased'");
  s.bind(unit_id).run();
}

std::int64_t Store::release_leases() {
  Statement s(db_, "UPDATE units SET state = 'pending' WHERE state = 'leased'");
  s.run();
  return sqlite3_changes(db_);
}

void Store::commit_responses(const std::string& unit_id, const std::vector<ResponseRow>& rows) {
  commit_unit(unit_id, [&] { write_responses(unit_id, rows); });
}

void Store::commit_scores(const std::string& unit_id, const std::vector<ScoreRow>& rows) {
  commit_unit(unit_id, [&] { write_scores(unit_id, rows); });
}

void Store::commit_search(const std::string& unit_id, const std::vector<ResponseRow>& responses,
                          const std::vector<ScoreRow>& scores) {
  commit_unit(unit_id, [&] {
    write_responses(unit_id, responses);
    write_scores(unit_id, scores);
  });
}

void Store::write_responses(const std::string& unit_id, const std::vector<ResponseRow>& rows) {
  Statement s(db_,
              "INSERT INTO responses (id, policy, split, problem_id, sample_index, text, steps, answer, "
              "prompt_tokens, completion_tokens, seconds, unit_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
              "ON CONFLICT (id) DO UPDATE SET text = excluded.text, steps = excluded.steps, answer = excluded.answer, "
              "prompt_tokens = excluded.prompt_tokens, completion_tokens = excluded.completion_tokens, "
              "seconds = excluded.seconds, unit_id = excluded.unit_id");
  for (const auto& row : rows) {
    s.reset();
    s.bind(row.id).bind(row.policy).bind(row.split).bind(row.problem_id).bind(row.sample_index).bind(row.text);
    s.bind(nlohmann::json(row.steps).dump()).bind(row.answer).bind(row.prompt_tokens).bind(row.completion_tokens);
    s.bind(row.seconds).bind(unit_id).run();
  }
}

void Store::write_scores(const std::string& unit_id, const std::vector<ScoreRow>& rows) {
  Statement s(db_,
              "INSERT INTO step_scores (response_id, prm, scores, scored_tokens, seconds, unit_id) "
              "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (response_id, prm) DO UPDATE SET scores = excluded.scores, "
              "scored_tokens = excluded.scored_tokens, seconds = excluded.seconds, unit_id = excluded.unit_id");
  for (const auto& row : rows) {
    s.reset();
    s.bind(row.response_id).bind(row.prm).bind(nlohmann::json(row.scores).dump()).bind(row.scored_tokens);
    s.bind(row.seconds).bind(unit_id).run();
  }
}

std::vector<ResponseRow> Store::responses(const std::string& policy, const std::string& split,
                                          const std::vector<std::string>& problem_ids) {
  const char* all =
      "SELECT r.id, r.policy, r.split, r.problem_id, r.sample_index, r.text, r.steps, r.answer, r.prompt_tokens, "
      "r.completion_tokens, r.seconds FROM responses r JOIN problems p ON p.split = r.split AND p.id = r.problem_id "
      "WHERE r.policy = ? AND r.split = ? ORDER BY p.position, r.sample_index";
  const char* one =
      "SELECT r.id, r.policy, r.split, r.problem_id, r.sample_index, r.text, r.steps, r.answer, r.prompt_tokens, "
      "r.completion_tokens, r.seconds FROM responses r "
      "WHERE r.policy = ? AND r.split = ? AND r.problem_id = ? ORDER BY r.sample_index";
  std::vector<ResponseRow> rows;
  auto read = [&rows](Statement& s) {
    while (s.step()) {
      ResponseRow row;
      row.id = s.text(0), row.policy = s.text(1), row.split = s.text(2), row.problem_id = s.text(3);
      row.sample_index = s.integer(4), row.text = s.text(5);
      row.steps = nlohmann::json::parse(s.text(6)).get<std::vector<std::string>>();
      if (!s.is_null(7)) row.answer = s.text(7);
      row.prompt_tokens = s.integer(8), row.completion_tokens = s.integer(9), row.seconds = s.real(10);
      rows.push_back(std::move(row));
    }
  };
  if (problem_ids.empty()) {
    Statement s(db_, all);
    s.bind(policy).bind(split);
    read(s);
  } else {
    Statement s(db_, one);
    for (const auto& id : problem_ids) {
      s.reset();
      s.bind(policy).bind(split).bind(id);
      read(s);
    }
  }
  return rows;
}

std::map<std::string, ScoreRow> Store::scores(const std::string& prm, const std::string& policy,
                                              const std::string& split) {
  Statement s(db_,
              "SELECT s.response_id, s.prm, s.scores, s.scored_tokens, s.seconds FROM step_scores s "
              "JOIN responses r ON r.id = s.response_id WHERE s.prm = ? AND r.policy = ? AND r.split = ?");
  s.bind(prm).bind(policy).bind(split);
  std::map<std::string, ScoreRow> rows;
  while (s.step()) {
    auto row = score_row(s);
    rows.emplace(row.response_id, std::move(row));
  }
  return rows;
}

std::map<std::string, ScoreRow> Store::scores_for(const std::string& prm, const std::vector<std::string>& response_ids) {
  Statement s(db_, "SELECT response_id, prm, scores, scored_tokens, seconds FROM step_scores WHERE prm = ? AND response_id = ?");
  std::map<std::string, ScoreRow> rows;
  for (const auto& id : response_ids) {
    s.reset();
    s.bind(prm).bind(id);
    if (s.step())
      rows.emplace(id, score_row(s));
  }
  return rows;
}

std::int64_t Store::response_count() {
  Statement s(db_, "SELECT count(*) FROM responses");
  s.step();
  return s.integer(0);
}

std::int64_t Store::score_count() {
  Statement s(db_, "SELECT count(*) FROM step_scores");
  s.step();
  return s.integer(0);
}

namespace {

template <typename Statement>
std::vector<Cost> read_costs(Statement& s) {
  std::vector<Cost> costs;
  while (s.step()) costs.push_back({s.text(0), s.integer(1), s.integer(2), s.integer(3), s.real(4)});
  return costs;
}

}  // namespace

std::vector<Cost> Store::sampling_costs() {
  Statement s(db_, "SELECT policy, count(*), sum(prompt_tokens), sum(completion_tokens), sum(seconds) "
                   "FROM responses GROUP BY policy ORDER BY policy");
  return read_costs(s);
}

std::vector<Cost> Store::scoring_costs() {
  Statement s(db_, "SELECT prm, count(*), sum(scored_tokens), 0, sum(seconds) FROM step_scores GROUP BY prm ORDER BY prm");
  return read_costs(s);
}

void Store::put_output(const std::string& name, const std::string& content) {
  Statement s(db_, "INSERT INTO outputs (name, content) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET content = excluded.content");
  s.bind(name).bind(content).run();
}

std::optional<std::string> Store::output(const std::string& name) {
  Statement s(db_, "SELECT content FROM outputs WHERE name = ?");
  s.bind(name);
  if (!s.step()) return std::nullopt;
  return s.text(0);
}

}  // namespace quorum::store
