#include "actors/coordinator.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <deque>
#include <memory>

#include <nlohmann/json.hpp>

#include "actors/aggregator.h"
#include "actors/messages.h"
#include "actors/workers.h"
#include "runtime/bus/protocol.h"
#include "runtime/common/error.h"
#include "runtime/model/workers.h"
#include "runtime/store/store.h"
#include "runtime/sweep/plan.h"

namespace quorum::actors {
namespace {

using Clock = std::chrono::steady_clock;

struct WorkerSlot {
  caf::actor handle;
  bool samples = true;  // a sampler (policy) or a verifier (PRM)
  std::string model;    // the policy's or PRM's name
  std::size_t bytes = 0;
  bool busy = false, loaded = false;
};

struct Stage {
  std::size_t total = 0, done_before = 0, done = 0;
};

struct CoordinatorState {
  config::SweepConfig config;
  RunOptions options;
  std::shared_ptr<store::Store> store;
  caf::actor aggregator;
  std::vector<WorkerSlot> workers;
  std::map<std::string, sweep::UnitSpec> specs;
  std::map<std::string, std::deque<std::string>> sample_queue;  // policy -> pending sample units
  std::map<std::string, std::deque<std::string>> score_queue;   // PRM -> score units whose samples are stored
  std::map<std::string, std::vector<std::string>> waiting;      // sample unit -> score units that need it
  std::map<std::string, std::size_t> remaining;                 // "policy/NAME" or "prm/NAME" -> units not done
  std::map<std::string, std::vector<store::ResponseRow>> scoring;  // score unit in flight -> its responses
  std::map<std::pair<std::string, std::string>, store::ProblemRow> problems;  // (split, id)
  std::map<std::string, std::size_t> weight_bytes;  // model path -> bytes once loaded
  std::size_t resident_bytes = 0;
  Stage sample, score;
  Clock::time_point start = Clock::now();
  bool finishing = false;
  std::size_t progress_lines = 0;
  RunOutcome outcome;
  caf::typed_response_promise<std::string> finished;
};

using Self = caf::stateful_actor<CoordinatorState>*;

std::string model_key(bool samples, const std::string& name) { return (samples ? "policy/" : "prm/") + name; }

std::string duration_text(double seconds) {
  if (!(seconds >= 0) || seconds > 1e7) return "?";
  char text[32];
  const long s = static_cast<long>(seconds + 0.5);
  if (s >= 3600) std::snprintf(text, sizeof text, "%ldh%02ldm", s / 3600, s / 60 % 60);
  else if (s >= 60) std::snprintf(text, sizeof text, "%ldm%02lds", s / 60, s % 60);
  else std::snprintf(text, sizeof text, "%lds", s);
  return text;
}

void finish(Self self, int exit_code, const std::string& message);

std::string outcome_json(const RunOutcome& o) {
  return nlohmann::json{{"exit_code", o.exit_code}, {"message", o.message}, {"report", o.report},
                        {"units_run", o.units_run}, {"units_already_done", o.units_already_done}}.dump();
}

// The scored problems of a unit, as the aggregator's running tally reads them.
void send_scored(Self self, const sweep::UnitSpec& spec, const std::vector<store::ResponseRow>& responses,
                 const std::map<std::string, store::ScoreRow>& scores) {
  if (spec.split != sweep::kEvaluation) return;
  nlohmann::json problems = nlohmann::json::array();
  std::map<std::string, std::size_t> slot;
  for (const auto& id : spec.problem_ids) {
    slot[id] = problems.size();
    problems.push_back({{"gold", self->state.problems.at({spec.split, id}).answer}, {"responses", nlohmann::json::array()}});
  }
  for (const auto& r : responses) {
    const auto score = scores.find(r.id);
    if (score == scores.end()) return;  // not all scored: nothing to tally
    problems[slot.at(r.problem_id)]["responses"].push_back(
        {{"answer", r.answer ? nlohmann::json(*r.answer) : nlohmann::json(nullptr)}, {"scores", score->second.scores}});
  }
  self->send(self->state.aggregator, scored_atom::value,
             nlohmann::json{{"policy", spec.policy}, {"prm", spec.prm}, {"problems", problems}}.dump());
}

bus::Lease make_lease(Self self, const std::string& unit_id) {
  auto& st = self->state;
  const auto& spec = st.specs.at(unit_id);
  bus::Lease lease;
  lease.unit_id = unit_id;
  lease.kind = spec.kind;
  std::vector<bus::ProblemInput> problems;
  for (const auto& id : spec.problem_ids) problems.push_back({id, st.problems.at({spec.split, id}).text});
  if (spec.kind == "sample") {
    lease.sample = {spec.policy, spec.split, std::move(problems), static_cast<std::int64_t>(st.config.samples),
                    st.config.seed};
  } else {
    auto responses = st.store->responses(spec.policy, spec.split, spec.problem_ids);
    lease.score.prm = spec.prm, lease.score.policy = spec.policy, lease.score.split = spec.split;
    lease.score.problems = std::move(problems);
    for (const auto& r : responses) lease.score.responses.push_back({r.id, r.problem_id, r.steps});
    st.scoring[unit_id] = std::move(responses);
  }
  return lease;
}

void dispatch(Self self);

void on_reply(Self self, std::size_t worker, const std::string& unit_id, const std::string& reply) {
  auto& st = self->state;
  auto& w = st.workers[worker];
  w.busy = false;
  try {
    if (bus::message_type(reply) == "failure") {
      const auto failure = bus::decode_failure(reply);
      finish(self, failure.input_error ? 2 : 3, failure.message);
      return;
    }
    const auto result = bus::decode_result(reply);
    if (result.unit_id != unit_id) throw bus::ProtocolError("result for " + result.unit_id + ", leased " + unit_id);
    const auto& spec = st.specs.at(unit_id);
    if (spec.kind == "sample") {
      st.store->commit_responses(unit_id, result.responses);
      st.sample.done += 1;
      for (const auto& waiting : st.waiting[unit_id]) st.score_queue[st.specs.at(waiting).prm].push_back(waiting);
      st.waiting.erase(unit_id);
    } else {
      st.store->commit_scores(unit_id, result.scores);
      st.score.done += 1;
      std::map<std::string, store::ScoreRow> scores;
      for (const auto& s : result.scores) scores.emplace(s.response_id, s);
      send_scored(self, spec, st.scoring[unit_id], scores);
      st.scoring.erase(unit_id);
    }
    // Acknowledged only now that the rows are committed.
    self->send(w.handle, ack_atom::value, bus::encode(bus::Ack{unit_id}));
    st.remaining[model_key(w.samples, w.model)] -= 1;
    st.outcome.units_run += 1;
  } catch (const InputError& e) {
    finish(self, 2, e.what());
    return;
  } catch (const std::exception& e) {
    finish(self, 3, std::string("unit ") + unit_id + ": " + e.what());
    return;
  }
  dispatch(self);
}

void release(Self self, WorkerSlot& w) {
  self->send(w.handle, release_atom::value);
  w.loaded = false;
  self->state.resident_bytes -= w.bytes;
}

// Hands a unit to every idle worker that has one ready, within the memory bound.
void dispatch(Self self) {
  auto& st = self->state;
  if (st.finishing) return;
  const std::size_t limit = st.config.runtime.memory_limit_mb * 1024 * 1024;
  bool blocked_by_memory = false;
  for (std::size_t i = 0; i < st.workers.size(); ++i) {
    auto& w = st.workers[i];
    if (w.busy) continue;
    auto& queue = w.samples ? st.sample_queue[w.model] : st.score_queue[w.model];
    if (queue.empty()) {
      if (w.loaded && st.remaining[model_key(w.samples, w.model)] == 0) release(self, w);
      continue;
    }
    if (!w.loaded) {
      if (limit > 0 && st.resident_bytes > 0 && st.resident_bytes + w.bytes > limit) {
        blocked_by_memory = true;
        continue;
      }
      w.loaded = true;
      st.resident_bytes += w.bytes;
    }
    const auto unit_id = queue.front();
    queue.pop_front();
    try {
      st.store->mark_leased(unit_id);
      const auto lease = bus::encode(make_lease(self, unit_id));
      w.busy = true;
      self->request(w.handle, caf::infinite, lease_atom::value, lease)
          .then([self, i, unit_id](const std::string& reply) { on_reply(self, i, unit_id, reply); },
                [self, unit_id](caf::error& error) {
                  finish(self, 3, "unit " + unit_id + ": worker failed: " + self->system().render(error));
                });
    } catch (const std::exception& e) {
      finish(self, 3, std::string("unit ") + unit_id + ": " + e.what());
      return;
    }
  }
  // Idle models that hold memory while another waits for it give it up; they reload when
  // their next unit is ready.
  if (blocked_by_memory) {
    bool freed = false;
    for (auto& w : st.workers) {
      auto& queue = w.samples ? st.sample_queue[w.model] : st.score_queue[w.model];
      if (!w.busy && w.loaded && queue.empty()) release(self, w), freed = true;
    }
    if (freed) return dispatch(self);
  }
  if (st.sample.done + st.sample.done_before == st.sample.total && st.score.done + st.score.done_before == st.score.total)
    finish(self, 0, "");
}

void draw_progress(Self self, const std::string& standing) {
  auto& st = self->state;
  if (!st.options.progress) return;
  const double elapsed = std::chrono::duration<double>(Clock::now() - st.start).count();
  std::string text;
  auto stage_line = [&](const char* name, const Stage& s) {
    const auto done = s.done_before + s.done;
    const double rate = elapsed > 0 ? s.done / elapsed : 0;
    const double left = rate > 0 ? (s.total - done) / rate : (done == s.total ? 0 : NAN);
    char line[200];
    std::snprintf(line, sizeof line, "%-7s %6zu/%-6zu units (%3.0f%%)  %6.2f units/s  ETA %s\n", name, done, s.total,
                  s.total ? 100.0 * done / s.total : 100.0, rate, duration_text(left).c_str());
    text += line;
  };
  stage_line("sample", st.sample);
  stage_line("score", st.score);
  text += standing;
  const bool terminal = isatty(STDERR_FILENO);
  // On a terminal the view redraws in place; in a log it is appended.
  if (terminal && st.progress_lines > 0) std::fprintf(stderr, "\x1b[%zuF\x1b[J", st.progress_lines);
  std::fputs(text.c_str(), stderr);
  if (!terminal) std::fputs("\n", stderr);
  std::fflush(stderr);
  st.progress_lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

void show_progress(Self self) {
  self->request(self->state.aggregator, caf::infinite, standing_atom::value)
      .then([self](const std::string& standing) { draw_progress(self, standing); });
}

void finish(Self self, int exit_code, const std::string& message) {
  auto& st = self->state;
  if (st.finishing) return;
  st.finishing = true;
  auto stop_all = [self] {
    for (auto& w : self->state.workers) self->send_exit(w.handle, caf::exit_reason::user_shutdown);
  };
  if (exit_code != 0) {
    st.outcome.exit_code = exit_code;
    st.outcome.message = message;
    stop_all();
    st.finished.deliver(outcome_json(st.outcome));
    self->quit();
    return;
  }
  show_progress(self);
  stop_all();
  self->request(st.aggregator, caf::infinite, report_atom::value)
      .then(
          [self](const std::string& directory) {
            self->state.outcome.report = directory;
            self->state.finished.deliver(outcome_json(self->state.outcome));
            self->quit();
          },
          [self](caf::error& error) {
            self->state.outcome.exit_code = 3;
            self->state.outcome.message = "report: " + self->system().render(error);
            self->state.finished.deliver(outcome_json(self->state.outcome));
            self->quit();
          });
}

caf::behavior coordinator(Self self, config::SweepConfig config, RunOptions options, std::shared_ptr<store::Store> store,
                          caf::actor aggregator, std::map<std::string, std::size_t> weight_bytes) {
  auto& st = self->state;
  st.weight_bytes = std::move(weight_bytes);
  st.config = std::move(config);
  st.options = options;
  st.store = std::move(store);
  st.aggregator = aggregator;
  return {
      [self](run_atom) -> caf::result<std::string> {
        auto& st = self->state;
        st.finished = self->make_response_promise<std::string>();
        for (const char* split : {sweep::kEvaluation, sweep::kCalibration})
          for (auto& p : st.store->problems(split)) st.problems[{split, p.id}] = p;
        std::set<std::string> done;
        for (const auto& unit : st.store->units()) {
          auto spec = sweep::parse_unit_spec(unit.spec);
          (spec.kind == "sample" ? st.sample : st.score).total += 1;
          if (unit.state == store::UnitState::done) {
            done.insert(unit.id);
            (spec.kind == "sample" ? st.sample : st.score).done_before += 1;
          } else {
            st.remaining[model_key(spec.kind == "sample", spec.kind == "sample" ? spec.policy : spec.prm)] += 1;
          }
          st.specs.emplace(unit.id, std::move(spec));
        }
        st.outcome.units_already_done = done.size();
        for (const auto& [id, spec] : st.specs) {
          if (done.count(id)) {
            // Scored before a restart: the running tally starts from what is stored.
            if (spec.kind == "score" && spec.split == sweep::kEvaluation) {
              const auto responses = st.store->responses(spec.policy, spec.split, spec.problem_ids);
              std::vector<std::string> ids;
              for (const auto& r : responses) ids.push_back(r.id);
              send_scored(self, spec, responses, st.store->scores_for(spec.prm, ids));
            }
            continue;
          }
          if (spec.kind == "sample") {
            st.sample_queue[spec.policy].push_back(id);
          } else {
            const auto needed = sweep::sample_unit_id(spec.policy, spec.split, spec.chunk);
            if (done.count(needed)) st.score_queue[spec.prm].push_back(id);
            else st.waiting[needed].push_back(id);
          }
        }
        // Both splits advance in proportion (chunk k of n at k/n), so a report of a running
        // store has calibration data as early as evaluation data.
        std::map<std::string, std::size_t> chunks;  // split -> chunk count
        for (const auto& [id, spec] : st.specs) chunks[spec.split] = std::max(chunks[spec.split], spec.chunk + 1);
        auto by_plan_order = [&](std::deque<std::string>& queue) {
          std::stable_sort(queue.begin(), queue.end(), [&](const std::string& a, const std::string& b) {
            const auto &x = st.specs.at(a), &y = st.specs.at(b);
            return std::make_pair(double(x.chunk) / chunks[x.split], x.split != sweep::kEvaluation) <
                   std::make_pair(double(y.chunk) / chunks[y.split], y.split != sweep::kEvaluation);
          });
        };
        for (auto& [name, queue] : st.sample_queue) by_plan_order(queue);
        for (auto& [name, queue] : st.score_queue) by_plan_order(queue);
        const auto& runtime = st.config.runtime;
        for (const auto& p : st.config.policies)
          for (std::size_t r = 0; r < runtime.samplers_per_policy; ++r)
            st.workers.push_back({self->spawn<caf::detached>(sampler, p, runtime.batch_size), true, p.name,
                                  st.weight_bytes.at(p.path)});
        for (const auto& p : st.config.prms)
          for (std::size_t r = 0; r < runtime.verifiers_per_prm; ++r)
            st.workers.push_back({self->spawn<caf::detached>(verifier, p, runtime.batch_size), false, p.name,
                                  st.weight_bytes.at(p.path)});
        self->send(self, tick_atom::value);
        dispatch(self);
        return st.finished;
      },
      [self](tick_atom) {
        if (self->state.finishing) return;
        show_progress(self);
        self->delayed_send(self, std::chrono::seconds(isatty(STDERR_FILENO) ? 1 : 10), tick_atom::value);
      },
  };
}

// One run per store at a time: an advisory lock on "<store>.lock", which the kernel drops
// when the process ends however it ends, so a killed run never leaves a stale lock.
class StoreLock {
 public:
  explicit StoreLock(const std::string& store_path) : path_(store_path + ".lock") {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw InputError(path_, 0, "", "cannot create the store's lock file");
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      throw InputError(store_path, 0, "", "another quorum run is using this store");
    }
  }
  ~StoreLock() { ::close(fd_); }
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace

RunOutcome run_sweep(const config::SweepConfig& config, const RunOptions& options) {
  // Every checkpoint's header is read before any work: a broken model directory is the
  // sweep's input error, reported before a unit runs.
  std::map<std::string, std::size_t> weight_bytes;
  for (const auto& p : config.policies) weight_bytes[p.path] = model::model_weight_bytes(p.path);
  for (const auto& p : config.prms) weight_bytes[p.path] = model::model_weight_bytes(p.path);
  auto store = std::make_shared<store::Store>(config.store);
  const StoreLock lock(config.store);
  RunOutcome outcome;
  outcome.leases_taken_back = sweep::prepare_store(*store, config);
  caf::actor_system_config system_config;
  caf::actor_system system{system_config};
  auto aggregator_actor = system.spawn<caf::detached>(aggregator, config.store);
  auto coordinator_actor = system.spawn(coordinator, config, options, store, aggregator_actor, weight_bytes);
  caf::scoped_actor self{system};
  self->request(coordinator_actor, caf::infinite, run_atom::value)
      .receive(
          [&](const std::string& reply) {
            const auto j = nlohmann::json::parse(reply);
            outcome.exit_code = j.at("exit_code"), outcome.message = j.at("message"), outcome.report = j.at("report");
            outcome.units_run = j.at("units_run"), outcome.units_already_done = j.at("units_already_done");
          },
               [&](caf::error& error) {
                 outcome.exit_code = 3;
                 outcome.message = "coordinator: " + system.render(error);
               });
  self->send_exit(aggregator_actor, caf::exit_reason::user_shutdown);
  return outcome;
}

}  // namespace quorum::actors
