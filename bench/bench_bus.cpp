// Benchmark of the ZeroMQ bus between a coordinator and its workers.
//
// Part 1, the bus alone: a sweep of a few thousand small units served by actors::run_sweep on
// tcp://127.0.0.1 (CURVE) to 1, 2 and 4 no-op worker processes. A no-op worker speaks the
// protocol as actors/worker_node.cpp does (hello, heartbeats, one result per lease, results
// kept until acknowledged, exit on "done") but answers every lease at once with synthetic rows,
// so what is measured is the coordinator, the bus and the store's commits (SQLite, WAL,
// synchronous FULL, before every ack). The models named by the sweep are only opened for their
// headers. Per worker count it prints units, wall time, units/s over the serving window (the
// first lease received to the last ack received), the ack latency (result sent -> ack received)
// and the lease turnaround (result sent -> the worker's next lease for that model received), and
// units/s against the 1-worker run of the same invocation.
//
// Part 2 (--demo), end to end: `quorum run` of the demo sweep in process, and with 1 and 2
// worker processes (--workers K), timed; about 4 minutes per run on a 2-vCPU machine. The runs
// read a copy of configs/demo.yaml whose report goes to the bench's temporary directory.
//
// bench_bus [--units N] [--demo]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "actors/coordinator.h"
#include "runtime/bus/keys.h"
#include "runtime/bus/protocol.h"
#include "runtime/config/sweep.h"
#include "runtime/store/store.h"

namespace {

using namespace quorum;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const std::vector<std::size_t> kWorkerCounts = {1, 2, 4};
// A worker that hears nothing for this long gives up (a coordinator that never came up).
constexpr auto kPatience = std::chrono::seconds(60);

double milliseconds(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// steady_clock is CLOCK_MONOTONIC on Linux, one clock for every process of the machine, so the
// workers' timestamps can be compared with each other.
std::int64_t now_ns() { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count(); }

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
}

// A TCP port free on the loopback now. The workers are forked before the coordinator binds, so
// they cannot learn a port the coordinator picks (tcp://127.0.0.1:*): it is fixed beforehand.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  if (fd >= 0) ::close(fd);
  if (!ok) throw std::runtime_error("cannot find a free TCP port on 127.0.0.1");
  return ntohs(address.sin_port);
}

// ----- the no-op worker ----------------------------------------------------------------------

// A lease's result with synthetic but valid rows: every sample of every problem for a sample
// unit, one score per step of every response for a score unit.
bus::Result noop_result(const bus::Lease& lease) {
  bus::Result result;
  result.lease_id = lease.lease_id, result.unit_id = lease.unit_id;
  const auto& work = lease.sample;
  for (const auto& problem : work.problems)
    for (std::int64_t k = 0; k < work.samples; ++k) {
      store::ResponseRow row;
      row.id = store::response_id(work.policy, work.split, problem.id, k);
      row.policy = work.policy, row.split = work.split, row.problem_id = problem.id;
      row.sample_index = k;
      row.answer = std::to_string(k % 3);  // a few answer classes per problem for the vote
      row.steps = {"no-op step", "answer " + *row.answer};
      row.text = row.steps[0] + "\n" + row.steps[1];
      row.completion_tokens = 8;
      result.responses.push_back(std::move(row));
    }
  for (const auto& response : lease.score.responses)
    result.scores.push_back({response.response_id, lease.score.prm, std::vector<float>(response.steps.size(), 0.5f), 0, 0});
  return result;
}

