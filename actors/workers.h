// Sampler, verifier and searcher actors. A sampler holds one policy and a verifier one PRM
// (loaded on first use, freed on release); each answers a lease with the encoded result, or a
// failure naming the cause, handed to `reply` with its lease id (the worker's bus link sends it
// on). A searcher holds no model: it runs a search lease's loop (runtime/search) and streams
// each round to a sampler (the steps; it keeps the live paths' KV caches) and to a verifier
// (their step scores), which its worker reserves for the lease, then replies like the others.
// When another worker serves the search's PRM, the searcher posts each round's paths as a
// bus::PathsToScore for the coordinator to relay, and its worker hands it the bus::PathScores
// that come back; that worker's verifier answers them through `reply`.
// They run detached (a thread each), since a forward pass blocks for its whole duration; a
// searcher waits for each answer.
#pragma once

#include <functional>

#include <caf/all.hpp>

#include "runtime/config/sweep.h"

namespace quorum::actors {

using Reply = std::function<void(const std::string& lease_id, std::string message)>;
// A message for the coordinator about a split search's rounds and, from a searcher, the actor
// to hand the answer to, as (scores, encoded bus::PathScores).
using Post = std::function<void(const std::string& lease_id, std::string message, caf::actor answer_to)>;

caf::behavior sampler(caf::event_based_actor* self, config::PolicySpec spec, std::size_t batch_size, Reply reply);
// `post` carries its answers to rounds of searches on other workers (bus::PathScores).
caf::behavior verifier(caf::event_based_actor* self, config::PrmSpec spec, std::size_t batch_size, Reply reply, Post post);
// Leases come as (lease, message, sampler, verifier), the verifier an invalid handle when the
// lease's PRM is served by another worker; a leaf's text joins its steps with step_separator,
// the policy's.
caf::behavior searcher(caf::event_based_actor* self, std::string step_separator, Reply reply, Post post);

}  // namespace quorum::actors
