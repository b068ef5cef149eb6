// The atoms that tag messages between quorum's actors. Work itself travels as the bus
// protocol's encoded messages (runtime/bus/protocol.h), the same bytes a remote worker gets.
#pragma once

#include <string>
#include <vector>

#include <caf/all.hpp>

#include "runtime/search/search.h"

namespace quorum::actors {

using lease_atom = caf::atom_constant<caf::atom("lease")>;      // (lease, message): compute it, reply through the bus
using release_atom = caf::atom_constant<caf::atom("release")>;  // free the worker's model
using frame_atom = caf::atom_constant<caf::atom("frame")>;      // (frame, peer, message): from the bus
using log_atom = caf::atom_constant<caf::atom("log")>;          // (log, line): the bus has something to say
using scored_atom = caf::atom_constant<caf::atom("scored")>;    // (scored, json): scored responses of problems
using standing_atom = caf::atom_constant<caf::atom("standing")>;  // -> running accuracy per pair, as text
using report_atom = caf::atom_constant<caf::atom("report")>;    // (refresh s) -> writes the report, replies its directory
using run_atom = caf::atom_constant<caf::atom("run")>;          // -> runs the sweep, replies when it ends
using tick_atom = caf::atom_constant<caf::atom("tick")>;        // the coordinator's clock: heartbeats, deadlines, progress

// A searcher's rounds, streamed to the sampler and the verifier actors of its worker
// (workers.h). A session is one problem's search; the sampler keeps its live paths' caches.
using steps_atom = caf::atom_constant<caf::atom("steps")>;  // (steps, session, problem, extensions) -> RoundAnswer
using drop_atom = caf::atom_constant<caf::atom("drop")>;    // (drop, session, nodes): never extended again
using end_atom = caf::atom_constant<caf::atom("end")>;      // (end, session): the search is over
using paths_atom = caf::atom_constant<caf::atom("paths")>;  // (paths, problem, paths) -> Answer<ScoredPaths>;
                                                            // (paths, bus::PathsToScore text): answered through the bus
using scores_atom = caf::atom_constant<caf::atom("scores")>;  // (scores, bus::PathScores text): a relayed round's answer

// A sampler's or verifier's answer to a searcher: the value, or why there is none (an
// input_error is the sweep's input's fault, not the worker's: the lease fails as such).
template <typename T>
struct Answer {
  T value{};
  std::string error;
  bool input_error = false;
};
using Extensions = std::vector<search::Extension>;
struct Round {
  std::vector<search::GeneratedStep> steps;  // one per extension, in order
  std::int64_t prompt_tokens = 0;            // the problem's prompt's
};
using RoundAnswer = Answer<Round>;
using ScoresAnswer = Answer<search::ScoredPaths>;

}  // namespace quorum::actors

// Local messages only (a searcher and the actors it asks share a process): never serialized.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(quorum::actors::Extensions)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(quorum::actors::RoundAnswer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(quorum::actors::ScoresAnswer)