// Serves leases until the coordinator says "done", then writes its figures to `figures` as
// JSON: its first lease and last ack (now_ns), and each ack latency and lease turnaround in ms.
// Returns the process's exit status: 0 once every result it sent was acknowledged.
int noop_worker(const std::string& endpoint, const std::string& key_file, const std::string& name, const fs::path& figures) {
  const auto key = bus::read_key_file(key_file);
  zmq::context_t context;
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  socket.set(zmq::sockopt::linger, 0);
  // As the real worker: the sweep's one pair is the server's key and this worker's own.
  socket.set(zmq::sockopt::curve_serverkey, key.public_key);
  socket.set(zmq::sockopt::curve_publickey, key.public_key);
  socket.set(zmq::sockopt::curve_secretkey, key.secret_key);
  socket.connect(endpoint);
  auto send = [&](const std::string& payload) {
    if (!socket.send(zmq::buffer(payload), zmq::send_flags::dontwait))
      throw std::runtime_error("the send queue to the coordinator is full");
  };
  bus::Hello hello;
  hello.worker = name;
  send(bus::encode(hello));

  std::chrono::milliseconds heartbeat(1000);  // until the welcome says otherwise
  auto next_beat = Clock::now() + heartbeat, last_heard = Clock::now();
  std::map<std::string, Clock::time_point> unacked;  // lease -> when its result was sent
  // Per model, when each result was sent, oldest first, until a lease for that model follows
  // it. The coordinator leases a worker at most one unit per model replica at a time, so a
  // model's next lease refills the slot its oldest result freed; pairing across models would
  // match a lease with another slot's result.
  std::map<std::string, std::deque<Clock::time_point>> awaiting_lease;
  std::vector<double> ack_ms, turnaround_ms;
  std::int64_t first_lease_ns = 0, last_ack_ns = 0;
  for (;;) {
    std::vector<zmq::pollitem_t> items = {{socket.handle(), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, std::max(std::chrono::milliseconds(0),
                              std::chrono::duration_cast<std::chrono::milliseconds>(next_beat - Clock::now())));
    zmq::message_t message;
    while (socket.recv(message, zmq::recv_flags::dontwait)) {
      const auto now = Clock::now();
      last_heard = now;
      const auto text = message.to_string();
      const auto type = bus::message_type(text);
      if (type == "welcome") {
        heartbeat = std::chrono::milliseconds(bus::decode_welcome(text).heartbeat_ms);
      } else if (type == "lease") {
        if (first_lease_ns == 0) first_lease_ns = now_ns();
        const auto lease = bus::decode_lease(text);
        auto& awaiting = awaiting_lease[lease.models().front()];
        if (!awaiting.empty()) {
          turnaround_ms.push_back(milliseconds(now - awaiting.front()));
          awaiting.pop_front();
        }
        send(bus::encode(noop_result(lease)));
        const auto sent = Clock::now();
        unacked[lease.lease_id] = sent;
        awaiting.push_back(sent);
      } else if (type == "ack") {
        const auto found = unacked.find(bus::decode_ack(text).lease_id);
        if (found != unacked.end()) {
          ack_ms.push_back(milliseconds(now - found->second));
          last_ack_ns = now_ns();
          unacked.erase(found);
        }
      } else if (type == "reannounce") {
        send(bus::encode(hello));
      } else if (type == "done") {
        if (!unacked.empty()) {
          std::fprintf(stderr, "%s: %zu results never acknowledged\n", name.c_str(), unacked.size());
          return 1;
        }
        write_text(figures, nlohmann::json{{"first_lease_ns", first_lease_ns}, {"last_ack_ns", last_ack_ns},
                                           {"ack_ms", ack_ms}, {"turnaround_ms", turnaround_ms}}
                                .dump());
        return 0;
      } else if (type == "refused") {
        std::fprintf(stderr, "%s: refused: %s\n", name.c_str(), bus::decode_refused(text).reason.c_str());
        return 1;
      }
      // heartbeat and release: nothing to do for a worker that holds no model
    }
    if (Clock::now() - last_heard > kPatience) {
      std::fprintf(stderr, "%s: no word from the coordinator at %s\n", name.c_str(), endpoint.c_str());
      return 1;
    }
    if (Clock::now() >= next_beat) {
      send(bus::encode(bus::Heartbeat{}));  // nothing is ever running between two messages
      next_beat = Clock::now() + heartbeat;
    }
  }
}

// ----- part 1: one run with K no-op workers --------------------------------------------------

// The sweep: one policy and one PRM, one problem per unit, so `problems` problems make as many
// sample units and as many score units. The analysis is kept small: the report is not measured.
std::string bus_sweep_yaml(const fs::path& dir, std::size_t problems) {
  auto quoted = [](const fs::path& path) { return nlohmann::json(path.string()).dump(); };  // JSON strings are YAML
  const fs::path models = fs::path(QUORUM_SOURCE_DIR) / "models";
  return "sweep: bus-bench\n"
         "store: " + quoted(dir / "sweep.db") + "\n"
         "report: " + quoted(dir / "report") + "\n"
         "seed: 1\n"
         "problems:\n"
         "  evaluation: {task: arithmetic, levels: [1], count: " + std::to_string(problems) + ", seed: 7}\n"
         "policies:\n"
         "  - {name: noop-policy, path: " + quoted(models / "policy-small") + "}\n"
         "prms:\n"
         "  - {name: noop-prm, path: " + quoted(models / "prm-small") + "}\n"
         "samples: 4\n"
         "analysis: {budgets: [1, 4], strategies: [majority, weighted], reductions: [last], draws: 10, bootstrap: 10}\n"
         "runtime: {problems_per_unit: 1, heartbeat_ms: 200}\n";
}

// Forks the workers, then serves the sweep in dir/sweep.yaml to them and checks that every unit
// of the plan is stored. Writes dir/run.json (the figures main prints); returns the process's
// exit status. Runs in a
// process of its own, forked by main before any thread exists: fork copies only the calling
// thread, so the workers must be forked before run_sweep starts CAF's and ZeroMQ's.
int serve(const fs::path& dir, std::size_t workers, int port, const std::string& key_file) {
  const std::string endpoint = "tcp://127.0.0.1:" + std::to_string(port);
  std::vector<pid_t> pids;
  for (std::size_t i = 0; i < workers; ++i) {
    std::fflush(nullptr);  // nothing buffered is written twice
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      int status = 1;
      try {
        status = noop_worker(endpoint, key_file, "noop-" + std::to_string(i), dir / ("worker-" + std::to_string(i) + ".json"));
      } catch (const std::exception& e) {
        std::fprintf(stderr, "noop-%zu: %s\n", i, e.what());
      }
      std::fflush(nullptr);
      ::_exit(status);  // not exit(): the parent's static objects are not this process's to destroy
    }
    pids.push_back(pid);
  }
  nlohmann::json run;
  bool ok = false;
  try {
    const auto config = config::load_sweep((dir / "sweep.yaml").string());
    actors::RunOptions options;
    options.progress = false;
    options.bind = {endpoint};
    options.key = bus::read_key_file(key_file);
    const auto start = Clock::now();
    const auto outcome = actors::run_sweep(config, options);
    const double wall = std::chrono::duration<double>(Clock::now() - start).count();
    const auto units = store::Store(config.store, true).unit_totals();
    const std::int64_t planned = units.total(), stored = units.done;
    run = {{"wall_s", wall}, {"units_run", outcome.units_run}, {"expired", outcome.bus.expired}, {"late", outcome.bus.late}};
    ok = outcome.exit_code == 0 && outcome.units_already_done == 0 && stored == planned &&
         outcome.units_run == static_cast<std::size_t>(planned);
    if (!ok)
      std::fprintf(stderr, "bench: sweep exit %d (%s); %zu units run, %lld of %lld stored\n", outcome.exit_code,
                   outcome.message.c_str(), outcome.units_run, static_cast<long long>(stored), static_cast<long long>(planned));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench: %s\n", e.what());
    // The coordinator may never have served: its workers would wait out their patience.
    for (const pid_t pid : pids) ::kill(pid, SIGTERM);
  }
  for (const pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    ok = ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  write_text(dir / "run.json", run.dump());
  return ok ? 0 : 1;
}

struct RunFigures {
  std::size_t workers = 0, units = 0;
  double wall_s = 0, serving_s = 0, ack_mean_ms = 0, ack_p99_ms = 0, turnaround_mean_ms = 0;
  std::uint64_t reissued = 0, late = 0;
  double units_per_s() const { return units / serving_s; }
};

double mean(const std::vector<double>& values) {
  return values.empty() ? NAN : std::accumulate(values.begin(), values.end(), 0.0) / values.size();
}

// Nearest-rank percentile.
double percentile(std::vector<double> values, double p) {
  if (values.empty()) return NAN;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100 * values.size()));
  return values[std::max<std::size_t>(rank, 1) - 1];
}

