// safetensors files (runtime/model/safetensors.cpp, which includes no libtorch): any bytes as a
// file, memory-mapped and its header parsed; every tensor view must lie inside the file.
#include <cstddef>
#include <cstdint>
#include <numeric>

#include "fuzz/fuzz_common.h"
#include "runtime/common/error.h"
#include "runtime/model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace quorum;
  const fuzz::ScratchFile file("model.safetensors", data, size);
  try {
    model::SafetensorsFile st(file.path());
    for (const auto& [name, view] : st.tensors()) {
      // The shape and dtype a view reports must account for exactly its bytes (no wrap-around
      // in the element count): the model loader trusts them.
      std::size_t elements = 1;
      for (const auto extent : view.shape)
        if (extent < 0 || __builtin_mul_overflow(elements, static_cast<std::size_t>(extent), &elements)) __builtin_trap();
      std::size_t bytes = 0;
      if (__builtin_mul_overflow(elements, model::dtype_size(view.dtype), &bytes) || bytes != view.bytes) __builtin_trap();
      // Reading every byte of every view makes ASan check that it lies in the mapping.
      volatile std::uint8_t sum = std::accumulate(view.data, view.data + view.bytes, std::uint8_t{0});
      (void)sum;
    }
  } catch (const InputError&) {
  }
  return 0;
}
