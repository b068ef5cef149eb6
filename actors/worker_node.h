// A worker: connects a DEALER socket to a coordinator, announces what it can run, and runs the
// units it is leased in sampler and verifier actors, one per model replica, each loading its
// model once. It heartbeats the coordinator, keeps every result until the coordinator
// acknowledges it, and when the coordinator goes silent it reconnects with backoff, says hello
// again and resends what is unacknowledged. It ends when the coordinator says the sweep is done,
// refuses it, or stays away longer than `patience_s`.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include <caf/all.hpp>
#include <zmq.hpp>

#include "runtime/bus/keys.h"

namespace quorum::actors {

struct WorkerOptions {
  std::string connect;               // the coordinator's endpoint
  std::optional<bus::KeyPair> key;   // the sweep's key pair; none for inproc://
  std::string name;                  // empty: "<host>-<pid>"
  std::uint64_t memory_bytes = 0;    // resident model weights at most; 0: no bound
  std::uint64_t slots = 0;           // units at once; 0: one per model replica
  double patience_s = 600;           // give up after this long without hearing the coordinator
  std::uint64_t heartbeat_ms = 1000, liveness = 5;  // until the coordinator's welcome says otherwise
  std::int64_t max_message_bytes = std::int64_t(256) << 20;
  bool log = true;                   // reconnections and refusals on stderr
  const std::atomic<bool>* stop = nullptr;  // in-process: the run is over, whatever was heard
};

struct WorkerOutcome {
  int exit_code = 0;  // 0: the sweep is done; 2: refused by the coordinator; 3: gave up
  std::string message;
  std::uint64_t units_run = 0, reconnects = 0;
};

// Runs until the sweep is done. `context` must be the coordinator's for inproc:// endpoints.
WorkerOutcome run_worker(const WorkerOptions& options, caf::actor_system& system, zmq::context_t& context);

}  // namespace quorum::actors
