// The model side of the sampler and verifier actors, with libtorch kept out of this header:
// a PolicyWorker turns sample leases into responses, a PrmWorker turns score leases into step
// scores. Each loads its model once, on first use, and keeps it until release().
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/bus/protocol.h"
#include "runtime/config/sweep.h"
#include "runtime/model/config.h"
#include "runtime/search/search.h"

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
// The longest input a sweep gives PRM `prm`: a prompt and a whole response of its policies, or a
// prompt and a whole path of a search it verifies.
std::size_t prm_input_tokens(const config::SweepConfig& sweep, const std::string& prm);
// What a policy's sampler holds while a searcher's rounds run on it, beside its weights: it
// generates steps of paths of up to kPromptTokens + run.max_tokens tokens with batch_size slots,
// and keeps the KV caches of the paths the search still holds (search.h's kHeldPathsPerLeaf x
// n, each up to that length).
ResidentBytes search_policy_resident_bytes(const config::PolicySpec& policy, const config::SearchRun& run,
                                           std::size_t batch_size);
// What each of a sweep's models holds resident where it runs, by model key (bus::model_key): a
// policy sampling with the sweep's batch or, when more, serving the largest of its searches; a
// PRM scoring its longest input (prm_input_tokens). A search unit needs its policy's and its
// PRM's together.
std::map<std::string, std::size_t> sweep_resident_bytes(const config::SweepConfig& sweep);

// Whether a CUDA device is usable here: what a worker announces to its coordinator.
bool cuda_available();

class PolicyWorker {
 public:
  PolicyWorker(config::PolicySpec spec, std::size_t batch_size);
  ~PolicyWorker();
  // Every response of the lease's problems. Response k of a problem has the seed
  // sequence_seed(seed, policy, split, problem, k), whatever unit or batch it is computed in.
  bus::Result run(const bus::SampleWork& work, const std::string& unit_id);

  // A searcher's rounds (docs/search.md): `session` names one problem's search, whose live
  // nodes keep their paths' KV caches here (search_steps.h) until drop() names them, end()
  // closes the session, or release(). prompt_tokens: the session's prompt's (0 for none).
  std::vector<search::GeneratedStep> extend(const std::string& session, const std::string& problem,
                                            const std::vector<search::Extension>& extensions);
  void drop(const std::string& session, const std::vector<search::NodeId>& nodes);
  void end(const std::string& session);
  std::int64_t prompt_tokens(const std::string& session) const;

  // Frees the weights and every search session's caches; the next call loads them again.
  void release();

 private:
  struct Model;
  struct Session;
  Model& model();
  config::PolicySpec spec_;
  std::size_t batch_size_;
  std::unique_ptr<Model> model_;
  std::map<std::string, std::unique_ptr<Session>> sessions_;
};

class PrmWorker {
 public:
  // batch_size: the most inputs one forward pass scores.
  PrmWorker(config::PrmSpec spec, std::size_t batch_size);
  ~PrmWorker();
  bus::Result run(const bus::ScoreWork& work, const std::string& unit_id);
  // A searcher's round: the score of every step of each path of `problem`'s search
  // (search_steps.h's step_verifier: the PRM, or the task's checker).
  search::ScoredPaths score_paths(const std::string& problem, const std::vector<std::vector<std::string>>& paths);
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
