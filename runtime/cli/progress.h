// One-line progress on stderr: done/total, rate and time left.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace quorum::cli {

class ProgressLine {
 public:
  explicit ProgressLine(std::string what) : what_(std::move(what)), start_(Clock::now()) {}

  // Redraws at most ten times a second, and always at the end.
  void update(std::size_t done, std::size_t total) {
    const auto now = Clock::now();
    if (done != total && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    const double rate = elapsed > 0 ? done / elapsed : 0.0;
    const double left = rate > 0 ? (total - done) / rate : 0.0;
    std::fprintf(stderr, "\r%s %zu/%zu (%.0f%%)  %.2f/s  ETA %.0fs   ", what_.c_str(), done, total,
                 total ? 100.0 * done / total : 100.0, rate, left);
    if (done == total) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  }

 private:
  using Clock = std::chrono::steady_clock;
  std::string what_;
  Clock::time_point start_;
  Clock::time_point last_draw_{};
};

}  // namespace quorum::cli
