// The coordinator actor owns the plan and the store. It leases units to sampler and verifier
// actors (one model each, loaded once), commits each result in one transaction before it
// acknowledges it, makes a chunk's score units ready as soon as its samples are stored, streams
// scored problems to the aggregator, shows progress, and asks the aggregator for the report
// when every unit is done. `run_sweep` runs a whole sweep in this process.
#pragma once

#include <string>

#include "runtime/config/sweep.h"

namespace quorum::actors {

struct RunOptions {
  bool progress = true;  // the per-stage view on stderr
};

struct RunOutcome {
  int exit_code = 0;           // 0 done; 2 the sweep's input is at fault; 3 anything else
  std::string message;         // the error, when exit_code != 0
  std::string report;          // the report directory
  std::int64_t leases_taken_back = 0;  // leases of a previous, interrupted run
  std::size_t units_run = 0, units_already_done = 0;
};

// Prepares the store (resuming what it holds) and runs every unit that is not done.
RunOutcome run_sweep(const config::SweepConfig& config, const RunOptions& options = {});

}  // namespace quorum::actors
