#include "runtime/cluster/slurm.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "runtime/common/error.h"
#include "runtime/common/local_time.h"
#include "runtime/common/files.h"
#include "runtime/common/subprocess.h"
#include "runtime/common/text.h"

namespace quorum::cluster {

namespace fs = std::filesystem;

namespace {

// The opening of both scripts: what it is, and the #SBATCH lines both jobs share.
std::string script_head(const SubmitRequest& r, const std::string& what, const std::string& job_name,
                        const std::string& log_name) {
  std::string lines = "#!/bin/bash\n# quorum sweep " + r.sweep_name + ": " + what +
                      ". Written by quorum submit, which rewrites it.\n";
  lines += "#SBATCH --job-name=" + job_name + "\n";
  lines += "#SBATCH --output=" + slurm_directory(r.store) + "/" + log_name + "\n";
  lines += "#SBATCH --requeue\n#SBATCH --open-mode=append\n#SBATCH --ntasks=1\n";
  lines += "#SBATCH --cpus-per-task=" + std::to_string(r.cpus_per_task) + "\n";
  lines += "#SBATCH --chdir=" + r.working_directory + "\n";
  if (!r.partition.empty()) lines += "#SBATCH --partition=" + r.partition + "\n";
  if (!r.time.empty()) lines += "#SBATCH --time=" + r.time + "\n";
  return lines;
}

// squeue's states of a job that may still run; the worker script's shell test is made of the same list.
constexpr const char* kActiveStates[] = {"PENDING",      "CONFIGURING", "RUNNING",  "COMPLETING", "REQUEUED", "REQUEUE_HOLD",
                                         "REQUEUE_FED", "RESIZING",    "SUSPENDED", "SIGNALING",  "STAGE_OUT"};

std::string jobs_file(const std::string& store) { return slurm_directory(store) + "/jobs.json"; }

// sbatch --parsable prints "ID" or "ID;CLUSTER".
std::string sbatch(const std::string& script) {
  const auto out = run_program({"sbatch", "--parsable", script});
  if (out.exit_code == 127) throw InputError("", 0, "--slurm", "sbatch not found: run quorum submit where Slurm's commands are (a login node)");
  if (out.exit_code != 0) throw InputError(script, 0, "sbatch", trim(out.output));
  const auto id = trim(out.output.substr(0, out.output.find(';')));
  if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos)
    throw InputError(script, 0, "sbatch", "unexpected answer: " + trim(out.output));
  return id;
}

}  // namespace

std::string slurm_directory(const std::string& store) { return store + ".slurm"; }

std::string coordinator_script(const SubmitRequest& r) {
  std::ostringstream s;
  s << script_head(r, "the coordinator", "quorum-" + r.sweep_name, "coordinator-%j.log")
    << "#SBATCH --mem=" << r.coordinator_memory_mb << "M\n"
    << "echo \"quorum: coordinator job $SLURM_JOB_ID (restart ${SLURM_RESTART_COUNT:-0}) on $(hostname) at $(date -Is)\"\n"
    << "# The address of a coordinator that died with its node is no one's now.\n"
    << "rm -f " << shell_quoted(r.store + ".endpoint") << "\n"
    << "# One step: it resumes the store, serves the units on a free port and writes the address it\n"
    << "# serves on to <store>.endpoint, where the workers look.\n"
    << "exec srun --ntasks=1 " << shell_quoted(r.quorum_binary) << " coordinator " << shell_quoted(r.config_file)
    << " --store " << shell_quoted(r.store) << " --bind 'tcp://*:*' --key " << shell_quoted(r.key_file) << " --quiet\n";
  return s.str();
}

std::string worker_script(const SubmitRequest& r, const std::string& coordinator_job) {
  std::string active_pattern;
  for (const char* state : kActiveStates) active_pattern += (active_pattern.empty() ? "" : "|") + std::string(state);
  std::ostringstream s;
  s << script_head(r, "the workers, one per array task", "quorum-" + r.sweep_name + "-workers", "worker-%A_%a.log")
    << "#SBATCH --array=0-" << (r.workers - 1) << "\n"
    << "#SBATCH --dependency=after:" << coordinator_job << "\n"
    << "#SBATCH --mem=" << r.worker_memory_mb << "M\n";
  if (r.gpus_per_worker > 0) s << "#SBATCH --gres=gpu:" << r.gpus_per_worker << "\n";
  s << "coordinator=" << coordinator_job << "\n"
    << "endpoint=" << shell_quoted(r.store + ".endpoint") << "\n"
    << "echo \"quorum: worker ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} (restart ${SLURM_RESTART_COUNT:-0}) on $(hostname) at $(date -Is)\"\n"
    << "# The coordinator's job may be pending, running or requeued; once it has ended there is\n"
    << "# nothing left to serve.\n"
    << "coordinator_active() {\n"
    << "  case \"$(squeue -h -t all -j \"$coordinator\" -o %T 2>/dev/null)\" in\n"
    << "    " << active_pattern << ") return 0 ;;\n"
    << "    *) return 1 ;;\n"
    << "  esac\n"
    << "}\n"
    << "attempt=0\n"
    << "while coordinator_active; do\n"
    << "  if [ -s \"$endpoint\" ]; then\n"
    << "    # A worker that hears no coordinator for a minute (it moved, with a requeue) exits 3:\n"
    << "    # read the address again. 0: the sweep is done; 2: refused (another quorum version).\n"
    << "    attempt=$((attempt + 1))\n"
    << "    srun --ntasks=1 " << shell_quoted(r.quorum_binary) << " worker --connect \"$(cat \"$endpoint\")\" --key "
    << shell_quoted(r.key_file) << " --memory-mb " << r.worker_weights_mb
    << " --patience 60 --name \"slurm-${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}-r${SLURM_RESTART_COUNT:-0}-$attempt\"\n"
    << "    status=$?\n"
    << "    [ $status -eq 0 ] || [ $status -eq 2 ] && exit $status\n"
    << "  fi\n"
    << "  sleep 2\n"
    << "done\n"
    << "echo \"quorum: coordinator job $coordinator has ended\"\n";
  return s.str();
}

