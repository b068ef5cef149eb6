// The Hugging Face example sweeps (configs/examples/hf-*.yaml), each against stand-in checkpoints
// of the published layouts: tiny random weights (tests/reference/prm_reference.py), the real
// vocabularies and chat templates. The config loads, every policy renders its prompt and
// samples, every PRM builds its input and scores every step.
#include "runtime/model/loading.h"
// libtorch brings glog, whose CHECK would shadow Catch's.
#undef CHECK
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "published_vocab.h"
#include "runtime/config/sweep.h"

using namespace quorum;
using nlohmann::json;
using quorum::testing::TempDir;
namespace fs = std::filesystem;

namespace {

struct StandIn {
  std::string directory;  // under hf/
  std::string layout;     // prm_reference.py's layout
  std::string package;    // the npm vocabulary
  std::string chat_template;  // tests/data/chat_templates/NAME.jinja, or "" to keep the package's
  json tokenizer_config;      // keys set in tokenizer_config.json
  std::string added_token;    // a special token the checkpoint adds
  json generation_config = nullptr;  // generation_config.json, when the checkpoint has one
};

json read_json(const fs::path& path) { return json::parse(quorum::testing::read_text(path)); }

void make_stand_in(const fs::path& root, const StandIn& s) {
  const auto dir = root / "hf" / s.directory;
  fs::create_directories(dir);
  const auto models = quorum::testing::published_vocabulary(s.package);
  auto tokenizer = read_json(models / "tokenizer.json");
  auto config = read_json(models / "tokenizer_config.json");
  if (!s.added_token.empty()) quorum::testing::add_special_token(tokenizer, config, s.added_token);
  if (!s.chat_template.empty())
    config["chat_template"] =
        quorum::testing::read_text(std::string(QUORUM_TEST_DATA) + "/chat_templates/" + s.chat_template + ".jinja");
  for (const auto& [key, value] : s.tokenizer_config.items()) config[key] = value;
  std::ofstream(dir / "tokenizer.json") << tokenizer.dump();
  std::ofstream(dir / "tokenizer_config.json") << config.dump(1);
  if (!s.generation_config.is_null()) std::ofstream(dir / "generation_config.json") << s.generation_config.dump(1);
  const auto vocab = model::load_vocabulary(dir.string()).tokens.vocab_size();
  const std::string command = "/usr/bin/python3 " + std::string(QUORUM_TEST_DATA) + "/../reference/prm_reference.py make " +
                              dir.string() + " " + s.layout + " " + std::to_string(vocab);
  REQUIRE(std::system(command.c_str()) == 0);
}

// The example, with its model and data paths moved under root/hf.
std::string example_in(const fs::path& root, const std::string& name) {
  auto text = quorum::testing::read_text(fs::path(QUORUM_TEST_DATA) / ".." / ".." / "configs" / "examples" / name);
  const std::string hf = "../../hf/";
  for (auto at = text.find(hf); at != std::string::npos; at = text.find(hf, at)) text.replace(at, hf.size(), "hf/");
  const auto path = root / name;
  std::ofstream(path) << text;
  for (const char* data : {"math500-eval", "math500-calibration"})
    std::ofstream(root / "hf" / (std::string(data) + ".jsonl")) << "{\"problem\": \"What is $1+1$?\", \"answer\": \"2\"}\n";
  for (const char* data : {"gsm8k-test", "gsm8k-calibration"})
    std::ofstream(root / "hf" / (std::string(data) + ".jsonl")) << "{\"question\": \"What is 1+1?\", \"answer\": \"1+1=2\\n#### 2\"}\n";
  return path.string();
}

void check_sweep(const std::string& config_file, const std::string& prompt_start) {
  const auto sweep = config::load_sweep(config_file);
  for (auto policy_spec : sweep.policies) {
    INFO(policy_spec.name);
    policy_spec.device = "cpu";
    auto policy = model::load_policy(policy_spec);
    const auto ids = policy.prompt_ids("What is $1+1$?");
    const auto text = policy.vocabulary.tokens.decode({ids.begin(), ids.end()});
    CHECK(text.rfind(prompt_start, 0) == 0);
    CHECK(text.find("What is $1+1$?") != std::string::npos);
    auto sampling = policy.sampling;
    sampling.max_new_tokens = 3;
    const auto generated = model::generate(policy.decoder, {{ids, 7}}, sampling);
    CHECK_FALSE(generated.front().tokens.empty());
  }
  for (auto prm_spec : sweep.prms) {
    INFO(prm_spec.name);
    prm_spec.device = "cpu";
    const auto prm = model::load_prm(prm_spec);
    const auto input = prm.inputs.build("What is $1+1$?", {"We add: $1+1=2$.", "The answer is $\\boxed{2}$."});
    const auto scores = prm.prm->score(std::vector<prompts::ScoringInput>{input}).front();
    REQUIRE(scores.size() == 2);
    for (const auto s : scores) CHECK((s >= 0 && s <= 1));
  }
}

}  // namespace

