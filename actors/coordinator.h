// The coordinator actor owns the plan and the store. It serves workers over the bus
// (runtime/bus): it welcomes them, leases units with deadlines to the workers the scheduler
// (runtime/scheduler) picks, commits each result in one transaction before
// it acknowledges it, re-issues leases that expire or whose worker is lost, ignores late and
// duplicate results by lease id, makes a chunk's score units ready as soon as its samples are
// stored, streams scored problems to the aggregator, shows progress, and asks the aggregator
// for the report when every unit is done.
//
// `run_sweep` runs a whole sweep: with no endpoint to bind, one worker in this process over
// inproc://; otherwise on the bound endpoints, for workers it launches or that connect.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "actors/launcher.h"
#include "runtime/bus/keys.h"
#include "runtime/config/sweep.h"

namespace quorum::actors {

struct RunOptions {
  bool progress = true;             // the per-stage view on stderr
  std::vector<std::string> bind;    // e.g. tcp://*:5555; empty: in-process worker only
  std::optional<bus::KeyPair> key;  // required on tcp:// unless insecure
  LaunchOptions launch;             // worker processes to start once bound
};

struct BusCounters {
  std::uint64_t leases = 0;            // leases issued
  std::uint64_t expired = 0;           // leases that ran past their deadline or lost their worker
  std::uint64_t late = 0;              // results for a lease no longer held, or a unit stored already
  std::uint64_t workers_lost = 0;      // workers silent past their liveness
  std::uint64_t malformed = 0;         // messages dropped: not the protocol, or another version
  std::uint64_t refused_peers = 0;     // connections without the sweep's key
  std::uint64_t worker_restarts = 0;   // launched workers started again after dying
};

struct RunOutcome {
  int exit_code = 0;           // 0 done; 2 the sweep's input is at fault; 3 anything else
  std::string message;         // the error, when exit_code != 0
  std::string report;          // the report directory
  std::int64_t leases_taken_back = 0;  // leases of a previous, interrupted run
  std::size_t units_run = 0, units_already_done = 0;
  BusCounters bus;
};

// Prepares the store (resuming what it holds) and runs every unit that is not done.
RunOutcome run_sweep(const config::SweepConfig& config, const RunOptions& options = {});

}  // namespace quorum::actors
