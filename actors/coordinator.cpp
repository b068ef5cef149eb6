#include "actors/coordinator.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "actors/aggregator.h"
#include "actors/handoff.h"
#include "actors/messages.h"
#include "actors/worker_node.h"
#include "runtime/bus/protocol.h"
#include "runtime/bus/router.h"
#include "runtime/common/error.h"
#include "runtime/common/files.h"
#include "runtime/model/workers.h"
#include "runtime/scheduler/scheduler.h"
#include "runtime/store/store.h"
#include "runtime/sweep/plan.h"

namespace quorum::actors {
namespace {

using Clock = std::chrono::steady_clock;

// A connected worker as the messaging sees it; what it can run, holds and computes is the
// scheduler's.
struct Worker {
  std::string name;
  Clock::time_point last_seen;
};

// A lease's deadlines: renewed by the worker's heartbeats, and a hard one from the config.
struct LeaseDeadlines {
  Clock::time_point renewed_until, hard_deadline;
};

struct Stage {
  std::size_t total = 0, done_before = 0, done = 0;
};

struct CoordinatorState {
  config::SweepConfig config;
  RunOptions options;
  std::shared_ptr<store::Store> store;
  std::shared_ptr<bus::Router> router;
  caf::actor aggregator;
  // Which unit goes to which worker (runtime/scheduler); set once the actor starts.
  std::optional<scheduler::Scheduler> scheduler;
  std::map<std::string, Worker> workers;              // by routing id
  std::map<std::string, LeaseDeadlines> deadlines;  // by lease id, for every lease out
  std::map<std::string, sweep::UnitSpec> specs;
  std::set<std::string> done_units;
  std::map<std::string, std::vector<std::string>> waiting;  // sample unit -> score units that need it
  std::map<std::string, std::size_t> failures;              // unit -> worker failures so far
  std::map<std::string, std::vector<store::ResponseRow>> scoring;  // score unit leased -> its responses
  std::map<std::pair<std::string, std::string>, store::ProblemRow> problems;  // (split, id)
  std::set<scheduler::ModelSet> unrunnable_logged;
  Stage sample, score, search;
  Clock::time_point start = Clock::now(), last_progress;
  // Set once run_atom has loaded the plan. A worker's hello can reach the coordinator first (the
  // in-process worker's, or a fast remote one's); dispatching then would find every count at
  // 0 of 0, take the sweep for done and report on an empty store.
  bool planned = false;
  bool finishing = false;
  std::size_t progress_lines = 0;
  // The report while the sweep runs (runtime.report_every_s): one at a time, and only when
  // units finished since the last.
  Clock::time_point last_report = Clock::now();
  std::size_t done_at_last_report = 0;
  std::set<std::string> split_logged;  // policy \x1f PRM pairs whose searches were split, said once
  bool reporting = false;
  RunOutcome outcome;
  caf::response_promise finished;  // the run's outcome (outcome_json), when the sweep ends
  caf::strong_actor_ptr requester;  // who asked for `finished` (handoff.h)

