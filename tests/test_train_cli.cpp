// `quorum train policy` and `quorum train prm` end to end on a tiny budget: they write Hugging
// Face model directories that load back as a policy and a PRM.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "cli_runner.h"

using quorum::testing::placement;
using quorum::testing::read_text;
using quorum::testing::run_quorum;
using quorum::testing::TempDir;

TEST_CASE("train policy then train prm write loadable model directories", "[train][cli]") {
  TempDir dir("train-cli");
  const auto policy = (dir.path() / "policy").string();
  const auto prm = (dir.path() / "prm").string();
  const auto trained = run_quorum("train policy --out " + policy +
                                  " --size small --levels 1 --problems 200 --steps 40 --batch 8 --warmup 4 --seed 3");
  INFO(trained.output);
  REQUIRE(trained.exit_code == 0);
  // Training and evaluation run on the CPU, and say so.
  CHECK(placement(trained.output, "policy") == "cpu in float32");
  for (const char* file : {"config.json", "model.safetensors", "tokenizer.json", "quorum.json"})
    CHECK(std::filesystem::exists(dir.path() / "policy" / file));
  const auto manifest = nlohmann::json::parse(read_text(dir.path() / "policy" / "quorum.json"));
  CHECK(manifest["role"] == "policy");
  CHECK(manifest["training"]["optimizer"]["seed"] == 3);

  const auto scored = run_quorum("train prm --policy " + policy + " --out " + prm +
                                 " --levels 1 --problems 4 --samples 2 --steps 10 --batch 4 --warmup 2");
  INFO(scored.output);
  REQUIRE(scored.exit_code == 0);
  CHECK(placement(scored.output, "policy") == "cpu in float32");
  CHECK(placement(scored.output, "prm") == "cpu in float32");
  const auto config = nlohmann::json::parse(read_text(dir.path() / "prm" / "config.json"));
  CHECK(config["architectures"][0] == "Qwen2ForProcessRewardModel");
  const auto prm_manifest = nlohmann::json::parse(read_text(dir.path() / "prm" / "quorum.json"));
  CHECK(prm_manifest["role"] == "prm");
  CHECK(prm_manifest["training"]["good_steps"].get<int>() + prm_manifest["training"]["bad_steps"].get<int>() > 0);

  const auto evaluated = run_quorum("eval policy --policy " + policy + " --levels 1 --problems 4 --samples 2");
  INFO(evaluated.output);
  CHECK(evaluated.exit_code == 0);
  CHECK(evaluated.output.find("| 1 | 4 |") != std::string::npos);
  CHECK(placement(evaluated.output, "policy") == "cpu in float32");
  const auto auc = run_quorum("eval prm --prm " + prm + " --policy " + policy + " --levels 1 --problems 4 --samples 2");
  INFO(auc.output);
  CHECK(auc.exit_code == 0);
  CHECK(auc.output.find("step AUC: ") != std::string::npos);
  CHECK(placement(auc.output, "prm") == "cpu in float32");

  const auto bad = run_quorum("train policy --out " + policy + "2 --size huge --steps 1");
  CHECK(bad.exit_code != 0);
  CHECK(bad.output.find("unknown size 'huge'") != std::string::npos);
}
