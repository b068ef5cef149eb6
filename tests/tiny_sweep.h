// A small sweep on tiny models trained by the test itself: what the end-to-end and fault tests run.
#pragma once

#include <catch2/catch.hpp>

#include <string>

#include "cli_runner.h"
#include "runtime/store/store.h"

namespace quorum::testing {

// Two tiny models in dir: "policy" (a few optimizer steps) and "prm" trained on its samples.
inline void train_tiny_models(const TempDir& dir) {
  const auto policy = (dir.path() / "policy").string();
  const auto trained = run_quorum("train policy --out " + policy +
                                  " --size small --levels 1 --problems 200 --steps 30 --batch 8 --warmup 4 --seed 3");
  INFO(trained.output);
  REQUIRE(trained.exit_code == 0);
  const auto prm = run_quorum("train prm --policy " + policy + " --out " + (dir.path() / "prm").string() +
                              " --levels 1 --problems 4 --samples 2 --steps 10 --batch 4 --warmup 2");
  INFO(prm.output);
  REQUIRE(prm.exit_code == 0);
}

// Two policies (one checkpoint at two temperatures) and one PRM on `count` evaluation and 4
// calibration problems; `runtime` is the runtime map's extra keys.
// `search`: a config's `search:` section, or empty.
inline std::string sweep_yaml(const std::string& store, int count, int samples, int max_new_tokens,
                              const std::string& runtime = "", const std::string& search = "") {
  const auto n = std::to_string(count), s = std::to_string(samples), t = std::to_string(max_new_tokens);
  return "sweep: e2e\n"
         "store: " + store + "\n"
         "seed: 5\n"
         "problems:\n"
         "  evaluation: {task: arithmetic, levels: [1], count: " + n + ", seed: 3}\n"
         "  calibration: {task: arithmetic, levels: [1], count: 4, seed: 4}\n"
         "policies:\n"
         "  - {name: pa, path: policy, max_new_tokens: " + t + "}\n"
         "  - {name: pb, path: policy, max_new_tokens: " + t + ", temperature: 0.7}\n"
         "prms:\n"
         "  - {name: prm, path: prm}\n"
         "samples: " + s + "\n"
         "analysis: {budgets: [1, 2, 4], draws: 8, bootstrap: 20, calibration_draws: 2}\n"
         "runtime: {problems_per_unit: 2, batch_size: 8" + runtime + "}\n" + search;
}

inline std::int64_t rows(const std::string& store_path, const char* what) {
  store::Store store(store_path, true);
  return std::string(what) == "responses" ? store.response_count() : store.score_count();
}

}  // namespace quorum::testing
