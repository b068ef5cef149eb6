// quorum train policy|prm: quorum's own demo models for the built-in arithmetic task.
#include <iostream>

#include "runtime/cli/command.h"
#include "runtime/model/task_models.h"

namespace quorum::cli {
namespace {

void add_optimizer_options(CLI::App* cmd, model::TrainSettings& train) {
  cmd->add_option("--steps", train.steps, "Optimizer steps")->capture_default_str();
  cmd->add_option("--batch", train.batch_size, "Sequences per step")->capture_default_str();
  cmd->add_option("--lr", train.learning_rate, "Peak learning rate (AdamW)")->capture_default_str();
  cmd->add_option("--warmup", train.warmup_steps, "Linear warmup steps, then cosine decay")->capture_default_str();
  cmd->add_option("--weight-decay", train.weight_decay, "AdamW weight decay")->capture_default_str();
  cmd->add_option("--seed", train.seed, "Seed of problems, initialisation and batches")->capture_default_str();
}

void print_line(const std::string& line) { std::cerr << "\r" << line << "    " << std::flush; }

}  // namespace

void register_train(CLI::App& app, int& exit_code) {
  auto* train = app.add_subcommand("train", "Train quorum's own policies and PRMs on the built-in arithmetic task");
  train->require_subcommand(1);

  auto policy = std::make_shared<model::PolicyTraining>();
  auto policy_out = std::make_shared<std::string>();
  auto* p = train->add_subcommand("policy", "Train a policy on reference solutions (writes a Hugging Face model directory)");
  p->add_option("--out,-o", *policy_out, "Output model directory")->required();
  p->add_option("--size", policy->size, "small, medium or large")->capture_default_str();
  p->add_option("--levels", policy->levels, "Task levels to train on")->delimiter(',');
  p->add_option("--problems", policy->problems, "Problems per level")->capture_default_str();
  p->add_option("--vocab", policy->vocab_size, "Tokenizer vocabulary size")->capture_default_str();
  add_optimizer_options(p, policy->train);
  p->callback([policy, policy_out, &exit_code] {
    const double loss = model::train_task_policy(*policy, *policy_out, print_line);
    std::cerr << "\ntrain policy: final loss " << loss << "; wrote " << *policy_out << "\n";
    exit_code = 0;
  });

  auto prm = std::make_shared<model::PrmTraining>();
  auto prm_out = std::make_shared<std::string>();
  auto* r = train->add_subcommand("prm", "Train a PRM on a policy's sampled responses, labelled step by step by the checker");
  r->add_option("--policy", prm->policy, "The policy model directory whose samples train the PRM")->required();
  r->add_option("--out,-o", *prm_out, "Output model directory")->required();
  r->add_option("--size", prm->size, "policy (start from its backbone), small, medium or large")->capture_default_str();
  r->add_option("--levels", prm->levels, "Task levels to sample")->delimiter(',');
  r->add_option("--problems", prm->problems, "Problems per level")->capture_default_str();
  r->add_option("--samples", prm->samples, "Responses sampled per problem")->capture_default_str();
  r->add_option("--temperature", prm->temperature, "Sampling temperature")->capture_default_str();
  add_optimizer_options(r, prm->train);
  r->callback([prm, prm_out, &exit_code] {
    const double loss = model::train_task_prm(*prm, *prm_out, print_line);
    std::cerr << "\ntrain prm: final loss " << loss << "; wrote " << *prm_out << "\n";
    exit_code = 0;
  });
}

}  // namespace quorum::cli