  Clock::duration liveness_window() const {
    return std::chrono::milliseconds(config.runtime.heartbeat_ms * config.runtime.heartbeat_liveness);
  }
};

using Self = caf::stateful_actor<CoordinatorState>*;

std::string duration_text(double seconds) {
  if (!(seconds >= 0) || seconds > 1e7) return "?";
  char text[32];
  const long s = static_cast<long>(seconds + 0.5);
  if (s >= 3600) std::snprintf(text, sizeof text, "%ldh%02ldm", s / 3600, s / 60 % 60);
  else if (s >= 60) std::snprintf(text, sizeof text, "%ldm%02lds", s / 60, s % 60);
  else std::snprintf(text, sizeof text, "%lds", s);
  return text;
}

// A search unit needs its policy and its PRM: on the worker that runs it, whose searcher streams
// its rounds to their actors there, or, when no worker can hold both, its PRM served by a second
// worker (the scheduler's split units).
std::vector<std::string> unit_models(const sweep::UnitSpec& spec) {
  if (spec.kind == "search") return {bus::model_key(true, spec.policy), bus::model_key(false, spec.prm)};
  return {spec.kind == "sample" ? bus::model_key(true, spec.policy) : bus::model_key(false, spec.prm)};
}

Stage& stage_of(CoordinatorState& st, const sweep::UnitSpec& spec) {
  return spec.kind == "sample" ? st.sample : spec.kind == "score" ? st.score : st.search;
}

void finish(Self self, int exit_code, const std::string& message);
void dispatch(Self self);

// Lines from the bus go above the progress view, which redraws under them.
void log_line(Self self, const std::string& line) {
  auto& st = self->state;
  if (st.options.progress && isatty(STDERR_FILENO) && st.progress_lines > 0)
    std::fprintf(stderr, "\x1b[%zuF\x1b[J", st.progress_lines), st.progress_lines = 0;
  std::fprintf(stderr, "quorum coordinator: %s\n", line.c_str());
  std::fflush(stderr);
}

std::string outcome_json(const RunOutcome& o) {
  return nlohmann::json{{"exit_code", o.exit_code}, {"message", o.message}, {"report", o.report},
                        {"units_run", o.units_run}, {"units_already_done", o.units_already_done},
                        {"leases", o.bus.leases}, {"expired", o.bus.expired}, {"late", o.bus.late},
                        {"workers_lost", o.bus.workers_lost}, {"malformed", o.bus.malformed}}.dump();
}

void send(Self self, const std::string& peer, const std::string& message) { self->state.router->send(peer, message); }

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
  self->send(self->state.aggregator,
             handoff::message_to(self->state.aggregator, scored_atom::value,
                                 nlohmann::json{{"policy", spec.policy}, {"prm", spec.prm}, {"problems", problems}}.dump()));
}

bus::Lease make_lease(Self self, const std::string& unit_id, const std::string& lease_id) {
  auto& st = self->state;
  const auto& spec = st.specs.at(unit_id);
  bus::Lease lease;
  lease.lease_id = lease_id;
  lease.unit_id = unit_id;
  lease.kind = spec.kind;
  std::vector<bus::ProblemInput> problems;
  for (const auto& id : spec.problem_ids) problems.push_back({id, st.problems.at({spec.split, id}).text});
  if (spec.kind == "sample") {
    lease.sample = {spec.policy, spec.split, std::move(problems), static_cast<std::int64_t>(st.config.samples),
                    st.config.seed};
  } else if (spec.kind == "search") {
    lease.search = {spec.search, spec.split, std::move(problems), st.config.seed};
  } else {
    auto responses = st.store->responses(spec.policy, spec.split, spec.problem_ids);
    lease.score.prm = spec.prm, lease.score.policy = spec.policy, lease.score.split = spec.split;
    lease.score.problems = std::move(problems);
    for (const auto& r : responses) lease.score.responses.push_back({r.id, r.problem_id, r.steps, r.text});
    st.scoring[unit_id] = std::move(responses);
  }
  return lease;
}

// A split search's lease ends: its partner stops serving, and so does the searching worker
// (`also_lessee`) when the lease ends without its result, since it cannot finish without the
// partner's scores.
void end_service(Self self, const std::string& lease_id, bool also_lessee) {
  const auto* lease = self->state.scheduler->lease(lease_id);
  if (!lease || !lease->split) return;
  const auto cancel = bus::encode(bus::Cancel{lease_id});
  if (!lease->partner.empty()) send(self, lease->partner, cancel);
  if (also_lessee && !lease->worker.empty()) send(self, lease->worker, cancel);
}

// A lease that ended without a result: the scheduler puts its unit back in front, the store
// marks it pending again.
void take_back(Self self, const std::string& lease_id) {
  auto& st = self->state;
  st.deadlines.erase(lease_id);
  end_service(self, lease_id, true);
  if (const auto unit = st.scheduler->take_back(lease_id)) st.store->mark_pending(*unit);
}

// A split search's rounds: paths from the searching worker to the serving one, scores back.
// A round whose other side is gone is answered with an error at once, so the search fails
// fast and its unit is leased again.
void relay_round(Self self, const std::string& peer, const std::string& type, const std::string& message) {
  const auto& st = self->state;
  if (type == "score_paths") {
    const auto paths = bus::decode_paths_to_score(message);
    const auto* lease = st.scheduler->lease(paths.lease_id);
    if (lease && lease->worker == peer && !lease->partner.empty()) return send(self, lease->partner, message);
    bus::PathScores refused{paths.lease_id, paths.request, {}, 0, "no worker serves the PRM of lease " + paths.lease_id, false};
    return send(self, peer, bus::encode(refused));
  }
  const auto scores = bus::decode_path_scores(message);
  const auto* lease = st.scheduler->lease(scores.lease_id);
  if (lease && lease->partner == peer && !lease->worker.empty()) send(self, lease->worker, message);
}

void acknowledge(Self self, const std::string& peer, const std::string& lease_id, bool stored) {
  send(self, peer, bus::encode(bus::Ack{lease_id, stored}));
}

// The lease's result: committed, then acknowledged. A result for a lease no longer held (it
// expired, or its worker was given up) or for a unit stored already is acknowledged unstored.
void on_result(Self self, const std::string& peer, const bus::Result& result) {
  auto& st = self->state;
  const auto* lease = st.scheduler->lease(result.lease_id);
  if (!lease || lease->unit != result.unit_id || st.done_units.count(result.unit_id)) {
    st.outcome.bus.late += 1;
    acknowledge(self, peer, result.lease_id, false);
    return;
  }
  const auto unit_id = lease->unit;
  const auto& spec = st.specs.at(unit_id);
  const std::size_t expected = spec.kind == "sample"   ? spec.problem_ids.size() * st.config.samples
                               : spec.kind == "search" ? spec.problem_ids.size() * static_cast<std::size_t>(spec.search.n)
                                                       : st.scoring[unit_id].size();
  const std::size_t rows = spec.kind == "score" ? result.scores.size() : result.responses.size();
  // A search's every leaf comes with its scores.
  if (rows != expected || (spec.kind == "search" && result.scores.size() != expected)) {
    log_line(self, "unit " + unit_id + ": a result of " + std::to_string(rows) + " rows, " + std::to_string(expected) +
                       " expected; leased again");
    acknowledge(self, peer, result.lease_id, false);
    take_back(self, result.lease_id);
    return;
  }
  try {
    if (spec.kind == "sample") {
      st.store->commit_responses(unit_id, result.responses);
      st.sample.done += 1;
      for (const auto& waiting : st.waiting[unit_id]) st.scheduler->enqueue(waiting);
      st.waiting.erase(unit_id);
    } else if (spec.kind == "search") {
      st.store->commit_search(unit_id, result.responses, result.scores);
      st.search.done += 1;
      std::map<std::string, store::ScoreRow> scores;
      for (const auto& s : result.scores) scores.emplace(s.response_id, s);
      auto tallied = spec;
      tallied.policy = spec.search.label;  // the search's cell, beside its policy's own
      send_scored(self, tallied, result.responses, scores);
    } else {
      st.store->commit_scores(unit_id, result.scores);
      st.score.done += 1;
      std::map<std::string, store::ScoreRow> scores;
      for (const auto& s : result.scores) scores.emplace(s.response_id, s);
      send_scored(self, spec, st.scoring[unit_id], scores);
      st.scoring.erase(unit_id);
    }
  } catch (const InputError& e) {
    return finish(self, 2, e.what());
  } catch (const std::exception& e) {
    return finish(self, 3, std::string("unit ") + unit_id + ": " + e.what());
  }
  // Acknowledged only now that the rows are committed.
  acknowledge(self, peer, result.lease_id, true);
  end_service(self, result.lease_id, false);
  st.done_units.insert(unit_id);
  st.scheduler->complete(result.lease_id);
  st.deadlines.erase(result.lease_id);
  st.outcome.units_run += 1;
}

void on_failure(Self self, const std::string& peer, const bus::Failure& failure) {
  auto& st = self->state;
  acknowledge(self, peer, failure.lease_id, false);
  if (!st.scheduler->lease(failure.lease_id)) return;
  if (failure.input_error) return finish(self, 2, failure.message);
  const auto count = ++st.failures[failure.unit_id];
  if (count >= 3) return finish(self, 3, "unit " + failure.unit_id + " failed " + std::to_string(count) + " times: " + failure.message);
  log_line(self, "unit " + failure.unit_id + " failed on a worker (" + failure.message + "); leased again");
  take_back(self, failure.lease_id);
}

void on_hello(Self self, const std::string& peer, const bus::Hello& hello) {
  auto& st = self->state;
  const std::set<std::string> running(hello.running.begin(), hello.running.end());
  // The same worker again (it reconnected, or said hello again): the leases it still works on
  // stay its own, the others go back to the queue.
  bool known = false;
  std::vector<std::string> kept;
  for (auto it = st.workers.begin(); it != st.workers.end();) {
    if (it->second.name != hello.worker && it->first != peer) {
      ++it;
      continue;
    }
    known = true;
    for (const auto& lease_id : st.scheduler->leave(it->first)) {
      if (running.count(lease_id)) kept.push_back(lease_id);
      else take_back(self, lease_id);
    }
    it = st.workers.erase(it);
  }
  st.workers[peer] = Worker{hello.worker, Clock::now()};
  st.scheduler->join(peer, {hello.cuda, hello.memory_bytes, hello.slots}, hello.loaded);
  for (const auto& lease_id : kept) st.scheduler->move_lease(lease_id, peer);
  log_line(self, "worker " + hello.worker + (known ? " is back" : " joined") + " (" + (hello.cuda ? "cuda" : "cpu") +
                     (hello.memory_bytes ? ", " + std::to_string(hello.memory_bytes >> 20) + " MB for models" : "") + ")");
  bus::Welcome welcome;
  welcome.sweep = st.config.name;
  welcome.policies = st.config.policies, welcome.prms = st.config.prms;
  welcome.batch_size = st.config.runtime.batch_size;
  welcome.replicas_per_policy = st.config.runtime.samplers_per_policy;
  welcome.replicas_per_prm = st.config.runtime.verifiers_per_prm;
  welcome.heartbeat_ms = st.config.runtime.heartbeat_ms, welcome.liveness = st.config.runtime.heartbeat_liveness;
  send(self, peer, bus::encode(welcome));
}

void on_frame(Self self, const std::string& peer, const std::string& message) {
  auto& st = self->state;
  std::string type;
  try {
    type = bus::message_type(message);
  } catch (const bus::VersionError& e) {
    st.outcome.bus.malformed += 1;
    log_line(self, "refused peer " + bus::peer_text(peer) + ": " + e.what());
    send(self, peer, bus::encode(bus::Refused{e.what()}));
    return;
  } catch (const bus::ProtocolError& e) {
    st.outcome.bus.malformed += 1;
    log_line(self, "dropped a message from peer " + bus::peer_text(peer) + ": " + e.what());
    return;
  }
  if (st.finishing) return send(self, peer, bus::encode_done());
  try {
    if (type == "hello") {
      on_hello(self, peer, bus::decode_hello(message));
    } else {
      const auto worker = st.workers.find(peer);
      if (worker == st.workers.end()) send(self, peer, bus::encode_reannounce());
      else worker->second.last_seen = Clock::now();
      if (type == "heartbeat") {
        if (worker != st.workers.end())
          for (const auto& lease_id : bus::decode_heartbeat(message).running)
            if (const auto* lease = st.scheduler->lease(lease_id); lease && lease->worker == peer)
              st.deadlines.at(lease_id).renewed_until = Clock::now() + st.liveness_window();
      } else if (type == "result") {
        on_result(self, peer, bus::decode_result(message));
      } else if (type == "failure") {
        on_failure(self, peer, bus::decode_failure(message));
      } else if (type == "score_paths" || type == "path_scores") {
        if (worker != st.workers.end()) relay_round(self, peer, type, message);
        return;  // nothing to dispatch
      } else {
        throw bus::ProtocolError("a worker does not send " + type + " messages");
      }
    }
  } catch (const bus::ProtocolError& e) {
    st.outcome.bus.malformed += 1;
    log_line(self, "dropped a message from peer " + bus::peer_text(peer) + ": " + e.what());
    return;
  }
  dispatch(self);
}

// Heartbeats out, and whatever has run out of time: silent workers and expired leases.
void check_deadlines(Self self) {
  auto& st = self->state;
  const auto now = Clock::now();
  for (auto it = st.workers.begin(); it != st.workers.end();) {
    if (now - it->second.last_seen <= st.liveness_window()) {
      send(self, it->first, bus::encode(bus::Heartbeat{}));
      ++it;
      continue;
    }
    st.outcome.bus.workers_lost += 1;
    const auto leases = st.scheduler->leave(it->first);  // those it computed, and those it served a PRM for
    log_line(self, "worker " + it->second.name + " lost (silent for " +
                       std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now - it->second.last_seen).count()) +
                       " ms); its " + std::to_string(leases.size()) + " leases go to others");
    it = st.workers.erase(it);
    for (const auto& lease_id : leases) st.outcome.bus.expired += 1, take_back(self, lease_id);
  }
  std::vector<std::string> expired;
  for (const auto& [id, lease] : st.deadlines)
    if (now > std::min(lease.renewed_until, lease.hard_deadline)) expired.push_back(id);
  for (const auto& id : expired) {
    log_line(self, "lease " + id + " expired; its unit is leased again");
    st.outcome.bus.expired += 1;
    take_back(self, id);
  }
  if (!expired.empty()) dispatch(self);
}