std::optional<Jobs> read_jobs(const std::string& store) {
  const auto path = jobs_file(store);
  if (!fs::exists(path)) return std::nullopt;
  try {
    std::ifstream in(path);
    const auto j = nlohmann::json::parse(in);
    return Jobs{j.at("coordinator"), j.at("workers"), j.at("worker_count"), j.at("submitted")};
  } catch (const std::exception& e) {
    throw InputError(path, 0, "", std::string("not a job record quorum submit wrote: ") + e.what());
  }
}

std::vector<JobState> job_states(const std::string& job) {
  const auto out = run_program({"squeue", "-h", "-t", "all", "-j", job, "-o", "%i %T"});
  if (out.exit_code == 127) throw InputError("", 0, "squeue", "squeue not found: ask where Slurm's commands are");
  if (out.exit_code != 0) {
    if (out.output.find("Invalid job id") != std::string::npos) return {};  // forgotten (MinJobAge)
    throw InputError("", 0, "squeue", trim(out.output));
  }
  std::vector<JobState> states;
  std::istringstream lines(out.output);
  for (std::string line; std::getline(lines, line);) {
    const auto space = line.find(' ');
    if (space != std::string::npos) states.push_back({trim(line.substr(0, space)), trim(line.substr(space + 1))});
  }
  return states;
}

bool is_active(const std::string& state) {
  for (const char* active : kActiveStates)
    if (state == active) return true;
  return false;
}

Jobs submit(const SubmitRequest& request) {
  if (const auto previous = read_jobs(request.store)) {
    for (const auto& job : {previous->coordinator, previous->workers})
      for (const auto& s : job_states(job))
        if (is_active(s.state))
          throw InputError(jobs_file(request.store), 0, "",
                           "the sweep's jobs are still there (job " + s.id + " " + s.state +
                               "); quorum cancel it first, or wait");
  }
  const auto dir = slurm_directory(request.store);
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) throw InputError(dir, 0, "", "cannot create directory: " + error.message());

  const auto coordinator_path = dir + "/coordinator.sbatch";
  write_file_atomically(coordinator_path, coordinator_script(request));
  Jobs jobs;
  jobs.coordinator = sbatch(coordinator_path);
  const auto workers_path = dir + "/workers.sbatch";
  try {
    write_file_atomically(workers_path, worker_script(request, jobs.coordinator));
    jobs.workers = sbatch(workers_path);
  } catch (...) {
    run_program({"scancel", jobs.coordinator});  // a coordinator without workers would wait for ever
    throw;
  }
  jobs.worker_count = request.workers;
  jobs.submitted = local_time_now();
  const nlohmann::json record{{"coordinator", jobs.coordinator}, {"workers", jobs.workers},
                              {"worker_count", jobs.worker_count}, {"submitted", jobs.submitted}};
  write_file_atomically(jobs_file(request.store), record.dump(1) + "\n");
  return jobs;
}

std::string cancel(const Jobs& jobs) {
  const auto out = run_program({"scancel", jobs.coordinator, jobs.workers});
  if (out.exit_code == 127) throw InputError("", 0, "scancel", "scancel not found: ask where Slurm's commands are");
  if (out.exit_code != 0) throw InputError("", 0, "scancel", trim(out.output));
  return out.output;
}

std::string status_text(const std::string& store) {
  const auto jobs = read_jobs(store);
  if (!jobs) return "";
  std::string text = "  slurm (submitted " + jobs->submitted + "):\n";
  const std::pair<const char*, const std::string*> parts[] = {{"coordinator", &jobs->coordinator}, {"workers", &jobs->workers}};
  for (const auto& [role, id] : parts) {
    text += std::string("    ") + role + " job " + *id + ":";
    try {
      const auto states = job_states(*id);
      if (states.empty()) text += " no longer known to Slurm";
      for (const auto& s : states) text += " " + s.id + " " + s.state;
    } catch (const InputError& e) {
      text += std::string(" ") + e.what();
    }
    text += "\n";
  }
  return text;
}

}  // namespace quorum::cluster
