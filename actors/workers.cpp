#include "actors/workers.h"

#include <memory>
#include <optional>

#include "actors/handoff.h"
#include "actors/messages.h"
#include "runtime/bus/protocol.h"
#include "runtime/common/error.h"
#include "runtime/model/search_models.h"
#include "runtime/model/workers.h"

namespace quorum::actors {
namespace {

// A lease computed by `compute` (the encoded lease -> its result), answered through `reply`
// with its result or a failure naming the cause.
template <typename Compute>
void answer_lease(const std::string& message, const Reply& reply, Compute compute) {
  bus::Lease lease;
  try {
    lease = bus::decode_lease(message);
    auto result = compute(lease);
    result.lease_id = lease.lease_id;
    reply(lease.lease_id, bus::encode(result));
  } catch (const InputError& e) {
    reply(lease.lease_id, bus::encode(bus::Failure{lease.lease_id, lease.unit_id, e.what(), true}));
  } catch (const std::exception& e) {
    reply(lease.lease_id, bus::encode(bus::Failure{lease.lease_id, lease.unit_id, e.what(), false}));
  }
}

// What a searcher asked for, or the error that stopped it.
template <typename T, typename Compute>
Answer<T> answer(Compute compute) {
  Answer<T> a;
  try {
    a.value = compute();
  } catch (const InputError& e) {
    a.error = e.what(), a.input_error = true;
  } catch (const std::exception& e) {
    a.error = e.what();
  }
  return a;
}

// The value of an answer to a request made from inside a searcher's handler, waiting for it;
// its error thrown again as what it was.
template <typename T>
T ask(caf::scoped_actor& asker, const caf::actor& whom, caf::message request) {
  Answer<T> got;
  asker->request(whom, caf::infinite, std::move(request))
      .receive(
          [&](Answer<T>& a) {
            handoff::received(asker->id());
            got = std::move(a);
          },
          [&](caf::error& e) { got.error = "a searcher's request failed: " + asker->system().render(e); });
  if (got.input_error) throw InputError("", 0, "", got.error);
  if (!got.error.empty()) throw std::runtime_error(got.error);
  return std::move(got.value);
}

// The search's policy and verifier, as rounds streamed to the sampler and verifier actors.
class RemotePolicy : public search::StepPolicy {
 public:
  RemotePolicy(caf::scoped_actor& asker, caf::actor sampler, std::string session, std::string problem)
      : asker_(asker), sampler_(std::move(sampler)), session_(std::move(session)), problem_(std::move(problem)) {}
  ~RemotePolicy() override { caf::anon_send(sampler_, handoff::message_to(sampler_, end_atom::value, session_)); }

  std::vector<search::GeneratedStep> extend(const std::vector<search::Extension>& extensions) override {
    auto round = ask<Round>(asker_, sampler_,
                            handoff::message_to(sampler_, steps_atom::value, session_, problem_, Extensions(extensions)));
    prompt_tokens_ = round.prompt_tokens;
    return std::move(round.steps);
  }
  void release(const std::vector<search::NodeId>& nodes) override {
    caf::anon_send(sampler_, handoff::message_to(sampler_, drop_atom::value, session_, nodes));
  }
  std::int64_t prompt_tokens() const { return prompt_tokens_; }

 private:
  caf::scoped_actor& asker_;
  caf::actor sampler_;
  std::string session_, problem_;
  std::int64_t prompt_tokens_ = 0;
};

// The scores of a round whose PRM another worker serves: the paths go out through the worker's
// bus link, the answer comes back to the asker.
class RelayedVerifier : public search::StepVerifier {
 public:
  // requests: the lease's rounds so far, which number them.
  RelayedVerifier(caf::scoped_actor& asker, const Post& post, std::string lease_id, std::string problem,
                  std::uint64_t& requests)
      : asker_(asker), post_(post), lease_id_(std::move(lease_id)), problem_(std::move(problem)), requests_(requests) {}

  search::ScoredPaths score(const std::vector<std::vector<std::string>>& paths) override {
    const auto request = ++requests_;
    post_(lease_id_, bus::encode(bus::PathsToScore{lease_id_, request, problem_, paths}),
          caf::actor_cast<caf::actor>(asker_));
    std::optional<bus::PathScores> answer;
    while (!answer)
      asker_->receive([&](scores_atom, const std::string& text) {
        handoff::received(asker_->id());
        auto scores = bus::decode_path_scores(text);
        // An older round's answer is stale; request 0 is its worker's: the round failed there.
        if (scores.request == request || scores.request == 0) answer = std::move(scores);
      });
    if (answer->input_error) throw InputError("", 0, "", answer->error);
    if (!answer->error.empty()) throw std::runtime_error(answer->error);
    if (answer->scores.size() != paths.size())
      throw std::runtime_error("the serving worker scored " + std::to_string(answer->scores.size()) + " paths of " +
                               std::to_string(paths.size()));
    return {std::move(answer->scores), answer->tokens_read};
  }