// Carries out a lease the scheduler decided: the store marks it leased, the worker gets it with
// the inputs of its unit and a deadline.
void issue(Self self, const scheduler::Action& action) {
  auto& st = self->state;
  st.store->mark_leased(action.unit);
  auto lease = make_lease(self, action.unit, action.lease_id);
  const auto now = Clock::now();
  st.deadlines[action.lease_id] = {now + st.liveness_window(), now + std::chrono::seconds(st.config.runtime.lease_timeout_s)};
  st.outcome.bus.leases += 1;
  if (!action.partner.empty()) {
    // Split: the partner first, so it serves before the first round can reach it.
    lease.prm_served = true;
    const auto& spec = st.specs.at(action.unit);
    if (st.split_logged.insert(spec.policy + "\x1f" + spec.prm).second)
      log_line(self, "no worker can hold policy " + spec.policy + " and PRM " + spec.prm +
                         " together: their searches run split, the PRM served by a second worker (first: " +
                         st.workers.at(action.worker).name + " searching, served by " + st.workers.at(action.partner).name + ")");
    send(self, action.partner, bus::encode(bus::Serve{action.lease_id, bus::model_key(false, st.specs.at(action.unit).prm)}));
  }
  send(self, action.worker, bus::encode(lease));
}

void dispatch(Self self) {
  auto& st = self->state;
  if (st.finishing || !st.planned) return;
  const auto complete = [](const Stage& s) { return s.done + s.done_before == s.total; };
  if (complete(st.sample) && complete(st.score) && complete(st.search)) return finish(self, 0, "");
  try {
    for (const auto& action : st.scheduler->dispatch()) {
      if (action.kind == scheduler::Action::Kind::release) send(self, action.worker, bus::encode(bus::Release{action.model}));
      else issue(self, action);
    }
  } catch (const std::exception& e) {
    return finish(self, 3, e.what());
  }
  // Work that no connected worker can take (a CUDA model among CPU workers, weights bigger than
  // every worker's memory) is said once, not waited on in silence.
  for (const auto& unrunnable : st.scheduler->unrunnable()) {
    if (!st.unrunnable_logged.insert(unrunnable.models).second) continue;
    log_line(self, "no connected worker can run " + scheduler::model_set_text(unrunnable.models) + " (" +
                       std::to_string(unrunnable.resident_bytes >> 20) + " MB resident); its units wait for one that can");
  }
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
  if (st.search.total) stage_line("search", st.search);
  char line[200];
  std::snprintf(line, sizeof line, "workers %zu, leases out %zu, re-issued %llu, late results ignored %llu\n",
                st.workers.size(), st.scheduler->leases_out(), static_cast<unsigned long long>(st.outcome.bus.expired),
                static_cast<unsigned long long>(st.outcome.bus.late));
  text += line;
  text += standing;
  const bool terminal = isatty(STDERR_FILENO);
  // On a terminal the view redraws in place; in a log it is appended.
  if (terminal && st.progress_lines > 0) std::fprintf(stderr, "\x1b[%zuF\x1b[J", st.progress_lines);
  std::fputs(text.c_str(), stderr);
  if (!terminal) std::fputs("\n", stderr);
  std::fflush(stderr);
  st.progress_lines = terminal ? static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) : 0;
}

