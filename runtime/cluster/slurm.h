// Sweeps on a Slurm cluster: `quorum submit` writes two batch scripts and submits them with
// sbatch (a coordinator job whose one step serves the sweep, and a worker job array that finds
// it through `<store>.endpoint` on the shared filesystem); `quorum status` asks squeue how the
// jobs stand and `quorum cancel` scancels them. Both jobs are --requeue: a worker (or the
// coordinator) on a failed node comes back, and the store resumes. docs/cluster.md.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace quorum::cluster {

struct SubmitRequest {
  std::string sweep_name;
  std::string config_file;     // absolute
  std::string store;           // absolute
  std::string key_file;        // absolute; the sweep's CURVE key pair
  std::string quorum_binary;   // absolute; the same build on every node (shared filesystem)
  std::string working_directory;
  std::size_t workers = 2;     // array tasks
  std::string partition;       // empty: the cluster's default
  std::string time;            // empty: the partition's default; else sbatch's --time format
  std::size_t gpus_per_worker = 0;
  std::size_t cpus_per_task = 2;        // coordinator and each worker
  std::size_t worker_memory_mb = 0;     // --mem of a worker task
  std::size_t worker_weights_mb = 0;    // the worker's --memory-mb: resident weights at most
  std::size_t coordinator_memory_mb = 2048;
};

// Where the scripts, the job record and the job logs go: "<store>.slurm".
std::string slurm_directory(const std::string& store);

std::string coordinator_script(const SubmitRequest& request);
std::string worker_script(const SubmitRequest& request, const std::string& coordinator_job);

struct Jobs {
  std::string coordinator, workers;  // Slurm job ids
  std::size_t worker_count = 0;
  std::string submitted;             // local time
};

// The record `submit` leaves in slurm_directory(store)/jobs.json; none before a submission.
std::optional<Jobs> read_jobs(const std::string& store);

struct JobState {
  std::string id;     // "12", or an array task "13_0" / pending tasks "13_[0-1]"
  std::string state;  // squeue's: PENDING, RUNNING, COMPLETED, CANCELLED, NODE_FAIL, ...
};

// squeue's view of one job, finished ones included while Slurm remembers them (MinJobAge);
// empty when it has forgotten the job. Throws InputError when squeue cannot answer.
std::vector<JobState> job_states(const std::string& job);

// A state in which the job may still run: pending, running, requeued, suspended, ...
bool is_active(const std::string& state);

// Writes the scripts and submits them (coordinator first, then the array, which starts after
// it); refuses while the sweep's previous jobs are active. Throws InputError with sbatch's
// own message when it refuses.
Jobs submit(const SubmitRequest& request);

// scancel both jobs; returns scancel's output.
std::string cancel(const Jobs& jobs);

// Lines for `quorum status`: the sweep's jobs as squeue sees them; empty before a submission.
std::string status_text(const std::string& store);

}  // namespace quorum::cluster