// Runs the sweep with `workers` no-op workers in a child process (see serve) and gathers what
// the run and its workers wrote.
RunFigures bus_run(const fs::path& root, std::size_t workers, std::size_t problems, const std::string& key_file) {
  const auto dir = root / ("workers-" + std::to_string(workers));
  fs::create_directories(dir);
  write_text(dir / "sweep.yaml", bus_sweep_yaml(dir, problems));
  const int port = free_port();
  const auto log = dir / "serve.log";
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // The coordinator's lines (serving, workers joining) go to the log, the table to stdout.
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) ::dup2(fd, STDERR_FILENO), ::close(fd);
    int status = 1;
    try {
      status = serve(dir, workers, port, key_file);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench: %s\n", e.what());
    }
    std::fflush(nullptr);
    ::_exit(status);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("the run with " + std::to_string(workers) + " workers failed; its log, " + log.string() +
                             ":\n" + read_text(log));
  const auto run = nlohmann::json::parse(read_text(dir / "run.json"));
  RunFigures figures;
  figures.workers = workers;
  figures.units = run.at("units_run");
  figures.wall_s = run.at("wall_s");
  figures.reissued = run.at("expired");
  figures.late = run.at("late");
  std::vector<double> ack, turnaround;
  std::int64_t first = 0, last = 0;
  for (std::size_t i = 0; i < workers; ++i) {
    const auto w = nlohmann::json::parse(read_text(dir / ("worker-" + std::to_string(i) + ".json")));
    const auto worker_ack = w.at("ack_ms").get<std::vector<double>>();
    const auto worker_turnaround = w.at("turnaround_ms").get<std::vector<double>>();
    ack.insert(ack.end(), worker_ack.begin(), worker_ack.end());
    turnaround.insert(turnaround.end(), worker_turnaround.begin(), worker_turnaround.end());
    const std::int64_t worker_first = w.at("first_lease_ns"), worker_last = w.at("last_ack_ns");
    if (worker_first > 0) first = first == 0 ? worker_first : std::min(first, worker_first);
    last = std::max(last, worker_last);
  }
  figures.serving_s = 1e-9 * (last - first);
  figures.ack_mean_ms = mean(ack);
  figures.ack_p99_ms = percentile(ack, 99);
  figures.turnaround_mean_ms = mean(turnaround);
  return figures;
}

