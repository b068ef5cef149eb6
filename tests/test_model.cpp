// The decoder against an independent PyTorch forward pass (tests/reference), the KV cache and
// padding against the plain forward pass, and clean rejection of bad checkpoints.
#include <fstream>

#include "runtime/model/decoder.h"
#include "runtime/model/generate.h"
#include "runtime/model/prm.h"
#include "runtime/model/task_models.h"
#include "runtime/model/train.h"
#include "runtime/model/safetensors.h"
// libtorch brings glog, whose CHECK would shadow Catch's: torch's headers come first and its
// CHECK goes before Catch defines its own.
#undef CHECK
#include <catch2/catch.hpp>

#include "cli_runner.h"
#include "runtime/aggregation/draws.h"
#include "runtime/common/error.h"

using namespace quorum;
using quorum::testing::TempDir;

namespace {

template <class T>
std::vector<T> read_raw(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<T> values(bytes.size() / sizeof(T));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(T));
  return values;
}

// Writes the reference checkpoint and logits into dir; returns false when python3-torch fails.
void make_reference(const TempDir& dir, const std::string& variant, const std::string& dtype) {
  const std::string command = std::string("/usr/bin/python3 ") + QUORUM_TEST_DATA +
                              "/../reference/decoder_reference.py " + dir.path().string() + " " + variant + " " + dtype;
  REQUIRE(std::system(command.c_str()) == 0);
}

torch::Tensor positions_for(std::int64_t batch, std::int64_t steps) {
  return torch::arange(steps, torch::kInt64).unsqueeze(0).expand({batch, steps});
}

double relative_error(const torch::Tensor& got, const torch::Tensor& want) {
  return ((got - want).abs().max() / want.abs().max()).item<double>();
}

}  // namespace

TEST_CASE("decoder logits match an independent PyTorch forward pass", "[model]") {
  for (const std::string variant : {"qwen2", "llama"}) {
    for (const std::string dtype : {"F32", "BF16", "F16"}) {
      DYNAMIC_SECTION(variant << " " << dtype) {
        TempDir dir("decoder-" + variant + dtype);
        make_reference(dir, variant, dtype);
        auto decoder = model::load_decoder(dir.path().string());
        const auto ids_data = read_raw<std::int64_t>(dir.path() / "ids.i64");
        const auto ids = torch::tensor(ids_data, torch::kInt64).view({2, 11});
        const auto want_data = read_raw<float>(dir.path() / "logits.f32");
        const auto want = torch::tensor(want_data).view({2, 11, 97});
        torch::NoGradGuard no_grad;
        const auto got = decoder->logits(decoder->hidden(ids, positions_for(2, 11)));
        CHECK(relative_error(got, want) < 1e-4);
      }
    }
  }
}

TEST_CASE("the KV cache and left padding give the plain forward pass's logits", "[model]") {
  TempDir dir("decoder-cache");
  make_reference(dir, "qwen2", "F32");
  auto decoder = model::load_decoder(dir.path().string());
  torch::NoGradGuard no_grad;
  const auto ids = torch::tensor(read_raw<std::int64_t>(dir.path() / "ids.i64"), torch::kInt64).view({2, 11});
  const auto full = decoder->logits(decoder->hidden(ids, positions_for(2, 11)));

  // Prefix of 6 tokens, then one token at a time through the cache.
  model::KvCache cache;
  auto step = decoder->logits(decoder->hidden(ids.slice(1, 0, 6), positions_for(2, 6), {}, &cache));
  CHECK(relative_error(step, full.slice(1, 0, 6)) < 1e-5);
  for (std::int64_t t = 6; t < 11; ++t) {
    const auto position = torch::full({2, 1}, t, torch::kInt64);
    step = decoder->logits(decoder->hidden(ids.slice(1, t, t + 1), position, {}, &cache));
    CHECK(relative_error(step, full.slice(1, t, t + 1)) < 1e-5);
  }

  // Row 1 shortened to 7 tokens and left-padded to 11: its last 7 logits equal those of the
  // 7 tokens alone.
  auto padded = ids.clone();
  padded.index_put_({1, torch::indexing::Slice(0, 4)}, 0);
  auto valid = torch::ones({2, 11}, torch::kBool);
  valid.index_put_({1, torch::indexing::Slice(0, 4)}, false);
  const auto positions = (valid.to(torch::kInt64).cumsum(1) - 1).clamp_min(0);
  const auto batched = decoder->logits(decoder->hidden(padded, positions, valid));
  const auto alone_ids = ids.slice(0, 1, 2).slice(1, 4, 11);
  const auto alone = decoder->logits(decoder->hidden(alone_ids, positions_for(1, 7)));
  CHECK(relative_error(batched.slice(0, 1, 2).slice(1, 4, 11), alone) < 1e-5);
  CHECK(relative_error(batched.slice(0, 0, 1), full.slice(0, 0, 1)) < 1e-5);
}

