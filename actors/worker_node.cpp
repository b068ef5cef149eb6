#include "actors/worker_node.h"

#include <unistd.h>

#include <chrono>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "actors/handoff.h"
#include "actors/messages.h"
#include "actors/workers.h"
#include "runtime/bus/mailbox.h"
#include "runtime/bus/protocol.h"
#include "runtime/model/workers.h"

namespace quorum::actors {
namespace {

using Clock = std::chrono::steady_clock;

std::string default_name() {
  char host[256] = "host";
  ::gethostname(host, sizeof host - 1);
  return std::string(host) + "-" + std::to_string(::getpid());
}

struct Replica {
  caf::actor actor;
  std::string lease;     // the lease it computes or serves a searcher of; empty when idle
  bool serving = false;  // it serves the PRM of a search running on another worker
};

struct Searcher {
  caf::actor actor;  // holds no model; exits when its lease is done
  std::string lease;
};

// A lease waiting for an idle replica of each of its models.
struct Pending {
  std::string lease, text;
  std::vector<std::string> models;
  bool search = false;
  bool serve = false;  // not a lease: serving its PRM to a search on another worker
};

// What the actors hand the socket loop: a lease's result or failure; a round of a search whose
// PRM another worker serves (answer_to waits for its scores); or this worker's answer to such a
// round.
struct Posted {
  enum class Kind { result, round, round_answer };
  Kind kind = Kind::result;
  std::string lease, message;
  caf::actor answer_to;
};

class WorkerNode {
 public:
  WorkerNode(const WorkerOptions& options, caf::actor_system& system, zmq::context_t& context)
      : options_(options), system_(system), context_(context), name_(options.name.empty() ? default_name() : options.name) {
    heartbeat_ = std::chrono::milliseconds(options.heartbeat_ms);
    liveness_limit_ = options.liveness;
    cuda_ = model::cuda_available();
  }

  ~WorkerNode() { stop_actors(); }

  WorkerOutcome run() {
    connect();
    auto last_contact = Clock::now();
    auto next_beat = Clock::now() + heartbeat_;
    bool heard = false;
    while (!outcome_) {
      if (options_.stop && *options_.stop) {
        outcome_ = WorkerOutcome{0, ""};
        break;
      }
      std::vector<zmq_pollitem_t> items = {{socket_->handle(), 0, ZMQ_POLLIN, 0}, {nullptr, replies_->fd(), ZMQ_POLLIN, 0}};
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_beat - Clock::now());
      zmq::poll(items, std::max(std::chrono::milliseconds(0), wait));
      if (items[0].revents & ZMQ_POLLIN) {
        zmq::message_t message;
        while (socket_->recv(message, zmq::recv_flags::dontwait)) {
          heard = true, last_contact = Clock::now(), backoff_ = heartbeat_;
          handle(message.to_string());
          if (outcome_) break;
        }
      }
      if (items[1].revents & ZMQ_POLLIN)
        for (auto& posted : replies_->take()) {
          if (posted.kind == Posted::Kind::round) rounds_[posted.lease] = posted.answer_to;
          if (posted.kind == Posted::Kind::result) finished(posted.lease, std::move(posted.message));
          else send(posted.message);
        }
      if (outcome_) break;
      if (Clock::now() < next_beat) continue;
      send(bus::encode(bus::Heartbeat{running()}));
      next_beat = Clock::now() + heartbeat_;
      liveness_ = heard ? liveness_limit_ : liveness_ - 1;
      heard = false;
      if (std::chrono::duration<double>(Clock::now() - last_contact).count() > options_.patience_s) {
        outcome_ = WorkerOutcome{3, "no coordinator at " + options_.connect + " for " +
                                        std::to_string(static_cast<long>(options_.patience_s)) + " s"};
        break;
      }
      if (liveness_ == 0) {
        // The coordinator is gone or unreachable: a fresh connection, after a pause that
        // doubles each time it stays away, so a restarting coordinator is not flooded.
        log("coordinator silent for " + std::to_string(liveness_limit_ * heartbeat_.count()) + " ms; reconnecting in " +
            std::to_string(backoff_.count()) + " ms");
        std::this_thread::sleep_for(backoff_);
        backoff_ = std::min(backoff_ * 2, heartbeat_ * 32);
        ++reconnects_;
        connect();
        next_beat = Clock::now() + heartbeat_;
      }
    }
    outcome_->units_run = units_run_, outcome_->reconnects = reconnects_;
    return *outcome_;
  }