void show_progress(Self self) {
  handoff::sent(self->state.aggregator);
  self->request(self->state.aggregator, caf::infinite, standing_atom::value).then([self](const std::string& standing) {
    handoff::received(self->id());
    draw_progress(self, standing);
  });
}

void finish(Self self, int exit_code, const std::string& message) {
  auto& st = self->state;
  if (st.finishing) return;
  st.finishing = true;
  // Every worker leaves: the sweep is done, or cannot go on.
  for (const auto& [peer, w] : st.workers) send(self, peer, bus::encode_done());
  if (exit_code != 0) {
    st.outcome.exit_code = exit_code;
    st.outcome.message = message;
    st.finished.deliver(handoff::message_to(st.requester, outcome_json(st.outcome)));
    self->quit();
    return;
  }
  show_progress(self);
  handoff::sent(st.aggregator);
  self->request(st.aggregator, caf::infinite, report_atom::value, 0)
      .then(
          [self](const std::string& directory) {
            handoff::received(self->id());
            self->state.outcome.report = directory;
            self->state.finished.deliver(handoff::message_to(self->state.requester, outcome_json(self->state.outcome)));
            self->quit();
          },
          [self](caf::error& error) {
            handoff::received(self->id());
            self->state.outcome.exit_code = 3;
            self->state.outcome.message = "report: " + self->system().render(error);
            self->state.finished.deliver(handoff::message_to(self->state.requester, outcome_json(self->state.outcome)));
            self->quit();
          });
}

