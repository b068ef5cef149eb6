#include "actors/workers.h"

#include <memory>

#include "actors/messages.h"
#include "runtime/bus/protocol.h"
#include "runtime/common/error.h"
#include "runtime/model/workers.h"

namespace quorum::actors {
namespace {

template <typename Worker>
caf::behavior model_worker(std::shared_ptr<Worker> worker) {
  return {
      [worker](lease_atom, const std::string& message) -> std::string {
        std::string unit_id;
        try {
          const auto lease = bus::decode_lease(message);
          unit_id = lease.unit_id;
          if constexpr (std::is_same_v<Worker, model::PolicyWorker>)
            return bus::encode(worker->run(lease.sample, lease.unit_id));
          else
            return bus::encode(worker->run(lease.score, lease.unit_id));
        } catch (const InputError& e) {
          return bus::encode(bus::Failure{unit_id, e.what(), true});
        } catch (const std::exception& e) {
          return bus::encode(bus::Failure{unit_id, e.what(), false});
        }
      },
      [](ack_atom, const std::string&) {},
      [worker](release_atom) { worker->release(); },
  };
}

}  // namespace

caf::behavior sampler(caf::event_based_actor*, config::PolicySpec spec, std::size_t batch_size) {
  return model_worker(std::make_shared<model::PolicyWorker>(std::move(spec), batch_size));
}

caf::behavior verifier(caf::event_based_actor*, config::PrmSpec spec, std::size_t batch_size) {
  return model_worker(std::make_shared<model::PrmWorker>(std::move(spec), batch_size));
}

}  // namespace quorum::actors
