// A sweep: which problems, which policies and PRMs, how many samples, how results are analysed
// and how the work is run. Read from YAML (docs/config.md) and validated completely before any
// work starts: every error names the file, the line and the key.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/analysis/analyze.h"

namespace quorum::config {

// Where a split's problems come from.
struct ProblemSource {
  enum class Kind { arithmetic, jsonl } kind = Kind::arithmetic;
  // arithmetic: the built-in task (docs/task.md), `count` problems per level
  std::vector<int> levels;
  std::size_t count = 0;
  std::uint64_t seed = 0;
  // jsonl: a file of rows; "math" rows carry `problem` and `answer`, "gsm8k" rows `question`
  // and `answer` ending in "#### N"; an optional `id` or `problem_id` names a row
  std::string path;    // resolved against the config file's directory
  std::string format;  // "math" or "gsm8k"
  std::size_t limit = 0;  // first `limit` rows; 0: all
};

// A problem as the sweep sees it, whatever its source.
struct Problem {
  std::string id;      // the row's id, or "arith-l<L>-s<S>-<k>", or a hash of the text
  std::string text;
  std::string answer;  // the gold answer as text
  // Its difficulty, when the source gives one: the arithmetic task's level, or a row's `level`
  // (MATH's "Level 3" is kept as "3"); empty otherwise. Reports compare methods per level.
  std::string level;
};

struct PolicySpec {
  std::string name;
  std::string path;          // model directory, resolved; must exist with config.json
  std::string device = "auto";
  double temperature = 1.0;
  double top_p = 1.0;
  std::int64_t top_k = 0;
  std::int64_t max_new_tokens = 256;
  std::vector<std::string> stop;  // stop strings besides the model's end-of-text token
  // "{problem}" is replaced; "chat": the checkpoint's own chat template renders a system
  // message (if `system` is set) and the problem as the user's message, with the generation
  // prompt; empty: the model's quorum.json prompt.
  std::string prompt;
  std::string system;        // prompt: chat only
  std::string step_separator = "\n";  // how the response text is cut into steps
  std::string dtype;         // float32, bfloat16, float16; empty: auto (the checkpoint's on CUDA, float32 on CPU)
};

struct PrmSpec {
  std::string name;
  std::string path;          // resolved; must exist with config.json (empty for a checker)
  std::string device = "auto";
  // Empty fields are taken from the model's quorum.json (the demo models carry them).
  // reward_head, value_head, good_token, chat_turn or outcome_head (docs/models.md); checker: no model, the
  // built-in task's step checker (task::prefix_correct_scores, docs/prms.md)
  std::string kind;
  std::string step_token;    // the token read after every step (a tag for good_token)
  std::string good_token;    // good_token and chat_turn: the token whose probability is the score
  std::string bad_token;     // ... against this one
  std::string prompt;        // "{problem}" is replaced; steps follow it; "chat": the chat template
  std::string system;        // prompt: chat only
  std::string dtype;         // as for policies
  // How the model's scores become probabilities: "none" (they are: every step PRM kind), or
  // "sigmoid" (an outcome_head's raw reward, as Qwen2.5-Math-RM writes it). Empty: none.
  std::string score_transform;
};

// Step-level search beside the sampled pools (best-of-N): for every (policy, PRM) pair it names
// and every budget n, a search whose n leaves become that pair's responses (docs/search.md).
struct SearchSpec {
  std::string method;               // beam_search or dvts
  std::vector<std::int64_t> n;      // budgets: leaves per problem, each a multiple of m
  std::int64_t m = 4;               // beam width (expansions per kept candidate)
  std::int64_t lookahead = 0;
  std::int64_t max_steps = 40;
  std::int64_t max_tokens = 0;      // policy tokens in a path; 0: the policy's max_new_tokens
  std::vector<std::string> policies, prms;  // the pairs: every policy with every PRM listed
};

// One search of a sweep: a (policy, PRM) pair, one budget, the settings. Its label names its
// responses in the store and its cells in the analysis, e.g. "pa~beam_search-n8-m4~prm".
struct SearchRun {
  std::string label, policy, prm, method;
  std::int64_t n = 0, m = 0, lookahead = 0, max_steps = 0, max_tokens = 0;
};
std::vector<SearchRun> search_runs(const struct SweepConfig& config);
// A search run as the store and the bus carry it, and back (nlohmann's exceptions for a missing
// or mistyped field, std::invalid_argument for a count that is no count).
nlohmann::json search_json(const SearchRun& run);
SearchRun search_of(const nlohmann::json& j);

struct RuntimeSpec {
  std::size_t problems_per_unit = 4;   // one work unit: these problems, all their samples
  std::size_t batch_size = 32;         // sequences per forward pass
  std::size_t samplers_per_policy = 1;
  std::size_t verifiers_per_prm = 1;
  std::size_t memory_limit_mb = 0;     // resident model weights at most; 0: no limit
  int threads = 0;                     // analysis threads; 0: one per core
  // The bus (docs/bus.md): a worker or coordinator silent for heartbeat_ms x heartbeat_liveness
  // is lost, and so are the leases it held; a lease also ends lease_timeout_s after it was issued.
  std::size_t heartbeat_ms = 1000;
  std::size_t heartbeat_liveness = 5;
  std::size_t lease_timeout_s = 3600;
  std::size_t max_message_mb = 256;    // a bigger message drops its sender's connection
  // While the sweep runs, the report (report.html and the text files) is rewritten this often
  // when units finished since the last one, and report.html reloads itself as often; 0: only at
  // the end.
  std::size_t report_every_s = 60;
};

struct SweepConfig {
  std::string file;          // the YAML file, as given
  std::string name;
  std::string store;         // SQLite file, resolved
  std::string report;        // report directory, resolved; default: "<store dir>/report"
  std::uint64_t seed = 0;    // base seed of sampling and of the analysis draws
  ProblemSource evaluation, calibration;  // calibration.count == 0 and no path: cross-fitting
  bool has_calibration_split = false;
  std::vector<PolicySpec> policies;
  std::vector<PrmSpec> prms;
  std::size_t samples = 0;   // responses per problem per policy (N_max)
  analysis::AnalysisSettings analysis;  // budgets, strategies, reductions, draws, bootstrap, reference
  std::vector<SearchSpec> searches;
  RuntimeSpec runtime;
};

// Parses and validates; throws InputError(file, line, key, message).
SweepConfig load_sweep(const std::string& path);

// The policy or PRM of that name (std::out_of_range when the sweep has none: names are checked
// when the sweep is loaded).
const PolicySpec& policy_named(const SweepConfig& config, const std::string& name);
const PrmSpec& prm_named(const SweepConfig& config, const std::string& name);

// The problems of a source, in order. Throws InputError naming the JSONL file and line.
std::vector<Problem> load_problems(const ProblemSource& source);

}  // namespace quorum::config
