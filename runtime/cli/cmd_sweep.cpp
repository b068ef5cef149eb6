// quorum status | report | export: a sweep's store, running or finished (`quorum run` is in
// cmd_bus.cpp, beside the coordinator and worker it shares its options with).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

#include "runtime/cli/command.h"
#include "runtime/cluster/slurm.h"
#include "runtime/common/error.h"
#include "runtime/config/sweep.h"
#include "runtime/store/store.h"
#include "runtime/sweep/plan.h"
#include "runtime/sweep/results.h"

namespace quorum::cli {
namespace {

void print_status(const std::string& path) {
  store::Store store(path, true);
  // Damage is reported before anything is read from the tables it may have garbled.
  const auto damage = store.quick_check();
  if (!damage.empty()) {
    for (const auto& line : damage) std::cout << "  damage: " << line << "\n";
    throw InputError(path, 0, "", "the store is damaged: SQLite's quick_check found " + std::to_string(damage.size()) +
                                      " problem(s), listed above");
  }
  const auto description = sweep::stored_description(store);
  std::cout << "sweep " << description.at("name").get<std::string>() << " (" << path << ")\n";
  std::cout << "  integrity: ok (SQLite's quick_check)\n";
  const auto by_kind = store.unit_counts();
  for (const auto& [kind, counts] : by_kind)
    std::cout << "  " << kind << " units: " << counts.done << "/" << counts.total() << " done, " << counts.leased
              << " leased, " << counts.pending << " pending\n";
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
  const auto units = store::sum(by_kind);
  std::cout << "  state: " << (units.done == units.total() ? "finished" : "not finished") << "\n";
  std::cout << cluster::status_text(path);
}

void print_report_summary(const sweep::ReportSummary& summary) {
  std::cerr << "report: " << summary.evaluation_problems << " complete (policy, problem) pairs evaluated";
  if (summary.calibration_problems) std::cerr << ", " << summary.calibration_problems << " for calibration";
  std::cerr << "\n";
  std::cout << "report: " << summary.directory << "/report.html\n";
}

// Rewrites the report whenever units have finished since the last look, every `interval`
// seconds, until the sweep has finished. An analysis that cannot run yet (too few problems
// complete for the folds, say) waits for more; once the sweep has finished it is an error.
void watch_report(const std::string& path, const std::string& out, int interval) {
  store::Store store(path);
  std::int64_t last_done = -1;
  for (;;) {
    const auto done = store.unit_totals().done;
    if (done != last_done) {
      last_done = done;
      const auto started = std::chrono::steady_clock::now();
      try {
        const auto summary = sweep::write_report(store, out, interval);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::fprintf(stderr, "report: %lld/%lld units done, %zu complete (policy, problem) pairs%s; %s written in %.1f s\n",
                     static_cast<long long>(summary.units_done), static_cast<long long>(summary.units_total),
                     summary.evaluation_problems, summary.analysed ? "" : " (waiting for the first)",
                     (std::filesystem::path(summary.directory) / "report.html").c_str(), seconds);
        if (summary.units_done == summary.units_total) {
          std::cout << "report: " << summary.directory << "/report.html\n";
          return;
        }
      } catch (const InputError& e) {
        const auto units = store.unit_totals();
        if (units.done == units.total()) throw;
        std::fprintf(stderr, "report: not yet: %s\n", e.what());
      }
    }
    std::this_thread::sleep_for(std::chrono::seconds(interval));
  }
}

}  // namespace

std::string store_of(const std::string& store_or_config) {
  const auto extension = std::filesystem::path(store_or_config).extension();
  return extension == ".yaml" || extension == ".yml" ? config::load_sweep(store_or_config).store : store_or_config;
}

void register_sweep(CLI::App& app, int& exit_code) {
  auto status_store = std::make_shared<std::string>();
  auto* status = app.add_subcommand("status", "Progress of a running or finished sweep, and its Slurm jobs");
  status->add_option("store", *status_store, "The sweep's SQLite store (or its YAML file)")->required();
  status->callback([=, &exit_code] {
    print_status(store_of(*status_store));
    exit_code = 0;
  });

  auto report_store = std::make_shared<std::string>();
  auto report_out = std::make_shared<std::string>();
  auto report_watch = std::make_shared<bool>(false);
  auto report_interval = std::make_shared<int>(10);
  auto* report = app.add_subcommand("report", "Analyse a store (running or finished) and write its report");
  report->add_option("store", *report_store, "The sweep's SQLite store")->required();
  report->add_option("--out,-o", *report_out, "Report directory (default: the sweep's)");
  report->add_flag("--watch,-w", *report_watch,
                   "Rewrite the report as units finish, until the sweep has finished; report.html reloads itself");
  report->add_option("--interval", *report_interval, "Seconds between looks at the store with --watch")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  report->callback([=, &exit_code] {
    if (*report_watch) {
      watch_report(*report_store, *report_out, *report_interval);
    } else {
      store::Store store(*report_store);
      print_report_summary(sweep::write_report(store, *report_out));
    }
    exit_code = 0;
  });

  auto export_store = std::make_shared<std::string>();
  auto export_out = std::make_shared<std::string>();
  auto export_split = std::make_shared<std::string>(sweep::kEvaluation);
  auto* exp = app.add_subcommand("export", "Write a store's responses and step scores as JSONL for quorum analyze");
  auto export_format = std::make_shared<std::string>("quorum");
  auto export_prm = std::make_shared<std::string>();
  exp->add_option("store", *export_store, "The sweep's SQLite store")->required();
  exp->add_option("--format", *export_format, "quorum (every PRM's scores) or sal (search-and-learn's rows, one PRM)")
      ->check(CLI::IsMember({"quorum", "sal"}))
      ->capture_default_str();
  exp->add_option("--prm", *export_prm, "--format sal: the PRM whose scores the rows hold (default: the only one)");
  auto export_search = std::make_shared<std::string>();
  exp->add_option("--search", *export_search, "A search's leaves instead of the sampled responses: its label, POLICY~METHOD-nN-mM~PRM (a wrong one is answered with the sweep's labels)");
  exp->add_option("--out,-o", *export_out, "Output JSONL file")->required();
  exp->add_option("--split", *export_split, "evaluation or calibration")
      ->check(CLI::IsMember({sweep::kEvaluation, sweep::kCalibration}))
      ->capture_default_str();
  exp->callback([=, &exit_code] {
    if (!export_prm->empty() && *export_format != "sal")
      throw InputError("", 0, "--prm", "only --format sal writes one PRM's scores; --format quorum writes every PRM's");
    store::Store store(*export_store, true);
    const auto rows = *export_format == "sal"
                          ? sweep::export_sal(store, *export_split, *export_prm, *export_out, *export_search)
                          : sweep::export_jsonl(store, *export_split, *export_out, *export_search);
    std::cerr << "export: " << rows << " (policy, problem) rows written to " << *export_out << "\n";
    exit_code = 0;
  });
}

}  // namespace quorum::cli
