// quorum eval policy|prm: task accuracy of a demo policy, step-level AUC of a demo PRM.
#include <cmath>
#include <cstdio>

#include "runtime/cli/command.h"
#include "runtime/model/task_models.h"

namespace quorum::cli {
namespace {

struct EvalArgs {
  std::string policy, prm;
  std::vector<int> levels = {1, 2, 3};
  std::size_t problems = 100, samples = 4;
  std::uint64_t seed = 0;
};

void add_common(CLI::App* cmd, EvalArgs& args) {
  cmd->add_option("--policy", args.policy, "Policy model directory")->required();
  cmd->add_option("--levels", args.levels, "Task levels")->delimiter(',');
  cmd->add_option("--problems", args.problems, "Evaluation problems per level")->capture_default_str();
  cmd->add_option("--samples", args.samples, "Sampled responses per problem (temperature 1)")->capture_default_str();
  cmd->add_option("--seed", args.seed, "Seed of problems and sampling")->capture_default_str();
}

}  // namespace

void register_eval(CLI::App& app, int& exit_code) {
  auto* eval = app.add_subcommand("eval", "Evaluate demo models on the built-in arithmetic task");
  eval->require_subcommand(1);
  auto args = std::make_shared<EvalArgs>();

  auto* policy = eval->add_subcommand("policy", "Greedy and sampled task accuracy per level");
  add_common(policy, *args);
  policy->callback([args, &exit_code] {
    std::printf("| level | problems | greedy accuracy | sampled accuracy |\n|---:|---:|---:|---:|\n");
    for (const auto& score : model::evaluate_task_policy(args->policy, args->levels, args->problems, args->samples, args->seed))
      std::printf("| %d | %zu | %.3f | %.3f |\n", score.level, score.problems, score.greedy_accuracy, score.sampled_accuracy);
    exit_code = 0;
  });

  auto* prm = eval->add_subcommand("prm", "Step-level AUC of a PRM on a policy's sampled responses");
  prm->add_option("--prm", args->prm, "PRM model directory")->required();
  add_common(prm, *args);
  prm->callback([args, &exit_code] {
    const auto score = model::evaluate_task_prm(args->prm, args->policy, args->levels, args->problems, args->samples, args->seed);
    if (std::isnan(score.auc))
      std::printf("step AUC: n/a (the policy's steps were all %s: %zu good, %zu bad)\n",
                  score.good_steps ? "good" : "bad", score.good_steps, score.bad_steps);
    else
      std::printf("step AUC: %.3f (%zu good steps, %zu bad)\n", score.auc, score.good_steps, score.bad_steps);
    exit_code = 0;
  });
}

}  // namespace quorum::cli
