// A minimal parallel loop: tasks 0..count-1 spread over threads that take the next index
// from a shared counter, so uneven tasks balance themselves.
#pragma once

#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace quorum {

// threads <= 0 means one per hardware core.
inline int resolve_threads(int threads) {
  if (threads > 0) return threads;
  const unsigned cores = std::thread::hardware_concurrency();
  return cores ? static_cast<int>(cores) : 1;
}

// body(task, worker) with worker in [0, threads): lets callers keep per-worker scratch.
template <class Body>
void parallel_for(std::size_t count, int threads, Body body) {
  const int workers = std::max(1, std::min<int>(resolve_threads(threads), static_cast<int>(count)));
  if (workers <= 1) {
    for (std::size_t i = 0; i < count; ++i) body(i, 0);
    return;
  }
  std::atomic<std::size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto run = [&](int worker) {
    try {
      for (std::size_t i; (i = next.fetch_add(1)) < count;) body(i, worker);
    } catch (...) {
      std::lock_guard<std::mutex> lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      next = count;
    }
  };
  std::vector<std::thread> pool;
  for (int w = 1; w < workers; ++w) pool.emplace_back(run, w);
  run(0);
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace quorum
