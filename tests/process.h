// Child processes for tests that signal what they run (SIGKILL, SIGSTOP): fork and exec with
// the output in a log file, poll, wait with a timeout.
#pragma once

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "cli_runner.h"

namespace quorum::testing {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }
inline void sleep_s(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

// A child process running a command line, its output in a log file.
class Process {
 public:
  Process(const std::vector<std::string>& argv, std::string log) : log_(std::move(log)) {
    std::fflush(nullptr);  // else the child flushes the parent's buffered output too
    pid_ = ::fork();
    if (pid_ == 0) {
      // A child that crashes leaves a core (in the working directory, with the default
      // core_pattern) to be read with gdb: the fault suite once saw a SIGSEGV it could not repeat.
      const struct rlimit unlimited {RLIM_INFINITY, RLIM_INFINITY};
      ::setrlimit(RLIMIT_CORE, &unlimited);
      std::freopen(log_.c_str(), "a", stdout);
      std::freopen(log_.c_str(), "a", stderr);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Process() {
    if (pid_ > 0) ::kill(pid_, SIGKILL), ::waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }
  bool running() {
    if (pid_ <= 0) return false;
    if (::waitpid(pid_, &status_, WNOHANG) != pid_) return true;
    pid_ = -1;
    return false;
  }
  // The exit code, or -signal; -1000 on timeout (then it is killed).
  int wait(double timeout_s) {
    const auto start = Clock::now();
    while (running())
      if (seconds_since(start) > timeout_s) return ::kill(pid_, SIGKILL), ::waitpid(pid_, nullptr, 0), pid_ = -1, -1000;
      else sleep_s(0.02);
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : -WTERMSIG(status_);
  }
  void signal(int sig) const { ::kill(pid_, sig); }
  std::string output() const { return read_text(log_); }

 private:
  std::string log_;
  pid_t pid_ = -1;
  int status_ = 0;
};

inline std::vector<std::string> quorum_args(std::initializer_list<std::string> args) {
  std::vector<std::string> argv = {QUORUM_BINARY};
  argv.insert(argv.end(), args);
  return argv;
}

}  // namespace quorum::testing
