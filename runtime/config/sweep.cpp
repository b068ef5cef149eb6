// load_sweep: the YAML sweep config (docs/config.md) read strictly, key by key, and validated
// completely before anything runs. Problems are not loaded here (load_problems, problems.cpp);
// only the files they come from are checked.
#include "runtime/config/sweep.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <stdexcept>

#include "runtime/aggregation/draws.h"
#include "runtime/aggregation/strategy.h"
#include "runtime/common/error.h"
#include "runtime/common/json_integer.h"
#include "runtime/config/yaml_fields.h"
#include "runtime/task/arithmetic.h"

namespace quorum::config {
namespace {

namespace fs = std::filesystem;
using yaml::Map;
using yaml::Reader;
using yaml::Value;

constexpr std::uint64_t kMaxSamples = aggregation::kMaxResponsesPerProblem;  // what analysis supports
constexpr std::uint64_t kMaxCount = 1000000;
constexpr std::uint64_t kAnyU64 = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t kAnyInt = INT_MAX;

const std::vector<std::string> kSweepKeys = {"sweep", "store", "report", "seed", "problems", "policies",
                                             "prms", "samples", "search", "analysis", "runtime"};
const std::vector<std::string> kSearchKeys = {"method", "n", "m", "lookahead", "max_steps", "max_tokens",
                                              "policies", "prms"};
const std::vector<std::string> kProblemsKeys = {"evaluation", "calibration"};
const std::vector<std::string> kArithmeticKeys = {"task", "levels", "count", "seed"};
const std::vector<std::string> kJsonlKeys = {"jsonl", "format", "limit"};
const std::vector<std::string> kPolicyKeys = {"name", "path", "device", "temperature", "top_p",
                                              "top_k", "max_new_tokens", "stop", "prompt", "system",
                                              "step_separator", "dtype"};
const std::vector<std::string> kPrmKeys = {"name",       "path",      "device", "kind",   "step_token",
                                           "good_token", "bad_token", "prompt", "system", "dtype",
                                           "score_transform"};
const std::vector<std::string> kAnalysisKeys = {"budgets", "strategies", "reductions", "draws",
                                                "calibration_draws", "bootstrap", "folds", "reference"};
const std::vector<std::string> kRuntimeKeys = {"problems_per_unit", "batch_size", "samplers_per_policy",
                                               "verifiers_per_prm", "memory_limit_mb", "threads",
                                               "heartbeat_ms", "heartbeat_liveness", "lease_timeout_s",
                                               "max_message_mb", "report_every_s"};

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::string read_file(const std::string& path) {
  std::error_code error;
  if (!fs::exists(path, error)) throw InputError(path, 0, "", "the sweep config does not exist");
  if (!fs::is_regular_file(path, error)) throw InputError(path, 0, "", "the sweep config is not a file");
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) throw InputError(path, 0, "", "the sweep config cannot be read");
  return text.str();
}

class Parser {
 public:
  explicit Parser(const std::string& file) : reader_(file) {
    const fs::path dir = fs::path(file).parent_path();
    base_ = dir.empty() ? fs::current_path() : fs::absolute(dir);
  }

