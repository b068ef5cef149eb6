// The lease scheduling policy: which ready unit goes to which worker. Plain data and one class,
// no actors, no sockets, no clocks: the coordinator actor (actors/coordinator.cpp) tells it what
// happened (a worker joined or left, a unit became ready, a lease ended) and carries out the
// actions dispatch() returns (release messages, leases), keeping the store, the messages and the
// deadlines to itself.
//
// The rules (docs/architecture.md, "Leases"):
// - A unit names the models it needs (a sample unit its policy, a score unit its PRM, a search
//   unit both its policy and its PRM). Ready units wait in one FIFO queue per set of
//   models; a lease that ends without a result puts its unit back at the front of its queue.
// - A worker can take a unit only if it can run every model of it: a CUDA model needs a CUDA
//   worker, and the resident bytes of all of them together must fit the memory the worker
//   announced (0: no bound). Counting what it holds already, idle models are released to make
//   room: first those no ready unit needs, then those with ready units; a model with a lease on
//   that worker is never released, and nothing is released unless that makes the unit fit.
// - A worker takes units while it has free slots (slots 0: no bound), and at most `replicas`
//   units at once of each model (one per replica its actors load).
// - Workers are served in the order of their ids; each takes from the queue it prefers: one whose
//   models it holds all of (the longest such queue first), then one whose models it holds some
//   of, then the others; among those, the most ready units per worker already holding all of its
//   models, so that a second worker loads the model with the most work per holder.
// - A worker releases a model no unit still to be done needs.
// - A unit may name one of its models as `served` (a search its PRM): when no connected worker
//   can hold all its models together, it is split. The worker leased it holds the others and a
//   second worker, the partner, serves that one for the lease: it must be able to hold it, and
//   the lease takes one of its slots and one replica of the model there (partners holding the
//   model are preferred, then the lowest id). A unit that one worker can hold is never split.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace quorum::scheduler {

// What a model costs wherever it is held. Keyed by model key ("policy/NAME", "prm/NAME").
struct Model {
  std::uint64_t resident_bytes = 0;  // weights, KV cache and activations at the sweep's batch
  bool needs_cuda = false;           // its device is cuda or cuda:N
  std::size_t replicas = 1;          // units of it one worker computes at once
};

// What a worker announced (bus::Hello).
struct Capacity {
  bool cuda = false;
  std::uint64_t memory_bytes = 0;  // resident model bytes it accepts; 0: no bound
  std::uint64_t slots = 0;         // units at once; 0: bounded only by each model's replicas
};

// The models a unit needs, sorted and without repeats: the key of its queue.
using ModelSet = std::vector<std::string>;
ModelSet model_set(std::vector<std::string> models);
std::string model_set_text(const ModelSet& models);  // "policy/a + prm/b"

// One thing for the coordinator to do, in the order dispatch() returns them: a release before
// the lease that needed its room.
struct Action {
  enum class Kind { release, lease };
  Kind kind = Kind::lease;
  std::string worker;
  std::string model;            // release: the model key the worker frees
  std::string unit, lease_id;   // lease: the unit, under a lease id unique to this scheduler
  std::string partner;          // lease of a split unit: the worker serving its served model
};

struct LeaseRecord {
  std::string unit, worker;
  std::string partner;  // a split unit's (empty once it left)
  bool split = false;
};

// Units whose models no connected worker can run (a CUDA model among CPU workers, models bigger
// than every worker's memory): they wait, and the coordinator says so.
struct Unrunnable {
  ModelSet models;
  std::uint64_t resident_bytes = 0;  // all of them together
};

class Scheduler {
 public:
  // `models`: every model a unit may name. `epoch` makes lease ids unique across coordinator
  // restarts (ids are "UNIT@EPOCH.N").
  Scheduler(std::map<std::string, Model> models, std::string epoch);

  // A unit still to be done, not ready yet (its inputs are not stored). `served`: one of
  // `models` that a partner may serve (empty: never split). Throws std::invalid_argument for a
  // model not given to the constructor, a served model the unit does not need, or a unit added
  // twice.
  void add_unit(const std::string& unit, const std::vector<std::string>& models, const std::string& served = "");
  // Ready: at the back of its queue. Throws std::invalid_argument for a unit not waiting.
  void enqueue(const std::string& unit);

  // A worker said hello; `held` are the model keys it holds (unknown ones are ignored).
  void join(const std::string& worker, const Capacity& capacity, const std::vector<std::string>& held);
  // The worker is gone. Its leases stay out, unowned, until taken back or moved: the ids
  // returned, with those of split units it served (their partner is cleared).
  std::vector<std::string> leave(const std::string& worker);
  // A lease now belongs to another worker (the same worker reconnected, still computing it).
  void move_lease(const std::string& lease_id, const std::string& worker);

  // The lease's unit is done (its result is stored). The unit is returned.
  std::string complete(const std::string& lease_id);
  // The lease ended without a result: its unit goes back to the front of its queue. Returns the
  // unit put back; nothing for a lease not out (completed, or taken back already).
  std::optional<std::string> take_back(const std::string& lease_id);

  // Leases for every worker with room, and the releases that make room or free models no unit
  // still needs. The returned leases and releases are recorded as done.
  std::vector<Action> dispatch();

  // Ready units that no connected worker can run, one entry per set of models.
  std::vector<Unrunnable> unrunnable() const;

  const LeaseRecord* lease(const std::string& lease_id) const;
  std::size_t leases_out() const { return leases_.size(); }
  std::size_t ready_units() const;
  const std::set<std::string>* held(const std::string& worker) const;
  std::vector<std::string> leases_of(const std::string& worker) const;  // those it computes

 private:
  struct Worker {
    Capacity capacity;
    std::set<std::string> held;     // model keys
    std::set<std::string> leases;   // lease ids
    std::set<std::string> serving;  // lease ids of split units whose served model it serves
    std::size_t busy() const { return leases.size() + serving.size(); }
  };
  // A unit is leased at most once at a time: only a waiting unit becomes ready, only a ready
  // one is leased, and a lease ends in done or ready again.
  struct Unit {
    enum class State { waiting, ready, leased, done };
    ModelSet models;
    State state = State::waiting;
    std::string served;
  };

  bool can_run(const Worker& worker, const ModelSet& models) const;
  bool any_can_run(const ModelSet& models) const;
  bool has_room(const Worker& worker, const ModelSet& models) const;  // a slot, and a replica of each
  // The models the leased worker holds of a unit split or not; the partner that can serve it.
  ModelSet held_by_lessee(const Unit& unit, bool split) const;
  std::optional<std::string> partner_for(const std::string& lessee, const std::string& model) const;
  std::size_t leases_needing(const Worker& worker, const std::string& model) const;
  bool ready_unit_needs(const std::string& model) const;
  std::uint64_t resident_bytes(const std::set<std::string>& models) const;
  std::optional<std::vector<std::string>> releases_to_fit(const Worker& worker, const ModelSet& models) const;
  void release(const std::string& worker_id, Worker& worker, const std::string& model, std::vector<Action>& actions);
  bool lease_next(const std::string& worker_id, Worker& worker, std::vector<Action>& actions);

  std::map<std::string, Model> models_;
  std::string epoch_;
  std::uint64_t lease_counter_ = 0;
  std::map<std::string, Unit> units_;
  std::map<ModelSet, std::deque<std::string>> queues_;
  std::map<std::string, std::size_t> remaining_;  // model key -> units not done that need it
  std::map<std::string, Worker> workers_;         // by worker id (the coordinator's routing id)
  std::map<std::string, LeaseRecord> leases_;     // by lease id
};

}  // namespace quorum::scheduler