TEST_CASE("examples: Qwen2.5-Math with Qwen2.5-Math-PRM", "[examples]") {
  TempDir dir("example-qwen-prm");
  make_stand_in(dir.path(), {"Qwen2.5-Math-1.5B-Instruct", "qwen2", "tokenizer-qwen3", "qwen2.5_math_instruct", json::object(), "",
                             {{"eos_token_id", {151643, 151645}}}});
  make_stand_in(dir.path(), {"Qwen2.5-Math-PRM-7B", "reward_head", "tokenizer-qwen3", "qwen2.5_math_instruct", json::object(), "<extra_0>"});
  const auto config_file = example_in(dir.path(), "hf-qwen2.5-math.yaml");
  check_sweep(config_file, "<|im_start|>system\nPlease reason step by step");
  // Sampling stops at generation_config.json's eos ids (<|endoftext|>, <|im_end|>) and the tokenizer's.
  auto spec = config::load_sweep(config_file).policies.front();
  spec.device = "cpu";
  const auto stops = model::load_policy(spec).sampling.stop_token_ids;
  for (const std::int64_t id : {151643, 151645}) CHECK(std::find(stops.begin(), stops.end(), id) != stops.end());
}

TEST_CASE("examples: Qwen2.5-Math with Skywork-o1-Open-PRM", "[examples]") {
  TempDir dir("example-skywork");
  make_stand_in(dir.path(), {"Qwen2.5-Math-1.5B-Instruct", "qwen2", "tokenizer-qwen3", "qwen2.5_math_instruct", json::object(), ""});
  make_stand_in(dir.path(), {"Skywork-o1-Open-PRM-Qwen-2.5-1.5B", "value_head", "tokenizer-qwen3", "", {{"bos_token", "<|endoftext|>"}}, ""});
  check_sweep(example_in(dir.path(), "hf-qwen2.5-math-skywork.yaml"), "<|im_start|>system\nPlease reason step by step");
}

TEST_CASE("examples: Llama-3.2 with an RLHFlow PRM", "[examples]") {
  TempDir dir("example-rlhflow");
  make_stand_in(dir.path(), {"Llama-3.2-1B-Instruct", "llama3", "tokenizer-llama3_1", "llama3.2_instruct", json::object(), ""});
  make_stand_in(dir.path(), {"Llama3.1-8B-PRM-Deepseek-Data", "chat_turn", "tokenizer-llama3_1", "", json::object(), ""});
  check_sweep(example_in(dir.path(), "hf-llama3.2-rlhflow.yaml"), "<|begin_of_text|><|start_header_id|>system<|end_header_id|>");
}

TEST_CASE("examples: Math-Shepherd's Mistral policy and PRM", "[examples]") {
  TempDir dir("example-math-shepherd");
  make_stand_in(dir.path(), {"mistral-7b-sft", "mistral", "tokenizer-llama2", "", json::object(), ""});
  make_stand_in(dir.path(), {"math-shepherd-mistral-7b-prm", "good_token", "tokenizer-llama2", "", json::object(), ""});
  check_sweep(example_in(dir.path(), "hf-mistral-math-shepherd.yaml"), "<s>");
}