 private:
  caf::scoped_actor& asker_;
  const Post& post_;
  std::string lease_id_, problem_;
  std::uint64_t& requests_;
};

class RemoteVerifier : public search::StepVerifier {
 public:
  RemoteVerifier(caf::scoped_actor& asker, caf::actor verifier, std::string problem)
      : asker_(asker), verifier_(std::move(verifier)), problem_(std::move(problem)) {}

  search::ScoredPaths score(const std::vector<std::vector<std::string>>& paths) override {
    return ask<search::ScoredPaths>(asker_, verifier_, handoff::message_to(verifier_, paths_atom::value, problem_, paths));
  }

 private:
  caf::scoped_actor& asker_;
  caf::actor verifier_;
  std::string problem_;
};

}  // namespace

caf::behavior sampler(caf::event_based_actor* self, config::PolicySpec spec, std::size_t batch_size, Reply reply) {
  handoff::started();
  auto worker = std::make_shared<model::PolicyWorker>(std::move(spec), batch_size);
  return {
      [self, worker, reply](lease_atom, const std::string& message) {
        handoff::received(self->id());
        answer_lease(message, reply, [&](const bus::Lease& lease) { return worker->run(lease.sample, lease.unit_id); });
      },
      [self, worker](steps_atom, const std::string& session, const std::string& problem, const Extensions& extensions) {
        handoff::received(self->id());
        auto round = answer<Round>([&] {
          auto steps = worker->extend(session, problem, extensions);
          return Round{std::move(steps), worker->prompt_tokens(session)};
        });
        return handoff::message_to(self->current_sender(), std::move(round));
      },
      [self, worker](drop_atom, const std::string& session, const std::vector<search::NodeId>& nodes) {
        handoff::received(self->id());
        worker->drop(session, nodes);
      },
      [self, worker](end_atom, const std::string& session) {
        handoff::received(self->id());
        worker->end(session);
      },
      [self, worker](release_atom) {
        handoff::received(self->id());
        worker->release();
      },
  };
}

caf::behavior verifier(caf::event_based_actor* self, config::PrmSpec spec, std::size_t batch_size, Reply reply,
                       Post post) {
  handoff::started();
  auto worker = std::make_shared<model::PrmWorker>(std::move(spec), batch_size);
  return {
      [self, worker, reply](lease_atom, const std::string& message) {
        handoff::received(self->id());
        answer_lease(message, reply, [&](const bus::Lease& lease) { return worker->run(lease.score, lease.unit_id); });
      },
      [self, worker](paths_atom, const std::string& problem, const std::vector<std::vector<std::string>>& paths) {
        handoff::received(self->id());
        auto scores = answer<search::ScoredPaths>([&] { return worker->score_paths(problem, paths); });
        return handoff::message_to(self->current_sender(), std::move(scores));
      },
      // A round of a search on another worker, relayed by the coordinator; answered the same way.
      [self, worker, post](paths_atom, const std::string& message) {
        handoff::received(self->id());
        bus::PathScores out;
        try {
          const auto round = bus::decode_paths_to_score(message);
          out.lease_id = round.lease_id, out.request = round.request;
          auto scored = answer<search::ScoredPaths>([&] { return worker->score_paths(round.problem, round.paths); });
          out.scores = std::move(scored.value.scores), out.tokens_read = scored.value.tokens_read;
          out.error = std::move(scored.error), out.input_error = scored.input_error;
        } catch (const bus::ProtocolError& e) {
          out.error = e.what();
        }
        post(out.lease_id, bus::encode(out), caf::actor());
      },
      [self, worker](release_atom) {
        handoff::received(self->id());
        worker->release();
      },
  };
}

caf::behavior searcher(caf::event_based_actor* self, std::string step_separator, Reply reply, Post post) {
  handoff::started();
  return {
      [self, step_separator, reply, post](lease_atom, const std::string& message, const caf::actor& sampler,
                                          const caf::actor& verifier) {
        handoff::received(self->id());
        answer_lease(message, reply, [&](const bus::Lease& lease) {
          caf::scoped_actor asker{self->system()};
          std::uint64_t requests = 0;
          const model::ProblemSearch search_problem = [&](const search::SearchSettings& settings, std::uint64_t seed,
                                                          const bus::ProblemInput& problem, std::int64_t& prompt_tokens) {
            // A session per lease and problem: a lease run again after a failure starts afresh.
            RemotePolicy policy(asker, sampler, lease.lease_id + "/" + problem.id, problem.text);
            std::unique_ptr<search::StepVerifier> steps_verifier;
            if (verifier) steps_verifier = std::make_unique<RemoteVerifier>(asker, verifier, problem.text);
            else steps_verifier = std::make_unique<RelayedVerifier>(asker, post, lease.lease_id, problem.text, requests);
            auto found = search::run_search(settings, seed, policy, *steps_verifier);
            prompt_tokens = policy.prompt_tokens();
            return found;
          };
          return model::run_search_lease(lease.search, lease.unit_id, step_separator, search_problem);
        });
      },
  };
}

}  // namespace quorum::actors
