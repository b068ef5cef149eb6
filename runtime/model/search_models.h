// Step-level search (runtime/search) over real models: a loaded policy writes the steps, a
// loaded PRM scores them. libtorch stays out of this header, as in workers.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "runtime/bus/protocol.h"
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
// Each node the search can still extend keeps its path's keys and values (generate()'s
// per-request prefix and kept cache), so a child step is decoded from its parent's cache, with
// only the parent's last token prefilled, instead of running prompt and path again each round;
// a released node's cache is freed, which bounds what is held to a few sets of n paths
// (docs/search.md, "The policy's KV caches").
//
// How a path's keys and values are had: kept across rounds, or (recomputed) every round's
// requests prefill their whole path again, as quorum did before; recomputed is kept only for
// bench_search's comparison and the test that compares the two.
enum class PathCaches { kept, recomputed };

class SearchModels {
 public:
  SearchModels(const config::PolicySpec& policy, const config::PrmSpec& prm, std::size_t batch_size,
               PathCaches path_caches = PathCaches::kept);
  ~SearchModels();
  search::SearchResult run(const search::SearchSettings& settings, std::uint64_t seed, const std::string& problem);

  // Prompt and path tokens the policy ran through prefills, over every search run so far
  // (generated tokens are decoded, not prefilled; a shared prefill counts once).
  std::int64_t prefilled_tokens() const;

  // The prompt's token count for a problem.
  std::size_t prompt_tokens(const std::string& problem) const;

  struct Models;  // the loaded models (search_models.cpp)

 private:
  std::unique_ptr<Models> models_;
};

// A sweep's search lease (bus::SearchWork): every problem of it searched with the lease's
// settings (the problem's seed: sequence_seed(seed, label, split, problem, 0)), its n leaves
// stored as responses of the search's label, in leaf order, with the step scores the search
// read for them. `search_problem` runs one problem's search with that seed and says the
// prompt's token count; the searcher actor's streams its rounds to the worker's sampler and
// verifier actors (actors/workers.cpp). A search's cost is shared out over its leaves: each
// leaf's completion_tokens and scored_tokens are its share (the first ones take the remainder)
// of every token the search generated and its verifier read for the problem, pruned candidates
// and lookahead included, so they sum to the search's totals; seconds likewise. Throws
// InputError naming the field for settings that cannot run.
using ProblemSearch = std::function<search::SearchResult(const search::SearchSettings& settings, std::uint64_t seed,
                                                         const bus::ProblemInput& problem, std::int64_t& prompt_tokens)>;
bus::Result run_search_lease(const bus::SearchWork& work, const std::string& unit_id, const std::string& step_separator,
                             const ProblemSearch& search_problem);

}  // namespace quorum::model
