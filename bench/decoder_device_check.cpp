// Checks a decoder on a device against the CPU and times its forward pass there.
//   decoder_device_check CHECKPOINT_DIR [DEVICE=auto] [REFERENCE_LOGITS IDS]
// With a reference (tests/reference/decoder_reference.py output) it also compares the device's
// logits with it. Prints the maximum relative error and forward-pass throughput per batch size.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "runtime/model/decoder.h"
#include "runtime/model/device.h"

namespace {

using namespace quorum;

torch::Tensor read_raw(const std::string& path, torch::Dtype dtype) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto tensor = torch::empty({static_cast<std::int64_t>(bytes.size() / torch::elementSize(dtype))}, dtype);
  std::memcpy(tensor.data_ptr(), bytes.data(), bytes.size());
  return tensor;
}

double relative_error(const torch::Tensor& got, const torch::Tensor& want) {
  return ((got.cpu() - want.cpu()).abs().max() / want.abs().max()).item<double>();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: decoder_device_check CHECKPOINT_DIR [DEVICE] [REFERENCE_LOGITS IDS]\n");
    return 2;
  }
  try {
    const auto device = model::resolve_device(argc > 2 ? argv[2] : "auto");
    torch::NoGradGuard no_grad;
    auto on_cpu = model::load_decoder(argv[1]);
    auto on_device = model::load_decoder(argv[1], device);
    const auto vocab = on_cpu->config().vocab_size;
    std::printf("device: %s\n", device.str().c_str());

    auto ids = torch::randint(0, vocab, {4, 32}, torch::kInt64);
    if (argc > 4) ids = read_raw(argv[4], torch::kInt64).view({2, -1});
    const auto positions = torch::arange(ids.size(1), torch::kInt64).unsqueeze(0).expand_as(ids).contiguous();
    const auto cpu_logits = on_cpu->logits(on_cpu->hidden(ids, positions));
    const auto device_logits = on_device->logits(on_device->hidden(ids.to(device), positions.to(device)));
    std::printf("max relative error, %s vs CPU: %.3g\n", device.str().c_str(), relative_error(device_logits, cpu_logits));
    if (argc > 4) {
      const auto reference = read_raw(argv[3], torch::kFloat32).view(cpu_logits.sizes());
      std::printf("max relative error, %s vs reference: %.3g\n", device.str().c_str(),
                  relative_error(device_logits, reference));
    }

    std::printf("\n| batch | tokens | forward ms | tokens/s |\n|---:|---:|---:|---:|\n");
    for (std::int64_t batch : {1, 8, 32}) {
      const auto x = torch::randint(0, vocab, {batch, 128}, torch::TensorOptions(torch::kInt64).device(device));
      const auto p = torch::arange(128, torch::TensorOptions(torch::kInt64).device(device)).unsqueeze(0).expand_as(x).contiguous();
      on_device->logits(on_device->hidden(x, p));  // warm-up
      if (device.is_cuda()) torch::cuda::synchronize();
      const int repeats = 5;
      const auto start = std::chrono::steady_clock::now();
      for (int r = 0; r < repeats; ++r) on_device->logits(on_device->hidden(x, p));
      if (device.is_cuda()) torch::cuda::synchronize();
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / repeats;
      std::printf("| %ld | %ld | %.2f | %.0f |\n", batch, batch * 128, ms, batch * 128 / (ms / 1000));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "decoder_device_check: %s\n", e.what());
    return 1;
  }
  return 0;
}
