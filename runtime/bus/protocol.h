// The messages between a coordinator and its workers. The same encoding travels inside one
// process (between CAF actors) and between processes (over ZeroMQ), so the embedded run and a
// cluster run execute the same protocol. Every message is one JSON object with the protocol
// version "v" and a "type"; decode() refuses another version or a malformed message.
//
//   coordinator -> worker   lease    a unit to compute, with everything needed to compute it
//   worker -> coordinator   result   the unit's rows
//                           failure  the unit cannot be computed (the reason is reported)
//   coordinator -> worker   ack      the result is committed to the store
//                           release  no more work for this worker's model: free it
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/store/store.h"

namespace quorum::bus {

inline constexpr int kProtocolVersion = 1;

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
};
struct ScoreWork {
  std::string prm, policy, split;
  std::vector<ProblemInput> problems;
  std::vector<ScoreInput> responses;
};

struct Lease {
  std::string unit_id;
  std::string kind;  // "sample" or "score"
  SampleWork sample;
  ScoreWork score;
};

struct Result {
  std::string unit_id;
  std::vector<store::ResponseRow> responses;  // sample units
  std::vector<store::ScoreRow> scores;        // score units
};

struct Failure {
  std::string unit_id, message;
  bool input_error = false;  // the sweep's input is at fault (a model directory, a token), not the worker
};

struct Ack {
  std::string unit_id;
};

std::string encode(const Lease& lease);
std::string encode(const Result& result);
std::string encode(const Failure& failure);
std::string encode(const Ack& ack);

// The type of an encoded message; throws ProtocolError for a malformed message or another
// version.
std::string message_type(const std::string& message);
Lease decode_lease(const std::string& message);
Result decode_result(const std::string& message);
Failure decode_failure(const std::string& message);
Ack decode_ack(const std::string& message);

class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace quorum::bus
