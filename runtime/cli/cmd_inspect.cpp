// quorum inspect MODEL_DIR: what quorum sees in a checkpoint, its logits for a prompt and a
// PRM's step scores (docs/models.md, "Inspecting a checkpoint").
#include <iostream>

#include "runtime/cli/command.h"
#include "runtime/model/inspect.h"

namespace quorum::cli {

void register_inspect(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("inspect", "What quorum sees in a model directory; logits for a prompt, a PRM's step scores");
  auto request = std::make_shared<model::InspectRequest>();
  auto text = std::make_shared<std::string>();
  auto ids = std::make_shared<std::vector<std::int64_t>>();
  auto problem = std::make_shared<std::string>();
  cmd->add_option("directory", request->directory, "Model directory (config.json, safetensors, tokenizer.json)")->required();
  auto* text_option = cmd->add_option("--text", *text, "A prompt as text (the tokenizer adds its special tokens); prints the last position's logits");
  auto* ids_option = cmd->add_option("--ids", *ids, "A prompt as token ids, e.g. 1,2,3")->delimiter(',');
  text_option->excludes(ids_option);
  auto* problem_option = cmd->add_option("--problem", *problem, "A PRM's problem text");
  cmd->add_option("--step", request->steps, "A step of the response to score (repeat in order)")->needs(problem_option);
  cmd->add_option("--kind", request->prm.kind, "PRM kind: reward_head, value_head, good_token, chat_turn or outcome_head")
      ->check(CLI::IsMember({"reward_head", "value_head", "good_token", "chat_turn", "outcome_head"}));
  cmd->add_option("--step-token", request->prm.step_token, "The PRM's step token (or tag)");
  cmd->add_option("--good-token", request->prm.good_token, "good_token / chat_turn: the good token");
  cmd->add_option("--bad-token", request->prm.bad_token, "good_token / chat_turn: the bad token");
  cmd->add_option("--prompt", request->prm.prompt, "The PRM's prompt ({problem} replaced) or 'chat'");
  cmd->add_option("--system", request->prm.system, "System message (with --prompt chat)");
  cmd->add_option("--device", request->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--dtype", request->dtype, "auto, float32, bfloat16 or float16")
      ->check(CLI::IsMember({"", "auto", "float32", "bfloat16", "float16"}));
  cmd->add_flag("--json", request->json, "One JSON object (with every logit)");
  cmd->callback([=, &exit_code] {
    if (!text->empty() || text_option->count()) request->text = *text;
    if (ids_option->count()) request->ids = *ids;
    if (problem_option->count()) request->problem = *problem;
    if (request->dtype == "auto") request->dtype.clear();
    std::cout << model::inspect(*request);
    exit_code = 0;
  });
}

}  // namespace quorum::cli
