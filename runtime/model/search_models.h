// Step-level search (runtime/search) over real models: a loaded policy writes the steps, a
// loaded PRM scores them. libtorch stays out of this header, as in workers.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "runtime/config/sweep.h"
#include "runtime/search/search.h"

namespace quorum::model {

// A policy and a PRM held for searches over many problems. A step is what the policy writes up
// to its step_separator (cut there; the separator's tokens count as the step's) or up to an
// end-of-sequence token or one of the policy's stop strings (either ends the response). A path is the prompt's token ids followed by
// its steps' generated ids, exactly as generated (never re-tokenised), and each round's steps
// are generated in one generate() call with batch_size slots: a step depends only on its path
// and its seed (generate.h). The PRM reads each path's steps as its kind's input (prm.h) and
// scores every path of a round in one score() call; a `kind: checker` PRM is the built-in
// task's exact checker instead (task::prefix_correct_scores), for the task's problems only.
//
// Each round prefills every path again: surviving paths do not keep their KV cache across
// rounds yet (docs/search.md).
class SearchModels {
 public:
  SearchModels(const config::PolicySpec& policy, const config::PrmSpec& prm, std::size_t batch_size);
  ~SearchModels();
  search::SearchResult run(const search::SearchSettings& settings, std::uint64_t seed, const std::string& problem);

  struct Models;  // the loaded models (search_models.cpp)

 private:
  std::unique_ptr<Models> models_;
};

}  // namespace quorum::model
