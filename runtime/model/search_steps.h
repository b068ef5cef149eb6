// The search's step policy and step verifier over loaded models (runtime/search's interfaces).
// Shared by SearchModels, which holds a policy and a PRM itself, and by the sampler's and
// verifier's workers (workers.h), which serve a searcher actor's rounds as messages. libtorch
// comes in through loading.h: include this only from runtime/model's sources.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/config/sweep.h"
#include "runtime/model/loading.h"
#include "runtime/model/search_models.h"
#include "runtime/search/search.h"

namespace quorum::model {

// A step is what the policy writes up to its step_separator (cut there; the separator's tokens
// count as the step's) or up to an end-of-sequence token or one of the policy's stop strings
// (either ends the response). A path is the prompt's token ids followed by its steps' generated
// ids, exactly as generated (never re-tokenised). Each call's steps are generated in one
// generate() call with batch_size slots, so a step depends only on its path and its seed.
//
// With PathCaches::kept, every node the search has not released keeps its path's keys and
// values, so a child step decodes from its parent's cache with only the parent's last token
// prefilled; release() frees them.
class PolicySteps : public search::StepPolicy {
 public:
  PolicySteps(LoadedPolicy& policy, const config::PolicySpec& spec, std::size_t batch_size, PathCaches path_caches,
              std::vector<std::int64_t> prompt);

  std::vector<search::GeneratedStep> extend(const std::vector<search::Extension>& extensions) override;
  void release(const std::vector<search::NodeId>& nodes) override;

  std::int64_t prompt_tokens() const { return static_cast<std::int64_t>(prompt_.size()); }
  // Prompt and path tokens run through prefills by this search (a shared prefill counts once).
  std::int64_t prefilled_tokens() const { return prefilled_tokens_; }

 private:
  // A live node's path: its generated ids after the prompt and, with PathCaches::kept, the keys
  // and values of every one of prompt + ids that the decoder has read (all but the step's last
  // token when that was not a stop token; none for a finished path, which is never extended).
  struct Path {
    std::vector<std::int64_t> ids;
    std::shared_ptr<const KvCache> cache;
  };
  const Path& path(search::NodeId node) const;
  void generate_steps(const std::vector<search::Extension>& extensions, const std::vector<std::size_t>& picked, bool greedy,
                      std::vector<search::GeneratedStep>& steps);

  LoadedPolicy& policy_;
  const config::PolicySpec& spec_;
  std::size_t batch_size_;
  PathCaches path_caches_;
  std::vector<std::int64_t> prompt_;
  std::map<search::NodeId, Path> paths_;
  std::int64_t prefilled_tokens_ = 0;
};

// The verifier of one problem's search: the PRM's scores of each path's steps, read as its
// kind's input (prm.h), every path of a call in one score() call; with no PRM (`kind:
// checker`), the built-in task's exact checker (task::prefix_correct_scores), which reads no
// tokens and verifies only the task's problems (InputError otherwise). An outcome_head PRM
// scores whole responses and is refused (InputError naming its `kind`).
std::unique_ptr<search::StepVerifier> step_verifier(const config::PrmSpec& spec, LoadedPrm* prm, std::size_t batch_size,
                                                    const std::string& problem);

}  // namespace quorum::model
