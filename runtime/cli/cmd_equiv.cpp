// `quorum equiv`: check two answers for equivalence, or grade a TSV of pairs in bulk.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "runtime/answers/answer.h"
#include "runtime/cli/command.h"
#include "runtime/common/error.h"

namespace quorum::cli {
namespace {

struct EquivArgs {
  std::string gold;
  std::string pred;
  std::string pairs_file;
};

int compare_one(const EquivArgs& args) {
  const auto gold = answers::Answer::parse(args.gold);
  const auto pred = answers::Answer::parse(args.pred);
  const bool same = gold.equivalent_to(pred);
  std::cout << "gold: " << gold.normalized() << "\n"
            << "pred: " << pred.normalized() << "\n"
            << (same ? "equivalent" : "not equivalent") << "\n";
  return same ? 0 : 1;
}

// One "1" or "0" per "gold<TAB>pred" line, written in large blocks: grading is the bottleneck,
// not the terminal.
int compare_pairs(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, 0, "", "cannot open the pairs file");
  std::string verdicts;
  std::string line;
  std::size_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::size_t tab = line.find('\t');
    if (tab == std::string::npos) throw InputError(path, line_number, "", "expected gold<TAB>pred");
    const std::string_view text(line);
    verdicts += answers::equivalent(text.substr(0, tab), text.substr(tab + 1)) ? "1\n" : "0\n";
    if (verdicts.size() >= (1u << 16)) {
      std::fwrite(verdicts.data(), 1, verdicts.size(), stdout);
      verdicts.clear();
    }
  }
  if (in.bad()) throw InputError(path, line_number, "", "read error");
  std::fwrite(verdicts.data(), 1, verdicts.size(), stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace

void register_equiv(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<EquivArgs>();
  CLI::App* equiv = app.add_subcommand(
      "equiv",
      "Check whether two final answers are equivalent (exit 0: yes, 1: no), or grade a TSV file "
      "of gold<TAB>pred pairs, printing 1 or 0 per line");
  auto* gold =
      equiv->add_option("GOLD", args->gold, "gold (reference) answer, e.g. '\\frac{1}{2}'");
  auto* pred = equiv->add_option("PRED", args->pred, "predicted answer, e.g. 0.5");
  auto* pairs = equiv->add_option("--pairs", args->pairs_file,
                                  "TSV file of gold<TAB>pred lines; prints 1 or 0 per line");
  equiv->callback([args, gold, pred, pairs, &exit_code] {
    const bool has_pair = gold->count() > 0 || pred->count() > 0;
    if (pairs->count() > 0) {
      if (has_pair) throw CLI::ValidationError("equiv", "give GOLD PRED or --pairs FILE, not both");
      exit_code = compare_pairs(args->pairs_file);
      return;
    }
    if (gold->count() == 0 || pred->count() == 0) {
      throw CLI::ValidationError("equiv", "give GOLD and PRED, or --pairs FILE");
    }
    exit_code = compare_one(*args);
  });
}

}  // namespace quorum::cli
