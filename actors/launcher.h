// Starts a sweep's worker processes once its coordinator listens: K local ones
// (`quorum run --workers K`), or one per line of a host list through a remote command (ssh by
// default). It restarts a worker that dies, with backoff, and stops the rest when the sweep ends.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace quorum::actors {

struct LaunchOptions {
  std::size_t local_workers = 0;
  std::vector<std::string> hosts;
  // A shell prefix that runs a command on {host}; the worker's command line is appended.
  std::string remote_command = "ssh -o BatchMode=yes {host}";
  std::string advertise;                 // the endpoint workers connect to; default: the bound one
  std::string quorum;                    // the binary workers run; default: this one
  std::string key_file;                  // the sweep's key pair, readable on every host
  std::string log_directory;             // one log per worker
  std::vector<std::string> worker_arguments;  // e.g. --memory-mb 4096
  bool any() const { return local_workers > 0 || !hosts.empty(); }
};

// Reads a host list: one host per line; blank lines and '#' comments are skipped.
std::vector<std::string> read_host_list(const std::string& path);

class Launcher {
 public:
  Launcher(LaunchOptions options, std::string endpoint);
  ~Launcher();  // stop(): workers get SIGTERM after a grace period
  Launcher(const Launcher&) = delete;
  Launcher& operator=(const Launcher&) = delete;

  // Waits up to grace_s for the workers to leave on their own (the coordinator told them the
  // sweep is done), then terminates those that did not.
  void stop(double grace_s = 5);
  std::size_t restarts() const { return restarts_; }

 private:
  struct Child {
    std::string name, command;
    pid_t pid = -1;
    int starts = 0;
    double next_start = 0;  // seconds since launch; a restart waits for it
  };
  void start(Child& child);
  void supervise();

  LaunchOptions options_;
  std::string endpoint_;
  std::vector<Child> children_;  // the supervising thread's until stop() has joined it
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> restarts_{0};
  std::thread thread_;
};

}  // namespace quorum::actors