  SweepConfig parse(const YAML::Node& root) {
    SweepConfig c;
    c.file = reader_.file();
    const Map top(reader_, {root, "", 1}, kSweepKeys, "sweep settings");

    c.name = name_of(top.require("sweep"));
    const Value store = top.require("store");
    c.store = resolve(store);
    if (kind_of(store, c.store) == fs::file_type::directory) reader_.fail(store, "'" + c.store + "' is a directory; give the store's file name");
    c.report = top.has("report") ? resolve(*top.get("report"))
                                 : (fs::path(c.store).parent_path() / "report").string();
    if (auto v = top.get("seed")) c.seed = reader_.whole(*v, 0, kAnyU64);

    const Map problems(reader_, top.require("problems"), kProblemsKeys, "problem splits");
    c.evaluation = source(problems.require("evaluation"));
    if (auto v = problems.get("calibration")) {
      c.calibration = source(*v);
      c.has_calibration_split = true;
      check_disjoint(c.evaluation, c.calibration, *v);
    }

    c.samples = reader_.whole(top.require("samples"), 1, kMaxSamples);

    const Value policies = top.require("policies");
    for (const auto& v : reader_.list(policies)) c.policies.push_back(policy(v));
    if (c.policies.empty()) reader_.fail(policies, "needs at least one policy");
    if (auto v = top.get("prms"))
      for (const auto& p : reader_.list(*v)) c.prms.push_back(prm(p, c));

    if (auto v = top.get("search")) {
      std::set<std::string> labels;
      for (const auto& s : reader_.list(*v)) {
        c.searches.push_back(search(s, c));
        SweepConfig one;
        one.policies = c.policies, one.searches = {c.searches.back()};
        for (const auto& run : search_runs(one))
          if (!labels.insert(run.label).second)
            reader_.fail(s, "searches " + run.label + " again (an earlier entry has the same method, n, m, lookahead and pair)");
      }
    }

    if (auto v = top.get("runtime")) c.runtime = runtime(*v);
    c.analysis.seed = c.seed;
    c.analysis.threads = c.runtime.threads;
    analysis(top.get("analysis"), c);
    check_folds(c, problems);
    return c;
  }

 private:
  // ---- scalars with meaning

  // Names become parts of unit ids and file names: letters, digits, '_', '.', '-'.
  std::string name_of(const Value& v) const {
    const auto name = reader_.nonempty_text(v);
    for (char ch : name)
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '.' && ch != '-')
        reader_.fail(v, "'" + name + "' is not a valid name: use only letters, digits, '_', '.' and '-'");
    return name;
  }

  // A path as written, resolved against the config file's directory; absolute and normalised,
  // so the same sweep names the same files from any working directory.
  std::string resolve(const Value& v) const {
    const fs::path written = reader_.nonempty_text(v);
    fs::path p = (written.is_absolute() ? written : base_ / written).lexically_normal();
    if (p.filename().empty() && p.has_parent_path() && p != p.root_path()) p = p.parent_path();
    return p.string();
  }

  // What kind of file `path` is, or not_found. A path the system cannot examine (a name too
  // long, a component that is not a directory, no permission) fails at `v` with the system's
  // reason instead of escaping as a filesystem_error.
  fs::file_type kind_of(const Value& v, const fs::path& path) const {
    std::error_code error;
    const auto status = fs::status(path, error);
    if (status.type() == fs::file_type::not_found) return fs::file_type::not_found;
    if (error) reader_.fail(v, "'" + path.string() + "' cannot be examined: " + error.message());
    return status.type();
  }

  std::string model_dir(const Value& v) const {
    const auto path = resolve(v);
    const auto kind = kind_of(v, path);
    if (kind == fs::file_type::not_found) reader_.fail(v, "the model directory '" + path + "' does not exist");
    if (kind != fs::file_type::directory)
      reader_.fail(v, "'" + path + "' is not a directory (a model directory is expected)");
    if (kind_of(v, fs::path(path) / "config.json") != fs::file_type::regular)
      reader_.fail(v, "the model directory '" + path + "' has no config.json");
    return path;
  }

  std::string device(const Value& v) const {
    const auto d = reader_.text(v);
    bool ok = d == "auto" || d == "cpu" || d == "cuda";
    if (d.rfind("cuda:", 0) == 0 && d.size() > 5)
      ok = std::all_of(d.begin() + 5, d.end(), [](char ch) { return ch >= '0' && ch <= '9'; }) && d.size() <= 8;
    if (!ok) reader_.fail(v, "must be auto, cpu, cuda or cuda:N, got '" + d + "'");
    return d;
  }

  std::string prompt(const Value& v) const {
    auto p = reader_.nonempty_text(v);
    if (p != "chat" && p.find("{problem}") == std::string::npos)
      reader_.fail(v, "must contain {problem}, where the problem's text goes (or be 'chat': the model's chat template)");
    return p;
  }

