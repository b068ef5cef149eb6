// Slurm for real: each test starts its own single-node cluster (cluster/local_slurm.sh:
// munged, slurmctld and slurmd on this machine, installed from Debian when absent), submits
// the small end-to-end sweep with `quorum submit --slurm`, and compares what the jobs stored
// with a local run of the same sweep.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "process.h"
#include "runtime/cluster/slurm.h"
#include "runtime/common/text.h"
#include "tiny_sweep.h"

using namespace quorum::testing;

namespace {

// A cluster for the length of a test; stopped (jobs cancelled, daemons gone) at the end.
class LocalSlurm {
 public:
  explicit LocalSlurm(const std::filesystem::path& dir) : dir_(dir.string()) {
    // A coordinator and two workers of one CPU each, on a machine that may have two.
    const auto started = run_quorum_in_shell("LOCAL_SLURM_CPUS=4 " + quorum::shell_quoted(QUORUM_LOCAL_SLURM) +
                                             " start " + quorum::shell_quoted(dir_));
    output_ = started.output;
    if (started.exit_code != 0) return;
    ::setenv("SLURM_CONF", (dir_ + "/slurm.conf").c_str(), 1);
    up_ = true;
  }
  ~LocalSlurm() {
    if (!up_) return;
    run_quorum_in_shell(quorum::shell_quoted(QUORUM_LOCAL_SLURM) + " stop " + quorum::shell_quoted(dir_));
    ::unsetenv("SLURM_CONF");
  }
  bool up() const { return up_; }
  const std::string& output() const { return output_; }

 private:
  std::string dir_, output_;
  bool up_ = false;
};

// Only a machine that cannot run the daemons at all skips: no Slurm installed and no root to
// install it. Anywhere else a cluster that does not start is a failure.
bool skip_without_slurm() {
  if (::geteuid() == 0 || run_quorum_in_shell("command -v slurmctld && command -v munged").exit_code == 0) return false;
  WARN("skipped: Slurm is not installed and installing it needs root");
  return true;
}

std::string shell(const std::string& command) {
  const auto result = run_quorum_in_shell(command);
  INFO(command << "\n" << result.output);
  REQUIRE(result.exit_code == 0);
  return result.output;
}

// Units done so far; 0 before the coordinator has made the store (the file may exist, empty).
std::int64_t units_done(const std::string& store) {
  try {
    return quorum::store::Store(store, true).unit_totals().done;
  } catch (const std::exception&) {  // not made yet, or busy being made
    return 0;
  }
}

// squeue's states of a job's tasks, each once, in order ("" once Slurm has forgotten it).
std::string job_state(const std::string& job) {
  std::istringstream lines(run_quorum_in_shell("squeue -h -t all -j " + job + " -o %T").output);
  std::string states;
  for (std::string line; std::getline(lines, line);)
    if (!line.empty() && (" " + states + " ").find(" " + line + " ") == std::string::npos)
      states += (states.empty() ? "" : " ") + line;
  return states;
}

// Waits until no task of the job is in an active state; returns job_state then.
std::string wait_for_end(const std::string& job, double timeout_s) {
  const auto start = Clock::now();
  for (;;) {
    const auto states = job_state(job);
    std::istringstream words(states);
    bool active = false;
    for (std::string state; words >> state;) active |= quorum::cluster::is_active(state);
    if (!active) return states;
    if (seconds_since(start) > timeout_s) return "still " + states + " after " + std::to_string(timeout_s) + " s";
    sleep_s(0.5);
  }
}

struct Sweep {
  std::string config, store;
};

// The sweep, the same sweep run locally (its export is what every Slurm run must give), and
// the cluster.
struct SlurmFixture {
  TempDir dir;
  Sweep local, slurm;
  std::string expected;  // the local run's export
  std::unique_ptr<LocalSlurm> cluster;

  explicit SlurmFixture(const std::string& name) : dir(name) {
    train_tiny_models(dir);
    // 204 problems x 2 policies x 8 samples, 408 units: long enough to interrupt.
    const auto yaml = [&](const std::string& store) { return sweep_yaml(store, 200, 8, 24, ", threads: 1"); };
    local = {dir.file("local.yaml", yaml("local/sweep.db")), (dir.path() / "local/sweep.db").string()};
    slurm = {dir.file("slurm.yaml", yaml("slurm/sweep.db")), (dir.path() / "slurm/sweep.db").string()};
    const auto run = run_quorum("run " + local.config + " --quiet");
    INFO(run.output);
    REQUIRE(run.exit_code == 0);
    expected = export_of(local.store, "local");
    cluster = std::make_unique<LocalSlurm>(dir.path() / "cluster");
    INFO(cluster->output());
    REQUIRE(cluster->up());
  }

  // Exactly the local run's rows: 204 problems x 2 policies x 8 samples, each scored once.
  void check_same_as_local() const {
    CHECK(export_of(slurm.store, "slurm") == expected);
    CHECK(rows(slurm.store, "responses") == 204 * 2 * 8);
    CHECK(rows(slurm.store, "scores") == 204 * 2 * 8);
  }

