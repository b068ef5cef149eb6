// The model side of the sampler and verifier actors, with libtorch kept out of this header:
// a PolicyWorker turns sample leases into responses, a PrmWorker turns score leases into step
// scores. Each loads its model once, on first use, and keeps it until release().
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "runtime/bus/protocol.h"
#include "runtime/config/sweep.h"

namespace quorum::model {

// Bytes a model directory's weights take once loaded (as float32, whatever the stored dtype):
// the figure the coordinator's memory bound counts.
std::size_t model_weight_bytes(const std::string& directory);

// Whether a CUDA device is usable here: what a worker announces to its coordinator.
bool cuda_available();

class PolicyWorker {
 public:
  PolicyWorker(config::PolicySpec spec, std::size_t batch_size);
  ~PolicyWorker();
  // Every response of the lease's problems. Response k of a problem has the seed
  // sequence_seed(seed, policy, split, problem, k), whatever unit or batch it is computed in.
  bus::Result run(const bus::SampleWork& work, const std::string& unit_id);
  void release();

 private:
  struct Model;
  config::PolicySpec spec_;
  std::size_t batch_size_;
  std::unique_ptr<Model> model_;
};

class PrmWorker {
 public:
  PrmWorker(config::PrmSpec spec, std::size_t batch_size);
  ~PrmWorker();
  bus::Result run(const bus::ScoreWork& work, const std::string& unit_id);
  void release();

 private:
  struct Model;
  config::PrmSpec spec_;
  std::size_t batch_size_;
  std::unique_ptr<Model> model_;
};

std::uint64_t sequence_seed(std::uint64_t seed, const std::string& policy, const std::string& split,
                            const std::string& problem_id, std::int64_t sample_index);

// Cuts a response into steps: split at the separator, each piece trimmed, empty pieces dropped.
std::vector<std::string> split_steps(const std::string& text, const std::string& separator);

}  // namespace quorum::model
