// quorum run | coordinator | worker | keygen: a sweep in one process, or a coordinator and its
// workers on any number of machines (docs/bus.md).
#include <filesystem>
#include <iostream>
#include <sys/sysinfo.h>

#include "actors/coordinator.h"
#include "actors/worker_node.h"
#include "runtime/bus/keys.h"
#include "runtime/cli/command.h"
#include "runtime/common/error.h"
#include "runtime/config/sweep.h"

namespace quorum::cli {
namespace {

struct SweepArguments {
  std::string config, store, key, hosts, remote_command = "ssh -o BatchMode=yes {host}", advertise;
  std::vector<std::string> bind;
  std::size_t workers = 0;
  bool quiet = false, insecure = false;
};

void add_sweep_options(CLI::App* command, SweepArguments& a, bool coordinator) {
  command->add_option("config", a.config, "The sweep's YAML file (e.g. configs/demo.yaml)")->required();
  command->add_option("--store", a.store, "Use this store instead of the config's");
  command->add_flag("--quiet,-q", a.quiet, "No progress view");
  auto* bind = command->add_option("--bind", a.bind, "Endpoint to serve workers on, e.g. tcp://*:5555 (repeatable)");
  if (coordinator) bind->required();
  command->add_option("--key", a.key, "The sweep's key pair (quorum keygen); default for launched workers: <store>.key");
  command->add_flag("--insecure", a.insecure, "Serve tcp:// without CURVE authentication (trusted networks only)");
  command->add_option("--workers", a.workers, "Start this many worker processes on this machine");
  command->add_option("--hosts", a.hosts, "Start one worker per host in this file, through --remote-command");
  command->add_option("--remote-command", a.remote_command, "How a command runs on {host}")->capture_default_str();
  command->add_option("--advertise", a.advertise, "The endpoint launched workers connect to (default: the bound one)");
}

actors::RunOutcome run(SweepArguments a) {
  auto config = config::load_sweep(a.config);
  if (!a.store.empty()) config.store = std::filesystem::absolute(a.store).string();
  actors::RunOptions options;
  options.progress = !a.quiet;
  options.bind = a.bind;
  const bool launching = a.workers > 0 || !a.hosts.empty();
  if (launching && options.bind.empty())
    options.bind = {a.hosts.empty() ? "tcp://127.0.0.1:*" : "tcp://*:5555"};
  if (!options.bind.empty() && !a.insecure) {
    if (!bus::curve_available()) throw InputError("", 0, "--key", "this libzmq has no CURVE; use --insecure on a trusted network");
    if (a.key.empty() && !launching)
      throw InputError("", 0, "--key", "serving tcp:// needs the sweep's key pair (quorum keygen FILE), or --insecure");
    if (a.key.empty()) a.key = bus::ensure_sweep_key(config.store);
    options.key = bus::read_key_file(a.key);
    options.launch.key_file = std::filesystem::absolute(a.key).string();
  }
  options.launch.local_workers = a.workers;
  if (!a.hosts.empty()) options.launch.hosts = actors::read_host_list(a.hosts);
  options.launch.remote_command = a.remote_command;
  options.launch.advertise = a.advertise;
  options.launch.log_directory = config.store + ".workers";
  if (a.insecure) options.launch.worker_arguments.push_back("--insecure");
  return actors::run_sweep(config, options);
}

int report_outcome(const actors::RunOutcome& outcome) {
  if (outcome.exit_code != 0) {
    std::cerr << "quorum: error: " << outcome.message << "\n";
    return outcome.exit_code;
  }
  const auto& b = outcome.bus;
  std::cerr << "run: " << outcome.units_run << " units run, " << outcome.units_already_done << " already stored"
            << (outcome.leases_taken_back ? ", " + std::to_string(outcome.leases_taken_back) + " interrupted leases taken back" : "")
            << "\n";
  std::cerr << "bus: " << b.leases << " leases, " << b.expired << " re-issued, " << b.late << " late results ignored, "
            << b.workers_lost << " workers lost, " << b.worker_restarts << " worker restarts, " << b.refused_peers
            << " peers refused, " << b.malformed << " malformed messages dropped\n";
  std::cout << "report: " << outcome.report << "/report.html\n";
  return 0;
}

}  // namespace

void register_bus(CLI::App& app, int& exit_code) {
  auto run_arguments = std::make_shared<SweepArguments>();
  auto* run_command = app.add_subcommand("run", "Run a sweep (sample, score, analyse, report); continues a stored one");
  add_sweep_options(run_command, *run_arguments, false);
  run_command->callback([=, &exit_code] { exit_code = report_outcome(run(*run_arguments)); });

  auto coordinator_arguments = std::make_shared<SweepArguments>();
  auto* coordinator = app.add_subcommand("coordinator", "Serve a sweep's units to workers over ZeroMQ (own the plan and the store)");
  add_sweep_options(coordinator, *coordinator_arguments, true);
  coordinator->callback([=, &exit_code] { exit_code = report_outcome(run(*coordinator_arguments)); });

  auto worker_options = std::make_shared<actors::WorkerOptions>();
  auto worker_key = std::make_shared<std::string>();
  auto worker_insecure = std::make_shared<bool>(false);
  auto memory_mb = std::make_shared<std::uint64_t>(0);
  auto* worker = app.add_subcommand("worker", "Run units leased by a coordinator (sampler and verifier actors)");
  worker->add_option("--connect", worker_options->connect, "The coordinator, e.g. tcp://node1:5555")->required();
  worker->add_option("--key", *worker_key, "The sweep's key pair (quorum keygen)");
  worker->add_flag("--insecure", *worker_insecure, "Connect without CURVE (the coordinator runs --insecure)");
  worker->add_option("--name", worker_options->name, "Unique among the sweep's workers (default: host-pid)");
  worker->add_option("--memory-mb", *memory_mb, "Resident model weights at most (default: this machine's memory)");
  worker->add_option("--slots", worker_options->slots, "Units at once (default: one per model replica)");
  worker->add_option("--patience", worker_options->patience_s, "Give up after this many seconds without a coordinator")
      ->capture_default_str();
  worker->callback([=, &exit_code] {
    auto options = *worker_options;
    if (!*worker_insecure) {
      if (worker_key->empty()) throw InputError("", 0, "--key", "a worker needs the sweep's key pair (quorum keygen), or --insecure");
      options.key = bus::read_key_file(*worker_key);
    }
    struct sysinfo info {};
    ::sysinfo(&info);
    options.memory_bytes = *memory_mb ? *memory_mb << 20 : std::uint64_t(info.totalram) * info.mem_unit;
    caf::actor_system_config system_config;
    caf::actor_system system{system_config};
    zmq::context_t context;
    const auto outcome = actors::run_worker(options, system, context);
    std::cerr << "worker: " << outcome.units_run << " units run, " << outcome.reconnects << " reconnections"
              << (outcome.message.empty() ? "" : "; " + outcome.message) << "\n";
    exit_code = outcome.exit_code;
  });

  auto key_path = std::make_shared<std::string>();
  auto* keygen = app.add_subcommand("keygen", "Write a new CURVE key pair for a sweep (the coordinator and its workers share it)");
  keygen->add_option("file", *key_path, "Where to write it (must not exist; made readable by you only)")->required();
  keygen->callback([=, &exit_code] {
    if (!bus::curve_available()) throw InputError("", 0, "", "this libzmq has no CURVE");
    bus::write_key_file(*key_path, bus::generate_key_pair());
    std::cout << "key pair: " << *key_path << "\n";
    exit_code = 0;
  });
}

}  // namespace quorum::cli
