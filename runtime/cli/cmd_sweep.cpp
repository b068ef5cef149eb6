// quorum status | report | export: a sweep's store, running or finished (`quorum run` is in
// cmd_bus.cpp, beside the coordinator and worker it shares its options with).
#include <iostream>

#include "runtime/cli/command.h"
#include "runtime/common/error.h"
#include "runtime/config/sweep.h"
#include "runtime/store/store.h"
#include "runtime/sweep/plan.h"
#include "runtime/sweep/results.h"

namespace quorum::cli {
namespace {

void print_status(const std::string& path) {
  store::Store store(path, true);
  const auto description = sweep::stored_description(store);
  std::cout << "sweep " << description.at("name").get<std::string>() << " (" << path << ")\n";
  std::int64_t all = 0, done = 0;
  for (const auto& [kind, counts] : store.unit_counts()) {
    std::cout << "  " << kind << " units: " << counts.done << "/" << counts.total() << " done, " << counts.leased
              << " leased, " << counts.pending << " pending\n";
    all += counts.total(), done += counts.done;
  }
  std::cout << "  responses stored: " << store.response_count() << ", step scores stored: " << store.score_count() << "\n";
  for (const char* split : {sweep::kEvaluation, sweep::kCalibration}) {
    const auto problems = store.problems(split).size();
    if (problems == 0) continue;
    const auto dataset = sweep::stored_dataset(store, description, split);
    std::cout << "  " << split << ": " << problems << " problems; complete (sampled and scored) per policy:";
    for (const auto& policy : description.at("policies")) {
      std::size_t complete = 0;
      for (const auto& record : dataset.problems) complete += record.policy == policy.get<std::string>();
      std::cout << " " << policy.get<std::string>() << " " << complete;
    }
    std::cout << "\n";
  }
  std::cout << "  state: " << (done == all ? "finished" : "not finished") << "\n";
}

}  // namespace

void register_sweep(CLI::App& app, int& exit_code) {
  auto status_store = std::make_shared<std::string>();
  auto* status = app.add_subcommand("status", "Progress of a running or finished sweep's store");
  status->add_option("store", *status_store, "The sweep's SQLite store")->required();
  status->callback([=, &exit_code] {
    print_status(*status_store);
    exit_code = 0;
  });

  auto report_store = std::make_shared<std::string>();
  auto report_out = std::make_shared<std::string>();
  auto* report = app.add_subcommand("report", "Analyse a store (running or finished) and write its report");
  report->add_option("store", *report_store, "The sweep's SQLite store")->required();
  report->add_option("--out,-o", *report_out, "Report directory (default: the sweep's)");
  report->callback([=, &exit_code] {
    store::Store store(*report_store);
    const auto summary = sweep::write_report(store, *report_out);
    std::cerr << "report: " << summary.evaluation_problems << " complete (policy, problem) pairs evaluated";
    if (summary.calibration_problems) std::cerr << ", " << summary.calibration_problems << " for calibration";
    std::cerr << "\n";
    std::cout << "report: " << summary.directory << "/summary.md\n";
    exit_code = 0;
  });

  auto export_store = std::make_shared<std::string>();
  auto export_out = std::make_shared<std::string>();
  auto export_split = std::make_shared<std::string>(sweep::kEvaluation);
  auto* exp = app.add_subcommand("export", "Write a store's responses and step scores as JSONL for quorum analyze");
  exp->add_option("store", *export_store, "The sweep's SQLite store")->required();
  exp->add_option("--out,-o", *export_out, "Output JSONL file")->required();
  exp->add_option("--split", *export_split, "evaluation or calibration")
      ->check(CLI::IsMember({sweep::kEvaluation, sweep::kCalibration}))
      ->capture_default_str();
  exp->callback([=, &exit_code] {
    store::Store store(*export_store, true);
    const auto rows = sweep::export_jsonl(store, *export_split, *export_out);
    std::cerr << "export: " << rows << " (policy, problem) rows written to " << *export_out << "\n";
    exit_code = 0;
  });
}

}  // namespace quorum::cli
