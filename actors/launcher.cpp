#include "actors/launcher.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "runtime/common/error.h"
#include "runtime/common/subprocess.h"
#include "runtime/common/text.h"

namespace quorum::actors {
namespace {

using Clock = std::chrono::steady_clock;

// Single quotes for sh: every argument reaches the worker as it is.
std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) text.replace(at, from.size(), to);
  return text;
}

}  // namespace

std::vector<std::string> read_host_list(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path, 0, "", "cannot read the host list");
  std::vector<std::string> hosts;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    const auto host = trim(line.substr(0, line.find('#')));
    if (host.empty()) continue;
    if (host.find_first_of(" \t'\"") != std::string::npos) throw InputError(path, number, "", "one host name per line");
    hosts.push_back(host);
  }
  if (hosts.empty()) throw InputError(path, 0, "", "the host list names no host");
  return hosts;
}

Launcher::Launcher(LaunchOptions options, std::string endpoint) : options_(std::move(options)), endpoint_(std::move(endpoint)) {
  if (options_.quorum.empty()) options_.quorum = this_executable();
  std::filesystem::create_directories(options_.log_directory);
  auto worker_command = [&](const std::string& name) {
    std::string command = shell_quoted(options_.quorum) + " worker --connect " + shell_quoted(endpoint_) + " --name " + shell_quoted(name);
    if (!options_.key_file.empty()) command += " --key " + shell_quoted(options_.key_file);
    for (const auto& argument : options_.worker_arguments) command += " " + shell_quoted(argument);
    return command;
  };
  for (std::size_t i = 0; i < options_.local_workers; ++i) {
    const auto name = "local-" + std::to_string(i + 1);
    children_.push_back({name, worker_command(name)});
  }
  for (const auto& host : options_.hosts)
    children_.push_back({host, replace_all(options_.remote_command, "{host}", host) + " " + worker_command(host)});
  for (auto& child : children_) start(child);
  thread_ = std::thread([this] { supervise(); });
}

Launcher::~Launcher() { stop(); }

void Launcher::start(Child& child) {
  const auto log = (std::filesystem::path(options_.log_directory) / (child.name + ".log")).string();
  // exec: the shell becomes the command, so the pid is the worker's (or the remote command's).
  const auto line = "exec " + child.command + " >>" + shell_quoted(log) + " 2>&1 </dev/null";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);  // its own group: stopping it stops what it started (ssh and the like)
    // A coordinator that dies (Ctrl-C, a kill) takes its launched workers with it.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    ::execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  child.pid = pid;
  child.starts += 1;
}

void Launcher::supervise() {
  const auto begin = Clock::now();
  while (!stopping_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const double now = std::chrono::duration<double>(Clock::now() - begin).count();
    for (auto& child : children_) {
      if (child.pid > 0) {
        int status = 0;
        if (::waitpid(child.pid, &status, WNOHANG) != child.pid) continue;
        child.pid = -1;
        const bool done = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        const bool refused = WIFEXITED(status) && WEXITSTATUS(status) == 2;
        if (done || refused || stopping_) {
          if (refused) std::cerr << "quorum: worker " << child.name << " was refused; see its log\n";
          child.starts = -1;  // not to be started again
          continue;
        }
        // Died (a signal, a lost node, gave up): back after a pause that grows with each death.
        child.next_start = now + std::min(30.0, 0.5 * (1 << std::min(child.starts - 1, 6)));
      } else if (child.starts > 0 && child.starts < 100 && now >= child.next_start) {
        start(child);
        ++restarts_;
      }
    }
  }
}

void Launcher::stop(double grace_s) {
  if (stopping_.exchange(true)) return;
  thread_.join();
  const auto deadline = Clock::now() + std::chrono::duration<double>(grace_s);
  for (auto& child : children_) {
    while (child.pid > 0) {
      int status = 0;
      if (::waitpid(child.pid, &status, WNOHANG) == child.pid) {
        child.pid = -1;
      } else if (Clock::now() >= deadline) {
        ::kill(-child.pid, SIGTERM);
        ::waitpid(child.pid, &status, 0);
        child.pid = -1;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  }
}

}  // namespace quorum::actors