  std::string export_of(const std::string& store, const std::string& name) const {
    const auto path = (dir.path() / (name + ".jsonl")).string();
    const auto exported = run_quorum("export " + store + " --out " + path);
    INFO(exported.output);
    REQUIRE(exported.exit_code == 0);
    return read_text(path);
  }

  std::string submit() const {
    const auto submitted = run_quorum("submit " + slurm.config + " --slurm --workers 2");
    INFO(submitted.output);
    REQUIRE(submitted.exit_code == 0);
    const auto job = quorum::trim(submitted.output.substr(submitted.output.rfind('\n', submitted.output.size() - 2) + 1));
    REQUIRE(!job.empty());
    REQUIRE(job.find_first_not_of("0123456789") == std::string::npos);
    return job;
  }

  std::string workers_job() const {
    return nlohmann::json::parse(read_text(slurm.store + ".slurm/jobs.json")).at("workers").get<std::string>();
  }

  // Waits until some units are stored and some are not: workers are mid-sweep.
  void wait_mid_sweep(std::int64_t at_least) const {
    const auto start = Clock::now();
    while (units_done(slurm.store) < at_least && seconds_since(start) < 120) sleep_s(0.05);
    const auto done = units_done(slurm.store);
    INFO("units done: " << done);
    REQUIRE(done >= at_least);
    REQUIRE(done < 408);
  }
};

}  // namespace

TEST_CASE("slurm: a submitted sweep, cancelled and resubmitted, stores what a local run stores", "[slurm]") {
  if (skip_without_slurm()) return;
  SlurmFixture sweep("slurm-submit");

  const auto first = sweep.submit();
  // While it runs, a second submission is refused.
  const auto twice = run_quorum("submit " + sweep.slurm.config + " --slurm");
  CHECK(twice.exit_code != 0);
  CHECK(twice.output.find("quorum cancel it first") != std::string::npos);

  sweep.wait_mid_sweep(20);
  const auto cancelled = run_quorum("cancel " + sweep.slurm.config);
  INFO(cancelled.output);
  REQUIRE(cancelled.exit_code == 0);
  CHECK(wait_for_end(first, 60) == "CANCELLED");
  const auto status = run_quorum("status " + sweep.slurm.store);
  INFO(status.output);
  CHECK(status.output.find("coordinator job " + first + ": " + first + " CANCELLED") != std::string::npos);
  CHECK(status.output.find("state: not finished") != std::string::npos);
  const auto stored = units_done(sweep.slurm.store);

  // Resubmitted, it resumes the store: what was done is not done again.
  const auto second = sweep.submit();
  CHECK(second != first);
  CHECK(wait_for_end(second, 300) == "COMPLETED");
  const auto log = read_text(sweep.slurm.store + ".slurm/coordinator-" + second + ".log");
  INFO(log);
  CHECK(log.find(std::to_string(stored) + " already stored") != std::string::npos);
  sweep.check_same_as_local();
  const auto finished = run_quorum("status " + sweep.slurm.store);
  INFO(finished.output);
  CHECK(finished.output.find("state: finished") != std::string::npos);
  CHECK(finished.output.find(second + " COMPLETED") != std::string::npos);
  CHECK(std::filesystem::exists(sweep.dir.path() / "slurm/report/report.html"));
}

TEST_CASE("slurm: a node set DOWN under running workers - the requeued jobs finish with nothing lost", "[slurm]") {
  if (skip_without_slurm()) return;
  SlurmFixture sweep("slurm-down");

  const auto coordinator = sweep.submit();
  const auto workers = sweep.workers_job();
  sweep.wait_mid_sweep(20);
  const auto node = quorum::trim(shell("sinfo -h -o %N"));
  shell("scontrol update NodeName=" + node + " State=DOWN Reason=quorum-test");
  CHECK(quorum::trim(shell("sinfo -h -o %t")).rfind("down", 0) == 0);
  sleep_s(2);
  // Slurm killed the jobs on the node and put them back in the queue (--requeue).
  CHECK(job_state(coordinator) == "PENDING");
  const auto at_failure = units_done(sweep.slurm.store);
  shell("scontrol update NodeName=" + node + " State=RESUME");

  // Requeued jobs wait out Slurm's credential lifetime (30 s here) before they run again.
  CHECK(wait_for_end(coordinator, 300) == "COMPLETED");
  CHECK(wait_for_end(workers, 60) == "COMPLETED");
  for (const char* task : {"_0", "_1"}) {
    const auto log = read_text(sweep.slurm.store + ".slurm/worker-" + workers + task + ".log");
    INFO(log);
    CHECK(log.find("Node failure") != std::string::npos);  // srun's word for the DOWN node
    CHECK(log.find("(restart 1)") != std::string::npos);
  }
  const auto log = read_text(sweep.slurm.store + ".slurm/coordinator-" + coordinator + ".log");
  INFO(log);
  CHECK(log.find("(restart 1)") != std::string::npos);
  CHECK(log.find(std::to_string(at_failure) + " already stored") != std::string::npos);
  sweep.check_same_as_local();
}
