// quorum's own demo models for the built-in arithmetic task: a tokenizer trained on task text,
// policies trained on reference solutions, and PRMs trained on a policy's own sampled responses
// labelled step by step by the exact checker. Every model directory is a Hugging Face layout
// (config.json, model.safetensors, tokenizer.json) plus quorum.json, which records the model's
// role, its special tokens and how it was trained.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/model/train.h"

namespace quorum::model {

inline constexpr const char* kEndOfText = "<|endoftext|>";
inline constexpr const char* kStepToken = "<|step|>";
// task::prompt_for as a template for the sweep's samplers and verifiers ("{problem}" replaced).
inline constexpr const char* kPromptTemplate = "Problem: {problem}\nSolution:\n";

// The shapes of the demo models by name: "small", "medium", "large".
ModelConfig demo_shape(const std::string& size, std::int64_t vocab_size);

struct PolicyTraining {
  std::string size = "small";
  std::vector<int> levels = {1, 2, 3};
  std::size_t problems = 20000;  // per level
  std::size_t vocab_size = 320;
  TrainSettings train;
};

struct PrmTraining {
  std::string policy;            // directory of the policy whose samples train the PRM
  std::string size = "policy";   // "policy": start from the policy's backbone; else a demo shape
  std::vector<int> levels = {1, 2, 3};
  std::size_t problems = 200;    // per level
  std::size_t samples = 8;       // responses per problem
  double temperature = 1.0;
  std::int64_t max_new_tokens = 96;
  TrainSettings train;
};

// Trains and writes a policy to directory; returns the final training loss.
using TrainLog = std::function<void(const std::string& line)>;
double train_task_policy(const PolicyTraining& options, const std::string& directory, const TrainLog& log);
double train_task_prm(const PrmTraining& options, const std::string& directory, const TrainLog& log);

// Task accuracy of a policy per level on evaluation problems no training run draws: greedy, and
// with `samples` responses per problem at temperature 1.
struct PolicyScore {
  int level;
  std::size_t problems;
  double greedy_accuracy, sampled_accuracy;
};
std::vector<PolicyScore> evaluate_task_policy(const std::string& policy, const std::vector<int>& levels,
                                              std::size_t problems, std::size_t samples, std::uint64_t seed);

// Step-level AUC of a PRM on a policy's sampled responses, steps labelled by the checker.
struct PrmScore {
  double auc;
  std::size_t good_steps, bad_steps;
};
PrmScore evaluate_task_prm(const std::string& prm, const std::string& policy, const std::vector<int>& levels,
                           std::size_t problems, std::size_t samples, std::uint64_t seed);

// Area under the ROC curve of scores against 0/1 labels (ties count half); NaN without both kinds.
double step_auc(const std::vector<float>& scores, const std::vector<float>& labels);

}  // namespace quorum::model
