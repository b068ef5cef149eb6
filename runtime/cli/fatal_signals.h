// A quorum process that dies of a fault leaves its stack in its log. A core file may be lost
// with the machine (a CI runner, a Slurm node), a log rarely is: the one coordinator SIGSEGV
// seen so far (docs/reliability.md) left only an exit status, nothing to find it by.
#pragma once

namespace quorum::cli {

// Installs handlers for SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT that write the signal, the
// faulting address, the thread and the stack's return addresses to stderr, then let the signal
// end the process as it would have (same status, a core where cores are kept). The addresses
// are named by `addr2line -f -C -e quorum ADDRESS` (the offsets in "quorum(+0x...)"). The main
// thread gets a stack of its own for the handler, so its stack overflowing is reported too.
// A fault that wrecked the stack itself (a jump to nowhere) may end the process while the stack
// is being walked: the first line, with the signal and the address, is written before that.
// Not installed in a sanitizer build, whose runtime reports faults with named frames already.
void report_fatal_signals();

}  // namespace quorum::cli
