// quorum: test-time-scaling experiments. One executable, one subcommand per cmd_*.cpp.
#include <iostream>

#include "runtime/cli/command.h"
#include "runtime/cli/fatal_signals.h"
#include "runtime/common/error.h"

int main(int argc, char** argv) {
  quorum::cli::report_fatal_signals();
  CLI::App app{"quorum: test-time scaling experiments (sampling, PRM scoring, aggregation)"};
  app.require_subcommand(1);
  int exit_code = 0;
  quorum::cli::register_equiv(app, exit_code);
  quorum::cli::register_grade(app, exit_code);
  quorum::cli::register_analyze(app, exit_code);
  quorum::cli::register_synth(app, exit_code);
  quorum::cli::register_task(app, exit_code);
  quorum::cli::register_train(app, exit_code);
  quorum::cli::register_eval(app, exit_code);
  quorum::cli::register_sweep(app, exit_code);
  quorum::cli::register_bus(app, exit_code);
  quorum::cli::register_cluster(app, exit_code);
  quorum::cli::register_inspect(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const quorum::InputError& e) {
    std::cerr << "quorum: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "quorum: error: " << e.what() << "\n";
    return 3;
  }
  return exit_code;
}
