// The atoms that tag messages between quorum's actors. Work itself travels as the bus
// protocol's encoded messages (runtime/bus/protocol.h), the same bytes a remote worker gets.
#pragma once

#include <caf/all.hpp>

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

}  // namespace quorum::actors
