#include "runtime/scheduler/scheduler.h"

#include <algorithm>
#include <stdexcept>
#include <tuple>

namespace quorum::scheduler {

ModelSet model_set(std::vector<std::string> models) {
  std::sort(models.begin(), models.end());
  models.erase(std::unique(models.begin(), models.end()), models.end());
  return models;
}

std::string model_set_text(const ModelSet& models) {
  std::string text;
  for (const auto& m : models) text += (text.empty() ? "" : " + ") + m;
  return text;
}

Scheduler::Scheduler(std::map<std::string, Model> models, std::string epoch)
    : models_(std::move(models)), epoch_(std::move(epoch)) {}

void Scheduler::add_unit(const std::string& unit, const std::vector<std::string>& models, const std::string& served) {
  auto set = model_set(models);
  if (set.empty()) throw std::invalid_argument("unit " + unit + " needs no model");
  for (const auto& m : set)
    if (!models_.count(m)) throw std::invalid_argument("unit " + unit + " needs " + m + ", which is no model of the sweep");
  if (!served.empty() && (set.size() < 2 || !std::binary_search(set.begin(), set.end(), served)))
    throw std::invalid_argument("unit " + unit + " can have " + served + " served only beside other models it needs");
  if (!units_.emplace(unit, Unit{set, Unit::State::waiting, served}).second)
    throw std::invalid_argument("unit " + unit + " added twice");
  for (const auto& m : set) remaining_[m] += 1;
}

void Scheduler::enqueue(const std::string& unit) {
  const auto found = units_.find(unit);
  if (found == units_.end()) throw std::invalid_argument("unit " + unit + " was never added");
  // Queued twice, a unit would be leased twice at once.
  if (found->second.state != Unit::State::waiting) throw std::invalid_argument("unit " + unit + " is ready already");
  found->second.state = Unit::State::ready;
  queues_[found->second.models].push_back(unit);
}

void Scheduler::join(const std::string& worker, const Capacity& capacity, const std::vector<std::string>& held) {
  Worker w{capacity, {}, {}, {}};
  for (const auto& m : held)
    if (models_.count(m)) w.held.insert(m);
  workers_[worker] = std::move(w);
}

std::vector<std::string> Scheduler::leave(const std::string& worker) {
  const auto found = workers_.find(worker);
  if (found == workers_.end()) return {};
  std::vector<std::string> leases(found->second.leases.begin(), found->second.leases.end());
  for (const auto& id : leases) leases_.at(id).worker.clear();
  for (const auto& id : found->second.serving) leases_.at(id).partner.clear(), leases.push_back(id);
  workers_.erase(found);
  return leases;
}

void Scheduler::move_lease(const std::string& lease_id, const std::string& worker) {
  auto& lease = leases_.at(lease_id);
  if (auto old = workers_.find(lease.worker); old != workers_.end()) old->second.leases.erase(lease_id);
  lease.worker = worker;
  auto& w = workers_.at(worker);
  w.leases.insert(lease_id);
  // It computes the unit, so it holds the unit's models.
  for (const auto& m : held_by_lessee(units_.at(lease.unit), lease.split)) w.held.insert(m);
}

std::string Scheduler::complete(const std::string& lease_id) {
  const auto found = leases_.find(lease_id);
  if (found == leases_.end()) throw std::invalid_argument("no lease " + lease_id);
  const auto unit_id = found->second.unit;
  if (auto w = workers_.find(found->second.worker); w != workers_.end()) w->second.leases.erase(lease_id);
  if (auto p = workers_.find(found->second.partner); p != workers_.end()) p->second.serving.erase(lease_id);
  leases_.erase(found);
  auto& unit = units_.at(unit_id);
  unit.state = Unit::State::done;
  for (const auto& m : unit.models) remaining_[m] -= 1;
  return unit_id;
}

std::optional<std::string> Scheduler::take_back(const std::string& lease_id) {
  const auto found = leases_.find(lease_id);
  if (found == leases_.end()) return std::nullopt;
  const auto unit_id = found->second.unit;
  if (auto w = workers_.find(found->second.worker); w != workers_.end()) w->second.leases.erase(lease_id);
  if (auto p = workers_.find(found->second.partner); p != workers_.end()) p->second.serving.erase(lease_id);
  leases_.erase(found);
  auto& unit = units_.at(unit_id);
  unit.state = Unit::State::ready;
  // At the front: it was leased before everything behind it, and has waited longest.
  queues_[unit.models].push_front(unit_id);
  return unit_id;
}

bool Scheduler::can_run(const Worker& worker, const ModelSet& models) const {
  std::uint64_t bytes = 0;
  for (const auto& m : models) {
    const auto& model = models_.at(m);
    if (model.needs_cuda && !worker.capacity.cuda) return false;
    bytes += model.resident_bytes;
  }
  return worker.capacity.memory_bytes == 0 || bytes <= worker.capacity.memory_bytes;
}

bool Scheduler::any_can_run(const ModelSet& models) const {
  return std::any_of(workers_.begin(), workers_.end(), [&](const auto& w) { return can_run(w.second, models); });
}

std::size_t Scheduler::leases_needing(const Worker& worker, const std::string& model) const {
  std::size_t n = 0;
  for (const auto& id : worker.leases) {
    const auto& lease = leases_.at(id);
    const auto& unit = units_.at(lease.unit);
    n += std::binary_search(unit.models.begin(), unit.models.end(), model) && !(lease.split && unit.served == model);
  }
  for (const auto& id : worker.serving) n += units_.at(leases_.at(id).unit).served == model;
  return n;
}

bool Scheduler::has_room(const Worker& worker, const ModelSet& models) const {
  if (worker.capacity.slots != 0 && worker.busy() >= worker.capacity.slots) return false;
  return std::all_of(models.begin(), models.end(),
                     [&](const std::string& m) { return leases_needing(worker, m) < models_.at(m).replicas; });
}

ModelSet Scheduler::held_by_lessee(const Unit& unit, bool split) const {
  ModelSet models;
  for (const auto& m : unit.models)
    if (!split || m != unit.served) models.push_back(m);
  return models;
}

// A worker other than the lessee that can hold the model beside what it keeps, with a slot
// and a replica free: one holding it already first, then the lowest id.
std::optional<std::string> Scheduler::partner_for(const std::string& lessee, const std::string& model) const {
  std::optional<std::string> best;
  for (const auto& [id, worker] : workers_) {
    if (id == lessee || !can_run(worker, {model}) || !has_room(worker, {model}) || !releases_to_fit(worker, {model}))
      continue;
    if (worker.held.count(model)) return id;
    if (!best) best = id;
  }
  return best;
}

bool Scheduler::ready_unit_needs(const std::string& model) const {
  for (const auto& [models, queue] : queues_)
    if (!queue.empty() && std::binary_search(models.begin(), models.end(), model)) return true;
  return false;
}

std::uint64_t Scheduler::resident_bytes(const std::set<std::string>& models) const {
  std::uint64_t bytes = 0;
  for (const auto& m : models) bytes += models_.at(m).resident_bytes;
  return bytes;
}

// The models to release, in order, so that `models` fit beside what the worker keeps; nothing
// when they cannot fit even then. Idle models no ready unit needs go first: releasing them costs
// nothing that is waiting.
std::optional<std::vector<std::string>> Scheduler::releases_to_fit(const Worker& worker, const ModelSet& models) const {
  const auto memory = worker.capacity.memory_bytes;
  std::uint64_t need = 0;
  for (const auto& m : models)
    if (!worker.held.count(m)) need += models_.at(m).resident_bytes;
  if (memory == 0 || need == 0) return std::vector<std::string>{};
  auto resident = resident_bytes(worker.held);
  std::vector<std::string> releases;
  for (const bool with_ready_work : {false, true}) {
    for (const auto& m : worker.held) {
      if (resident + need <= memory) return releases;
      if (std::binary_search(models.begin(), models.end(), m) || leases_needing(worker, m) > 0 ||
          ready_unit_needs(m) != with_ready_work)
        continue;
      releases.push_back(m);
      resident -= models_.at(m).resident_bytes;
    }
  }
  if (resident + need <= memory) return releases;
  return std::nullopt;
}

void Scheduler::release(const std::string& worker_id, Worker& worker, const std::string& model,
                        std::vector<Action>& actions) {
  worker.held.erase(model);
  actions.push_back({Action::Kind::release, worker_id, model, "", "", ""});
}

// Leases the worker's preferred unit, after the releases that make room for it (on the partner
// too, for a split unit). False when no ready unit fits it.
bool Scheduler::lease_next(const std::string& worker_id, Worker& worker, std::vector<Action>& actions) {
  // (tier, ready units per holder, models, split): tier 2 holds all the models the worker would
  // hold, 1 some, 0 none.
  std::vector<std::tuple<int, double, ModelSet, bool>> candidates;
  for (const auto& [models, queue] : queues_) {
    if (queue.empty()) continue;
    // A unit no connected worker can hold alone is split, when it may be.
    const bool split = !units_.at(queue.front()).served.empty() && !any_can_run(models);
    const auto own = held_by_lessee(units_.at(queue.front()), split);
    if (!can_run(worker, own) || !has_room(worker, own)) continue;
    std::size_t held = 0;
    for (const auto& m : own) held += worker.held.count(m);
    if (held == own.size()) {
      candidates.emplace_back(2, double(queue.size()), models, split);
      continue;
    }
    std::size_t holders = 0;
    for (const auto& entry : workers_) {
      const auto& other = entry.second;  // a lambda may not capture a structured binding before C++20
      holders += std::all_of(own.begin(), own.end(), [&](const std::string& m) { return other.held.count(m) > 0; });
    }
    candidates.emplace_back(held > 0 ? 1 : 0, double(queue.size()) / double(holders + 1), models, split);
  }
  std::sort(candidates.rbegin(), candidates.rend());
  for (const auto& [tier, preference, models, split] : candidates) {
    auto& queue = queues_.at(models);
    const auto unit = queue.front();
    const auto& spec = units_.at(unit);
    const auto own = held_by_lessee(spec, split);
    const auto releases = releases_to_fit(worker, own);
    if (!releases) continue;
    std::optional<std::string> partner;
    if (split && !(partner = partner_for(worker_id, spec.served))) continue;
    for (const auto& m : *releases) release(worker_id, worker, m, actions);
    if (partner) {
      auto& serving = workers_.at(*partner);
      // Held by name: a range-for over *optional() would read the optional after it is gone.
      const auto partner_releases = releases_to_fit(serving, {spec.served});
      for (const auto& m : *partner_releases) release(*partner, serving, m, actions);
      serving.held.insert(spec.served);
    }
    queue.pop_front();
    units_.at(unit).state = Unit::State::leased;
    const auto lease_id = unit + "@" + epoch_ + "." + std::to_string(++lease_counter_);
    leases_[lease_id] = {unit, worker_id, partner.value_or(""), split};
    worker.leases.insert(lease_id);
    if (partner) workers_.at(*partner).serving.insert(lease_id);
    for (const auto& m : own) worker.held.insert(m);
    actions.push_back({Action::Kind::lease, worker_id, "", unit, lease_id, partner.value_or("")});
    return true;
  }
  return false;
}

std::vector<Action> Scheduler::dispatch() {
  std::vector<Action> actions;
  for (auto& [id, worker] : workers_) {
    while (worker.capacity.slots == 0 || worker.busy() < worker.capacity.slots)
      if (!lease_next(id, worker, actions)) break;
    for (const auto& m : std::set<std::string>(worker.held))
      if (remaining_[m] == 0) release(id, worker, m, actions);
  }
  return actions;
}

std::vector<Unrunnable> Scheduler::unrunnable() const {
  std::vector<Unrunnable> out;
  if (workers_.empty()) return out;
  for (const auto& [models, queue] : queues_) {
    if (queue.empty()) continue;
    // Split, it needs one worker for the others and another for the served model.
    const auto& unit = units_.at(queue.front());
    const auto own = held_by_lessee(unit, true);
    const bool split_runnable =
        !unit.served.empty() && std::any_of(workers_.begin(), workers_.end(), [&](const auto& w) {
          return can_run(w.second, own) && std::any_of(workers_.begin(), workers_.end(), [&](const auto& p) {
                   return p.first != w.first && can_run(p.second, {unit.served});
                 });
        });
    if (!any_can_run(models) && !split_runnable) out.push_back({models, resident_bytes({models.begin(), models.end()})});
  }
  return out;
}

const LeaseRecord* Scheduler::lease(const std::string& lease_id) const {
  const auto found = leases_.find(lease_id);
  return found == leases_.end() ? nullptr : &found->second;
}

std::size_t Scheduler::ready_units() const {
  std::size_t n = 0;
  for (const auto& [models, queue] : queues_) n += queue.size();
  return n;
}

const std::set<std::string>* Scheduler::held(const std::string& worker) const {
  const auto found = workers_.find(worker);
  return found == workers_.end() ? nullptr : &found->second.held;
}

std::vector<std::string> Scheduler::leases_of(const std::string& worker) const {
  const auto found = workers_.find(worker);
  if (found == workers_.end()) return {};
  return {found->second.leases.begin(), found->second.leases.end()};
}

}  // namespace quorum::scheduler
