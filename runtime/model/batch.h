// Token sequences of different lengths as one right-padded batch.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace quorum::model {

struct PaddedBatch {
  torch::Tensor ids;    // [B, T] int64, T the longest sequence, pad_token after each sequence
  torch::Tensor valid;  // [B, T] bool: which positions hold real tokens
};

PaddedBatch right_pad(const std::vector<const std::vector<std::int64_t>*>& sequences, std::int64_t pad_token);

}  // namespace quorum::model