void bus_benchmark(const fs::path& root, std::size_t units) {
  const std::size_t problems = std::max<std::size_t>(1, units / 2);
  const auto key_file = (root / "sweep.key").string();
  bus::write_key_file(key_file, bus::generate_key_pair());
  std::vector<RunFigures> runs;
  for (const auto workers : kWorkerCounts) {
    std::fprintf(stderr, "bench: %zu units, %zu no-op worker process%s\n", 2 * problems, workers, workers == 1 ? "" : "es");
    runs.push_back(bus_run(root, workers, problems, key_file));
  }
  std::printf("\nquorum bus benchmark: %zu units (%zu problems x 4 samples, sample + score unit each), no-op workers\n"
              "on tcp://127.0.0.1 with CURVE, every result committed to SQLite (WAL, synchronous FULL) before its ack.\n"
              "units/s over the serving window (first lease to last ack); ack: result sent -> ack received;\n"
              "turnaround: result sent -> the worker's next lease for the same model received\n\n",
              2 * problems, problems);
  std::printf("| workers | units | wall s | serving s | units/s | vs 1 worker | ack mean ms | ack p99 ms | turnaround mean ms |\n"
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const auto& r : runs)
    std::printf("| %zu | %zu | %.2f | %.2f | %.0f | %.2fx | %.2f | %.2f | %.2f |\n", r.workers, r.units, r.wall_s, r.serving_s,
                r.units_per_s(), r.units_per_s() / runs.front().units_per_s(), r.ack_mean_ms, r.ack_p99_ms,
                r.turnaround_mean_ms);
  for (const auto& r : runs)
    if (r.reissued || r.late)
      std::printf("\n%zu workers: %llu leases re-issued, %llu late results (a unit ran more than once)\n", r.workers,
                  static_cast<unsigned long long>(r.reissued), static_cast<unsigned long long>(r.late));
}

