#include "runtime/model/task_models.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "runtime/common/error.h"
#include "runtime/model/generate.h"
#include "runtime/model/loading.h"
#include "runtime/task/arithmetic.h"
#include "runtime/tokenizer/tokenizer.h"
#include "runtime/tokenizer/train.h"

namespace quorum::model {
namespace {

std::vector<task::Problem> problems_of(const std::vector<int>& levels, std::uint64_t seed, std::size_t per_level) {
  std::vector<task::Problem> problems;
  for (int level : levels) {
    if (level < task::kMinLevel || level > task::kMaxLevel)
      throw InputError("", 0, "--levels", "level " + std::to_string(level) + " is not between 1 and 4");
    const auto set = task::generate_set(level, seed, per_level);
    problems.insert(problems.end(), set.begin(), set.end());
  }
  return problems;
}

std::int64_t token_id(const tokenizer::Tokenizer& tokens, const char* content) {
  const auto id = tokens.added_token_id(content);
  if (!id) throw InputError("", 0, "tokenizer", std::string("the tokenizer lacks the token ") + content);
  return *id;
}

std::vector<std::int64_t> encode(const tokenizer::Tokenizer& tokens, const std::string& text) {
  const auto ids = tokens.encode(text);
  return {ids.begin(), ids.end()};
}

// A line of progress with rate and time left, handed to the caller's log.
TrainProgress progress_line(const TrainLog& log, const std::string& what) {
  const auto start = std::chrono::steady_clock::now();
  return [log, what, start](std::int64_t step, std::int64_t steps, double loss) {
    if (!log) return;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double rate = step / std::max(elapsed, 1e-9);
    char line[256];
    std::snprintf(line, sizeof line, "%s: step %ld/%ld  loss %.4f  %.1f steps/s  ETA %.0fs", what.c_str(),
                  static_cast<long>(step), static_cast<long>(steps), loss, rate, (steps - step) / std::max(rate, 1e-9));
    log(line);
  };
}

void write_manifest(const std::string& directory, const nlohmann::json& manifest) {
  std::ofstream(std::filesystem::path(directory) / "quorum.json") << manifest.dump(2) << "\n";
}

nlohmann::json train_settings_json(const TrainSettings& t) {
  return {{"steps", t.steps}, {"batch_size", t.batch_size}, {"learning_rate", t.learning_rate},
          {"warmup_steps", t.warmup_steps}, {"weight_decay", t.weight_decay}, {"seed", t.seed}};
}


// The policy's own responses to problems, each step labelled by the checker (good before the
// first error, bad from it on) and laid out as PRM input: prompt, then each step followed by
// the step token.
struct SampledSteps {
  std::vector<StepExample> examples;
  std::vector<std::string> prompts;                 // per example: the prompt text
  std::vector<std::vector<std::string>> steps;      // per example: its step texts
  std::size_t good = 0, bad = 0;
  std::size_t responses = 0, correct_answers = 0;
};

SampledSteps sample_labelled_steps(Decoder& policy, const tokenizer::Tokenizer& tokens,
                                   const std::vector<task::Problem>& problems, std::size_t samples,
                                   double temperature, std::int64_t max_new_tokens, std::uint64_t seed,
                                   const TrainLog& log) {
  const auto eos = token_id(tokens, kEndOfText);
  const auto step = token_id(tokens, kStepToken);
  SamplingSettings sampling;
  sampling.temperature = temperature;
  sampling.max_new_tokens = max_new_tokens;
  sampling.stop_token_ids = {eos};
  sampling.pad_token_id = eos;
  SampledSteps sampled;
  const std::size_t chunk = 16;
  for (std::size_t first = 0; first < problems.size(); first += chunk) {
    std::vector<GenerationRequest> requests;
    std::vector<std::size_t> problem_of;
    for (std::size_t j = first; j < std::min(problems.size(), first + chunk); ++j)
      for (std::size_t s = 0; s < samples; ++s) {
        requests.push_back({encode(tokens, task::prompt_for(problems[j])), seed * 1000003 + j * 1009 + s});
        problem_of.push_back(j);
      }
    const auto results = generate(policy, requests, sampling);
    for (std::size_t k = 0; k < results.size(); ++k) {
      const auto& problem = problems[problem_of[k]];
      const std::vector<tokenizer::TokenId> ids(results[k].tokens.begin(), results[k].tokens.end());
      const auto text = tokens.decode(ids);
      const auto checked = task::check(problem, text);
      ++sampled.responses;
      sampled.correct_answers += checked.answer_correct;
      if (checked.steps.empty()) continue;
      StepExample example;
      sampled.prompts.push_back(task::prompt_for(problem));
      auto& step_texts = sampled.steps.emplace_back();
      for (std::size_t i = 0; i < checked.steps.size(); ++i) {
        const auto& span = checked.steps[i].span;
        step_texts.push_back(text.substr(span.begin, span.size));
        const bool is_good = checked.first_error < 0 || static_cast<std::ptrdiff_t>(i) < checked.first_error;
        example.labels.push_back(is_good ? 1.0f : 0.0f);
        (is_good ? sampled.good : sampled.bad) += 1;
      }
      example.tokens = step_sequence(tokens, sampled.prompts.back(), step_texts, step);
      sampled.examples.push_back(std::move(example));
    }
    if (log) log("sample responses: problems " + std::to_string(std::min(problems.size(), first + chunk)) + "/" +
                 std::to_string(problems.size()) + ", steps labelled good " + std::to_string(sampled.good) + ", bad " +
                 std::to_string(sampled.bad));
  }
  return sampled;
}

// Evaluation problems come from a seed stream that training never uses.
constexpr std::uint64_t kEvaluationStream = 0x4556414cULL;
// Room for the longest level-4 solution (seven lines of up to four-digit numbers).
constexpr std::int64_t kEvaluationMaxTokens = 160;

tokenizer::Tokenizer model_tokenizer(const std::string& directory) {
  return tokenizer::Tokenizer::load((std::filesystem::path(directory) / "tokenizer.json").string());
}

// quorum train and quorum eval run their models on the CPU in float32, and say so.
Decoder load_on_cpu(const char* role, const std::string& directory) {
  auto decoder = load_decoder(directory);
  log_placement(role, directory, decoder);
  return decoder;
}

}  // namespace

ModelConfig demo_shape(const std::string& size, std::int64_t vocab_size) {
  ModelConfig config;
  config.architecture = "Qwen2ForCausalLM";
  config.vocab_size = vocab_size;
  config.qkv_bias = true;
  config.tie_word_embeddings = true;
  config.max_position_embeddings = 512;
  if (size == "small") {
    config.hidden_size = 64, config.num_layers = 2, config.num_heads = 4, config.num_kv_heads = 2, config.intermediate_size = 192;
  } else if (size == "medium") {
    config.hidden_size = 128, config.num_layers = 3, config.num_heads = 4, config.num_kv_heads = 2, config.intermediate_size = 384;
  } else if (size == "large") {
    config.hidden_size = 192, config.num_layers = 4, config.num_heads = 6, config.num_kv_heads = 2, config.intermediate_size = 512;
  } else {
    throw InputError("", 0, "--size", "unknown size '" + size + "' (small, medium or large)");
  }
  config.head_dim = config.hidden_size / config.num_heads;
  return config;
}

double train_task_policy(const PolicyTraining& options, const std::string& directory, const TrainLog& log) {
  const auto problems = problems_of(options.levels, options.train.seed, options.problems);
  std::vector<std::string> corpus;
  for (const auto& p : problems) corpus.push_back(task::prompt_for(p) + task::solution_text(p));
  const auto tokens = tokenizer::train_bpe(corpus, options.vocab_size, {kEndOfText, kStepToken});
  const auto eos = token_id(tokens, kEndOfText);

  std::vector<LanguageExample> examples;
  for (const auto& p : problems) {
    LanguageExample example;
    example.tokens = encode(tokens, task::prompt_for(p));
    example.target.assign(example.tokens.size(), 0);
    auto solution = encode(tokens, task::solution_text(p));
    solution.push_back(eos);
    example.tokens.insert(example.tokens.end(), solution.begin(), solution.end());
    example.target.resize(example.tokens.size(), 1);
    examples.push_back(std::move(example));
  }
  auto config = demo_shape(options.size, static_cast<std::int64_t>(tokens.vocab_size()));
  config.eos_token_ids = {eos};
  Decoder decoder(config);
  initialize(*decoder, options.train.seed);
  log_placement("policy", directory, decoder);
  auto train = options.train;
  train.pad_token_id = eos;
  const double loss = train_language_model(decoder, examples, train, progress_line(log, "train policy"));
  save_decoder(decoder, directory);
  tokens.save((std::filesystem::path(directory) / "tokenizer.json").string());
  nlohmann::json levels = options.levels;
  write_manifest(directory, {{"role", "policy"}, {"eos_token", kEndOfText}, {"step_token", kStepToken},
                             {"prompt", kPromptTemplate},
                             {"training", {{"size", options.size}, {"levels", levels}, {"problems_per_level", options.problems},
                                           {"vocab_size", options.vocab_size}, {"optimizer", train_settings_json(options.train)},
                                           {"final_loss", loss}}}});
  return loss;
}

double train_task_prm(const PrmTraining& options, const std::string& directory, const TrainLog& log) {
  auto policy = load_on_cpu("policy", options.policy);
  const auto tokens = tokenizer::Tokenizer::load((std::filesystem::path(options.policy) / "tokenizer.json").string());
  const auto eos = token_id(tokens, kEndOfText);
  const auto step = token_id(tokens, kStepToken);
  // Problems the policy was not trained on: another seed stream.
  const auto problems = problems_of(options.levels, options.train.seed ^ 0x5052'4d00ULL, options.problems);

  // Built before sampling, so that its placement is logged before the progress lines (sampling
  // draws no numbers from torch's generator, which initialize and the head seed).
  PrmSettings settings;
  settings.step_token_id = step;
  settings.pad_token_id = eos;
  Decoder backbone = options.size == "policy" ? load_decoder(options.policy)
                                              : Decoder(demo_shape(options.size, policy->config().vocab_size));
  if (options.size != "policy") initialize(*backbone, options.train.seed);
  ProcessRewardModel prm(backbone, settings, options.train.seed);
  log_placement("prm", directory, prm.decoder());

  const auto sampled = sample_labelled_steps(policy, tokens, problems, options.samples, options.temperature,
                                             options.max_new_tokens, options.train.seed, log);
  const auto& examples = sampled.examples;
  const auto good = sampled.good, bad = sampled.bad;
  if (examples.empty()) throw InputError(options.policy, 0, "", "the policy produced no steps to learn from");

  auto train = options.train;
  train.pad_token_id = eos;
  const double loss = train_reward_model(prm, examples, train, progress_line(log, "train prm"));
  prm.save(directory);
  tokens.save((std::filesystem::path(directory) / "tokenizer.json").string());
  nlohmann::json levels = options.levels;
  write_manifest(directory, {{"role", "prm"}, {"kind", "reward_head"}, {"step_token", kStepToken}, {"eos_token", kEndOfText},
                             {"prompt", kPromptTemplate},
                             {"training", {{"policy", options.policy}, {"size", options.size}, {"levels", levels},
                                           {"problems_per_level", options.problems}, {"samples", options.samples},
                                           {"temperature", options.temperature}, {"good_steps", good}, {"bad_steps", bad},
                                           {"optimizer", train_settings_json(options.train)}, {"final_loss", loss}}}});
  return loss;
}

double step_auc(const std::vector<float>& scores, const std::vector<float>& labels) {
  std::vector<std::size_t> order(scores.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
  // Mann-Whitney: the sum of the positives' ranks, tied scores sharing their mean rank.
  double positive_ranks = 0, positives = 0;
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
    const double rank = (i + 1 + j) / 2.0;
    for (std::size_t k = i; k < j; ++k)
      if (labels[order[k]] > 0.5f) positive_ranks += rank, positives += 1;
    i = j;
  }
  const double negatives = static_cast<double>(scores.size()) - positives;
  if (positives == 0 || negatives == 0) return NAN;
  return (positive_ranks - positives * (positives + 1) / 2) / (positives * negatives);
}

std::vector<PolicyScore> evaluate_task_policy(const std::string& policy_dir, const std::vector<int>& levels,
                                              std::size_t problems, std::size_t samples, std::uint64_t seed) {
  auto policy = load_on_cpu("policy", policy_dir);
  const auto tokens = model_tokenizer(policy_dir);
  std::vector<PolicyScore> scores;
  for (int level : levels) {
    const auto set = problems_of({level}, seed ^ kEvaluationStream, problems);
    PolicyScore score{level, set.size(), 0, 0};
    const auto greedy = sample_labelled_steps(policy, tokens, set, 1, 0.0, kEvaluationMaxTokens, seed, {});
    score.greedy_accuracy = static_cast<double>(greedy.correct_answers) / greedy.responses;
    const auto sampled = sample_labelled_steps(policy, tokens, set, samples, 1.0, kEvaluationMaxTokens, seed, {});
    score.sampled_accuracy = static_cast<double>(sampled.correct_answers) / sampled.responses;
    scores.push_back(score);
  }
  return scores;
}

PrmScore evaluate_task_prm(const std::string& prm_dir, const std::string& policy_dir, const std::vector<int>& levels,
                           std::size_t problems, std::size_t samples, std::uint64_t seed) {
  auto policy = load_on_cpu("policy", policy_dir);
  const auto tokens = model_tokenizer(policy_dir);
  // The PRM reads the policy's text through its own tokenizer, as a sweep's verifier does.
  const auto prm_tokens = model_tokenizer(prm_dir);
  PrmSettings settings;
  settings.step_token_id = token_id(prm_tokens, kStepToken);
  settings.pad_token_id = token_id(prm_tokens, kEndOfText);
  ProcessRewardModel prm(prm_dir, settings);
  log_placement("prm", prm_dir, prm.decoder());
  const auto sampled =
      sample_labelled_steps(policy, tokens, problems_of(levels, seed ^ kEvaluationStream, problems), samples, 1.0, kEvaluationMaxTokens, seed, {});
  std::vector<std::vector<std::int64_t>> sequences;
  for (std::size_t e = 0; e < sampled.examples.size(); ++e)
    sequences.push_back(step_sequence(prm_tokens, sampled.prompts[e], sampled.steps[e], settings.step_token_id));
  std::vector<float> all_scores, all_labels;
  // All at once: score() groups the sequences by length within its budget.
  const auto scores = prm.score(sequences);
  for (std::size_t i = 0; i < scores.size(); ++i) {
    const auto& labels = sampled.examples[i].labels;
    all_scores.insert(all_scores.end(), scores[i].begin(), scores[i].end());
    all_labels.insert(all_labels.end(), labels.begin(), labels.end());
  }
  return {step_auc(all_scores, all_labels), sampled.good, sampled.bad};
}

}  // namespace quorum::model
