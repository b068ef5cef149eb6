// quorum inspect: the last position's logits against an independent PyTorch forward pass, a
// PRM's step scores against its published scoring code, and bad model directories refused with
// one line naming the file and field.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "cli_runner.h"

using nlohmann::json;
using quorum::testing::run_quorum;
using quorum::testing::TempDir;

namespace {

template <class T>
std::vector<T> read_raw(const std::filesystem::path& path) {
  const auto bytes = quorum::testing::read_text(path);
  std::vector<T> values(bytes.size() / sizeof(T));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(T));
  return values;
}

}  // namespace

TEST_CASE("inspect prints a checkpoint's facts and the logits an independent forward pass computes", "[inspect]") {
  TempDir dir("inspect-logits");
  const std::string make = "/usr/bin/python3 " + std::string(QUORUM_TEST_DATA) + "/../reference/decoder_reference.py " +
                           dir.path().string() + " qwen2 F32";
  REQUIRE(std::system(make.c_str()) == 0);
  const auto ids = read_raw<std::int64_t>(dir.path() / "ids.i64");  // [2, 11]
  const auto want = read_raw<float>(dir.path() / "logits.f32");     // [2, 11, vocab]
  const std::size_t vocab = want.size() / 22;
  std::string list;
  for (int t = 0; t < 11; ++t) list += (t ? "," : "") + std::to_string(ids[t]);

  const auto result = run_quorum("inspect " + dir.path().string() + " --ids " + list + " --json");
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  // The JSON object is stdout; stderr (captured with it) says where the model runs (--device
  // is cpu unless given).
  CHECK(quorum::testing::placement(result.output, "inspect") == "cpu in float32");
  const auto report = json::parse(result.output.substr(result.output.find('{')));
  CHECK(report["architecture"] == "Qwen2ForCausalLM");
  CHECK(report["dtype"] == "float32");
  CHECK(report["ids"].size() == 11);
  const auto logits = report["logits"].get<std::vector<float>>();
  REQUIRE(logits.size() == vocab);
  float largest = 0;
  for (std::size_t v = 0; v < vocab; ++v) largest = std::max(largest, std::abs(want[10 * vocab + v]));
  for (std::size_t v = 0; v < vocab; ++v) CHECK(std::abs(logits[v] - want[10 * vocab + v]) <= 1e-4 * largest);

  const auto text = run_quorum("inspect " + dir.path().string() + " --ids " + list);
  CHECK(text.exit_code == 0);
  CHECK_THAT(text.output, Catch::Contains("architecture: Qwen2ForCausalLM"));
  CHECK_THAT(text.output, Catch::Contains("last position's top logits"));
}

TEST_CASE("inspect refuses a bad model directory with one line naming the file and field", "[inspect]") {
  TempDir dir("inspect-bad");
  const std::string make = "/usr/bin/python3 " + std::string(QUORUM_TEST_DATA) + "/../reference/decoder_reference.py " +
                           dir.path().string() + " qwen2 F32";
  REQUIRE(std::system(make.c_str()) == 0);
  auto config = json::parse(quorum::testing::read_text(dir.path() / "config.json"));
  config["architectures"] = {"GPTNeoXForCausalLM"};
  config["model_type"] = "gpt_neox";
  std::ofstream(dir.path() / "config.json") << config.dump();
  const auto result = run_quorum("inspect " + dir.path().string());
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.output, Catch::Contains("config.json"));
  CHECK_THAT(result.output, Catch::Contains("architectures"));
  CHECK(std::count(result.output.begin(), result.output.end(), '\n') == 1);
}
