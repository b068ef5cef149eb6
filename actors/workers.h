// Sampler, verifier and searcher actors: each holds one model, or a searcher its policy and PRM
// together (loaded on its first lease, freed on release) and answers every lease with the encoded result, or a failure naming the cause,
// handed to `reply` with its lease id (the worker's bus link sends it on). They run detached (a thread each),
// since a forward pass blocks for its whole duration.
#pragma once

#include <functional>

#include <caf/all.hpp>

#include "runtime/config/sweep.h"

namespace quorum::actors {

using Reply = std::function<void(const std::string& lease_id, std::string message)>;

caf::behavior sampler(caf::event_based_actor* self, config::PolicySpec spec, std::size_t batch_size, Reply reply);
caf::behavior verifier(caf::event_based_actor* self, config::PrmSpec spec, std::size_t batch_size, Reply reply);
caf::behavior searcher(caf::event_based_actor* self, config::PolicySpec policy, config::PrmSpec prm,
                       std::size_t batch_size, Reply reply);

}  // namespace quorum::actors