// Rewrites the report of the running sweep in the aggregator, off this actor's thread. An
// analysis that cannot run yet (too few problems complete) is no error: the next one may.
void refresh_report(Self self) {
  auto& st = self->state;
  const auto every = std::chrono::seconds(st.config.runtime.report_every_s);
  if (every.count() == 0 || st.reporting || Clock::now() - st.last_report < every ||
      st.done_units.size() == st.done_at_last_report)
    return;
  st.reporting = true;
  st.done_at_last_report = st.done_units.size();
  handoff::sent(st.aggregator);
  const auto reported = [self] {
    handoff::received(self->id());
    self->state.reporting = false, self->state.last_report = Clock::now();
  };
  self->request(st.aggregator, caf::infinite, report_atom::value, static_cast<int>(every.count()))
      .then([reported](const std::string&) { reported(); }, [reported](caf::error&) { reported(); });
}

// The plan as the store holds it: what is done, what is ready, what waits for its samples.
void load_plan(Self self) {
  auto& st = self->state;
  for (const char* split : {sweep::kEvaluation, sweep::kCalibration})
    for (auto& p : st.store->problems(split)) st.problems[{split, p.id}] = p;
  for (const auto& unit : st.store->units()) {
    auto spec = sweep::parse_unit_spec(unit.spec);
    auto& stage = stage_of(st, spec);
    stage.total += 1;
    if (unit.state == store::UnitState::done) {
      st.done_units.insert(unit.id);
      stage.done_before += 1;
    } else {
      st.scheduler->add_unit(unit.id, unit_models(spec), spec.kind == "search" ? bus::model_key(false, spec.prm) : "");
    }
    st.specs.emplace(unit.id, std::move(spec));
  }
  st.outcome.units_already_done = st.done_units.size();
  std::vector<std::string> ready;  // units whose inputs are stored, in plan order
  for (const auto& [id, spec] : st.specs) {
    if (st.done_units.count(id)) {
      // Scored before a restart: the running tally starts from what is stored.
      if (spec.kind != "sample" && spec.split == sweep::kEvaluation) {
        auto tallied = spec;
        if (spec.kind == "search") tallied.policy = spec.search.label;
        const auto responses = st.store->responses(tallied.policy, spec.split, spec.problem_ids);
        std::vector<std::string> ids;
        for (const auto& r : responses) ids.push_back(r.id);
        send_scored(self, tallied, responses, st.store->scores_for(spec.prm, ids));
      }
      continue;
    }
    const auto needed = sweep::sample_unit_id(spec.policy, spec.split, spec.chunk);
    // A search needs nothing stored before it.
    if (spec.kind != "score" || st.done_units.count(needed)) ready.push_back(id);
    else st.waiting[needed].push_back(id);
  }
  // Both splits advance in proportion (chunk k of n at k/n), so a report of a running store
  // has calibration data as early as evaluation data.
  std::map<std::string, std::size_t> chunks;  // split -> chunk count
  for (const auto& [id, spec] : st.specs) chunks[spec.split] = std::max(chunks[spec.split], spec.chunk + 1);
  std::stable_sort(ready.begin(), ready.end(), [&](const std::string& a, const std::string& b) {
    const auto &x = st.specs.at(a), &y = st.specs.at(b);
    return std::make_pair(double(x.chunk) / chunks[x.split], x.split != sweep::kEvaluation) <
           std::make_pair(double(y.chunk) / chunks[y.split], y.split != sweep::kEvaluation);
  });
  for (const auto& id : ready) st.scheduler->enqueue(id);
}

