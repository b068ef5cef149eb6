// config.json of a checkpoint (runtime/model/config.cpp, which includes no libtorch): any bytes
// as DIR/config.json, loaded, and on success written back with to_json and loaded again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "fuzz/fuzz_common.h"
#include "runtime/common/error.h"
#include "runtime/model/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace quorum;
  const fuzz::ScratchFile file("model/config.json", data, size);
  try {
    const auto config = model::ModelConfig::load(file.folder());
    (void)config.family();
    (void)config.parameter_count();
    // What quorum writes for a config it accepted must load again.
    const std::string text = config.to_json();
    const fuzz::ScratchFile again("model_again/config.json", reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
    try {
      model::ModelConfig::load(again.folder());
    } catch (const InputError& e) {
      __builtin_trap();  // an accepted config whose own to_json is refused
    }
  } catch (const InputError&) {
  }
  try {
    model::resolve_weight_dtype("auto", file.folder(), true);
  } catch (const InputError&) {
  }
  return 0;
}
