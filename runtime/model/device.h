// Where models run: "auto" (CUDA when libtorch has it and a GPU is present, else CPU), "cpu",
// "cuda" or "cuda:N".
#pragma once

#include <string>

#include <torch/torch.h>

namespace quorum::model {

// Throws InputError (field "device") for an unknown spec or a CUDA device that is not there.
torch::Device resolve_device(const std::string& spec);

}  // namespace quorum::model