  // `system:` goes into the chat template's system message, so it needs `prompt: chat`.
  std::string system(const Map& m, const std::string& prompt) const {
    auto x = m.get("system");
    if (!x) return "";
    if (prompt != "chat") reader_.fail(*x, "a system message needs 'prompt: chat' (the model's chat template)");
    return reader_.text(*x);
  }

  // "auto" is the default and is kept as "" (so it leaves the plan key as it was).
  std::string dtype(const Value& v) const {
    const auto d = reader_.choice(v, {"auto", "float32", "bfloat16", "float16"});
    return d == "auto" ? "" : d;
  }

  // ---- problem sources

  ProblemSource source(const Value& v) const {
    const Map any(reader_, v, concat(kArithmeticKeys, kJsonlKeys),
                  "a problem source (task: arithmetic, or jsonl: FILE)");
    const bool arithmetic = any.has("task"), jsonl = any.has("jsonl");
    if (arithmetic && jsonl) reader_.fail(v, "give either task or jsonl, not both");
    if (!arithmetic && !jsonl)
      reader_.fail(v.line, any.child_key("task"), "a problem source needs task: arithmetic, or jsonl: FILE");
    ProblemSource s;
    if (arithmetic) {
      const Map m(reader_, v, kArithmeticKeys);  // rejects jsonl-only keys
      s.kind = ProblemSource::Kind::arithmetic;
      reader_.choice(m.require("task"), {"arithmetic"});
      const Value levels = m.require("levels");
      std::set<int> seen;
      for (const auto& level : reader_.list(levels)) {
        const int l = static_cast<int>(reader_.whole(level, task::kMinLevel, task::kMaxLevel));
        if (!seen.insert(l).second) reader_.fail(level, "level " + std::to_string(l) + " is listed twice");
        s.levels.push_back(l);
      }
      if (s.levels.empty()) reader_.fail(levels, "needs at least one level");
      s.count = reader_.whole(m.require("count"), 1, kMaxCount);
      if (auto seed = m.get("seed")) s.seed = reader_.whole(*seed, 0, kAnyU64);
    } else {
      const Map m(reader_, v, kJsonlKeys);  // rejects arithmetic-only keys
      s.kind = ProblemSource::Kind::jsonl;
      const Value path = m.require("jsonl");
      s.path = resolve(path);
      const auto kind = kind_of(path, s.path);
      if (kind == fs::file_type::not_found) reader_.fail(path, "the problem file '" + s.path + "' does not exist");
      if (kind != fs::file_type::regular) reader_.fail(path, "'" + s.path + "' is not a file");
      s.format = m.has("format") ? reader_.choice(*m.get("format"), {"math", "gsm8k"}) : "math";
      if (auto limit = m.get("limit")) s.limit = reader_.whole(*limit, 1, kAnyU64);
    }
    return s;
  }

  // Calibration must never see an evaluated problem.
  void check_disjoint(const ProblemSource& evaluation, const ProblemSource& calibration, const Value& at) const {
    if (evaluation.kind != calibration.kind) return;
    const Map m(reader_, at, concat(kArithmeticKeys, kJsonlKeys));
    if (calibration.kind == ProblemSource::Kind::jsonl) {
      if (evaluation.path == calibration.path)
        reader_.fail(m.require("jsonl"), "the calibration split reads the evaluation split's file; calibration "
                                         "must never see an evaluated problem");
      return;
    }
    if (evaluation.seed != calibration.seed) return;
    for (int level : calibration.levels)
      if (std::count(evaluation.levels.begin(), evaluation.levels.end(), level)) {
        const Value blame = m.has("seed") ? *m.get("seed") : Value{at.node, m.child_key("seed"), at.line};
        reader_.fail(blame, "the calibration split would repeat evaluation problems (level " + std::to_string(level) +
                                " with seed " + std::to_string(calibration.seed) +
                                " in both); give the calibration split another seed");
      }
  }

  // ---- models