caf::behavior coordinator(Self self, config::SweepConfig config, RunOptions options, std::shared_ptr<store::Store> store,
                          std::shared_ptr<bus::Router> router, caf::actor aggregator,
                          std::map<std::string, std::size_t> weight_bytes) {
  handoff::started();
  auto& st = self->state;
  std::map<std::string, scheduler::Model> models;
  for (const auto& p : config.policies)
    models[bus::model_key(true, p.name)] = {weight_bytes.at(bus::model_key(true, p.name)), p.device.rfind("cuda", 0) == 0,
                                            config.runtime.samplers_per_policy};
  for (const auto& p : config.prms)
    models[bus::model_key(false, p.name)] = {weight_bytes.at(bus::model_key(false, p.name)), p.device.rfind("cuda", 0) == 0,
                                             config.runtime.verifiers_per_prm};
  // The epoch makes lease ids unique across coordinator restarts.
  st.scheduler.emplace(std::move(models), std::to_string(std::random_device{}() % 1000000));
  st.config = std::move(config);
  st.options = std::move(options);
  st.store = std::move(store);
  st.router = std::move(router);
  st.aggregator = aggregator;
  return {
      [self](run_atom) {
        handoff::received(self->id());
        auto& st = self->state;
        st.requester = self->current_sender();
        st.finished = self->make_response_promise();  // answered by finish()
        load_plan(self);
        st.planned = true;
        st.last_progress = Clock::now();
        show_progress(self);
        self->send(self, tick_atom::value);
        dispatch(self);
      },
      [self](frame_atom, const std::string& peer, const std::string& message) {
        handoff::received(self->id());
        on_frame(self, peer, message);
      },
      [self](log_atom, const std::string& line) {
        handoff::received(self->id());
        log_line(self, line);
      },
      [self](tick_atom) {
        handoff::received(self->id());
        auto& st = self->state;
        if (st.finishing) return;
        check_deadlines(self);
        const auto period = std::chrono::seconds(isatty(STDERR_FILENO) ? 1 : 10);
        if (Clock::now() - st.last_progress >= period) st.last_progress = Clock::now(), show_progress(self);
        refresh_report(self);
        self->delayed_send(self, std::chrono::milliseconds(st.config.runtime.heartbeat_ms), tick_atom::value);
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

// A bound endpoint as another host reaches it: a wildcard address becomes this host's name.
std::string reachable(const std::string& endpoint) {
  const std::string any = "tcp://0.0.0.0:";
  if (endpoint.rfind(any, 0) != 0) return endpoint;
  char host[256] = "localhost";
  ::gethostname(host, sizeof host - 1);
  return "tcp://" + std::string(host) + ":" + endpoint.substr(any.size());
}

}  // namespace

RunOutcome run_sweep(const config::SweepConfig& config, const RunOptions& options) {
  // Every model is checked before any work (config.json, tensor headers, tokenizer, chat
  // template, tokens): a broken model directory is the sweep's input error, reported before a
  // unit runs. What each holds resident at the configured batch bounds where it may run.
  for (const auto& p : config.policies) model::check_policy(p);
  for (const auto& p : config.prms) model::check_prm(p);
  const auto weight_bytes = model::sweep_resident_bytes(config);
  const bool in_process = options.bind.empty();
  const std::uint64_t memory_bytes = std::uint64_t(config.runtime.memory_limit_mb) << 20;
  const auto megabytes = [](std::size_t bytes) { return std::to_string((bytes + (1 << 20) - 1) >> 20); };
  if (in_process && memory_bytes > 0) {
    for (const auto& [model, bytes] : weight_bytes)
      if (bytes > memory_bytes)
        throw InputError(config.file, 0, "runtime.memory_limit_mb",
                         std::to_string(config.runtime.memory_limit_mb) + " MB cannot hold " + model + " alone (" +
                             megabytes(bytes) + " MB resident: weights, KV cache and activations of a batch)");
    // A search unit needs its policy and its PRM held together.
    for (const auto& run : config::search_runs(config)) {
      const auto policy = bus::model_key(true, run.policy), prm = bus::model_key(false, run.prm);
      const auto bytes = weight_bytes.at(policy) + weight_bytes.at(prm);
      if (bytes > memory_bytes)
        throw InputError(config.file, 0, "runtime.memory_limit_mb",
                         std::to_string(config.runtime.memory_limit_mb) + " MB cannot hold " + policy + " and " + prm +
                             " together, as search " + run.label + " needs (" + megabytes(bytes) + " MB resident)");
    }
  }
  auto store = std::make_shared<store::Store>(config.store);
  const StoreLock lock(config.store);
  RunOutcome outcome;
  outcome.leases_taken_back = sweep::prepare_store(*store, config);

  zmq::context_t context;
  bus::RouterOptions router_options;
  router_options.endpoints = in_process ? std::vector<std::string>{"inproc://quorum-coordinator"} : options.bind;
  router_options.key = options.key;
  router_options.max_message_bytes = std::int64_t(config.runtime.max_message_mb) << 20;
  auto router = std::make_shared<bus::Router>(context, router_options);

  caf::actor_system_config system_config;
  caf::actor_system system{system_config};
  handoff::spawning();
  auto aggregator_actor = system.spawn<caf::detached>(aggregator, config.store);
  // Detached: a commit waits for the disk (synchronous FULL), which must not stall CAF's scheduler.
  auto coordinator_actor =
      system.spawn<caf::detached>(coordinator, config, options, store, router, aggregator_actor, weight_bytes);
  router->start(
      [coordinator_actor](const std::string& peer, std::string message) {
        caf::anon_send(coordinator_actor, handoff::message_to(coordinator_actor, frame_atom::value, peer, std::move(message)));
      },
      [coordinator_actor](const std::string& line) {
        caf::anon_send(coordinator_actor, handoff::message_to(coordinator_actor, log_atom::value, line));
      });
  std::string advertised = options.launch.advertise.empty() ? reachable(router->endpoints().front()) : options.launch.advertise;
  if (!in_process) {
    std::string endpoints;
    for (const auto& e : router->endpoints()) endpoints += (endpoints.empty() ? "" : ", ") + e;
    std::fprintf(stderr, "quorum coordinator: serving %s on %s%s; workers connect to %s\n", config.name.c_str(),
                 endpoints.c_str(), options.key ? " (CURVE)" : " (no authentication)", advertised.c_str());
    // Beside the store, for workers that find their coordinator through a shared filesystem
    // (Slurm's worker array does); whole or absent, never half written.
    write_file_atomically(config.store + ".endpoint", advertised + "\n");
  }

  std::thread worker_thread;
  WorkerOutcome worker_outcome;
  std::atomic<bool> worker_stop{false};
  if (in_process) {
    WorkerOptions worker;
    worker.connect = router->endpoints().front();
    worker.name = "in-process";
    worker.memory_bytes = memory_bytes;
    worker.heartbeat_ms = config.runtime.heartbeat_ms, worker.liveness = config.runtime.heartbeat_liveness;
    worker.log = options.progress;
    worker.stop = &worker_stop;
    worker_thread = std::thread([&, worker] { worker_outcome = run_worker(worker, system, context); });
  }
  std::unique_ptr<Launcher> launcher;
  if (options.launch.any()) launcher = std::make_unique<Launcher>(options.launch, advertised);

  caf::scoped_actor self{system};
  handoff::sent(coordinator_actor);
  self->request(coordinator_actor, caf::infinite, run_atom::value)
      .receive(
          [&](const std::string& reply) {
            handoff::received(self->id());
            const auto j = nlohmann::json::parse(reply);
            outcome.exit_code = j.at("exit_code"), outcome.message = j.at("message"), outcome.report = j.at("report");
            outcome.units_run = j.at("units_run"), outcome.units_already_done = j.at("units_already_done");
            outcome.bus.leases = j.at("leases"), outcome.bus.expired = j.at("expired"), outcome.bus.late = j.at("late");
            outcome.bus.workers_lost = j.at("workers_lost"), outcome.bus.malformed = j.at("malformed");
          },
          [&](caf::error& error) {
            handoff::received(self->id());
            outcome.exit_code = 3;
            outcome.message = "coordinator: " + system.render(error);
          });
  // A worker that never said hello never heard "done" either.
  worker_stop = true;
  if (worker_thread.joinable()) worker_thread.join();
  if (launcher) {
    launcher->stop();
    outcome.bus.worker_restarts = launcher->restarts();
  }
  router->stop();  // its callbacks hold the coordinator, whose state holds it
  // Nothing serves that address any more: a worker starting now must not wait on it.
  std::error_code ignored;
  if (!in_process) std::filesystem::remove(config.store + ".endpoint", ignored);
  outcome.bus.refused_peers = router->counters().refused_peers + router->counters().failed_handshakes;
  outcome.bus.malformed += router->counters().malformed_frames;
  self->send_exit(aggregator_actor, caf::exit_reason::user_shutdown);
  return outcome;
}

}  // namespace quorum::actors
