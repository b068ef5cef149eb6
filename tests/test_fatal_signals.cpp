// A quorum process ended by a fault leaves its stack in its log (runtime/cli/fatal_signals.h).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "process.h"
#include "runtime/common/sanitizers.h"

using namespace quorum::testing;

namespace {

// The signals the process catches, from /proc (SigCgt, a hexadecimal mask: bit n-1 for signal n).
unsigned long long caught_signals(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("SigCgt:", 0) == 0) return std::stoull(line.substr(7), nullptr, 16);
  return 0;
}

// Whether pid runs `binary` (a canonical path) yet: the shell that starts it execs it, and a
// forked child runs the test binary's image until then, with Catch's own handlers.
bool runs(pid_t pid, const std::filesystem::path& binary) {
  std::error_code error;
  return std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", error) == binary;
}

unsigned long long mask(std::initializer_list<int> signals) {
  unsigned long long bits = 0;
  for (const int s : signals) bits |= 1ULL << (s - 1);
  return bits;
}

}  // namespace

TEST_CASE("a quorum process ended by a fault leaves the signal and its stack in its log", "[cli]") {
  TempDir dir("fatal-signal");
  const auto log = (dir.path() / "worker.log").string();
#ifdef QUORUM_ASAN
  // The sanitizer's runtime handles faults (quorum leaves them to it): SIGSEGV, SIGBUS, SIGFPE.
  const auto handled = mask({SIGSEGV, SIGBUS, SIGFPE});
#else
  const auto handled = mask({SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT});
#endif
  // A worker waiting for a coordinator that is not there; the shell forbids the core file this
  // test's fault would leave, then becomes quorum (same pid).
  Process worker({"/bin/sh", "-c", "ulimit -c 0 && exec \"$0\" worker --connect tcp://127.0.0.1:9 --insecure --patience 120",
                  QUORUM_BINARY},
                 log);
  const auto start = Clock::now();
  const auto binary = std::filesystem::canonical(QUORUM_BINARY);
  const auto ready = [&] { return runs(worker.pid(), binary) && (caught_signals(worker.pid()) & handled) == handled; };
  while (!ready() && worker.running() && seconds_since(start) < 60) sleep_s(0.02);
  REQUIRE(ready());
  worker.signal(SIGSEGV);
  const int exit_code = worker.wait(60);
  const auto output = worker.output();
  INFO(output);
#ifdef QUORUM_ASAN
  CHECK(exit_code != 0);
  CHECK(output.find("AddressSanitizer: SEGV") != std::string::npos);
#else
  CHECK(exit_code == -SIGSEGV);  // the status it would have had without the handler
  CHECK(output.find("quorum: fatal SIGSEGV (signal 11) sent by process " + std::to_string(::getpid()) + ", in thread ") !=
        std::string::npos);
  const auto stack = output.find("; stack:\n"), end = output.find("quorum: end of stack\n");
  REQUIRE(stack != std::string::npos);
  REQUIRE(end != std::string::npos);
  // One line per frame, each with its return address ("binary(+offset)[0x...]").
  std::istringstream frames(output.substr(stack + 9, end - stack - 9));
  int with_address = 0;
  for (std::string line; std::getline(frames, line);) with_address += line.find("[0x") != std::string::npos;
  CHECK(with_address >= 2);
#endif
}
