// A queue that another thread's zmq_poll can wait on: pushes from any thread wake the owner
// through an eventfd, so the socket thread needs neither a busy poll nor a second socket.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <deque>
#include <mutex>
#include <stdexcept>
#include <utility>

namespace quorum::bus {

template <typename Item>
class Mailbox {
 public:
  Mailbox() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (fd_ < 0) throw std::runtime_error("eventfd failed");
  }
  ~Mailbox() { ::close(fd_); }
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // The descriptor to poll for POLLIN.
  int fd() const { return fd_; }

  void push(Item item) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      items_.push_back(std::move(item));
    }
    wake();
  }
  void wake() {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(fd_, &one, sizeof one);
  }
  // Everything queued so far; clears the wake-up.
  std::deque<Item> take() {
    std::uint64_t count;
    [[maybe_unused]] const auto n = ::read(fd_, &count, sizeof count);
    std::lock_guard<std::mutex> lock(mutex_);
    return std::exchange(items_, {});
  }

 private:
  int fd_;
  std::mutex mutex_;
  std::deque<Item> items_;
};

}  // namespace quorum::bus
