// Step-level search over one problem: best-of-N, beam search and diverse verifier tree search
// (DVTS), steered by a verifier's step scores (docs/search.md gives the algorithms exactly).
// The policy and the verifier are interfaces, so the algorithms run (and are tested) without
// libtorch; runtime/model implements them over real models.
//
// Every search returns exactly N leaves: complete responses (or paths cut by the step or token
// limit, marked unfinished) with the step scores of their own path, so every aggregation
// strategy applies to them as to sampled responses. Every token the policy generated (pruned
// candidates and lookahead rollouts included) and every token the verifier read is counted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace quorum::search {

enum class Method { best_of_n, beam_search, dvts };

// "best_of_n", "beam_search", "dvts".
const char* method_name(Method method);
std::optional<Method> parse_method(std::string_view name);

struct SearchSettings {
  Method method = Method::beam_search;
  std::int64_t n = 4;           // leaves returned; candidates generated per step
  std::int64_t m = 4;           // beam width: expansions of each kept candidate (best_of_n: unused)
  std::int64_t lookahead = 0;   // greedy steps rolled out beyond a candidate to score it
  std::int64_t max_steps = 40;  // steps in a path, at most
  std::int64_t max_tokens = 1024;  // policy tokens in a path, at most
};

// Throws InputError naming the field (with `where` as the file, e.g. a config's path) when the
// settings cannot run: n, m, max_steps, max_tokens at least 1, lookahead at least 0, and for
// beam search and DVTS m dividing n.
void validate(const SearchSettings& settings, const std::string& where = "");

// Nodes of the search tree are numbered in creation order from 0; the prompt is kNoNode.
using NodeId = std::int64_t;
constexpr NodeId kNoNode = -1;

// One step to generate: the text that follows the path to `parent` (kNoNode: the prompt alone).
struct Extension {
  NodeId parent = kNoNode;
  NodeId node = 0;           // the new step's id (for a policy that keeps a cache per path)
  std::uint64_t seed = 0;    // the step's own random stream
  bool greedy = false;       // lookahead rollouts decode greedily
  std::int64_t max_tokens = 0;  // the most tokens this step may take
};

struct GeneratedStep {
  std::string text;          // the step, without its separator
  std::int64_t tokens = 0;   // tokens generated for it (separator and stop token included)
  bool finished = false;     // the response ended here (a stop token), not only the step
};

class StepPolicy {
 public:
  virtual ~StepPolicy() = default;
  // One step for each extension, in order. A step must depend only on its parent's path and its
  // seed, never on the other extensions of the call.
  virtual std::vector<GeneratedStep> extend(const std::vector<Extension>& extensions) = 0;
  // The search extends none of these nodes again: what the policy keeps for them can go.
  virtual void release(const std::vector<NodeId>& nodes) { (void)nodes; }
};

// The most nodes a search holds unreleased at once, per leaf of its budget n: a round's
// candidates with their parents while they are extended, or with two rollout steps each while
// the later one is made. A policy keeping a cache per held path keeps at most this many times n.
constexpr std::int64_t kHeldPathsPerLeaf = 3;

struct ScoredPaths {
  std::vector<std::vector<double>> scores;  // per path, one score per step
  std::int64_t tokens_read = 0;             // verifier tokens read for all of them
};

class StepVerifier {
 public:
  virtual ~StepVerifier() = default;
  // The score of every step of each path (the steps from the prompt on), in order.
  virtual ScoredPaths score(const std::vector<std::vector<std::string>>& paths) = 0;
};

struct Leaf {
  std::vector<std::string> steps;
  std::vector<double> step_scores;
  bool finished = false;        // ended by the policy, not by the step or token limit
  std::int64_t tokens = 0;      // policy tokens of its own path
  NodeId node = 0;
};

struct SearchResult {
  std::vector<Leaf> leaves;         // exactly n: subtree by subtree, each's in the order they ended
  std::int64_t policy_tokens = 0;   // every token generated, pruned candidates and rollouts included
  std::int64_t verifier_tokens = 0; // every token the verifier read
  std::int64_t rounds = 0;          // policy calls made for candidates (lookahead calls excluded)
};

// Runs one search. Deterministic in (settings, seed) for a policy and verifier that are.
SearchResult run_search(const SearchSettings& settings, std::uint64_t seed, StepPolicy& policy,
                        StepVerifier& verifier);

}  // namespace quorum::search