  PolicySpec policy(const Value& v) {
    const Map m(reader_, v, kPolicyKeys, "policy settings");
    PolicySpec p;
    const Value name = m.require("name");
    p.name = name_of(name);
    unique(policy_names_, p.name, name);
    p.path = model_dir(m.require("path"));
    if (auto x = m.get("device")) p.device = device(*x);
    if (auto x = m.get("temperature")) {
      p.temperature = reader_.number(*x);
      if (p.temperature < 0) reader_.fail(*x, "must be at least 0 (0: greedy)");
    }
    if (auto x = m.get("top_p")) {
      p.top_p = reader_.number(*x);
      if (!(p.top_p > 0 && p.top_p <= 1)) reader_.fail(*x, "must be in (0, 1]");
    }
    if (auto x = m.get("top_k")) p.top_k = static_cast<std::int64_t>(reader_.whole(*x, 0, INT64_MAX));
    if (auto x = m.get("max_new_tokens")) p.max_new_tokens = static_cast<std::int64_t>(reader_.whole(*x, 1, kMaxCount));
    if (auto x = m.get("stop"))
      for (const auto& s : reader_.list(*x)) p.stop.push_back(reader_.nonempty_text(s));
    if (auto x = m.get("prompt")) p.prompt = prompt(*x);
    p.system = system(m, p.prompt);
    if (auto x = m.get("step_separator")) p.step_separator = reader_.nonempty_text(*x);
    if (auto x = m.get("dtype")) p.dtype = dtype(*x);
    return p;
  }

  PrmSpec prm(const Value& v, const SweepConfig& c) {
    const Map m(reader_, v, kPrmKeys, "PRM settings");
    PrmSpec p;
    const Value name = m.require("name");
    p.name = name_of(name);
    unique(prm_names_, p.name, name);
    if (auto x = m.get("kind")) {
      p.kind = reader_.choice(*x, {"reward_head", "value_head", "good_token", "chat_turn", "outcome_head", "checker"});
      if (p.kind == "checker") {
        checker(m, *x, c);
        return p;
      }
    }
    p.path = model_dir(m.require("path"));
    if (auto x = m.get("device")) p.device = device(*x);
    if (auto x = m.get("step_token")) {
      p.step_token = reader_.nonempty_text(*x);
      if (p.kind == "chat_turn") reader_.fail(*x, "a chat_turn PRM reads its scores at the assistant's turns, not at a step token");
    }
    for (auto [key, field] : {std::pair{"good_token", &p.good_token}, std::pair{"bad_token", &p.bad_token}})
      if (auto x = m.get(key)) {
        *field = reader_.nonempty_text(*x);
        if (p.kind != "good_token" && p.kind != "chat_turn")
          reader_.fail(*x, std::string("only a PRM of kind good_token or chat_turn reads ") + key + " (this one is " +
                               (p.kind.empty() ? "reward_head, as its quorum.json says or by default" : p.kind) + ")");
      }
    if (auto x = m.get("prompt")) p.prompt = prompt(*x);
    p.system = system(m, p.prompt);
    if (auto x = m.get("dtype")) p.dtype = dtype(*x);
    if (auto x = m.get("score_transform")) {
      p.score_transform = reader_.choice(*x, {"none", "sigmoid"});
      // A kind from quorum.json is checked when the model is (model::check_prm).
      if (p.score_transform == "sigmoid" && !p.kind.empty() && p.kind != "outcome_head")
        reader_.fail(*x, "a " + p.kind + " PRM's scores are probabilities already; sigmoid maps an outcome_head's raw rewards");
    } else if (p.kind == "outcome_head") {
      reader_.fail(m.require("kind"), "an outcome_head model gives raw rewards, not probabilities: set score_transform: sigmoid");
    }
    return p;
  }