 private:
  void log(const std::string& line) {
    if (options_.log) std::cerr << "quorum worker " << name_ << ": " << line << std::endl;
  }

  void connect() {
    socket_.emplace(context_, zmq::socket_type::dealer);
    socket_->set(zmq::sockopt::linger, 0);
    socket_->set(zmq::sockopt::maxmsgsize, options_.max_message_bytes);
    if (options_.key) {
      // The sweep's one pair serves as the server's key and as this worker's own.
      socket_->set(zmq::sockopt::curve_serverkey, options_.key->public_key);
      socket_->set(zmq::sockopt::curve_publickey, options_.key->public_key);
      socket_->set(zmq::sockopt::curve_secretkey, options_.key->secret_key);
    }
    socket_->connect(options_.connect);
    liveness_ = liveness_limit_;
    send_hello();
  }

  void send(const std::string& payload) {
    try {
      socket_->send(zmq::buffer(payload), zmq::send_flags::dontwait);
    } catch (const zmq::error_t&) {
      // Not connected yet or the queue is full: heartbeats and resends recover.
    }
  }

  bus::Hello hello() const {
    return {name_, cuda_, options_.memory_bytes, options_.slots, {loaded_.begin(), loaded_.end()}, running()};
  }
  void send_hello() { send(bus::encode(hello())); }

  std::vector<std::string> running() const {
    std::set<std::string> leases;  // a search's lease holds a sampler and a verifier
    for (const auto& [model, replicas] : replicas_)
      for (const auto& r : replicas)
        if (!r.lease.empty() && !r.serving) leases.insert(r.lease);
    for (const auto& pending : queued_) leases.insert(pending.lease);
    return {leases.begin(), leases.end()};
  }

  // Searches waiting for relayed scores get an error instead, so none waits forever: their
  // lease was cancelled, or the round may have been lost with a connection.
  void fail_rounds(const std::string& lease, const std::string& why) {
    for (auto it = rounds_.begin(); it != rounds_.end();) {
      if (!lease.empty() && it->first != lease) {
        ++it;
        continue;
      }
      bus::PathScores failed;
      failed.lease_id = it->first, failed.error = why;  // request 0: whatever round it waits for
      caf::anon_send(it->second, handoff::message_to(it->second, scores_atom::value, bus::encode(failed)));
      it = rounds_.erase(it);
    }
  }

  void stop_actors() {
    fail_rounds("", "the worker is stopping");
    for (auto& [model, replicas] : replicas_)
      for (auto& r : replicas) caf::anon_send_exit(r.actor, caf::exit_reason::user_shutdown);
    for (auto& s : searchers_) caf::anon_send_exit(s.actor, caf::exit_reason::user_shutdown);
  }

  void handle(const std::string& message) {
    std::string type;
    try {
      type = bus::message_type(message);
      if (type == "welcome") return welcomed(bus::decode_welcome(message));
      if (type == "lease") return leased(bus::decode_lease(message), message);
      if (type == "ack") return void(unacked_.erase(bus::decode_ack(message).lease_id));
      if (type == "release") return released(bus::decode_release(message).model);
      if (type == "serve") return serve(bus::decode_serve(message));
      if (type == "score_paths") return score_round(bus::decode_paths_to_score(message), message);
      if (type == "path_scores") return scored_round(bus::decode_path_scores(message), message);
      if (type == "cancel") return cancelled(bus::decode_cancel(message).lease_id);
      if (type == "reannounce") return send_hello();
      if (type == "refused") {
        outcome_ = WorkerOutcome{2, "refused by the coordinator: " + bus::decode_refused(message).reason};
        return;
      }
      if (type == "done") {
        outcome_ = WorkerOutcome{0, ""};
        return;
      }
      if (type != "heartbeat") log("ignored a message of unknown type " + type);
    } catch (const bus::VersionError& e) {
      outcome_ = WorkerOutcome{2, std::string("the coordinator speaks another protocol: ") + e.what()};
    } catch (const bus::ProtocolError& e) {
      log(std::string("dropped a malformed message: ") + e.what());
    }
  }

