// Runs another program and captures what it prints: for the Slurm commands (sbatch, squeue,
// scancel) that `quorum submit|status|cancel` drive.
#pragma once

#include <string>
#include <vector>

namespace quorum {

struct ProgramOutput {
  int exit_code = -1;  // the program's; 127: it could not be started (not on PATH)
  std::string output;  // stdout and stderr together
};

// argv[0] is looked up on PATH; no shell is involved, so arguments need no quoting.
ProgramOutput run_program(const std::vector<std::string>& argv);

// The absolute path of the running binary, for starting more of itself (workers, batch jobs).
std::string this_executable();

}  // namespace quorum