  // A search entry: its method, budgets and pairs, each checked against what the sweep has.
  SearchSpec search(const Value& v, const SweepConfig& c) const {
    const Map m(reader_, v, kSearchKeys, "search settings");
    SearchSpec s;
    s.method = reader_.choice(m.require("method"), {"beam_search", "dvts"});
    if (auto x = m.get("m")) s.m = static_cast<std::int64_t>(reader_.whole(*x, 1, kMaxSamples));
    const Value budgets = m.require("n");
    const auto listed = budgets.node.IsSequence() ? reader_.list(budgets) : std::vector<Value>{budgets};
    if (listed.empty()) reader_.fail(budgets, "is empty: give the budgets n to search with");
    for (const auto& b : listed) {
      const auto n = static_cast<std::int64_t>(reader_.whole(b, 1, kMaxSamples));
      if (n % s.m != 0)
        reader_.fail(b, "n = " + std::to_string(n) + " is not a multiple of m = " + std::to_string(s.m) +
                            ": " + s.method + " keeps n / m candidates, each expanded m times");
      if (std::count(s.n.begin(), s.n.end(), n)) reader_.fail(b, "n = " + std::to_string(n) + " is listed twice");
      s.n.push_back(n);
    }
    if (auto x = m.get("lookahead")) s.lookahead = static_cast<std::int64_t>(reader_.whole(*x, 0, 64));
    if (auto x = m.get("max_steps")) s.max_steps = static_cast<std::int64_t>(reader_.whole(*x, 1, 4096));
    if (auto x = m.get("max_tokens")) s.max_tokens = static_cast<std::int64_t>(reader_.whole(*x, 1, kMaxCount));
    auto names = [&](const char* key, const auto& known, const char* what) {
      std::vector<std::string> picked;
      if (auto x = m.get(key)) {
        for (const auto& name : reader_.list(*x)) {
          const auto text = reader_.nonempty_text(name);
          if (std::none_of(known.begin(), known.end(), [&](const auto& k) { return k.name == text; }))
            reader_.fail(name, std::string("the sweep has no ") + what + " '" + text + "'");
          if (std::count(picked.begin(), picked.end(), text)) reader_.fail(name, "'" + text + "' is listed twice");
          picked.push_back(text);
        }
      } else {
        for (const auto& k : known) picked.push_back(k.name);
      }
      return picked;
    };
    s.policies = names("policies", c.policies, "policy");
    s.prms = names("prms", c.prms, "PRM");
    if (s.prms.empty()) reader_.fail(v, "a search needs a PRM to score its steps, and the sweep has none");
    for (const auto& name : s.prms)
      for (const auto& p : c.prms)
        if (p.name == name && p.kind == "outcome_head")
          reader_.fail(m.has("prms") ? *m.get("prms") : v,
                       "PRM '" + name + "' is an outcome_head model: it scores whole responses, not a search's steps");
    return s;
  }

  // The built-in task's step checker as a PRM: no model to name, place or prompt, and only the
  // built-in task's problems to check.
  void checker(const Map& m, const Value& kind, const SweepConfig& c) const {
    for (const auto& key : kPrmKeys)
      if (key != "name" && key != "kind")
        if (auto x = m.get(key))
          reader_.fail(*x, "a checker PRM is the built-in task's step checker, with no model: it takes no " + key);
    for (const auto* split : {&c.evaluation, c.has_calibration_split ? &c.calibration : nullptr})
      if (split && split->kind != ProblemSource::Kind::arithmetic)
        reader_.fail(kind, std::string("a checker PRM checks the steps of the built-in arithmetic task only, and problems.") +
                               (split == &c.evaluation ? "evaluation" : "calibration") + " reads " + split->path);
  }

  void unique(std::vector<std::pair<std::string, Value>>& seen, const std::string& name, const Value& at) const {
    for (const auto& [other, where] : seen)
      if (other == name)
        reader_.fail(at, "the name '" + name + "' is already used by " + where.key.substr(0, where.key.rfind('.')) +
                             " (line " + std::to_string(where.line) + ")");
    seen.emplace_back(name, at);
  }

  // ---- analysis and runtime

