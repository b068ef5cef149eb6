// Runs the built `quorum` binary for end-to-end tests and captures what it prints.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace quorum::testing {

struct CommandResult {
  int exit_code;
  std::string output;  // stdout and stderr together
};

// A shell command line, its stderr with its stdout.
inline CommandResult run_quorum_in_shell(const std::string& command_line) {
  const std::string command = command_line + " 2>&1";
  CommandResult result{-1, ""};
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return result;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

#ifdef QUORUM_BINARY  // quorum_runtime_tests link no binary to run
inline CommandResult run_quorum(const std::string& arguments) {
  return run_quorum_in_shell(std::string(QUORUM_BINARY) + " " + arguments);
}
#endif

// Where `quorum` said model NAME runs, e.g. "cpu in float32" from its line "quorum: model NAME
// (DIR) runs on cpu in float32" (runtime/model/loading.h); empty when it did not say.
inline std::string placement(const std::string& output, const std::string& name) {
  const auto start = output.find("quorum: model " + name + " (");
  if (start == std::string::npos) return "";
  const auto line = output.substr(start, output.find('\n', start) - start);
  const std::string runs_on = ") runs on ";
  const auto at = line.rfind(runs_on);
  return at == std::string::npos ? "" : line.substr(at + runs_on.size());
}

// The JSON that a report.html's script draws from (runtime/report/page.h).
inline nlohmann::json report_page_data(const std::string& html) {
  const std::string open = "<script id=\"quorum-data\" type=\"application/json\">";
  const auto begin = html.find(open);
  const auto end = html.find("</script>", begin);
  if (begin == std::string::npos || end == std::string::npos) throw std::runtime_error("no quorum-data in the page");
  return nlohmann::json::parse(html.substr(begin + open.size(), end - begin - open.size()));
}

// A fresh directory under the system temp dir, removed when the object goes away.
class TempDir {
 public:
  explicit TempDir(const std::string& name)
      : path_(std::filesystem::temp_directory_path() /
              ("quorum-test-" + name + "-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name, const std::string& content = "") const {
    const auto p = (path_ / name).string();
    if (!content.empty()) std::ofstream(p) << content;
    return p;
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace quorum::testing

namespace quorum::testing {

// Runs a shell script as root of its own user and mount namespaces, where it may mount a small
// tmpfs (a disk that fills up) or a read-only bind mount that nothing outside sees and that
// vanish when it ends. Needs unprivileged user namespaces (Debian's default) or root.
inline CommandResult run_with_private_mounts(const TempDir& dir, const std::string& script) {
  const auto path = dir.file("private-mounts.sh", "set -e\n" + script + "\n");
  return run_quorum_in_shell("unshare --user --map-root-user --mount sh " + path);
}

// Whether this machine lets run_with_private_mounts mount a tmpfs (containers may forbid user
// namespaces); the tests that need it warn that they skipped and pass where it does not.
inline bool private_mounts_available() {
  static const bool available = [] {
    TempDir dir("private-mounts-probe");
    const auto mounted = run_with_private_mounts(dir, "mount -t tmpfs -o size=64k tmpfs " + dir.path().string());
    return mounted.exit_code == 0;
  }();
  return available;
}

}  // namespace quorum::testing
