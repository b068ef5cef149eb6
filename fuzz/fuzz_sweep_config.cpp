// The YAML sweep loader (runtime/config): any bytes as a sweep config file. Model and problem
// paths it names do not exist (or are not model directories): that, like every other fault,
// must be an InputError naming the file, line and key.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_common.h"
#include "runtime/common/error.h"
#include "runtime/config/sweep.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace quorum;
  const fuzz::ScratchFile file("sweep.yaml", data, size);
  try {
    config::load_sweep(file.path());
  } catch (const InputError&) {
  }
  return 0;
}
