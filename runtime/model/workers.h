// The model side of the sampler and verifier actors, with libtorch kept out of this header:
// a PolicyWorker turns sample leases into responses, a PrmWorker turns score leases into step
// scores. Each loads its model once, on first use, and keeps it until release().
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "runtime/bus/protocol.h"
#include "runtime/config/sweep.h"
#include "runtime/model/config.h"

namespace quorum::model {

// Bytes a model directory's weights take once loaded in dtype (whatever the stored dtype): the
// decoder's parameters as config.json shapes them, plus any reward-head tensors of the
// checkpoint, each held once. The one-argument form counts float32.
std::size_t model_weight_bytes(const std::string& directory, WeightDtype dtype);
std::size_t model_weight_bytes(const std::string& directory);

// What a loaded model really holds while it works on a batch: its weights, the KV cache of
// batch sequences of max_tokens tokens (layers x 2 x batch x kv_heads x max_tokens x head_dim
// x dtype bytes), and the transient activations of one forward pass over batch x max_tokens
// tokens, with a margin: an upper bound on the peak resident memory a worker's model adds to
// its process, checked by bench/bench_memory.cpp (docs/models.md). Not included: the process's
// own baseline (libtorch's code and data, about 155 MiB on the CPU here). Logits are counted
// at one position per sequence (generation's last; a PRM reads only its score positions).
struct ResidentBytes {
  std::size_t weights = 0, kv_cache = 0, activations = 0;
  std::size_t total() const { return weights + kv_cache + activations; }
};
ResidentBytes model_resident_bytes(const std::string& directory, WeightDtype dtype, std::size_t batch,
                                   std::size_t max_tokens);
// The same for the sampler's engine (generate.h): the slot cache of `slots` sequences of up to
// prompt_tokens + new_tokens, and the larger of one prompt's prefill and one decoding step of
// every slot with its sampling buffers.
ResidentBytes generation_resident_bytes(const std::string& directory, WeightDtype dtype, std::size_t slots,
                                        std::size_t prompt_tokens, std::size_t new_tokens);

// Everything about a model that its first unit would otherwise stumble on, checked before any
// sweep work: config.json's fields, every tensor's name and shape (file headers only, no
// weights read), the tokenizer and tokenizer_config.json, the chat template rendered once when
// the prompt asks for it, the stop tokens, and a PRM's tokens and input. Throws InputError
// naming the file and field.
void check_policy(const config::PolicySpec& spec);
void check_prm(const config::PrmSpec& spec);

// What a worker holds resident for a policy sampling with batch_size slots (weights at the dtype
// it runs in, generation_resident_bytes for prompts of up to kPromptTokens tokens and
// max_new_tokens more), and for a PRM scoring inputs of up to max_tokens tokens (its weights and
// the activations of the largest forward pass its scoring groups can make, batch_size inputs at
// most, prm.h's ScoringBudget; no cache).
constexpr std::size_t kPromptTokens = 1024;
std::size_t policy_resident_bytes(const config::PolicySpec& spec, std::size_t batch_size);
std::size_t prm_resident_bytes(const config::PrmSpec& spec, std::size_t batch_size, std::size_t max_tokens);
// The longest PRM input a sweep's policies can produce: a prompt and a whole response.
std::size_t prm_input_tokens(const config::SweepConfig& sweep);
// What a searcher holds for one search run (its own policy and PRM, apart from the sampler's and
// verifier's): the policy generating steps of paths of up to kPromptTokens + run.max_tokens
// tokens with batch_size slots, the KV caches it keeps for the paths the search still holds
// (search.h's kHeldPathsPerLeaf x n, each up to that length), and the PRM scoring inputs of
// that length.
ResidentBytes search_policy_resident_bytes(const config::PolicySpec& policy, const config::SearchRun& run,
                                           std::size_t batch_size);
std::size_t search_resident_bytes(const config::PolicySpec& policy, const config::PrmSpec& prm,
                                  const config::SearchRun& run, std::size_t batch_size);

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
  // batch_size: the most inputs one forward pass scores.
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
