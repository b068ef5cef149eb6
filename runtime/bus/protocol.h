// The messages between a coordinator and its workers. The same encoding travels between
// processes (over ZeroMQ tcp://, CURVE-authenticated) and inside one process (over inproc://),
// so the embedded run and a cluster run execute the same protocol. Every message is one JSON
// object with the protocol version "v" and a "type"; decode() refuses another version or a
// malformed message.
//
//   worker -> coordinator   hello      who it is and what it can run (devices, memory, models
//                                      loaded, leases it is still working on)
//                           heartbeat  still alive; the leases it is working on
//                           result     a lease's rows
//                           failure    a lease cannot be computed (the reason is reported)
//   coordinator -> worker   welcome    the sweep's models and the bus timing
//                           heartbeat  still alive
//                           lease      a unit to compute, with everything needed to compute it
//                           ack        the result is settled (stored, or refused as late): forget it
//                           release    free a model
//                           reannounce the coordinator does not know this peer: say hello again
//                           refused    this peer is not served (another protocol version)
//                           done       the sweep is finished: exit
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/config/sweep.h"
#include "runtime/store/store.h"

namespace quorum::bus {

// 2: score leases carry each response's text; search leases.
inline constexpr int kProtocolVersion = 3;

struct ProblemInput {
  std::string id, text;
};

// A sample unit: every one of `samples` responses to each problem.
struct SampleWork {
  std::string policy, split;
  std::vector<ProblemInput> problems;
  std::int64_t samples = 0;
  std::uint64_t seed = 0;
};

// A score unit: one PRM's step scores for stored responses.
struct ScoreInput {
  std::string response_id, problem_id;
  std::vector<std::string> steps;
  std::string text;  // the whole response, as generated: what an outcome reward model reads
};
struct ScoreWork {
  std::string prm, policy, split;
  std::vector<ProblemInput> problems;
  std::vector<ScoreInput> responses;
};

// A search unit: one search (a policy, a PRM, a method and a budget) on each problem. A
// problem's search has the seed sequence_seed(seed, label, split, problem, 0).
struct SearchWork {
  config::SearchRun run;
  std::string split;
  std::vector<ProblemInput> problems;
  std::uint64_t seed = 0;
};

// A worker's models are named by role and name: "policy/NAME" or "prm/NAME".
std::string model_key(bool policy, const std::string& name);

struct Hello {
  std::string worker;                // a name unique among the sweep's workers (host, pid)
  bool cuda = false;                 // a CUDA device is usable
  std::uint64_t memory_bytes = 0;    // resident model weights it accepts; 0: no bound
  std::uint64_t slots = 0;           // units at once; 0: no bound but one per model replica
  std::vector<std::string> loaded;   // model keys whose weights it holds
  std::vector<std::string> running;  // leases it is still computing
};

struct Welcome {
  std::string sweep;
  std::vector<config::PolicySpec> policies;
  std::vector<config::PrmSpec> prms;
  std::uint64_t batch_size = 0;
  std::uint64_t replicas_per_policy = 1, replicas_per_prm = 1;
  std::uint64_t heartbeat_ms = 1000, liveness = 5;
};

struct Heartbeat {
  std::vector<std::string> running;  // worker -> coordinator only
};

struct Lease {
  std::string lease_id;  // unique per issue: a unit leased again gets a new id
  std::string unit_id;
  std::string kind;  // "sample", "score" or "search"
  SampleWork sample;
  ScoreWork score;
  SearchWork search;
  // A search whose PRM another worker serves for the lease: its rounds' paths go to the
  // coordinator as PathsToScore, their scores come back as PathScores.
  bool prm_served = false;
  // The model keys the unit needs: a sample unit its policy, a score unit its PRM, a search
  // unit its policy and its PRM (in that order; its policy alone when its PRM is served).
  std::vector<std::string> models() const;
};

// A search split over two workers (docs/search.md, "Across two workers"). The coordinator tells
// the second worker to serve the lease's PRM (Serve), forwards each round's paths from the
// searching worker to it and their scores back, and ends the service when the lease ends
// (Cancel, which also stops a search whose serving worker is gone).
struct Serve {
  std::string lease_id, model;  // the model key of the PRM to hold a verifier of for the lease
};

struct PathsToScore {
  std::string lease_id;
  std::uint64_t request = 0;  // unique within the lease; its PathScores names it
  std::string problem;
  std::vector<std::vector<std::string>> paths;
};

struct PathScores {
  std::string lease_id;
  std::uint64_t request = 0;
  std::vector<std::vector<double>> scores;  // per path, one per step
  std::int64_t tokens_read = 0;
  std::string error;         // none: the scores are valid
  bool input_error = false;  // the error is the sweep's input's (a model directory, a PRM kind)
};

struct Cancel {
  std::string lease_id;
};

struct Result {
  std::string lease_id, unit_id;
  std::vector<store::ResponseRow> responses;  // sample and search units
  std::vector<store::ScoreRow> scores;        // score and search units
};

struct Failure {
  std::string lease_id, unit_id, message;
  bool input_error = false;  // the sweep's input is at fault (a model directory, a token), not the worker
};

struct Ack {
  std::string lease_id;
  bool stored = true;  // false: the lease had expired or the unit was stored already
};

struct Release {
  std::string model;  // a model key
};

struct Refused {
  std::string reason;
};

std::string encode(const Hello& hello);
std::string encode(const Welcome& welcome);
std::string encode(const Heartbeat& heartbeat);
std::string encode(const Lease& lease);
std::string encode(const Result& result);
std::string encode(const Failure& failure);
std::string encode(const Ack& ack);
std::string encode(const Release& release);
std::string encode(const Refused& refused);
std::string encode(const Serve& serve);
std::string encode(const PathsToScore& paths);
std::string encode(const PathScores& scores);
std::string encode(const Cancel& cancel);
std::string encode_reannounce();
std::string encode_done();

// The type of an encoded message; throws ProtocolError for a malformed message, and
// VersionError for a well-formed one of another version.
std::string message_type(const std::string& message);
Hello decode_hello(const std::string& message);
Welcome decode_welcome(const std::string& message);
Heartbeat decode_heartbeat(const std::string& message);
Lease decode_lease(const std::string& message);
Result decode_result(const std::string& message);
Failure decode_failure(const std::string& message);
Ack decode_ack(const std::string& message);
Release decode_release(const std::string& message);
Refused decode_refused(const std::string& message);
Serve decode_serve(const std::string& message);
PathsToScore decode_paths_to_score(const std::string& message);
PathScores decode_path_scores(const std::string& message);
Cancel decode_cancel(const std::string& message);

class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A peer speaking another protocol version: it is told so (refused) rather than ignored.
class VersionError : public ProtocolError {
 public:
  using ProtocolError::ProtocolError;
};

}  // namespace quorum::bus