  void welcomed(bus::Welcome welcome) {
    if (welcome_ && welcome_->sweep != welcome.sweep) {
      // Another sweep's coordinator now serves this endpoint: its models are not ours.
      stop_actors();
      replicas_.clear(), searchers_.clear(), queued_.clear();
    }
    heartbeat_ = std::chrono::milliseconds(welcome.heartbeat_ms);
    liveness_limit_ = welcome.liveness, liveness_ = liveness_limit_, backoff_ = heartbeat_;
    welcome_ = std::move(welcome);
    // Results the previous connection may have lost; the coordinator stores or ignores them by id.
    for (const auto& [lease, text] : unacked_) send(text);
    // Rounds relayed over the previous connection may be lost with it.
    fail_rounds("", "the connection to the coordinator was renewed during a relayed round");
  }

  // The coordinator splits a search: this worker holds a verifier of its PRM for the lease.
  void serve(const bus::Serve& serve) {
    if (!welcome_) return log("ignored serving lease " + serve.lease_id + " before the coordinator's welcome");
    Pending pending{serve.lease_id, "", {serve.model}, false, true};
    if (!start(pending)) queued_.push_back(std::move(pending));
  }

  // A round of the search another worker runs: to the verifier serving its lease, or refused.
  void score_round(const bus::PathsToScore& round, const std::string& text) {
    for (auto& [model, replicas] : replicas_)
      for (auto& r : replicas)
        if (r.serving && r.lease == round.lease_id)
          return caf::anon_send(r.actor, handoff::message_to(r.actor, paths_atom::value, text));
    bus::PathScores refused{round.lease_id, round.request, {}, 0, "worker " + name_ + " does not serve lease " + round.lease_id, false};
    send(bus::encode(refused));
  }

  // The scores of a round of a search running here: to the searcher waiting for them.
  void scored_round(const bus::PathScores& scores, const std::string& text) {
    const auto found = rounds_.find(scores.lease_id);
    if (found == rounds_.end()) return;  // its search has ended
    caf::anon_send(found->second, handoff::message_to(found->second, scores_atom::value, text));
    rounds_.erase(found);
  }

  // A split search's lease ended: this worker stops serving it, or its search here stops.
  void cancelled(const std::string& lease) {
    fail_rounds(lease, "lease " + lease + " was cancelled: the worker serving its PRM is gone, or it expired");
    for (auto p = queued_.begin(); p != queued_.end();)
      if (p->lease == lease && p->serve) p = queued_.erase(p);
      else ++p;
    bool freed = false;
    for (auto& [model, replicas] : replicas_)
      for (auto& r : replicas)
        if (r.serving && r.lease == lease) r.lease.clear(), r.serving = false, freed = true;
    if (freed) start_queued();
  }

  void leased(const bus::Lease& lease, const std::string& text) {
    if (!welcome_) return log("ignored lease " + lease.lease_id + " before the coordinator's welcome");
    Pending pending{lease.lease_id, text, lease.models(), lease.kind == "search"};
    if (!start(pending)) queued_.push_back(std::move(pending));  // a replica it needs is busy: next in line
  }

  // An idle replica of the model (spawned if it has fewer than the coordinator asks for), or none.
  Replica* idle_replica(const std::string& model) {
    auto& replicas = replicas_[model];
    for (auto& r : replicas)
      if (r.lease.empty()) return &r;
    const auto wanted = model.rfind("prm/", 0) == 0 ? welcome_->replicas_per_prm : welcome_->replicas_per_policy;
    if (replicas.size() >= wanted) return nullptr;
    replicas.push_back({spawn(model), ""});
    return &replicas.back();
  }

  // Starts the lease when every model it needs has an idle replica: a sample or score lease on
  // its sampler or verifier; a search lease on a searcher of its own, which streams its rounds
  // to the sampler and the verifier it holds for the lease.
  bool start(const Pending& pending) {
    std::vector<Replica*> held;
    for (const auto& model : pending.models) {
      auto* r = idle_replica(model);
      if (!r) return false;
      held.push_back(r);
    }
    for (std::size_t i = 0; i < held.size(); ++i) held[i]->lease = pending.lease, loaded_.insert(pending.models[i]);
    if (pending.serve) return held[0]->serving = true;
    if (!pending.search) {
      caf::anon_send(held[0]->actor, handoff::message_to(held[0]->actor, lease_atom::value, pending.text));
      return true;
    }
    const auto& policy = welcome_policy(pending.models.at(0));
    handoff::spawning();
    auto searcher_actor = system_.spawn<caf::detached>(searcher, policy.step_separator, reply_to_mailbox(), post_to_mailbox());
    searchers_.push_back({searcher_actor, pending.lease});
    // Its PRM served elsewhere, it holds no verifier here: its rounds go through the bus.
    const auto verifier_actor = held.size() > 1 ? held[1]->actor : caf::actor();
    caf::anon_send(searcher_actor,
                   handoff::message_to(searcher_actor, lease_atom::value, pending.text, held[0]->actor, verifier_actor));
    return true;
  }

