// The search loop (docs/search.md). One loop serves the three methods: a search is a list of
// subtrees, each owing a number of leaves and expanding its kept candidates `width` times.
// Beam search is one subtree owing N leaves at width M; DVTS is N/M subtrees owing M leaves
// each at width M (so each keeps one candidate); best-of-N is one subtree owing N leaves at
// width 1, which keeps every candidate and needs no scores until its leaves are done.
#include "runtime/search/search.h"

#include <algorithm>
#include <stdexcept>

#include "runtime/common/error.h"
#include "runtime/common/hash.h"

namespace quorum::search {

const char* method_name(Method method) {
  switch (method) {
    case Method::best_of_n: return "best_of_n";
    case Method::beam_search: return "beam_search";
    case Method::dvts: return "dvts";
  }
  return "best_of_n";
}

std::optional<Method> parse_method(std::string_view name) {
  for (const auto method : {Method::best_of_n, Method::beam_search, Method::dvts})
    if (name == method_name(method)) return method;
  return std::nullopt;
}

void validate(const SearchSettings& s, const std::string& where) {
  const auto require = [&](bool ok, const char* field, const std::string& what) {
    if (!ok) throw InputError(where, 0, field, what);
  };
  require(s.n >= 1, "n", "must be at least 1, got " + std::to_string(s.n));
  require(s.m >= 1, "m", "must be at least 1, got " + std::to_string(s.m));
  require(s.max_steps >= 1, "max_steps", "must be at least 1, got " + std::to_string(s.max_steps));
  require(s.max_tokens >= 1, "max_tokens", "must be at least 1, got " + std::to_string(s.max_tokens));
  require(s.lookahead >= 0, "lookahead", "must be at least 0, got " + std::to_string(s.lookahead));
  if (s.method == Method::best_of_n) {
    require(s.lookahead == 0, "lookahead", "best_of_n selects nothing during sampling, so a lookahead would be unused");
    return;
  }
  require(s.m <= s.n, "m", "must be at most n (" + std::to_string(s.n) + "), got " + std::to_string(s.m));
  require(s.n % s.m == 0, "m",
          std::string(method_name(s.method)) + " needs m to divide n: n = " + std::to_string(s.n) + ", m = " +
              std::to_string(s.m));
}

namespace {

struct Node {
  NodeId parent = kNoNode;
  std::string text;
  std::int64_t depth = 0;        // steps in its path
  std::int64_t path_tokens = 0;  // policy tokens of its path
  bool finished = false;
  std::vector<double> scores;    // of its own path's steps, once scored
  double selection = 0;          // the score candidates are ranked by
};

struct Subtree {
  std::int64_t owed = 0;   // leaves it returns
  std::int64_t width = 1;  // expansions of each kept candidate
  std::vector<NodeId> leaves;
  std::vector<std::pair<NodeId, std::int64_t>> frontier;  // (parent, expansions) to generate next
};

class Search {
 public:
  Search(const SearchSettings& settings, std::uint64_t seed, StepPolicy& policy, StepVerifier& verifier)
      : settings_(settings), seed_(seed), policy_(policy), verifier_(verifier) {}

  SearchResult run() {
    const auto& s = settings_;
    if (s.method == Method::dvts)
      subtrees_.assign(static_cast<std::size_t>(s.n / s.m), Subtree{s.m, s.m, {}, {}});
    else
      subtrees_.push_back(Subtree{s.n, s.method == Method::best_of_n ? 1 : s.m, {}, {}});
    for (auto& subtree : subtrees_) subtree.frontier = {{kNoNode, subtree.owed}};
    while (std::any_of(subtrees_.begin(), subtrees_.end(), [](const Subtree& t) { return !t.frontier.empty(); }))
      round();
    SearchResult result;
    for (const auto& subtree : subtrees_)
      for (const auto id : subtree.leaves) {
        const auto& node = nodes_[static_cast<std::size_t>(id)];
        result.leaves.push_back({path(id), node.scores, node.finished, node.path_tokens, id});
      }
    result.policy_tokens = policy_tokens_, result.verifier_tokens = verifier_tokens_, result.rounds = rounds_;
    return result;
  }

 private:
  Node& node(NodeId id) { return nodes_[static_cast<std::size_t>(id)]; }

  std::vector<std::string> path(NodeId id) {
    std::vector<std::string> steps;
    for (; id != kNoNode; id = node(id).parent) steps.push_back(node(id).text);
    std::reverse(steps.begin(), steps.end());
    return steps;
  }

  // Whether a node's path can take no further step: ended by the policy or at a limit.
  bool ends(NodeId id) {
    const auto& n = node(id);
    return n.finished || n.depth >= settings_.max_steps || n.path_tokens >= settings_.max_tokens;
  }

  // Generates one step after each parent; returns the new nodes' ids in order.
  std::vector<NodeId> extend(const std::vector<NodeId>& parents, bool greedy) {
    std::vector<Extension> extensions;
    for (const auto parent : parents) {
      const NodeId id = static_cast<NodeId>(nodes_.size());
      Node child;
      child.parent = parent;
      if (parent != kNoNode) child.depth = node(parent).depth, child.path_tokens = node(parent).path_tokens;
      nodes_.push_back(child);
      const auto seed = fnv1a64(std::to_string(seed_) + ':' + std::to_string(id));
      extensions.push_back({parent, id, seed, greedy, settings_.max_tokens - child.path_tokens});
    }
    const auto steps = policy_.extend(extensions);
    if (steps.size() != extensions.size())
      throw std::logic_error("step policy returned " + std::to_string(steps.size()) + " steps for " +
                             std::to_string(extensions.size()) + " extensions");
    std::vector<NodeId> ids;
    for (std::size_t i = 0; i < steps.size(); ++i) {
      auto& n = node(extensions[i].node);
      n.text = steps[i].text, n.finished = steps[i].finished;
      n.depth += 1, n.path_tokens += steps[i].tokens;
      policy_tokens_ += steps[i].tokens;
      ids.push_back(extensions[i].node);
    }
    return ids;
  }