TEST_CASE("a saved decoder loads back with the same logits", "[model]") {
  TempDir dir("decoder-save");
  make_reference(dir, "llama", "F32");
  auto decoder = model::load_decoder(dir.path().string());
  const auto saved = dir.path() / "saved";
  model::save_decoder(decoder, saved.string());
  auto again = model::load_decoder(saved.string());
  torch::NoGradGuard no_grad;
  const auto ids = torch::tensor(read_raw<std::int64_t>(dir.path() / "ids.i64"), torch::kInt64).view({2, 11});
  CHECK(torch::equal(decoder->logits(decoder->hidden(ids, positions_for(2, 11))),
                     again->logits(again->hidden(ids, positions_for(2, 11)))));
}

TEST_CASE("bad checkpoints are rejected with the file and tensor named", "[model]") {
  TempDir dir("decoder-bad");
  make_reference(dir, "qwen2", "F32");
  const auto weights = dir.path() / "model.safetensors";
  const auto original = quorum::testing::read_text(weights);
  auto expect_error = [&](const std::string& fragment) {
    try {
      model::load_decoder(dir.path().string());
      FAIL("loaded a bad checkpoint");
    } catch (const InputError& e) {
      INFO(e.what());
      CHECK(std::string(e.what()).find(fragment) != std::string::npos);
    }
  };
  SECTION("truncated data") {
    std::ofstream(weights, std::ios::binary | std::ios::trunc) << original.substr(0, original.size() - 100);
    expect_error("fall outside the");
  }
  SECTION("truncated header") {
    std::ofstream(weights, std::ios::binary | std::ios::trunc) << original.substr(0, 5);
    expect_error("truncated");
  }
  SECTION("wrong header length") {
    auto corrupt = original;
    corrupt[6] = '\x7f';
    std::ofstream(weights, std::ios::binary | std::ios::trunc) << corrupt;
    expect_error("bad header");
  }
  SECTION("garbage header") {
    auto corrupt = original;
    corrupt[9] = '#';
    std::ofstream(weights, std::ios::binary | std::ios::trunc) << corrupt;
    expect_error("bad header");
  }
  SECTION("shape that does not fit the config") {
    auto config = quorum::testing::read_text(dir.path() / "config.json");
    config.replace(config.find("\"intermediate_size\": 112"), 24, "\"intermediate_size\": 128");
    std::ofstream(dir.path() / "config.json") << config;
    expect_error("model.layers.0.mlp.gate_proj.weight");
  }
  SECTION("missing tensor") {
    model::SafetensorsFile file(weights.string());
    std::vector<model::TensorData> kept;
    for (const auto& [name, view] : file.tensors())
      if (name != "model.norm.weight")
        kept.push_back({name, view.dtype, view.shape, std::vector<std::uint8_t>(view.data, view.data + view.bytes)});
    model::write_safetensors((dir.path() / "rewritten").string(), kept);
    std::filesystem::rename(dir.path() / "rewritten", weights);
    expect_error("field 'model.norm.weight': missing tensor");
  }
  SECTION("unsupported architecture") {
    auto config = quorum::testing::read_text(dir.path() / "config.json");
    config.replace(config.find("Qwen2ForCausalLM"), 16, "GPT2LMHeadModel0");
    config.replace(config.find("\"qwen2\""), 7, "\"gpt2\" ");
    std::ofstream(dir.path() / "config.json") << config;
    expect_error("unsupported architecture");
  }
}

TEST_CASE("batched generation equals generating each sequence alone, token for token", "[model][generate]") {
  TempDir dir("decoder-generate");
  make_reference(dir, "qwen2", "F32");
  auto decoder = model::load_decoder(dir.path().string());
  model::SamplingSettings settings;
  settings.max_new_tokens = 24;
  settings.temperature = 0.9;
  settings.top_p = 0.95;
  settings.top_k = 40;
  settings.stop_token_ids = {3};
  std::vector<model::GenerationRequest> requests = {
      {{5, 17, 42}, 11}, {{8, 1, 2, 3, 4, 5, 6, 7}, 12}, {{60}, 13}, {{9, 9, 9, 9, 9}, 14}};
  const auto together = model::generate(decoder, requests, settings);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto alone = model::generate(decoder, {requests[i]}, settings);
    CHECK(alone.front().tokens == together[i].tokens);
    CHECK(together[i].prompt_tokens == static_cast<std::int64_t>(requests[i].prompt.size()));
  }
  // Another seed gives another sample; the same seed the same one.
  auto reseeded = requests;
  reseeded[0].seed = 99;
  CHECK(model::generate(decoder, reseeded, settings)[0].tokens != together[0].tokens);
  CHECK(model::generate(decoder, requests, settings)[1].tokens == together[1].tokens);
}

