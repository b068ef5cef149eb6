// The search loop (runtime/search) against a small search worked out by hand, and on the
// built-in arithmetic task with a policy that slips at random and the task's exact checker as
// the verifier.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

#include "runtime/aggregation/draws.h"
#include "runtime/common/error.h"
#include "runtime/search/search.h"
#include "runtime/task/arithmetic.h"

using namespace quorum;
using namespace quorum::search;

namespace {

// Keeps what a policy would keep per node (here the path's last value), and checks the search's
// side of the contract: a node is extended only while held, and released exactly once.
template <typename State>
class NodeBook {
 public:
  const State& parent(NodeId id, const State& root) const {
    if (id == kNoNode) return root;
    const auto found = held_.find(id);
    if (found == held_.end()) throw std::logic_error("extended node " + std::to_string(id) + ", not held");
    return found->second;
  }
  void hold(NodeId id, State state, NodeId parent) {
    if (!held_.emplace(id, std::move(state)).second) throw std::logic_error("node made twice");
    parents_[id] = parent;
    peak_ = std::max(peak_, held_.size());
  }
  void release(const std::vector<NodeId>& ids) {
    for (const auto id : ids) {
      if (held_.erase(id) != 1) throw std::logic_error("released node " + std::to_string(id) + " not held");
      released_.push_back(id);
    }
  }
  std::size_t held() const { return held_.size(); }
  std::size_t peak() const { return peak_; }  // the most nodes held at once
  const std::vector<NodeId>& released() const { return released_; }
  // The first step on the path to id.
  NodeId first_step(NodeId id) const {
    while (parents_.at(id) != kNoNode) id = parents_.at(id);
    return id;
  }

 private:
  std::map<NodeId, State> held_;
  std::map<NodeId, NodeId> parents_;
  std::vector<NodeId> released_;
  std::size_t peak_ = 0;
};

// Writes step "s<id>", 1 + id % 3 tokens, finished when the id is in `finishing`.
class ScriptedPolicy : public StepPolicy {
 public:
  explicit ScriptedPolicy(std::set<NodeId> finishing) : finishing_(std::move(finishing)) {}
  std::vector<GeneratedStep> extend(const std::vector<Extension>& extensions) override {
    std::vector<GeneratedStep> steps;
    for (const auto& e : extensions) {
      book.parent(e.parent, 0);
      book.hold(e.node, 0, e.parent);
      calls.push_back(e);
      steps.push_back({"s" + std::to_string(e.node), 1 + e.node % 3, finishing_.count(e.node) > 0});
    }
    return steps;
  }
  void release(const std::vector<NodeId>& nodes) override { book.release(nodes); }
  NodeBook<int> book;
  std::vector<Extension> calls;

 private:
  std::set<NodeId> finishing_;
};

// Scores a step by a table of its text; reads one token per step.
class ScriptedVerifier : public StepVerifier {
 public:
  explicit ScriptedVerifier(std::map<std::string, double> table) : table_(std::move(table)) {}
  ScoredPaths score(const std::vector<std::vector<std::string>>& paths) override {
    ScoredPaths scored;
    for (const auto& path : paths) {
      scored.scores.emplace_back();
      for (const auto& step : path) scored.scores.back().push_back(table_.at(step));
      scored.tokens_read += static_cast<std::int64_t>(path.size());
    }
    return scored;
  }

 private:
  std::map<std::string, double> table_;
};

// Writes a problem's chain one operation at a time, applied to the path's own last value; a
// sampled step gets its result wrong (off by one to three) with probability slip, a greedy one
// never. After the last operation, "Answer: <the path's value>", which finishes the response.
// Tokens: one per character and one for the separator.
class ArithmeticPolicy : public StepPolicy {
 public:
  struct State {
    std::int64_t value = 0;
    std::size_t done = 0;  // operations written
  };
  ArithmeticPolicy(task::Problem problem, double slip) : problem_(std::move(problem)), slip_(slip) {}
  std::vector<GeneratedStep> extend(const std::vector<Extension>& extensions) override {
    std::vector<GeneratedStep> steps;
    for (const auto& e : extensions) {
      auto state = book.parent(e.parent, State{problem_.start, 0});
      GeneratedStep step;
      if (state.done == problem_.operations.size()) {
        step.text = "Answer: " + std::to_string(state.value), step.finished = true;
      } else {
        const auto& operation = problem_.operations[state.done];
        auto result = *task::apply(operation.op, state.value, operation.operand);
        const auto draw = aggregation::splitmix64(e.seed);
        if (!e.greedy && static_cast<double>(draw >> 11) * 0x1.0p-53 < slip_) result += 1 + static_cast<std::int64_t>(draw % 3);
        step.text = std::to_string(state.value) + " " + static_cast<char>(operation.op) + " " +
                    std::to_string(operation.operand) + " = " + std::to_string(result);
        state = {result, state.done + 1};
      }
      step.tokens = static_cast<std::int64_t>(step.text.size()) + 1;
      generated += step.tokens;
      book.hold(e.node, state, e.parent);
      steps.push_back(std::move(step));
    }
    return steps;
  }
  void release(const std::vector<NodeId>& nodes) override { book.release(nodes); }
  NodeBook<State> book;
  std::int64_t generated = 0;