// ----- part 2: the demo sweep end to end -----------------------------------------------------

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (const char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// configs/demo.yaml with its report in `dir`: the demo's own report (out/demo/report) is left
// alone. Its paths are relative to configs/ and the copy lives elsewhere, so they are made
// absolute; loading both checks the copy names the same models.
fs::path demo_config_copy(const fs::path& dir) {
  const fs::path source = fs::path(QUORUM_SOURCE_DIR) / "configs" / "demo.yaml";
  std::istringstream original(read_text(source));
  std::string copy, line;
  while (std::getline(original, line)) {
    if (line.rfind("report:", 0) == 0) {
      line = "report: " + nlohmann::json((dir / "report").string()).dump();
    } else {
      for (std::size_t at = 0; (at = line.find("../", at)) != std::string::npos;)
        line.replace(at, 3, std::string(QUORUM_SOURCE_DIR) + "/"), at += std::string(QUORUM_SOURCE_DIR).size() + 1;
    }
    copy += line + "\n";
  }
  const auto path = dir / "demo.yaml";
  write_text(path, copy);
  const auto a = config::load_sweep(source.string()), b = config::load_sweep(path.string());
  bool same = a.policies.size() == b.policies.size() && a.prms.size() == b.prms.size() && a.samples == b.samples;
  for (std::size_t i = 0; same && i < a.policies.size(); ++i) same = a.policies[i].path == b.policies[i].path;
  for (std::size_t i = 0; same && i < a.prms.size(); ++i) same = a.prms[i].path == b.prms[i].path;
  if (!same) throw std::runtime_error("the copy of " + source.string() + " names other models or samples");
  return path;
}

// `quorum run CONFIG --store STORE -q [--workers K]` from the source directory, timed. Checks
// that it succeeded and printed its bus line.
double time_demo_run(const fs::path& dir, const fs::path& config, std::size_t workers) {
  const std::string name = workers == 0 ? "in-process" : "workers-" + std::to_string(workers);
  const auto log = dir / (name + ".log");
  std::string command = "cd " + shell_quote(QUORUM_SOURCE_DIR) + " && " + shell_quote(QUORUM_BINARY) + " run " +
                        shell_quote(config.string()) + " --store " + shell_quote((dir / (name + ".db")).string()) + " -q";
  if (workers > 0) command += " --workers " + std::to_string(workers);
  std::fprintf(stderr, "bench: %s\n", command.c_str());
  command += " > " + shell_quote(log.string()) + " 2>&1";
  const auto start = Clock::now();
  const int status = std::system(command.c_str());
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const auto output = read_text(log);
  if (status != 0) throw std::runtime_error("quorum run failed (" + name + "); its output:\n" + output);
  if (output.find("\nbus: ") == std::string::npos && output.rfind("bus: ", 0) != 0)
    throw std::runtime_error("quorum run printed no \"bus: \" line (" + name + "); its output:\n" + output);
  return seconds;
}

void demo_benchmark(const fs::path& root) {
  const auto dir = root / "demo";
  fs::create_directories(dir);
  const auto config = demo_config_copy(dir);
  const double in_process = time_demo_run(dir, config, 0);
  std::vector<std::pair<std::size_t, double>> runs;
  for (const std::size_t workers : {1, 2}) runs.push_back({workers, time_demo_run(dir, config, workers)});
  std::printf("\nquorum run of the demo sweep (configs/demo.yaml) end to end: sample, score, analyse, report;\n"
              "a fresh store each run\n\n");
  std::printf("| run | wall s | vs in-process |\n|---|---:|---:|\n");
  std::printf("| in process (reference) | %.1f | 1.00x |\n", in_process);
  for (const auto& [workers, seconds] : runs)
    std::printf("| --workers %zu | %.1f | %.2fx |\n", workers, seconds, in_process / seconds);
}

}  // namespace

int main(int argc, char** argv) {
  const char* usage =
      "usage: bench_bus [--units N] [--demo]\n"
      "  --units N  part 1's sweep size: N/2 problems, one sample and one score unit each (default 2000)\n"
      "  --demo     also part 2: the demo sweep in process and with 1 and 2 worker processes (~12 min)\n";
  std::size_t units = 2000;
  bool demo = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--demo") {
      demo = true;
    } else if (arg == "--units" && i + 1 < argc) {
      units = std::strtoul(argv[++i], nullptr, 10);
    } else if (arg == "--help" || arg == "-h") {
      std::fputs(usage, stdout);
      return 0;
    } else {
      std::fputs(usage, stderr);
      return 2;
    }
  }
  if (units < 2) {
    std::fprintf(stderr, "bench: --units must be 2 or more\n");
    return 2;
  }
  if (!bus::curve_available()) {
    std::fprintf(stderr, "bench: this libzmq has no CURVE\n");
    return 1;
  }
  const auto root = fs::temp_directory_path() / ("quorum-bench-bus-" + std::to_string(::getpid()));
  fs::create_directories(root);
  int status = 0;
  try {
    bus_benchmark(root, units);
    if (demo) demo_benchmark(root);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench: %s\n", e.what());
    status = 1;
  }
  if (status == 0) fs::remove_all(root);
  else std::fprintf(stderr, "bench: files kept in %s\n", root.c_str());
  return status;
}
