#include "runtime/cli/fatal_signals.h"

#include <execinfo.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>

#include "runtime/common/sanitizers.h"

namespace quorum::cli {

#if defined(QUORUM_ASAN) || defined(QUORUM_TSAN)

void report_fatal_signals() {}

#else

namespace {

// Only async-signal-safe calls below: write(2) and hand-made number formatting, no stdio,
// no allocation (backtrace() is called once at install time, which loads what it needs).
void put(const char* text) {
  for (std::size_t left = std::strlen(text); left > 0;) {
    const ssize_t n = ::write(STDERR_FILENO, text, left);
    if (n <= 0) return;
    text += n, left -= static_cast<std::size_t>(n);
  }
}

void put_number(std::uintmax_t value, unsigned base) {
  char digits[32];
  char* end = digits + sizeof digits;
  char* p = end;
  *--p = '\0';
  do *--p = "0123456789abcdef"[value % base];
  while ((value /= base) != 0 && p > digits);
  if (base == 16) put("0x");
  put(p);
}

const char* signal_name(int signal) {
  switch (signal) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGABRT: return "SIGABRT";
    default: return "a fatal signal";
  }
}

void on_fatal_signal(int signal, siginfo_t* info, void*) {
  put("quorum: fatal ");
  put(signal_name(signal));
  put(" (signal ");
  put_number(static_cast<unsigned>(signal), 10);
  // A fault's address is the kernel's to give; a signal some process sent carries its pid
  // where the address would be (si_addr and si_pid share the union).
  if (info->si_code > 0) {
    put(", code ");
    put_number(static_cast<std::uintmax_t>(info->si_code), 10);
    put(") at address ");
    put_number(reinterpret_cast<std::uintptr_t>(info->si_addr), 16);
  } else {
    put(") sent by process ");
    put_number(static_cast<std::uintmax_t>(info->si_pid), 10);
  }
  put(", in thread ");
  put_number(static_cast<std::uintmax_t>(::syscall(SYS_gettid)), 10);
  put(" of process ");
  put_number(static_cast<std::uintmax_t>(::getpid()), 10);
  put("; stack:\n");
  void* frames[64];
  ::backtrace_symbols_fd(frames, ::backtrace(frames, 64), STDERR_FILENO);
  put("quorum: end of stack\n");
  // The handler was reset to the default (SA_RESETHAND): the signal, pending until this
  // returns, ends the process as it would have without the handler (a fault would also recur).
  ::raise(signal);
}

}  // namespace

void report_fatal_signals() {
  void* warm[1];
  ::backtrace(warm, 1);  // its first call may allocate (it loads libgcc's unwinder): not in a handler
  static char alternate_stack[1 << 16];
  stack_t stack{};
  stack.ss_sp = alternate_stack;
  stack.ss_size = sizeof alternate_stack;
  ::sigaltstack(&stack, nullptr);
  struct sigaction action {};
  action.sa_sigaction = on_fatal_signal;
  action.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_ONSTACK;
  ::sigemptyset(&action.sa_mask);
  for (const int signal : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT}) ::sigaction(signal, &action, nullptr);
}

#endif

}  // namespace quorum::cli
