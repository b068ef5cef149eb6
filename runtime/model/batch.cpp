#include "runtime/model/batch.h"

#include <algorithm>

namespace quorum::model {

PaddedBatch right_pad(const std::vector<const std::vector<std::int64_t>*>& sequences, std::int64_t pad_token) {
  std::int64_t longest = 0;
  for (const auto* s : sequences) longest = std::max<std::int64_t>(longest, static_cast<std::int64_t>(s->size()));
  const auto batch = static_cast<std::int64_t>(sequences.size());
  PaddedBatch padded{torch::full({batch, longest}, pad_token, torch::kInt64), torch::zeros({batch, longest}, torch::kBool)};
  auto* id = padded.ids.data_ptr<std::int64_t>();
  auto* ok = padded.valid.data_ptr<bool>();
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::size_t t = 0; t < sequences[b]->size(); ++t) {
      id[b * longest + static_cast<std::int64_t>(t)] = (*sequences[b])[t];
      ok[b * longest + static_cast<std::int64_t>(t)] = true;
    }
  return padded;
}

}  // namespace quorum::model