  void analysis(const std::optional<Value>& v, SweepConfig& c) {
    auto& a = c.analysis;
    if (!v) return;
    const Map m(reader_, *v, kAnalysisKeys, "analysis settings");
    if (auto x = m.get("budgets")) {
      const auto budgets = reader_.list(*x);
      if (budgets.empty()) reader_.fail(*x, "is empty; leave budgets out for powers of two up to samples");
      for (const auto& b : budgets) {
        const auto n = static_cast<std::uint32_t>(reader_.whole(b, 1, UINT32_MAX));
        if (n > c.samples)
          reader_.fail(b, "budget " + std::to_string(n) + " is above samples (" + std::to_string(c.samples) +
                              "): a budget draws from the samples of each problem");
        if (std::count(a.budgets.begin(), a.budgets.end(), n)) reader_.fail(b, "budget " + std::to_string(n) + " is listed twice");
        a.budgets.push_back(n);
      }
    }
    if (auto x = m.get("strategies")) a.strategies = names(*x, aggregation::parse_strategy, "strategies");
    if (auto x = m.get("reductions")) a.reductions = names(*x, aggregation::parse_reduction, "reductions");
    if (auto x = m.get("draws")) a.draws = static_cast<int>(reader_.whole(*x, 1, kAnyInt));
    if (auto x = m.get("calibration_draws")) a.calibration_draws = static_cast<int>(reader_.whole(*x, 1, kAnyInt));
    if (auto x = m.get("bootstrap")) a.bootstrap_resamples = static_cast<int>(reader_.whole(*x, 2, kAnyInt));
    if (auto x = m.get("folds")) a.folds = static_cast<int>(reader_.whole(*x, 2, kAnyInt));
    if (auto x = m.get("reference")) {
      a.reference = parse(*x, aggregation::parse_strategy);
      if (!a.strategies.empty() && !std::count(a.strategies.begin(), a.strategies.end(), a.reference))
        reader_.fail(*x, "the savings reference '" + reader_.text(*x) + "' must be among analysis.strategies");
    } else if (!a.strategies.empty() && !std::count(a.strategies.begin(), a.strategies.end(), a.reference)) {
      reader_.fail(*m.get("strategies"), "does not include the savings reference '" +
                                             std::string(aggregation::name(a.reference)) +
                                             "': add it, or name another with analysis.reference");
    }
  }

  template <typename T>
  T parse(const Value& v, T (*parse_name)(std::string_view)) const {
    const auto text = reader_.text(v);
    try {
      return parse_name(text);
    } catch (const std::invalid_argument& e) {
      reader_.fail(v, e.what());
    }
  }

  template <typename T>
  std::vector<T> names(const Value& v, T (*parse_name)(std::string_view), const std::string& what) const {
    std::vector<T> out;
    const auto items = reader_.list(v);
    if (items.empty()) reader_.fail(v, "is empty; leave " + what + " out to use all of them");
    for (const auto& item : items) {
      const auto value = parse(item, parse_name);
      if (std::count(out.begin(), out.end(), value)) reader_.fail(item, "'" + reader_.text(item) + "' is listed twice");
      out.push_back(value);
    }
    return out;
  }

  // Cross-fitting needs at least `folds` evaluation problems; say so now, not after sampling.
  void check_folds(const SweepConfig& c, const Map& problems) const {
    const auto& a = c.analysis;
    const auto strategies = a.strategies.empty() ? aggregation::all_strategies() : a.strategies;
    if (c.has_calibration_split || !std::any_of(strategies.begin(), strategies.end(), aggregation::is_calibrated)) return;
    std::uint64_t most = 0;  // the evaluation problems, or an upper bound; 0: unknown
    if (c.evaluation.kind == ProblemSource::Kind::arithmetic) most = c.evaluation.count * c.evaluation.levels.size();
    else most = c.evaluation.limit;
    if (most == 0 || most >= static_cast<std::uint64_t>(a.folds)) return;
    const Map evaluation(reader_, problems.require("evaluation"), concat(kArithmeticKeys, kJsonlKeys));
    const Value blame = evaluation.has("count") ? evaluation.require("count") : evaluation.require("limit");
    reader_.fail(blame, "at most " + std::to_string(most) + " evaluation problems cannot be split into " +
                            std::to_string(a.folds) + " cross-fitting folds (analysis.folds); add problems, "
                            "lower folds, or give a calibration split");
  }