 private:
  task::Problem problem_;
  double slip_;
};

// The task's exact checker as a verifier: a step scores 1 when it and every step before it are
// correct, else 0. Reads one token per character and separator.
class CheckerVerifier : public StepVerifier {
 public:
  explicit CheckerVerifier(task::Problem problem) : problem_(std::move(problem)) {}
  ScoredPaths score(const std::vector<std::vector<std::string>>& paths) override {
    ScoredPaths scored;
    for (const auto& path : paths) {
      std::string text;
      for (const auto& step : path) text += step + "\n";
      const auto check = task::check(problem_, text);
      auto& scores = scored.scores.emplace_back();
      for (std::size_t i = 0; i < path.size(); ++i)
        scores.push_back(check.first_error < 0 || static_cast<std::ptrdiff_t>(i) < check.first_error ? 1.0 : 0.0);
      scored.tokens_read += static_cast<std::int64_t>(text.size());
    }
    read += scored.tokens_read;
    return scored;
  }
  std::int64_t read = 0;

 private:
  task::Problem problem_;
};

bool answers_correctly(const task::Problem& problem, const Leaf& leaf) {
  return !leaf.steps.empty() && leaf.steps.back() == "Answer: " + std::to_string(problem.answer());
}

// The leaf a best-of-N selection keeps: the highest last-step score, the first on ties.
const Leaf& best_leaf(const SearchResult& result) {
  const Leaf* best = &result.leaves.front();
  for (const auto& leaf : result.leaves)
    if (leaf.step_scores.back() > best->step_scores.back()) best = &leaf;
  return *best;
}

SearchSettings settings_of(Method method, std::int64_t n, std::int64_t m, std::int64_t lookahead = 0) {
  SearchSettings settings;
  settings.method = method, settings.n = n, settings.m = m, settings.lookahead = lookahead;
  return settings;
}

}  // namespace

TEST_CASE("a beam search of n 4 and width 2 worked by hand", "[search]") {
  // Round 1: the prompt expanded 4 times (nodes 0-3); 1 and 3 (0.9, the tie to the earlier) are
  // kept and expanded twice each. Round 2: nodes 4, 5 from 1 and 6, 7 from 3; 5 finishes (a
  // leaf); 3 leaves are still owed, so 6 (0.7) is expanded twice and 7 (0.6) once; 4 is pruned.
  // Round 3: 8, 9 from 6 and 10 from 7, at the step limit: 8 finishes, 9 and 10 are cut.
  ScriptedPolicy policy({5, 8});
  ScriptedVerifier verifier({{"s0", 0.1}, {"s1", 0.9}, {"s2", 0.5}, {"s3", 0.9}, {"s4", 0.2}, {"s5", 0.8},
                             {"s6", 0.7}, {"s7", 0.6}, {"s8", 0.4}, {"s9", 0.3}, {"s10", 0.35}});
  auto settings = settings_of(Method::beam_search, 4, 2);
  settings.max_steps = 3;
  const auto result = run_search(settings, 7, policy, verifier);
  REQUIRE(result.leaves.size() == 4);
  CHECK(result.leaves[0].steps == std::vector<std::string>{"s1", "s5"});
  CHECK(result.leaves[0].finished);
  CHECK(result.leaves[0].step_scores == std::vector<double>{0.9, 0.8});
  CHECK(result.leaves[1].steps == std::vector<std::string>{"s3", "s6", "s8"});
  CHECK(result.leaves[1].finished);
  CHECK(result.leaves[2].steps == std::vector<std::string>{"s3", "s6", "s9"});
  CHECK_FALSE(result.leaves[2].finished);
  CHECK(result.leaves[3].steps == std::vector<std::string>{"s3", "s7", "s10"});
  CHECK(result.leaves[3].step_scores == std::vector<double>{0.9, 0.6, 0.35});
  // Tokens 1 + id % 3 for ids 0-10, pruned nodes 0, 2 and 4 included; a leaf's own path only.
  CHECK(result.policy_tokens == 21);
  CHECK(result.leaves[0].tokens == (1 + 1 % 3) + (1 + 5 % 3));
  // The verifier read 4 one-step paths, 4 two-step ones and 3 three-step ones.
  CHECK(result.verifier_tokens == 4 + 8 + 9);
  CHECK(result.rounds == 3);
  std::vector<NodeId> parents;
  for (const auto& call : policy.calls) parents.push_back(call.parent);
  CHECK(parents == std::vector<NodeId>{kNoNode, kNoNode, kNoNode, kNoNode, 1, 1, 3, 3, 6, 6, 7});
  CHECK(policy.book.held() == 0);
  CHECK(policy.book.released().size() == 11);
}

