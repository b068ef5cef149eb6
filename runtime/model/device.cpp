#include "runtime/model/device.h"

#include "runtime/common/error.h"

namespace quorum::model {

torch::Device resolve_device(const std::string& spec) {
  if (spec == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (spec == "cpu") return torch::kCPU;
  if (spec == "cuda" || spec.rfind("cuda:", 0) == 0) {
    int index = 0;
    if (spec.size() > 5) {
      try {
        std::size_t used = 0;
        index = std::stoi(spec.substr(5), &used);
        if (used != spec.size() - 5 || index < 0) throw std::invalid_argument(spec);
      } catch (const std::exception&) {
        throw InputError("", 0, "device", "bad device '" + spec + "' (expected auto, cpu, cuda or cuda:N)");
      }
    }
    if (!torch::cuda::is_available())
      throw InputError("", 0, "device", "'" + spec + "' asked for, but this libtorch has no CUDA or no GPU is visible");
    if (index >= static_cast<int>(torch::cuda::device_count()))
      throw InputError("", 0, "device", "'" + spec + "' asked for, but only " +
                                            std::to_string(torch::cuda::device_count()) + " GPU(s) are visible");
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw InputError("", 0, "device", "bad device '" + spec + "' (expected auto, cpu, cuda or cuda:N)");
}

}  // namespace quorum::model
