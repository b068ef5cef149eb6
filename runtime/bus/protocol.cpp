#include "runtime/bus/protocol.h"

#include <nlohmann/json.hpp>

namespace quorum::bus {
namespace {

using nlohmann::json;

json envelope(const char* type) { return {{"v", kProtocolVersion}, {"type", type}}; }

json parse_checked(const std::string& message, const char* expected_type) {
  json j;
  try {
    j = json::parse(message);
  } catch (const json::exception& e) {
    throw ProtocolError(std::string("malformed message: ") + e.what());
  }
  if (!j.is_object() || !j.contains("v") || !j.contains("type")) throw ProtocolError("malformed message: no version or type");
  if (j["v"] != kProtocolVersion)
    throw ProtocolError("protocol version " + j["v"].dump() + ", this quorum speaks " + std::to_string(kProtocolVersion));
  if (expected_type && j["type"] != expected_type)
    throw ProtocolError("expected a " + std::string(expected_type) + " message, got " + j["type"].dump());
  return j;
}

json problems_json(const std::vector<ProblemInput>& problems) {
  json out = json::array();
  for (const auto& p : problems) out.push_back({{"id", p.id}, {"text", p.text}});
  return out;
}

std::vector<ProblemInput> problems_from(const json& j) {
  std::vector<ProblemInput> problems;
  for (const auto& p : j) problems.push_back({p.at("id").get<std::string>(), p.at("text").get<std::string>()});
  return problems;
}

// Every decode turns nlohmann's exceptions into ProtocolError: a peer's bad frame is never a crash.
template <typename Decode>
auto guarded(const char* what, Decode decode) {
  try {
    return decode();
  } catch (const json::exception& e) {
    throw ProtocolError(std::string("malformed ") + what + ": " + e.what());
  }
}

}  // namespace

std::string encode(const Lease& lease) {
  auto j = envelope("lease");
  j["unit"] = lease.unit_id;
  j["kind"] = lease.kind;
  if (lease.kind == "sample") {
    const auto& w = lease.sample;
    j["work"] = {{"policy", w.policy}, {"split", w.split}, {"problems", problems_json(w.problems)},
                 {"samples", w.samples}, {"seed", w.seed}};
  } else {
    const auto& w = lease.score;
    json responses = json::array();
    for (const auto& r : w.responses)
      responses.push_back({{"id", r.response_id}, {"problem", r.problem_id}, {"steps", r.steps}});
    j["work"] = {{"prm", w.prm}, {"policy", w.policy}, {"split", w.split}, {"problems", problems_json(w.problems)},
                 {"responses", responses}};
  }
  return j.dump();
}

Lease decode_lease(const std::string& message) {
  const auto j = parse_checked(message, "lease");
  return guarded("lease", [&] {
    Lease lease;
    lease.unit_id = j.at("unit").get<std::string>();
    lease.kind = j.at("kind").get<std::string>();
    const auto& w = j.at("work");
    if (lease.kind == "sample") {
      lease.sample = {w.at("policy").get<std::string>(), w.at("split").get<std::string>(), problems_from(w.at("problems")),
                      w.at("samples").get<std::int64_t>(), w.at("seed").get<std::uint64_t>()};
    } else if (lease.kind == "score") {
      auto& s = lease.score;
      s.prm = w.at("prm").get<std::string>(), s.policy = w.at("policy").get<std::string>();
      s.split = w.at("split").get<std::string>(), s.problems = problems_from(w.at("problems"));
      for (const auto& r : w.at("responses"))
        s.responses.push_back({r.at("id").get<std::string>(), r.at("problem").get<std::string>(),
                               r.at("steps").get<std::vector<std::string>>()});
    } else {
      throw ProtocolError("unknown unit kind " + lease.kind);
    }
    return lease;
  });
}

std::string encode(const Result& result) {
  auto j = envelope("result");
  j["unit"] = result.unit_id;
  json responses = json::array(), scores = json::array();
  for (const auto& r : result.responses) {
    json row = {{"id", r.id}, {"policy", r.policy}, {"split", r.split}, {"problem", r.problem_id},
                {"sample", r.sample_index}, {"text", r.text}, {"steps", r.steps}, {"prompt_tokens", r.prompt_tokens},
                {"completion_tokens", r.completion_tokens}, {"seconds", r.seconds}};
    row["answer"] = r.answer ? json(*r.answer) : json(nullptr);
    responses.push_back(std::move(row));
  }
  for (const auto& s : result.scores)
    scores.push_back({{"response", s.response_id}, {"prm", s.prm}, {"scores", s.scores},
                      {"scored_tokens", s.scored_tokens}, {"seconds", s.seconds}});
  j["responses"] = std::move(responses);
  j["scores"] = std::move(scores);
  return j.dump();
}

Result decode_result(const std::string& message) {
  const auto j = parse_checked(message, "result");
  return guarded("result", [&] {
    Result result;
    result.unit_id = j.at("unit").get<std::string>();
    for (const auto& r : j.at("responses")) {
      store::ResponseRow row;
      row.id = r.at("id").get<std::string>(), row.policy = r.at("policy").get<std::string>();
      row.split = r.at("split").get<std::string>(), row.problem_id = r.at("problem").get<std::string>();
      row.sample_index = r.at("sample").get<std::int64_t>(), row.text = r.at("text").get<std::string>();
      row.steps = r.at("steps").get<std::vector<std::string>>();
      if (!r.at("answer").is_null()) row.answer = r.at("answer").get<std::string>();
      row.prompt_tokens = r.at("prompt_tokens").get<std::int64_t>();
      row.completion_tokens = r.at("completion_tokens").get<std::int64_t>();
      row.seconds = r.at("seconds").get<double>();
      result.responses.push_back(std::move(row));
    }
    for (const auto& s : j.at("scores"))
      result.scores.push_back({s.at("response").get<std::string>(), s.at("prm").get<std::string>(),
                               s.at("scores").get<std::vector<float>>(), s.at("scored_tokens").get<std::int64_t>(),
                               s.at("seconds").get<double>()});
    return result;
  });
}

std::string encode(const Failure& failure) {
  auto j = envelope("failure");
  j["unit"] = failure.unit_id;
  j["message"] = failure.message;
  j["input_error"] = failure.input_error;
  return j.dump();
}

Failure decode_failure(const std::string& message) {
  const auto j = parse_checked(message, "failure");
  return guarded("failure", [&] { 
    return Failure{j.at("unit").get<std::string>(), j.at("message").get<std::string>(), j.at("input_error").get<bool>()};
  });
}

std::string encode(const Ack& ack) {
  auto j = envelope("ack");
  j["unit"] = ack.unit_id;
  return j.dump();
}

Ack decode_ack(const std::string& message) {
  const auto j = parse_checked(message, "ack");
  return guarded("ack", [&] { return Ack{j.at("unit").get<std::string>()}; });
}

std::string message_type(const std::string& message) {
  return parse_checked(message, nullptr).at("type").get<std::string>();
}

}  // namespace quorum::bus
