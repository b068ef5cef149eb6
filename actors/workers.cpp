#include "actors/workers.h"

#include <memory>

#include "actors/handoff.h"
#include "actors/messages.h"
#include "runtime/bus/protocol.h"
#include "runtime/common/error.h"
#include "runtime/model/search_models.h"
#include "runtime/model/workers.h"

namespace quorum::actors {
namespace {

template <typename Worker>
caf::behavior model_worker(caf::event_based_actor* self, std::shared_ptr<Worker> worker, Reply reply) {
  handoff::started();
  return {
      [self, worker, reply](lease_atom, const std::string& message) {
        handoff::received(self->id());
        bus::Lease lease;
        try {
          lease = bus::decode_lease(message);
          auto result = [&] {
            if constexpr (std::is_same_v<Worker, model::PolicyWorker>) return worker->run(lease.sample, lease.unit_id);
            else if constexpr (std::is_same_v<Worker, model::PrmWorker>) return worker->run(lease.score, lease.unit_id);
            else return worker->run(lease.search, lease.unit_id);
          }();
          result.lease_id = lease.lease_id;
          reply(lease.lease_id, bus::encode(result));
        } catch (const InputError& e) {
          reply(lease.lease_id, bus::encode(bus::Failure{lease.lease_id, lease.unit_id, e.what(), true}));
        } catch (const std::exception& e) {
          reply(lease.lease_id, bus::encode(bus::Failure{lease.lease_id, lease.unit_id, e.what(), false}));
        }
      },
      [self, worker](release_atom) {
        handoff::received(self->id());
        worker->release();
      },
  };
}

}  // namespace

caf::behavior sampler(caf::event_based_actor* self, config::PolicySpec spec, std::size_t batch_size, Reply reply) {
  return model_worker(self, std::make_shared<model::PolicyWorker>(std::move(spec), batch_size), std::move(reply));
}

caf::behavior verifier(caf::event_based_actor* self, config::PrmSpec spec, std::size_t batch_size, Reply reply) {
  return model_worker(self, std::make_shared<model::PrmWorker>(std::move(spec), batch_size), std::move(reply));
}

caf::behavior searcher(caf::event_based_actor* self, config::PolicySpec policy, config::PrmSpec prm, std::size_t batch_size,
                       Reply reply) {
  return model_worker(self, std::make_shared<model::SearchWorker>(std::move(policy), std::move(prm), batch_size), std::move(reply));
}

}  // namespace quorum::actors
