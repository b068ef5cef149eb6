// Each `quorum` subcommand lives in its own cmd_*.cpp and registers itself on the app.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace quorum::cli {

// Each register_* adds one subcommand; its callback runs the command and sets the process
// exit code through the returned reference.
void register_equiv(CLI::App& app, int& exit_code);
void register_grade(CLI::App& app, int& exit_code);
void register_analyze(CLI::App& app, int& exit_code);
void register_synth(CLI::App& app, int& exit_code);
void register_task(CLI::App& app, int& exit_code);
void register_train(CLI::App& app, int& exit_code);
void register_eval(CLI::App& app, int& exit_code);
void register_sweep(CLI::App& app, int& exit_code);
void register_bus(CLI::App& app, int& exit_code);
void register_cluster(CLI::App& app, int& exit_code);
void register_inspect(CLI::App& app, int& exit_code);

// The store a command acts on, given the store itself or the sweep's YAML file.
std::string store_of(const std::string& store_or_config);

}  // namespace quorum::cli
