// Benchmark of the aggregation engine: the full sweep (all strategies, 5 reductions, 4 PRMs,
// budgets 1..256, 200 draws, calibration by cross-fitting, bootstrap intervals) over a synthetic
// pool of 500 problems x 256 responses, against a straightforward NumPy implementation of the
// same sweep (bench/numpy_sweep.py) run in the same invocation on the same pool. Prints both
// times, the ratio, and how closely the accuracies agree.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include <sys/resource.h>
#include <unistd.h>

#include "runtime/analysis/analyze.h"
#include "runtime/common/parallel.h"
#include "runtime/interchange/pools.h"
#include "runtime/synth/synthetic_pool.h"

namespace {

using namespace quorum;

template <class T>
void write_array(const std::filesystem::path& path, const std::vector<T>& values) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

// The pool as raw little-endian arrays plus a JSON header, which NumPy maps with np.fromfile.
void export_pool(const aggregation::PolicyPool& pool, const analysis::AnalysisSettings& settings,
                 const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  write_array(dir / "response_offsets.u32", pool.response_offsets);
  write_array(dir / "answer_class.i32", pool.answer_class);
  write_array(dir / "class_offsets.u32", pool.class_offsets);
  write_array(dir / "class_correct.u8", pool.class_correct);
  std::vector<std::int32_t> folds;
  for (int f : analysis::assign_folds(pool, settings.folds)) folds.push_back(f);
  write_array(dir / "folds.i32", folds);
  std::ostringstream prms;
  for (std::size_t m = 0; m < pool.step_scores.size(); ++m) {
    write_array(dir / ("steps" + std::to_string(m) + ".u32"), pool.step_scores[m].offsets);
    write_array(dir / ("scores" + std::to_string(m) + ".f32"), pool.step_scores[m].values);
    prms << (m ? "," : "") << '"' << pool.step_scores[m].prm << '"';
  }
  std::ostringstream budgets;
  for (std::size_t b = 0; b < settings.budgets.size(); ++b) budgets << (b ? "," : "") << settings.budgets[b];
  std::ofstream header(dir / "settings.json");
  header << "{\"prms\": [" << prms.str() << "], \"budgets\": [" << budgets.str()
         << "], \"draws\": " << settings.draws << ", \"calibration_draws\": " << settings.calibration_draws
         << ", \"bootstrap\": " << settings.bootstrap_resamples << ", \"seed\": " << settings.seed
         << ", \"folds\": " << settings.folds << "}\n";
}

// CPU time of all this process's threads.
double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + 1e-6 * (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

// bench_analyze [PROBLEMS [RESPONSES]] [--quorum-only]: the last skips the NumPy reference
// (for profiling the engine alone).
int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const bool quorum_only = !args.empty() && args.back() == "--quorum-only";
  if (quorum_only) args.pop_back();
  const int problems = args.size() > 0 ? std::atoi(args[0].c_str()) : 500;
  const int responses = args.size() > 1 ? std::atoi(args[1].c_str()) : 256;
  synth::SyntheticSpec spec;
  spec.problems = problems;
  spec.responses = responses;
  spec.policies = 1;
  spec.prms = 4;
  spec.seed = 7;
  std::fprintf(stderr, "bench: building a synthetic pool of %d problems x %d responses, 4 PRMs\n", problems, responses);
  const auto pools = interchange::build_pools(synth::synthetic_dataset(spec), {});

  analysis::AnalysisSettings settings;
  for (std::uint32_t n = 1; n <= static_cast<std::uint32_t>(responses); n *= 2) settings.budgets.push_back(n);
  settings.draws = 200;
  settings.seed = 1;
  const auto dir = std::filesystem::temp_directory_path() / ("quorum-bench-" + std::to_string(::getpid()));
  export_pool(pools.front(), settings, dir);

  // The engine runs three times and reports the median: this machine's speed wanders by tens
  // of percent from run to run, and one NumPy run lasts long enough to average that out.
  const int threads = resolve_threads(0);
  std::vector<double> runs;
  analysis::Analysis result;
  const double cpu_before = cpu_seconds();
  for (int run = 0; run < 3; ++run) {
    const auto start = std::chrono::steady_clock::now();
    result = analysis::analyze(pools, {}, settings);
    runs.push_back(seconds_since(start));
  }
  const double cores_busy = (cpu_seconds() - cpu_before) / (runs[0] + runs[1] + runs[2]);
  std::sort(runs.begin(), runs.end());
  const double quorum_seconds = runs[1];

  std::fprintf(stderr, "bench: quorum runs took %.2f, %.2f, %.2f s\n", runs[0], runs[1], runs[2]);
  if (quorum_only) {
    std::filesystem::remove_all(dir);
    return 0;
  }
  std::fprintf(stderr, "bench: running the NumPy reference (this takes a while)\n");
  const std::string command = std::string("/usr/bin/python3 ") + QUORUM_NUMPY_REFERENCE + " " + dir.string();
  if (std::system(command.c_str()) != 0) {
    std::fprintf(stderr, "bench: the NumPy reference failed (is python3-numpy installed?)\n");
    std::filesystem::remove_all(dir);
    return 1;
  }
  std::ifstream timing(dir / "numpy_seconds.txt");
  double numpy_seconds = 0;
  timing >> numpy_seconds;

  // NumPy's accuracies: one line per (prm, reduction, strategy, budget).
  std::map<std::string, double> reference;
  std::ifstream rows(dir / "numpy_accuracy.csv");
  std::string key;
  double value;
  while (rows >> key >> value) reference[key] = value;
  std::size_t compared = 0, identical = 0;
  double worst = 0;
  const auto& budgets = result.settings.budgets;
  for (const auto& cell : result.cells)
    for (std::size_t s = 0; s < result.settings.strategies.size(); ++s)
      for (std::size_t b = 0; b < budgets.size(); ++b) {
        const std::string k = cell.prm + "/" + std::string(aggregation::name(cell.reduction)) + "/" +
                              std::string(aggregation::name(result.settings.strategies[s])) + "/" +
                              std::to_string(budgets[b]);
        auto it = reference.find(k);
        if (it == reference.end()) continue;
        const double diff = std::abs(it->second - cell.accuracy.accuracy[s * budgets.size() + b]);
        ++compared;
        identical += diff < 1e-12;
        worst = std::max(worst, diff);
      }
  std::filesystem::remove_all(dir);

  std::printf("\nquorum analyze benchmark: %d problems x %d responses, 4 PRMs x 5 reductions, 8 strategies,\n"
              "budgets 1..%d (powers of two), %d draws, %d-fold calibration, %d bootstrap resamples\n\n",
              problems, responses, responses, settings.draws, settings.folds, settings.bootstrap_resamples);
  std::printf("| implementation | threads | seconds | speed-up |\n|---|---:|---:|---:|\n");
  std::printf("| NumPy reference (bench/numpy_sweep.py) | 1 | %.2f | 1.0x |\n", numpy_seconds);
  std::printf("| quorum analyze engine (median of 3 runs) | %d | %.2f | %.1fx |\n", threads, quorum_seconds,
              numpy_seconds / quorum_seconds);
  std::printf("\nquorum kept %.2f of %d cores busy on average\n", cores_busy, threads);
  std::printf("\naccuracies compared: %zu cells x budgets; identical: %zu; max |difference|: %.3g\n", compared,
              identical, worst);
  const bool agree = compared > 0 && worst <= 1e-4;
  std::printf("agreement: %s\n", agree ? "yes" : "NO");
  return agree ? 0 : 1;
}
