// quorum synth: a synthetic scored pool (for the demo, tests and benchmarks) as interchange JSONL.
#include <iostream>

#include "runtime/cli/command.h"
#include "runtime/synth/synthetic_pool.h"

namespace quorum::cli {

void register_synth(CLI::App& app, int& exit_code) {
  auto spec = std::make_shared<synth::SyntheticSpec>();
  auto out = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("synth", "Write a synthetic pool of PRM-scored responses (interchange JSONL)");
  cmd->add_option("--out,-o", *out, "Output JSONL file")->required();
  cmd->add_option("--problems", spec->problems, "Problems")->capture_default_str();
  cmd->add_option("--responses", spec->responses, "Responses per problem and policy")->capture_default_str();
  cmd->add_option("--policies", spec->policies, "Policies (1-3)")->capture_default_str();
  cmd->add_option("--prms", spec->prms, "PRMs (1-4)")->capture_default_str();
  cmd->add_option("--seed", spec->seed, "Seed")->capture_default_str();
  cmd->callback([spec, out, &exit_code] {
    synth::write_jsonl(synth::synthetic_dataset(*spec), *out);
    std::cerr << "synth: wrote " << *out << "\n";
    exit_code = 0;
  });
}

}  // namespace quorum::cli
