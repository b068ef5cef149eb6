// quorum submit | cancel: a sweep as Slurm jobs (docs/cluster.md). `quorum status` (in
// cmd_sweep.cpp) shows the jobs beside the sweep's progress.
#include <filesystem>
#include <iostream>

#include "runtime/bus/keys.h"
#include "runtime/cli/command.h"
#include "runtime/cluster/slurm.h"
#include "runtime/common/error.h"
#include "runtime/common/subprocess.h"
#include "runtime/config/sweep.h"
#include "runtime/model/workers.h"

namespace quorum::cli {
namespace {

struct SubmitArguments {
  std::string config, partition, time;
  bool slurm = false;
  std::size_t workers = 2, gpus_per_worker = 0, cpus_per_task = 0, mem_per_worker_mb = 0;
  bool gpus_given = false;
};

// Resources from the config: the models' weights decide a worker's memory (or
// runtime.memory_limit_mb when set), a model on cuda asks for a GPU per worker, and
// runtime.threads the CPUs per task. The command line overrides each.
cluster::SubmitRequest request_for(const SubmitArguments& a) {
  const auto config = config::load_sweep(a.config);
  cluster::SubmitRequest r;
  r.sweep_name = config.name;
  r.config_file = std::filesystem::absolute(a.config).string();
  r.store = std::filesystem::absolute(config.store).string();
  r.key_file = bus::ensure_sweep_key(r.store);
  r.quorum_binary = this_executable();
  r.working_directory = std::filesystem::current_path().string();
  r.workers = a.workers;
  r.partition = a.partition;
  r.time = a.time;

  // What every model holds resident at the configured batch: weights at their dtype, KV cache
  // and activations, a policy's search caches included (docs/models.md, "Memory").
  std::size_t resident_bytes = 0;
  for (const auto& [model, bytes] : model::sweep_resident_bytes(config)) resident_bytes += bytes;
  bool cuda = false;
  for (const auto& p : config.policies) cuda |= p.device.rfind("cuda", 0) == 0;
  for (const auto& p : config.prms) cuda |= p.device.rfind("cuda", 0) == 0;
  const std::size_t resident_mb = (resident_bytes >> 20) + 1;
  r.worker_weights_mb = config.runtime.memory_limit_mb > 0 ? config.runtime.memory_limit_mb : resident_mb;
  // The models' resident bytes plus the runtime (libtorch, CAF, the worker's own buffers).
  r.worker_memory_mb = a.mem_per_worker_mb > 0 ? a.mem_per_worker_mb : r.worker_weights_mb + 2048;
  r.gpus_per_worker = a.gpus_given ? a.gpus_per_worker : (cuda ? 1 : 0);
  r.cpus_per_task = a.cpus_per_task > 0 ? a.cpus_per_task : config.runtime.threads > 0 ? config.runtime.threads : 2;
  return r;
}

}  // namespace

void register_cluster(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<SubmitArguments>();
  auto* submit = app.add_subcommand("submit", "Run a sweep as Slurm jobs: a coordinator and a worker job array (sbatch)");
  submit->add_option("config", a->config, "The sweep's YAML file")->required();
  submit->add_flag("--slurm", a->slurm, "Submit to Slurm (the only scheduler quorum knows)")->required();
  submit->add_option("--workers", a->workers, "Worker array tasks")->check(CLI::Range(1, 100000))->capture_default_str();
  submit->add_option("--partition", a->partition, "Slurm partition (default: the cluster's)");
  submit->add_option("--time", a->time, "Time limit of each job, in sbatch's format (e.g. 4:00:00)");
  submit->add_option("--gpus-per-worker", a->gpus_per_worker,
                     "GPUs per worker task (default: 1 when a model is on cuda, else 0)");
  submit->add_option("--cpus-per-task", a->cpus_per_task, "CPUs per task (default: runtime.threads, else 2)");
  submit->add_option("--mem-per-worker", a->mem_per_worker_mb,
                     "Memory of a worker task in MB (default: twice the models' weights + 2048)");
  submit->callback([=, &exit_code] {
    auto arguments = *a;
    arguments.gpus_given = submit->count("--gpus-per-worker") > 0;
    const auto request = request_for(arguments);
    const auto jobs = cluster::submit(request);
    std::cerr << "submit: sweep " << request.sweep_name << ": coordinator job " << jobs.coordinator << ", workers job "
              << jobs.workers << " (array 0-" << request.workers - 1 << ", " << request.cpus_per_task << " CPUs, "
              << request.worker_memory_mb << " MB" << (request.gpus_per_worker ? ", " + std::to_string(request.gpus_per_worker) + " GPUs" : "")
              << " each); scripts and logs in " << cluster::slurm_directory(request.store) << "\n"
              << "submit: follow it with quorum status " << request.store << "\n";
    std::cout << jobs.coordinator << "\n";
    exit_code = 0;
  });

  auto target = std::make_shared<std::string>();
  auto* cancel = app.add_subcommand("cancel", "Cancel a sweep's Slurm jobs (its store keeps what is done)");
  cancel->add_option("store", *target, "The sweep's SQLite store (or its YAML file)")->required();
  cancel->callback([=, &exit_code] {
    const auto store = store_of(*target);
    const auto jobs = cluster::read_jobs(store);
    if (!jobs) throw InputError(store, 0, "", "no Slurm jobs were submitted for this sweep (quorum submit)");
    std::cerr << cluster::cancel(*jobs);
    std::cout << "cancelled jobs " << jobs->coordinator << " and " << jobs->workers << "\n";
    exit_code = 0;
  });
}

}  // namespace quorum::cli