TEST_CASE("a lookahead ranks candidates by a greedy rollout's last score and counts its tokens", "[search]") {
  // n 2, width 2: round 1 makes nodes 0 and 1 and rolls each out one greedy step (2 from 0, 3
  // from 1). 0 scores higher alone, but 1's rollout ends higher, so 1 is kept and expanded
  // twice (4, 5), which end at the step limit without a rollout.
  ScriptedPolicy policy({});
  ScriptedVerifier verifier({{"s0", 0.9}, {"s1", 0.1}, {"s2", 0.3}, {"s3", 0.7}, {"s4", 0.5}, {"s5", 0.6}});
  auto settings = settings_of(Method::beam_search, 2, 2, 1);
  settings.max_steps = 2;
  const auto result = run_search(settings, 7, policy, verifier);
  REQUIRE(result.leaves.size() == 2);
  CHECK(result.leaves[0].steps == std::vector<std::string>{"s1", "s4"});
  CHECK(result.leaves[0].step_scores == std::vector<double>{0.1, 0.5});
  CHECK(result.leaves[1].steps == std::vector<std::string>{"s1", "s5"});
  REQUIRE(policy.calls.size() == 6);
  CHECK_FALSE(policy.calls[0].greedy);
  CHECK(policy.calls[2].greedy);
  CHECK(policy.calls[3].greedy);
  CHECK(policy.calls[3].parent == 1);
  CHECK_FALSE(policy.calls[4].greedy);
  CHECK(result.policy_tokens == 1 + 2 + 3 + 1 + 2 + 3);
  CHECK(result.verifier_tokens == 2 + 2 + 2 + 2);
  CHECK(policy.book.held() == 0);
}

TEST_CASE("every method returns n leaves, counts every token and releases every node once", "[search]") {
  const auto problem = task::generate(3, 11, 0);
  for (const auto& settings : {settings_of(Method::best_of_n, 8, 1), settings_of(Method::beam_search, 8, 2),
                               settings_of(Method::beam_search, 8, 4, 1), settings_of(Method::dvts, 8, 2),
                               settings_of(Method::dvts, 8, 4, 2), settings_of(Method::beam_search, 6, 6)}) {
    INFO(method_name(settings.method) << " n " << settings.n << " m " << settings.m << " lookahead " << settings.lookahead);
    ArithmeticPolicy policy(problem, 0.3);
    CheckerVerifier verifier(problem);
    const auto result = run_search(settings, 5, policy, verifier);
    REQUIRE(result.leaves.size() == static_cast<std::size_t>(settings.n));
    std::int64_t leaf_tokens = 0;
    for (const auto& leaf : result.leaves) {
      CHECK(leaf.finished);
      CHECK(leaf.step_scores.size() == leaf.steps.size());
      CHECK(leaf.steps.size() == problem.operations.size() + 1);
      leaf_tokens += leaf.tokens;
    }
    CHECK(result.policy_tokens == policy.generated);
    CHECK(result.verifier_tokens == verifier.read);
    CHECK(policy.book.held() == 0);
    // Best-of-N shares no prefix, prunes nothing and rolls nothing out: its tokens are its
    // leaves' tokens. (The searches' leaves share prefixes; the hand-worked case pins theirs.)
    if (settings.method == Method::best_of_n) CHECK(result.policy_tokens == leaf_tokens);
  }
}

