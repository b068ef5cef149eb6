#include "actors/workers.h"

#include <memory>

#include "actors/messages.h"
#include "runtime/bus/protocol.h"
#include "runtime/common/error.h"
#include "runtime/model/search_models.h"
#include "runtime/model/workers.h"

namespace quorum::actors {
namespace {

template <typename Worker>
caf::behavior model_worker(std::shared_ptr<Worker> worker, Reply reply) {
  return {
      [worker, reply](lease_atom, const std::string& message) {
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
      [worker](release_atom) { worker->release(); },
  };
}

}  // namespace

caf::behavior sampler(caf::event_based_actor*, config::PolicySpec spec, std::size_t batch_size, Reply reply) {
  return model_worker(std::make_shared<model::PolicyWorker>(std::move(spec), batch_size), std::move(reply));
}

caf::behavior verifier(caf::event_based_actor*, config::PrmSpec spec, std::size_t batch_size, Reply reply) {
  return model_worker(std::make_shared<model::PrmWorker>(std::move(spec), batch_size), std::move(reply));
}

caf::behavior searcher(caf::event_based_actor*, config::PolicySpec policy, config::PrmSpec prm, std::size_t batch_size,
                       Reply reply) {
  return model_worker(std::make_shared<model::SearchWorker>(std::move(policy), std::move(prm), batch_size), std::move(reply));
}

}  // namespace quorum::actors