  void start_queued() {
    // Waiting leases in order, each as soon as its replicas are idle.
    for (auto p = queued_.begin(); p != queued_.end();)
      if (start(*p)) p = queued_.erase(p);
      else ++p;
  }

  const config::PolicySpec& welcome_policy(const std::string& model) const {
    for (const auto& p : welcome_->policies)
      if (bus::model_key(true, p.name) == model) return p;
    throw bus::ProtocolError("a lease for " + model + ", which the sweep does not have");
  }

  // The actors share the mailbox: one still computing when this node goes away posts into it safely.
  Reply reply_to_mailbox() const {
    return [mailbox = replies_](const std::string& lease, std::string message) {
      mailbox->push({Posted::Kind::result, lease, std::move(message), {}});
    };
  }
  Post post_to_mailbox() const {
    return [mailbox = replies_](const std::string& lease, std::string message, caf::actor answer_to) {
      const auto kind = answer_to ? Posted::Kind::round : Posted::Kind::round_answer;
      mailbox->push({kind, lease, std::move(message), std::move(answer_to)});
    };
  }

  caf::actor spawn(const std::string& model) {
    const auto batch = welcome_->batch_size;
    handoff::spawning();
    for (const auto& p : welcome_->policies)
      if (bus::model_key(true, p.name) == model) return system_.spawn<caf::detached>(sampler, p, batch, reply_to_mailbox());
    for (const auto& p : welcome_->prms)
      if (bus::model_key(false, p.name) == model)
        return system_.spawn<caf::detached>(verifier, p, batch, reply_to_mailbox(), post_to_mailbox());
    throw bus::ProtocolError("a lease for " + model + ", which the sweep does not have");
  }

  void finished(const std::string& lease, std::string reply) {
    ++units_run_;
    unacked_[lease] = reply;
    send(reply);
    for (auto& [model, replicas] : replicas_)
      for (auto& r : replicas)
        if (r.lease == lease) r.lease.clear();
    for (auto s = searchers_.begin(); s != searchers_.end();)
      if (s->lease == lease) caf::anon_send_exit(s->actor, caf::exit_reason::normal), s = searchers_.erase(s);
      else ++s;
    rounds_.erase(lease);
    start_queued();
  }

  void released(const std::string& model) {
    const auto found = replicas_.find(model);
    if (found == replicas_.end()) return;
    // The actors stay (cheap) but the weights go; a later lease reloads them.
    for (auto& r : found->second) {
      handoff::sent(r.actor);
      caf::anon_send(r.actor, release_atom::value);
    }
    loaded_.erase(model);
  }

  WorkerOptions options_;
  caf::actor_system& system_;
  zmq::context_t& context_;
  std::string name_;
  bool cuda_ = false;
  std::optional<zmq::socket_t> socket_;
  std::optional<bus::Welcome> welcome_;
  std::chrono::milliseconds heartbeat_{1000}, backoff_{1000};
  std::uint64_t liveness_limit_ = 5, liveness_ = 5;
  std::map<std::string, std::vector<Replica>> replicas_;  // model key -> its actors
  std::vector<Searcher> searchers_;
  std::deque<Pending> queued_;
  std::map<std::string, std::string> unacked_;  // lease -> reply not yet acknowledged
  std::set<std::string> loaded_;  // model keys whose weights the actors hold
  std::map<std::string, caf::actor> rounds_;  // lease -> the searcher waiting for its relayed round's scores
  std::shared_ptr<bus::Mailbox<Posted>> replies_ = std::make_shared<bus::Mailbox<Posted>>();
  std::optional<WorkerOutcome> outcome_;
  std::uint64_t units_run_ = 0, reconnects_ = 0;
};

}  // namespace

WorkerOutcome run_worker(const WorkerOptions& options, caf::actor_system& system, zmq::context_t& context) {
  WorkerNode node(options, system, context);
  return node.run();
}

}  // namespace quorum::actors