  RuntimeSpec runtime(const Value& v) const {
    const Map m(reader_, v, kRuntimeKeys, "runtime settings");
    RuntimeSpec r;
    if (auto x = m.get("problems_per_unit")) r.problems_per_unit = reader_.whole(*x, 1, kMaxCount);
    if (auto x = m.get("batch_size")) r.batch_size = reader_.whole(*x, 1, kMaxCount);
    if (auto x = m.get("samplers_per_policy")) r.samplers_per_policy = reader_.whole(*x, 1, 1024);
    if (auto x = m.get("verifiers_per_prm")) r.verifiers_per_prm = reader_.whole(*x, 1, 1024);
    if (auto x = m.get("memory_limit_mb")) r.memory_limit_mb = reader_.whole(*x, 0, kAnyU64 >> 20);
    if (auto x = m.get("threads")) r.threads = static_cast<int>(reader_.whole(*x, 0, 4096));
    if (auto x = m.get("heartbeat_ms")) r.heartbeat_ms = reader_.whole(*x, 10, 3600000);
    if (auto x = m.get("heartbeat_liveness")) r.heartbeat_liveness = reader_.whole(*x, 1, 1000);
    if (auto x = m.get("lease_timeout_s")) r.lease_timeout_s = reader_.whole(*x, 1, 31536000);
    if (auto x = m.get("max_message_mb")) r.max_message_mb = reader_.whole(*x, 1, 1 << 20);
    if (auto x = m.get("report_every_s")) r.report_every_s = reader_.whole(*x, 0, 86400);
    return r;
  }

  Reader reader_;
  fs::path base_;
  std::vector<std::pair<std::string, Value>> policy_names_, prm_names_;
};

}  // namespace

nlohmann::json search_json(const SearchRun& run) {
  return {{"label", run.label}, {"policy", run.policy}, {"prm", run.prm}, {"method", run.method}, {"n", run.n},
          {"m", run.m}, {"lookahead", run.lookahead}, {"max_steps", run.max_steps}, {"max_tokens", run.max_tokens}};
}

SearchRun search_of(const nlohmann::json& j) {
  const auto count = [&j](const char* key) {
    const auto value = json_integer<std::int64_t>(j.at(key));
    if (!value || *value < 0) throw std::invalid_argument(std::string("search field '") + key + "': expected a count");
    return *value;
  };
  SearchRun run;
  run.label = j.at("label").get<std::string>(), run.policy = j.at("policy").get<std::string>();
  run.prm = j.at("prm").get<std::string>(), run.method = j.at("method").get<std::string>();
  run.n = count("n"), run.m = count("m"), run.lookahead = count("lookahead");
  run.max_steps = count("max_steps"), run.max_tokens = count("max_tokens");
  return run;
}

namespace {
template <typename Spec>
const Spec& named(const std::vector<Spec>& specs, const std::string& name, const char* what) {
  for (const auto& spec : specs)
    if (spec.name == name) return spec;
  throw std::out_of_range(std::string("the sweep has no ") + what + " named '" + name + "'");
}
}  // namespace

const PolicySpec& policy_named(const SweepConfig& config, const std::string& name) {
  return named(config.policies, name, "policy");
}

const PrmSpec& prm_named(const SweepConfig& config, const std::string& name) { return named(config.prms, name, "PRM"); }

std::vector<SearchRun> search_runs(const SweepConfig& config) {
  std::vector<SearchRun> runs;
  for (const auto& s : config.searches)
    for (const auto& policy : s.policies)
      for (const auto& prm : s.prms)
        for (const auto n : s.n) {
          SearchRun run{"", policy, prm, s.method, n, s.m, s.lookahead, s.max_steps, s.max_tokens};
          if (run.max_tokens == 0) run.max_tokens = policy_named(config, policy).max_new_tokens;
          run.label = policy + "~" + s.method + "-n" + std::to_string(n) + "-m" + std::to_string(s.m) +
                      (s.lookahead ? "-k" + std::to_string(s.lookahead) : "") + "~" + prm;
          runs.push_back(std::move(run));
        }
  return runs;
}

SweepConfig load_sweep(const std::string& path) {
  const std::string text = read_file(path);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw InputError(path, e.mark.line >= 0 ? static_cast<std::size_t>(e.mark.line) + 1 : 0, "",
                     "not valid YAML: " + e.msg);
  }
  return Parser(path).parse(root);
}

}  // namespace quorum::config