  void release(std::vector<NodeId> ids) {
    ids.erase(std::remove(ids.begin(), ids.end(), kNoNode), ids.end());
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    if (!ids.empty()) policy_.release(ids);
  }

  // Scores each candidate: its own path, or with a lookahead the path of a greedy rollout of up
  // to `lookahead` steps beyond it, whose prefix gives the candidate's own step scores (a PRM
  // scores a step from the text up to it) and whose last score ranks the candidate.
  void score(const std::vector<NodeId>& candidates, std::int64_t lookahead) {
    if (candidates.empty()) return;
    std::vector<NodeId> ends_at = candidates;
    std::vector<NodeId> rollout_nodes;
    for (std::int64_t step = 0; step < lookahead; ++step) {
      std::vector<std::size_t> going;
      std::vector<NodeId> parents;
      for (std::size_t i = 0; i < ends_at.size(); ++i)
        if (!ends(ends_at[i])) going.push_back(i), parents.push_back(ends_at[i]);
      if (going.empty()) break;
      const auto children = extend(parents, true);
      for (std::size_t j = 0; j < going.size(); ++j) ends_at[going[j]] = children[j];
      // A rollout step extended is never extended again: released now, so a policy's caches
      // hold one rollout step per candidate, not `lookahead` of them. The candidates stay.
      if (step > 0) {
        for (const auto parent : parents)
          rollout_nodes.erase(std::find(rollout_nodes.begin(), rollout_nodes.end(), parent));
        release(parents);
      }
      rollout_nodes.insert(rollout_nodes.end(), children.begin(), children.end());
    }
    std::vector<std::vector<std::string>> paths;
    for (const auto id : ends_at) paths.push_back(path(id));
    auto scored = verifier_.score(paths);
    if (scored.scores.size() != paths.size())
      throw std::logic_error("step verifier returned " + std::to_string(scored.scores.size()) + " score lists for " +
                             std::to_string(paths.size()) + " paths");
    verifier_tokens_ += scored.tokens_read;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      auto& scores = scored.scores[i];
      auto& n = node(candidates[i]);
      if (scores.size() != paths[i].size())
        throw std::logic_error("step verifier returned " + std::to_string(scores.size()) + " scores for a path of " +
                               std::to_string(paths[i].size()) + " steps");
      n.selection = scores.back();
      scores.resize(static_cast<std::size_t>(n.depth));
      n.scores = std::move(scores);
    }
    release(rollout_nodes);  // the rollouts' last steps, and those that ended early
  }

  void round() {
    ++rounds_;
    // Every subtree's candidates in one policy call, so a batched policy sees them all at once.
    std::vector<NodeId> parents;
    std::vector<std::size_t> owner;
    for (std::size_t t = 0; t < subtrees_.size(); ++t) {
      for (const auto& [parent, expansions] : subtrees_[t].frontier)
        for (std::int64_t e = 0; e < expansions; ++e) parents.push_back(parent), owner.push_back(t);
      subtrees_[t].frontier.clear();
    }
    const auto candidates = extend(parents, false);
    release(parents);  // each child's path holds what its parent's did
    // Best-of-N ranks nothing, so only its leaves need scores.
    std::vector<NodeId> unended, ended;
    for (const auto id : candidates) (ends(id) ? ended : unended).push_back(id);
    if (settings_.method != Method::best_of_n) score(unended, settings_.lookahead);
    score(ended, 0);
    std::vector<NodeId> dropped;
    for (std::size_t t = 0; t < subtrees_.size(); ++t) {
      auto& subtree = subtrees_[t];
      std::vector<NodeId> going;
      for (std::size_t i = 0; i < candidates.size(); ++i) {
        if (owner[i] != t) continue;
        if (ends(candidates[i]))
          subtree.leaves.push_back(candidates[i]), dropped.push_back(candidates[i]);
        else
          going.push_back(candidates[i]);
      }
      // The best candidates go on, each expanded `width` times, as many expansions as leaves
      // are still owed; the rest are pruned. Ties go to the earlier node.
      std::stable_sort(going.begin(), going.end(),
                       [&](NodeId a, NodeId b) { return node(a).selection > node(b).selection; });
      std::int64_t owed = subtree.owed - static_cast<std::int64_t>(subtree.leaves.size());
      for (const auto id : going) {
        if (owed > 0) {
          const auto expansions = std::min(owed, subtree.width);
          subtree.frontier.emplace_back(id, expansions);
          owed -= expansions;
        } else {
          dropped.push_back(id);
        }
      }
    }
    release(dropped);
  }

  const SearchSettings& settings_;
  const std::uint64_t seed_;
  StepPolicy& policy_;
  StepVerifier& verifier_;
  std::vector<Node> nodes_;
  std::vector<Subtree> subtrees_;
  std::int64_t policy_tokens_ = 0, verifier_tokens_ = 0, rounds_ = 0;
};

}  // namespace

SearchResult run_search(const SearchSettings& settings, std::uint64_t seed, StepPolicy& policy,
                        StepVerifier& verifier) {
  validate(settings);
  return Search(settings, seed, policy, verifier).run();
}

}  // namespace quorum::search