TEST_CASE("greedy generation follows the argmax of the plain forward pass", "[model][generate]") {
  TempDir dir("decoder-greedy");
  make_reference(dir, "llama", "F32");
  auto decoder = model::load_decoder(dir.path().string());
  model::SamplingSettings settings;
  settings.max_new_tokens = 8;
  settings.temperature = 0;
  const auto result = model::generate(decoder, {{{4, 8, 15, 16, 23, 42}, 0}}, settings).front();
  REQUIRE(result.tokens.size() == 8);
  std::vector<std::int64_t> sequence = {4, 8, 15, 16, 23, 42};
  torch::NoGradGuard no_grad;
  for (auto token : result.tokens) {
    const auto ids = torch::tensor(sequence, torch::kInt64).view({1, -1});
    const auto logits = decoder->logits(decoder->hidden(ids, positions_for(1, ids.size(1))));
    CHECK(logits[0][-1].argmax().item<std::int64_t>() == token);
    sequence.push_back(token);
  }
  // A stop check ends the sequence where it says so.
  const auto stopped = model::generate(decoder, {{{4, 8, 15, 16, 23, 42}, 0}}, settings,
                                       [](std::size_t, const std::vector<std::int64_t>& t) { return t.size() == 3; });
  CHECK(stopped.front().tokens.size() == 3);
  CHECK(stopped.front().stopped);
}

TEST_CASE("sampling honours top-k, top-p and temperature", "[model][generate]") {
  const auto logits = torch::tensor({0.0, 3.0, 2.0, 1.0, -5.0});
  model::SamplingSettings settings;
  settings.temperature = 0;
  CHECK(model::sample_token(logits, settings, 1, 0) == 1);
  settings.temperature = 1.0;
  settings.top_k = 2;
  for (int step = 0; step < 200; ++step) {
    const auto token = model::sample_token(logits, settings, 5, step);
    CHECK((token == 1 || token == 2));
  }
  settings.top_k = 0;
  settings.top_p = 0.5;  // the most likely token alone holds over half the mass
  for (int step = 0; step < 50; ++step) CHECK(model::sample_token(logits, settings, 5, step) == 1);
}

TEST_CASE("a reward-head PRM scores each step like the independent reference", "[model][prm]") {
  TempDir dir("prm-head");
  make_reference(dir, "qwen2-prm", "BF16");
  model::PrmSettings settings;
  settings.step_token_id = 5;
  model::ProcessRewardModel prm(dir.path().string(), settings);
  const auto ids = read_raw<std::int64_t>(dir.path() / "ids.i64");
  const auto want = read_raw<float>(dir.path() / "prm.f32");
  std::vector<std::vector<std::int64_t>> sequences = {{ids.begin(), ids.begin() + 11}, {ids.begin() + 11, ids.end()}};
  sequences[1].resize(9);  // a shorter second sequence: right padding must not change its scores
  const auto scores = prm.score(sequences);
  REQUIRE(scores.size() == 2);
  REQUIRE(scores[0].size() == 3);  // step tokens at 3, 7, 10
  REQUIRE(scores[1].size() == 2);  // at 3 and 7
  const std::vector<std::pair<int, int>> at = {{0, 3}, {0, 7}, {0, 10}, {1, 3}, {1, 7}};
  std::size_t k0 = 0, k1 = 0;
  for (auto [row, t] : at) {
    const float got = row == 0 ? scores[0][k0++] : scores[1][k1++];
    CHECK(got == Approx(want[row * 11 + t]).epsilon(1e-4));
    CHECK((got >= 0 && got <= 1));
  }
}

TEST_CASE("a good-token PRM scores P(good) / (P(good) + P(bad)) at each step tag", "[model][prm]") {
  TempDir dir("prm-token");
  make_reference(dir, "llama", "F32");
  model::PrmSettings settings;
  settings.kind = model::PrmSettings::Kind::good_token;
  settings.step_token_id = 5;
  settings.good_token_id = 10;
  settings.bad_token_id = 11;
  model::ProcessRewardModel prm(dir.path().string(), settings);
  const auto ids = read_raw<std::int64_t>(dir.path() / "ids.i64");
  const auto logits = read_raw<float>(dir.path() / "logits.f32");
  const auto scores = prm.score({{ids.begin(), ids.begin() + 11}});
  REQUIRE(scores.front().size() == 3);
  std::size_t k = 0;
  for (int t : {3, 7, 10}) {
    const double good = logits[t * 97 + 10], bad = logits[t * 97 + 11];
    CHECK(scores.front()[k++] == Approx(1.0 / (1.0 + std::exp(bad - good))).epsilon(1e-4));
  }
  settings.good_token_id = 500;
  CHECK_THROWS_AS(model::ProcessRewardModel(dir.path().string(), settings), InputError);
}