TEST_CASE("a policy holds at most three sets of n nodes, whatever the lookahead", "[search]") {
  // What a policy keeps per node (a KV cache) is bounded by the search's releases: a round's n
  // candidates, their parents while they are extended, and one rollout step per candidate and
  // the next being made (each rollout step is released once extended).
  const auto problem = task::generate(3, 11, 0);
  for (const std::int64_t lookahead : {0, 1, 3}) {
    INFO("lookahead " << lookahead);
    ArithmeticPolicy policy(problem, 0.3);
    CheckerVerifier verifier(problem);
    run_search(settings_of(Method::beam_search, 8, 2, lookahead), 5, policy, verifier);
    CHECK(policy.book.peak() <= static_cast<std::size_t>(kHeldPathsPerLeaf) * 8);
    if (lookahead == 3) CHECK(policy.book.peak() > 2 * 8);
    CHECK(policy.book.held() == 0);
  }
}

TEST_CASE("DVTS grows n/m subtrees that share nothing, each owing m leaves", "[search]") {
  const auto problem = task::generate(2, 3, 4);
  ArithmeticPolicy policy(problem, 0.3);
  CheckerVerifier verifier(problem);
  const auto result = run_search(settings_of(Method::dvts, 12, 3), 9, policy, verifier);
  REQUIRE(result.leaves.size() == 12);
  std::set<NodeId> first_steps;
  for (std::size_t subtree = 0; subtree < 4; ++subtree) {
    const auto first = policy.book.first_step(result.leaves[3 * subtree].node);
    for (std::size_t i = 1; i < 3; ++i) CHECK(policy.book.first_step(result.leaves[3 * subtree + i].node) == first);
    first_steps.insert(first);
  }
  CHECK(first_steps.size() == 4);
}

TEST_CASE("a search is a function of its settings and seed", "[search]") {
  const auto problem = task::generate(3, 2, 1);
  const auto once = [&](std::uint64_t seed) {
    ArithmeticPolicy policy(problem, 0.4);
    CheckerVerifier verifier(problem);
    std::vector<std::vector<std::string>> leaves;
    for (const auto& leaf : run_search(settings_of(Method::beam_search, 8, 2, 1), seed, policy, verifier).leaves)
      leaves.push_back(leaf.steps);
    return leaves;
  };
  CHECK(once(1) == once(1));
  CHECK(once(1) != once(2));
}

TEST_CASE("with the exact checker as verifier, beam search and DVTS at n beat best-of-N at n", "[search]") {
  // 40 problems of level 3 (4 to 6 steps) and a policy that slips on 30% of sampled steps: a
  // whole response is right about 0.7^5 = 17% of the time, so best-of-8 misses some problems;
  // the searches drop wrong steps as soon as they are written.
  int best_of_n = 0, beam = 0, dvts = 0;
  for (std::uint64_t index = 0; index < 40; ++index) {
    const auto problem = task::generate(3, 21, index);
    const auto solved = [&](const SearchSettings& settings) {
      ArithmeticPolicy policy(problem, 0.3);
      CheckerVerifier verifier(problem);
      return answers_correctly(problem, best_leaf(run_search(settings, index, policy, verifier))) ? 1 : 0;
    };
    best_of_n += solved(settings_of(Method::best_of_n, 8, 1));
    beam += solved(settings_of(Method::beam_search, 8, 2));
    dvts += solved(settings_of(Method::dvts, 8, 2));
  }
  INFO("solved of 40: best-of-N " << best_of_n << ", beam search " << beam << ", DVTS " << dvts);
  CHECK(best_of_n < 40);
  CHECK(beam >= best_of_n);
  CHECK(dvts >= best_of_n);
  CHECK(beam == 40);
}

TEST_CASE("search settings that cannot run are refused by field", "[search]") {
  const auto refused_field = [](const SearchSettings& settings) {
    try {
      validate(settings, "sweep.yaml");
    } catch (const InputError& error) {
      CHECK(error.file() == "sweep.yaml");
      return error.field();
    }
    return std::string("(accepted)");
  };
  CHECK(refused_field(settings_of(Method::beam_search, 6, 4)) == "m");
  CHECK(refused_field(settings_of(Method::dvts, 4, 8)) == "m");
  CHECK(refused_field(settings_of(Method::beam_search, 0, 1)) == "n");
  CHECK(refused_field(settings_of(Method::best_of_n, 4, 1, 1)) == "lookahead");
  CHECK(refused_field(settings_of(Method::beam_search, 4, 2, -1)) == "lookahead");
  auto settings = settings_of(Method::dvts, 4, 2);
  settings.max_tokens = 0;
  CHECK(refused_field(settings) == "max_tokens");
  CHECK(refused_field(settings_of(Method::best_of_n, 5, 3)) == "(accepted)");
  CHECK(parse_method("dvts") == Method::dvts);
  CHECK_FALSE(parse_method("beam"));
}
