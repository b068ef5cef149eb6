// Benchmark of step-level search over real models: the same searches with each surviving path's
// KV cache kept across rounds (what quorum does) and with every round prefilling each path's
// whole prefix again (what it did before), in the same invocation, on the same problems with
// the same seeds. Reported per policy and search: wall time and the process's CPU time of each
// (the best of --repeats runs, the two alternated; CPU time is the steadier on a shared
// machine), the ratio of CPU times, the prompt and path tokens the policy ran through prefills,
// the tokens it generated (the same in both: accounting counts generated tokens only), and
// whether the two found the same leaves.
//
//   bench_search [--batch N] [--problems K] [--repeats R] [--prm DIR] [POLICY_DIR...]
//
// Policies: the shipped policy-medium and policy-large unless directories are given. The
// verifier is the built-in task's checker (it reads no tokens and costs next to nothing, so the
// times are the policy's), or a PRM checkpoint with --prm. Problems: the built-in task's level-3
// problems. Progress goes to stderr.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "runtime/common/error.h"
#include "runtime/model/search_models.h"
#include "runtime/task/arithmetic.h"

namespace {

using namespace quorum;
using Clock = std::chrono::steady_clock;

struct Options {
  std::size_t batch = 16;
  std::size_t problems = 8;
  int repeats = 2;
  std::string prm_dir;  // empty: the task's checker
  std::vector<std::string> policies;
};

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "bench_search: %s\nusage: bench_search [--batch N] [--problems K] [--repeats R] [--prm DIR] "
               "[POLICY_DIR...]\n",
               problem.c_str());
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto number = [&]() -> long long {
      if (i + 1 >= argc) usage(arg + " needs a value");
      char* end = nullptr;
      const auto value = std::strtoll(argv[++i], &end, 10);
      if (*end != '\0' || value < 1) usage(arg + " needs a positive integer, not '" + argv[i] + "'");
      return value;
    };
    if (arg == "--batch") options.batch = static_cast<std::size_t>(number());
    else if (arg == "--problems") options.problems = static_cast<std::size_t>(number());
    else if (arg == "--repeats") options.repeats = static_cast<int>(number());
    else if (arg == "--prm") {
      if (i + 1 >= argc) usage("--prm needs a value");
      options.prm_dir = argv[++i];
    } else if (arg.rfind("--", 0) == 0) usage("unknown option " + arg);
    else options.policies.push_back(arg);
  }
  if (options.policies.empty())
    for (const char* name : {"policy-medium", "policy-large"})
      options.policies.push_back(std::string(QUORUM_MODELS_DIR) + "/" + name);
  return options;
}

struct Measured {
  double seconds = std::numeric_limits<double>::infinity();  // best of the repeats
  double cpu_seconds = std::numeric_limits<double>::infinity();
  std::int64_t prefilled = 0, generated = 0;
  std::vector<std::vector<std::string>> leaves;  // every problem's leaves' steps, in order
};

// One pass over the problems with one search; keeps the best time over repeats.
void measure(model::SearchModels& models, const search::SearchSettings& settings,
             const std::vector<std::string>& problems, Measured& measured) {
  const auto prefilled_before = models.prefilled_tokens();
  std::int64_t generated = 0;
  std::vector<std::vector<std::string>> leaves;
  const auto start = Clock::now();
  const auto cpu_start = std::clock();
  for (std::size_t i = 0; i < problems.size(); ++i) {
    const auto result = models.run(settings, 1000 + i, problems[i]);
    generated += result.policy_tokens;
    for (const auto& leaf : result.leaves) leaves.push_back(leaf.steps);
  }
  measured.seconds = std::min(measured.seconds, std::chrono::duration<double>(Clock::now() - start).count());
  measured.cpu_seconds = std::min(measured.cpu_seconds, static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC);
  measured.prefilled = models.prefilled_tokens() - prefilled_before;
  measured.generated = generated;
  measured.leaves = std::move(leaves);
}

}  // namespace

int main(int argc, char** argv) {
  const auto options = parse_options(argc, argv);
  try {
    std::vector<std::string> problems;
    for (const auto& problem : task::generate_set(3, 2024, options.problems)) problems.push_back(task::problem_text(problem));
    std::vector<search::SearchSettings> searches;
    for (const auto method : {search::Method::beam_search, search::Method::dvts}) {
      search::SearchSettings settings;
      settings.method = method, settings.n = 16, settings.m = 4, settings.max_steps = 12, settings.max_tokens = 256;
      searches.push_back(settings);
    }
    config::PrmSpec prm;
    if (options.prm_dir.empty()) prm.name = "checker", prm.kind = "checker";
    else prm.name = std::filesystem::path(options.prm_dir).filename(), prm.path = options.prm_dir, prm.device = "cpu";

    std::printf("Step-level search, KV caches kept across rounds against every path prefilled again each round\n");
    std::printf("(%zu level-3 problems of the built-in task, batch %zu, verifier %s, best of %d runs each)\n\n",
                problems.size(), options.batch, prm.name.c_str(), options.repeats);
    std::printf("| policy | search | caches | wall s | CPU s | recomputed / kept (CPU) | prefilled tokens | generated tokens | same leaves |\n");
    std::printf("|---|---|---|---:|---:|---:|---:|---:|---|\n");
    bool all_same = true;
    for (const auto& directory : options.policies) {
      config::PolicySpec policy;
      policy.path = directory, policy.name = std::filesystem::path(directory).filename(), policy.device = "cpu";
      model::SearchModels kept(policy, prm, options.batch, model::PathCaches::kept);
      model::SearchModels recomputed(policy, prm, options.batch, model::PathCaches::recomputed);
      for (const auto& settings : searches) {
        const std::string search = std::string(search::method_name(settings.method)) + " n=" +
                                   std::to_string(settings.n) + " m=" + std::to_string(settings.m);
        Measured with_cache, without_cache;
        for (int r = 0; r < options.repeats; ++r) {
          std::fprintf(stderr, "[bench_search] %s, %s, run %d\n", policy.name.c_str(), search.c_str(), r + 1);
          measure(kept, settings, problems, with_cache);
          measure(recomputed, settings, problems, without_cache);
        }
        const bool same = with_cache.leaves == without_cache.leaves;
        all_same &= same;
        const auto ratio = without_cache.cpu_seconds / with_cache.cpu_seconds;
        std::printf("| %s | %s | kept | %.2f | %.2f | | %lld | %lld | |\n", policy.name.c_str(), search.c_str(),
                    with_cache.seconds, with_cache.cpu_seconds, static_cast<long long>(with_cache.prefilled),
                    static_cast<long long>(with_cache.generated));
        std::printf("| %s | %s | recomputed | %.2f | %.2f | %.2f | %lld | %lld | %s |\n", policy.name.c_str(),
                    search.c_str(), without_cache.seconds, without_cache.cpu_seconds, ratio,
                    static_cast<long long>(without_cache.prefilled),
                    static_cast<long long>(without_cache.generated), same ? "yes" : "no");
        std::fflush(stdout);
      }
    }
    return all_same ? 0 : 1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_search: %s\n", error.what());
    return 1;
  }
}