namespace {

model::ModelConfig tiny_config(std::int64_t vocab) {
  model::ModelConfig config;
  config.architecture = "Qwen2ForCausalLM";
  config.vocab_size = vocab;
  config.hidden_size = 32;
  config.intermediate_size = 64;
  config.num_layers = 2;
  config.num_heads = 4;
  config.num_kv_heads = 2;
  config.head_dim = 8;
  config.qkv_bias = true;
  config.tie_word_embeddings = true;
  return config;
}

}  // namespace

TEST_CASE("the trainer teaches a tiny policy a counting task, and the schedule warms up then decays", "[model][train]") {
  model::TrainSettings settings;
  settings.steps = 150;
  settings.batch_size = 16;
  settings.learning_rate = 1e-2;
  settings.warmup_steps = 15;
  CHECK(model::learning_rate_at(settings, 0) == Approx(1e-2 / 15));
  CHECK(model::learning_rate_at(settings, 14) == Approx(1e-2));
  CHECK(model::learning_rate_at(settings, 149) < 1e-4);

  // Sequences start anywhere and count up by one (mod 20): after the first token every next
  // token is determined.
  std::vector<model::LanguageExample> examples;
  for (int start = 1; start < 20; ++start) {
    model::LanguageExample example;
    for (int t = 0; t < 12; ++t) {
      example.tokens.push_back(1 + (start + t) % 19);
      example.target.push_back(t > 0);
    }
    examples.push_back(example);
  }
  model::Decoder decoder(tiny_config(21));
  model::initialize(*decoder, 3);
  const double loss = model::train_language_model(decoder, examples, settings);
  CHECK(loss < 0.3);
  model::SamplingSettings greedy;
  greedy.temperature = 0;
  greedy.max_new_tokens = 5;
  CHECK(model::generate(decoder, {{{4, 5, 6}, 0}}, greedy).front().tokens == std::vector<std::int64_t>{7, 8, 9, 10, 11});
}

TEST_CASE("the trainer teaches a reward head which steps are good, and the PRM saves and loads", "[model][train]") {
  // Step token 2 follows each step; a step is good when the token before the step token is odd.
  std::vector<model::StepExample> examples;
  std::uint64_t state = 9;
  for (int i = 0; i < 64; ++i) {
    model::StepExample example;
    for (int step = 0; step < 4; ++step) {
      state = aggregation::splitmix64(state);
      const auto token = static_cast<std::int64_t>(3 + state % 16);
      example.tokens.insert(example.tokens.end(), {static_cast<std::int64_t>(3 + (state >> 8) % 16), token, 2});
      example.labels.push_back(token % 2 == 1 ? 1.0f : 0.0f);
    }
    examples.push_back(example);
  }
  model::Decoder backbone(tiny_config(20));
  model::initialize(*backbone, 4);
  model::PrmSettings prm_settings;
  prm_settings.step_token_id = 2;
  model::ProcessRewardModel prm(backbone, prm_settings, 5);
  model::TrainSettings settings;
  settings.steps = 120;
  settings.batch_size = 16;
  settings.learning_rate = 5e-3;
  settings.warmup_steps = 10;
  CHECK(model::train_reward_model(prm, examples, settings) < 0.2);

  TempDir dir("prm-trained");
  prm.save(dir.path().string());
  model::ProcessRewardModel loaded(dir.path().string(), prm_settings);
  const std::vector<std::vector<std::int64_t>> probe = {{5, 7, 2, 5, 8, 2}};
  const auto scores = loaded.score(probe);
  REQUIRE(scores.front().size() == 2);
  CHECK(scores.front()[0] > 0.8f);  // 7 is odd: good
  CHECK(scores.front()[1] < 0.2f);  // 8 is even: bad
  CHECK(prm.score(probe) == scores);
}

TEST_CASE("step AUC is the Mann-Whitney statistic with ties counted half", "[model][train]") {
  CHECK(model::step_auc({0.1f, 0.4f, 0.35f, 0.8f}, {0, 0, 1, 1}) == Approx(0.75));
  CHECK(model::step_auc({0.5f, 0.5f}, {0, 1}) == Approx(0.5));
  CHECK(model::step_auc({0.9f, 0.1f}, {1, 0}) == Approx(1.0));
  CHECK(std::isnan(model::step_auc({0.3f, 0.4f}, {1, 1})));
}
