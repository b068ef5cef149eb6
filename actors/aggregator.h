// The aggregator actor: the CPU-side evaluation. While a sweep runs it keeps, per (policy, PRM)
// pair, the accuracy at the full budget of majority voting, PRM-weighted voting and best-of-N
// over the problems scored so far (the progress view shows the leading one); at the end it
// analyses the store and writes the report.
#pragma once

#include <caf/all.hpp>

#include <string>

namespace quorum::actors {

// (scored, json) where json is {"policy", "prm", "problems": [{"gold", "responses": [{"answer",
// "scores"}]}]}; (standing) -> one line per pair; (report, refresh_seconds) -> writes the report
// (a running sweep's report.html reloads every refresh_seconds) and replies its directory, or
// the analysis error as a caf::error to the requester.
caf::behavior aggregator(caf::stateful_actor<struct AggregatorState>* self, std::string store_path);

struct AggregatorState {
  struct Tally {
    std::size_t problems = 0;
    double majority = 0, weighted = 0, best_of_n = 0;
  };
  std::map<std::pair<std::string, std::string>, Tally> pairs;
};

}  // namespace quorum::actors
