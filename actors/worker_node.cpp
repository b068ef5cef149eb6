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
  std::string lease;  // the lease it computes; empty when idle
};

class WorkerNode {
 public:
  WorkerNode(const WorkerOptions& options, caf::actor_system& system, zmq::context_t& context)
      : options_(options), system_(system), context_(context), name_(options.name.empty() ? default_name() : options.name) {
    heartbeat_ = std::chrono::milliseconds(options.heartbeat_ms);
    liveness_limit_ = options.liveness;
    cuda_ = model::cuda_available();
  }

  ~WorkerNode() {
    for (auto& [model, replicas] : replicas_)
      for (auto& r : replicas) caf::anon_send_exit(r.actor, caf::exit_reason::user_shutdown);
  }

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
        for (auto& [lease, reply] : replies_->take()) finished(lease, std::move(reply));
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
    std::vector<std::string> leases;
    for (const auto& [model, replicas] : replicas_)
      for (const auto& r : replicas)
        if (!r.lease.empty()) leases.push_back(r.lease);
    for (const auto& [model, queue] : queued_)
      for (const auto& [lease, text] : queue) leases.push_back(lease);
    return leases;
  }

  void handle(const std::string& message) {
    std::string type;
    try {
      type = bus::message_type(message);
      if (type == "welcome") return welcomed(bus::decode_welcome(message));
      if (type == "lease") return leased(bus::decode_lease(message), message);
      if (type == "ack") return void(unacked_.erase(bus::decode_ack(message).lease_id));
      if (type == "release") return released(bus::decode_release(message).model);
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
      for (auto& [model, replicas] : replicas_)
        for (auto& r : replicas) caf::anon_send_exit(r.actor, caf::exit_reason::user_shutdown);
      replicas_.clear(), queued_.clear();
    }
    heartbeat_ = std::chrono::milliseconds(welcome.heartbeat_ms);
    liveness_limit_ = welcome.liveness, liveness_ = liveness_limit_, backoff_ = heartbeat_;
    welcome_ = std::move(welcome);
    // Results the previous connection may have lost; the coordinator stores or ignores them by id.
    for (const auto& [lease, text] : unacked_) send(text);
  }

  void leased(const bus::Lease& lease, const std::string& text) {
    const auto model = lease.model();
    if (!welcome_) return log("ignored lease " + lease.lease_id + " before the coordinator's welcome");
    auto& replicas = replicas_[model];
    const auto wanted = model.rfind("prm/", 0) == 0 ? welcome_->replicas_per_prm : welcome_->replicas_per_policy;
    for (auto& r : replicas)
      if (r.lease.empty()) return start(r, model, lease.lease_id, text);
    if (replicas.size() < wanted) {
      replicas.push_back({spawn(model), ""});
      return start(replicas.back(), model, lease.lease_id, text);
    }
    queued_[model].push_back({lease.lease_id, text});  // every replica busy: next in line
  }

  caf::actor spawn(const std::string& model) {
    // The actors share the mailbox: one still computing when this node goes away posts into it safely.
    auto reply = [mailbox = replies_](const std::string& lease, std::string message) {
      mailbox->push({lease, std::move(message)});
    };
    const auto batch = welcome_->batch_size;
    handoff::spawning();
    for (const auto& p : welcome_->policies)
      if (bus::model_key(true, p.name) == model) return system_.spawn<caf::detached>(sampler, p, batch, reply);
    for (const auto& p : welcome_->prms)
      if (bus::model_key(false, p.name) == model) return system_.spawn<caf::detached>(verifier, p, batch, reply);
    for (const auto& policy : welcome_->policies)
      for (const auto& prm : welcome_->prms)
        if (bus::search_model_key(policy.name, prm.name) == model)
          return system_.spawn<caf::detached>(searcher, policy, prm, batch, reply);
    throw bus::ProtocolError("a lease for " + model + ", which the sweep does not have");
  }

  void start(Replica& replica, const std::string& model, const std::string& lease, const std::string& text) {
    replica.lease = lease;
    loaded_.insert(model);
    caf::anon_send(replica.actor, handoff::message_to(replica.actor, lease_atom::value, text));
  }

  void finished(const std::string& lease, std::string reply) {
    ++units_run_;
    unacked_[lease] = reply;
    send(reply);
    for (auto& [model, replicas] : replicas_)
      for (auto& r : replicas)
        if (r.lease == lease) {
          r.lease.clear();
          auto& queue = queued_[model];
          if (!queue.empty()) {
            auto [next, text] = queue.front();
            queue.pop_front();
            start(r, model, next, text);
          }
          return;
        }
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
  std::map<std::string, std::deque<std::pair<std::string, std::string>>> queued_;  // model key -> (lease, text)
  std::map<std::string, std::string> unacked_;  // lease -> reply not yet acknowledged
  std::set<std::string> loaded_;  // model keys whose weights the actors hold
  using Finished = std::pair<std::string, std::string>;  // (lease id, encoded result or failure)
  std::shared_ptr<bus::Mailbox<Finished>> replies_ = std::make_shared<bus::Mailbox<Finished>>();
  std::optional<WorkerOutcome> outcome_;
  std::uint64_t units_run_ = 0, reconnects_ = 0;
};

}  // namespace

WorkerOutcome run_worker(const WorkerOptions& options, caf::actor_system& system, zmq::context_t& context) {
  WorkerNode node(options, system, context);
  return node.run();
}

}  // namespace quorum::actors
