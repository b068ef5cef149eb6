// The sweep's store: one SQLite file in WAL mode holding the problems, the plan with every
// unit's state, the sampled responses, their step scores and the analysis outputs. Ids are
// deterministic and every write is an upsert, so a unit executed twice leaves one copy of its
// rows; a unit's rows and its "done" state are committed in one transaction, so a kill at any
// point leaves either all of a unit or none of it. docs/store.md documents the schema.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace quorum::store {

struct ProblemRow {
  std::string split;  // "evaluation" or "calibration"
  std::string id;
  std::int64_t position = 0;  // order within the split
  std::string text;
  std::string answer;
  std::string level;  // the problem's difficulty label; empty when its source gives none
};

enum class UnitState { pending, leased, done };
std::string_view name(UnitState state);

struct UnitRow {
  std::string id;    // e.g. "sample/small/evaluation/3"
  std::string kind;  // "sample" or "score"
  std::string spec;  // JSON: what the unit computes (the plan's definition)
  UnitState state = UnitState::pending;
  std::int64_t attempts = 0;  // leases handed out
};

struct ResponseRow {
  std::string id;  // response_id(policy, split, problem, sample)
  std::string policy, split, problem_id;
  std::int64_t sample_index = 0;
  std::string text;
  std::vector<std::string> steps;
  std::optional<std::string> answer;  // extracted answer; none when nothing was found
  std::int64_t prompt_tokens = 0, completion_tokens = 0;
  double seconds = 0;  // this sequence's share of generation time
};

struct ScoreRow {
  std::string response_id, prm;
  std::vector<float> scores;  // one per step, in [0, 1]
  std::int64_t scored_tokens = 0;
  double seconds = 0;
};

std::string response_id(const std::string& policy, const std::string& split, const std::string& problem_id,
                        std::int64_t sample_index);

// What one policy's sampling or one PRM's scoring cost, summed over its stored rows.
struct Cost {
  std::string name;                  // the policy or PRM
  std::int64_t rows = 0;             // responses sampled, or responses scored
  std::int64_t input_tokens = 0;     // prompt tokens; for a PRM, the tokens it read
  std::int64_t output_tokens = 0;    // completion tokens; 0 for a PRM
  double seconds = 0;                // each row's share of its batch's time
};

struct UnitCounts {
  std::int64_t pending = 0, leased = 0, done = 0;
  std::int64_t total() const { return pending + leased + done; }
};

// The counts of every kind together.
UnitCounts sum(const std::map<std::string, UnitCounts>& by_kind);

class Store {
 public:
  // Opens (creating when absent) and sets WAL, synchronous FULL and a busy timeout. A file
  // that is not a quorum store (or a newer schema), a damaged store, or a store (or folder)
  // that cannot be written when writing is asked for is an InputError naming it, raised
  // before anything in the file is changed.
  explicit Store(const std::string& path, bool read_only = false);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& path() const { return path_; }

  // SQLite's quick_check (the b-trees' structure, without matching indexes to tables): the
  // damage it lists, empty when the file is sound. Opening a store to write runs it.
  std::vector<std::string> quick_check();

  std::optional<std::string> meta(const std::string& key);
  void set_meta(const std::string& key, const std::string& value);

  void upsert_problems(const std::vector<ProblemRow>& rows);
  // Sets the level of each row's (split, id) already stored; nothing else changes.
  void update_levels(const std::vector<ProblemRow>& rows);
  std::vector<ProblemRow> problems(const std::string& split);

  // Adds units that are absent; existing units keep their state.
  void add_units(const std::vector<UnitRow>& rows);
  std::vector<UnitRow> units();
  std::map<std::string, UnitCounts> unit_counts();  // by kind
  UnitCounts unit_totals();                         // every kind together
  void mark_leased(const std::string& unit_id);
  // A lease that expired or whose worker was lost: the unit waits for its next lease.
  void mark_pending(const std::string& unit_id);
  // A restarted coordinator takes back every lease of the previous run.
  std::int64_t release_leases();

  // The rows and the unit's state "done", in one transaction.
  void commit_responses(const std::string& unit_id, const std::vector<ResponseRow>& rows);
  void commit_scores(const std::string& unit_id, const std::vector<ScoreRow>& rows);
  // A search unit's leaves and their step scores.
  void commit_search(const std::string& unit_id, const std::vector<ResponseRow>& responses,
                     const std::vector<ScoreRow>& scores);

  // Responses of a policy and split, ordered by problem position then sample index; an empty
  // problem list means all problems.
  std::vector<ResponseRow> responses(const std::string& policy, const std::string& split,
                                     const std::vector<std::string>& problem_ids = {});
  // Scores of one PRM for the responses of a policy and split, keyed by response id.
  std::map<std::string, ScoreRow> scores(const std::string& prm, const std::string& policy, const std::string& split);
  // Scores of one PRM for the given responses, keyed by response id.
  std::map<std::string, ScoreRow> scores_for(const std::string& prm, const std::vector<std::string>& response_ids);
  std::int64_t response_count();
  std::int64_t score_count();
  std::vector<Cost> sampling_costs();  // per policy, by name
  std::vector<Cost> scoring_costs();   // per PRM, by name

  // Analysis outputs kept in the store (results.csv, calibration.json, ...).
  void put_output(const std::string& name, const std::string& content);
  std::optional<std::string> output(const std::string& name);

 private:
  class Statement;
  static void check_writable(const std::string& path);
  void check_schema();
  void migrate_from_schema_1();
  void execute(const char* sql);
  // Runs write inside one IMMEDIATE transaction: committed when it returns, rolled back when it
  // throws.
  template <typename Write>
  void in_transaction(Write write);
  // The rows of a unit and its state "done", together.
  template <typename Write>
  void commit_unit(const std::string& unit_id, Write write_rows);
  void write_responses(const std::string& unit_id, const std::vector<ResponseRow>& rows);
  void write_scores(const std::string& unit_id, const std::vector<ScoreRow>& rows);

  std::string path_;
  sqlite3* db_ = nullptr;
  int schema_version_ = 2;  // 1: an old store opened read-only (check_schema)
};

}  // namespace quorum::store
