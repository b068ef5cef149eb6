#include "runtime/bus/protocol.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "runtime/common/json_depth.h"
#include "runtime/common/json_integer.h"

namespace quorum::bus {
namespace {

using nlohmann::json;

json envelope(const char* type) { return {{"v", kProtocolVersion}, {"type", type}}; }

json parse_checked(const std::string& message, const char* expected_type) {
  if (const auto problem = json_depth_problem(message); !problem.empty()) throw ProtocolError("malformed message: " + problem);
  json j;
  try {
    j = json::parse(message);
  } catch (const json::exception& e) {
    throw ProtocolError(std::string("malformed message: ") + e.what());
  }
  if (!j.is_object() || !j.contains("v") || !j.contains("type") || !j["type"].is_string())
    throw ProtocolError("malformed message: no version or type");
  if (j["v"] != kProtocolVersion)
    throw VersionError("protocol version " + j["v"].dump() + ", this quorum speaks " + std::to_string(kProtocolVersion));
  if (expected_type && j["type"] != expected_type)
    throw ProtocolError("expected a " + std::string(expected_type) + " message, got " + j["type"].dump());
  return j;
}

// Every decode turns nlohmann's exceptions into ProtocolError: a peer's bad frame is never a crash.
template <typename Decode>
auto decode_checked(const std::string& message, const char* type, Decode decode) {
  const auto j = parse_checked(message, type);
  try {
    return decode(j);
  } catch (const json::exception& e) {
    throw ProtocolError(std::string("malformed ") + type + ": " + e.what());
  }
}

// An integer field, as encode writes it (json_integer.h: nlohmann's own conversion would cast
// 5e300 with undefined behaviour and wrap -1 to a huge unsigned number).
template <typename T>
T integer(const json& j, const char* key) {
  const json& value = j.at(key);
  const auto x = json_integer<T>(value);
  if (!x)
    throw ProtocolError(std::string("field '") + key + "': expected " +
                        (std::is_unsigned_v<T> ? "a non-negative integer" : "a 64-bit integer") + ", got " +
                        (value.is_number() ? value.dump() : std::string(value.type_name())));
  return *x;
}

// Step scores: floats, so a number beyond a float's range (1e300, which became inf and was then
// encoded as null) is refused.
std::vector<float> float_scores(const json& j, const char* key) {
  const json& list = j.at(key);
  if (!list.is_array()) throw ProtocolError(std::string("field '") + key + "': expected a list of scores");
  std::vector<float> scores;
  for (const auto& value : list) {
    const double x = value.get<double>();
    if (!(std::fabs(x) <= std::numeric_limits<float>::max()))
      throw ProtocolError(std::string("field '") + key + "': " + value.dump() + " is beyond a float's range");
    scores.push_back(static_cast<float>(x));
  }
  return scores;
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

json policy_json(const config::PolicySpec& p) {
  return {{"name", p.name}, {"path", p.path}, {"device", p.device}, {"temperature", p.temperature},
          {"top_p", p.top_p}, {"top_k", p.top_k}, {"max_new_tokens", p.max_new_tokens}, {"stop", p.stop},
          {"prompt", p.prompt}, {"system", p.system}, {"step_separator", p.step_separator}, {"dtype", p.dtype}};
}

config::PolicySpec policy_from(const json& j) {
  config::PolicySpec p;
  p.name = j.at("name"), p.path = j.at("path"), p.device = j.at("device");
  p.temperature = j.at("temperature"), p.top_p = j.at("top_p"), p.top_k = integer<std::int64_t>(j, "top_k");
  p.max_new_tokens = integer<std::int64_t>(j, "max_new_tokens"), p.stop = j.at("stop").get<std::vector<std::string>>();
  p.prompt = j.at("prompt"), p.system = j.at("system"), p.step_separator = j.at("step_separator");
  p.dtype = j.at("dtype");
  return p;
}

json prm_json(const config::PrmSpec& p) {
  return {{"name", p.name}, {"path", p.path}, {"device", p.device}, {"kind", p.kind},
          {"step_token", p.step_token}, {"good_token", p.good_token}, {"bad_token", p.bad_token},
          {"prompt", p.prompt},         {"system", p.system},         {"dtype", p.dtype},
          {"score_transform", p.score_transform}};
}

config::PrmSpec prm_from(const json& j) {
  config::PrmSpec p;
  p.name = j.at("name"), p.path = j.at("path"), p.device = j.at("device"), p.kind = j.at("kind");
  p.step_token = j.at("step_token"), p.good_token = j.at("good_token"), p.bad_token = j.at("bad_token");
  p.prompt = j.at("prompt"), p.system = j.at("system"), p.dtype = j.at("dtype");
  p.score_transform = j.at("score_transform");
  return p;
}

}  // namespace

std::string model_key(bool policy, const std::string& name) { return (policy ? "policy/" : "prm/") + name; }

std::vector<std::string> Lease::models() const {
  if (kind == "search" && prm_served) return {model_key(true, search.run.policy)};
  if (kind == "search") return {model_key(true, search.run.policy), model_key(false, search.run.prm)};
  return {kind == "sample" ? model_key(true, sample.policy) : model_key(false, score.prm)};
}

std::string encode(const Hello& hello) {
  auto j = envelope("hello");
  j["worker"] = hello.worker, j["cuda"] = hello.cuda, j["memory_bytes"] = hello.memory_bytes;
  j["slots"] = hello.slots, j["loaded"] = hello.loaded, j["running"] = hello.running;
  return j.dump();
}

Hello decode_hello(const std::string& message) {
  return decode_checked(message, "hello", [](const json& j) {
    return Hello{j.at("worker"), j.at("cuda"), integer<std::uint64_t>(j, "memory_bytes"), integer<std::uint64_t>(j, "slots"),
                 j.at("loaded").get<std::vector<std::string>>(), j.at("running").get<std::vector<std::string>>()};
  });
}

std::string encode(const Welcome& welcome) {
  auto j = envelope("welcome");
  j["sweep"] = welcome.sweep;
  j["policies"] = json::array(), j["prms"] = json::array();
  for (const auto& p : welcome.policies) j["policies"].push_back(policy_json(p));
  for (const auto& p : welcome.prms) j["prms"].push_back(prm_json(p));
  j["batch_size"] = welcome.batch_size;
  j["replicas_per_policy"] = welcome.replicas_per_policy, j["replicas_per_prm"] = welcome.replicas_per_prm;
  j["heartbeat_ms"] = welcome.heartbeat_ms, j["liveness"] = welcome.liveness;
  return j.dump();
}

Welcome decode_welcome(const std::string& message) {
  return decode_checked(message, "welcome", [](const json& j) {
    Welcome w;
    w.sweep = j.at("sweep");
    for (const auto& p : j.at("policies")) w.policies.push_back(policy_from(p));
    for (const auto& p : j.at("prms")) w.prms.push_back(prm_from(p));
    w.batch_size = integer<std::uint64_t>(j, "batch_size");
    w.replicas_per_policy = integer<std::uint64_t>(j, "replicas_per_policy");
    w.replicas_per_prm = integer<std::uint64_t>(j, "replicas_per_prm");
    w.heartbeat_ms = integer<std::uint64_t>(j, "heartbeat_ms"), w.liveness = integer<std::uint64_t>(j, "liveness");
    if (w.heartbeat_ms == 0 || w.liveness == 0) throw ProtocolError("malformed welcome: zero heartbeat");
    return w;
  });
}

std::string encode(const Heartbeat& heartbeat) {
  auto j = envelope("heartbeat");
  j["running"] = heartbeat.running;
  return j.dump();
}

Heartbeat decode_heartbeat(const std::string& message) {
  return decode_checked(message, "heartbeat",
                        [](const json& j) { return Heartbeat{j.at("running").get<std::vector<std::string>>()}; });
}

std::string encode(const Lease& lease) {
  auto j = envelope("lease");
  j["lease"] = lease.lease_id;
  j["unit"] = lease.unit_id;
  j["kind"] = lease.kind;
  if (lease.kind == "sample") {
    const auto& w = lease.sample;
    j["work"] = {{"policy", w.policy}, {"split", w.split}, {"problems", problems_json(w.problems)},
                 {"samples", w.samples}, {"seed", w.seed}};
  } else if (lease.kind == "search") {
    const auto& w = lease.search;
    j["work"] = {{"search", config::search_json(w.run)}, {"split", w.split}, {"problems", problems_json(w.problems)},
                 {"seed", w.seed}, {"prm_served", lease.prm_served}};
  } else {
    const auto& w = lease.score;
    json responses = json::array();
    for (const auto& r : w.responses)
      responses.push_back({{"id", r.response_id}, {"problem", r.problem_id}, {"steps", r.steps}, {"text", r.text}});
    j["work"] = {{"prm", w.prm}, {"policy", w.policy}, {"split", w.split}, {"problems", problems_json(w.problems)},
                 {"responses", responses}};
  }
  return j.dump();
}

Lease decode_lease(const std::string& message) {
  return decode_checked(message, "lease", [](const json& j) {
    Lease lease;
    lease.lease_id = j.at("lease").get<std::string>();
    lease.unit_id = j.at("unit").get<std::string>();
    lease.kind = j.at("kind").get<std::string>();
    const auto& w = j.at("work");
    if (lease.kind == "sample") {
      lease.sample = {w.at("policy").get<std::string>(), w.at("split").get<std::string>(), problems_from(w.at("problems")),
                      integer<std::int64_t>(w, "samples"), integer<std::uint64_t>(w, "seed")};
    } else if (lease.kind == "search") {
      auto& s = lease.search;
      try {
        s.run = config::search_of(w.at("search"));
      } catch (const std::invalid_argument& e) {
        throw ProtocolError(std::string("malformed lease: ") + e.what());
      }
      s.split = w.at("split").get<std::string>(), s.problems = problems_from(w.at("problems"));
      s.seed = integer<std::uint64_t>(w, "seed");
      lease.prm_served = w.at("prm_served").get<bool>();
    } else if (lease.kind == "score") {
      auto& s = lease.score;
      s.prm = w.at("prm").get<std::string>(), s.policy = w.at("policy").get<std::string>();
      s.split = w.at("split").get<std::string>(), s.problems = problems_from(w.at("problems"));
      for (const auto& r : w.at("responses"))
        s.responses.push_back({r.at("id").get<std::string>(), r.at("problem").get<std::string>(),
                               r.at("steps").get<std::vector<std::string>>(), r.at("text").get<std::string>()});
    } else {
      throw ProtocolError("unknown unit kind " + lease.kind);
    }
    return lease;
  });
}

std::string encode(const Result& result) {
  auto j = envelope("result");
  j["lease"] = result.lease_id;
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
  return decode_checked(message, "result", [](const json& j) {
    Result result;
    result.lease_id = j.at("lease").get<std::string>();
    result.unit_id = j.at("unit").get<std::string>();
    for (const auto& r : j.at("responses")) {
      store::ResponseRow row;
      row.id = r.at("id").get<std::string>(), row.policy = r.at("policy").get<std::string>();
      row.split = r.at("split").get<std::string>(), row.problem_id = r.at("problem").get<std::string>();
      row.sample_index = integer<std::int64_t>(r, "sample"), row.text = r.at("text").get<std::string>();
      row.steps = r.at("steps").get<std::vector<std::string>>();
      if (!r.at("answer").is_null()) row.answer = r.at("answer").get<std::string>();
      row.prompt_tokens = integer<std::int64_t>(r, "prompt_tokens");
      row.completion_tokens = integer<std::int64_t>(r, "completion_tokens");
      row.seconds = r.at("seconds").get<double>();
      result.responses.push_back(std::move(row));
    }
    for (const auto& s : j.at("scores"))
      result.scores.push_back({s.at("response").get<std::string>(), s.at("prm").get<std::string>(),
                               float_scores(s, "scores"), integer<std::int64_t>(s, "scored_tokens"),
                               s.at("seconds").get<double>()});
    return result;
  });
}

std::string encode(const Failure& failure) {
  auto j = envelope("failure");
  j["lease"] = failure.lease_id;
  j["unit"] = failure.unit_id;
  j["message"] = failure.message;
  j["input_error"] = failure.input_error;
  return j.dump();
}

Failure decode_failure(const std::string& message) {
  return decode_checked(message, "failure", [](const json& j) {
    return Failure{j.at("lease").get<std::string>(), j.at("unit").get<std::string>(), j.at("message").get<std::string>(),
                   j.at("input_error").get<bool>()};
  });
}

std::string encode(const Ack& ack) {
  auto j = envelope("ack");
  j["lease"] = ack.lease_id;
  j["stored"] = ack.stored;
  return j.dump();
}

Ack decode_ack(const std::string& message) {
  return decode_checked(message, "ack", [](const json& j) { return Ack{j.at("lease"), j.at("stored")}; });
}

std::string encode(const Release& release) {
  auto j = envelope("release");
  j["model"] = release.model;
  return j.dump();
}

Release decode_release(const std::string& message) {
  return decode_checked(message, "release", [](const json& j) { return Release{j.at("model")}; });
}

std::string encode(const Serve& serve) {
  auto j = envelope("serve");
  j["lease"] = serve.lease_id, j["model"] = serve.model;
  return j.dump();
}

Serve decode_serve(const std::string& message) {
  return decode_checked(message, "serve", [](const json& j) {
    return Serve{j.at("lease").get<std::string>(), j.at("model").get<std::string>()};
  });
}

std::string encode(const PathsToScore& paths) {
  auto j = envelope("score_paths");
  j["lease"] = paths.lease_id, j["request"] = paths.request, j["problem"] = paths.problem, j["paths"] = paths.paths;
  return j.dump();
}

PathsToScore decode_paths_to_score(const std::string& message) {
  return decode_checked(message, "score_paths", [](const json& j) {
    return PathsToScore{j.at("lease").get<std::string>(), integer<std::uint64_t>(j, "request"),
                        j.at("problem").get<std::string>(), j.at("paths").get<std::vector<std::vector<std::string>>>()};
  });
}

std::string encode(const PathScores& scores) {
  auto j = envelope("path_scores");
  j["lease"] = scores.lease_id, j["request"] = scores.request, j["scores"] = scores.scores;
  j["tokens_read"] = scores.tokens_read, j["error"] = scores.error, j["input_error"] = scores.input_error;
  return j.dump();
}

PathScores decode_path_scores(const std::string& message) {
  return decode_checked(message, "path_scores", [](const json& j) {
    PathScores s{j.at("lease").get<std::string>(), integer<std::uint64_t>(j, "request"), {},
                 integer<std::int64_t>(j, "tokens_read"), j.at("error").get<std::string>(), j.at("input_error").get<bool>()};
    for (const auto& path : j.at("scores")) {
      std::vector<double> scores;
      for (const auto& value : path) {
        // A step score is a finite number (an infinite one is encoded as null).
        if (!value.is_number() || !std::isfinite(value.get<double>()))
          throw ProtocolError("field 'scores': " + value.dump() + " is not a finite number");
        scores.push_back(value.get<double>());
      }
      s.scores.push_back(std::move(scores));
    }
    return s;
  });
}

std::string encode(const Cancel& cancel) {
  auto j = envelope("cancel");
  j["lease"] = cancel.lease_id;
  return j.dump();
}

Cancel decode_cancel(const std::string& message) {
  return decode_checked(message, "cancel", [](const json& j) { return Cancel{j.at("lease").get<std::string>()}; });
}

std::string encode(const Refused& refused) {
  auto j = envelope("refused");
  j["reason"] = refused.reason;
  return j.dump();
}

// A refusal must be readable by a peer of any version, so its decoding ignores "v".
Refused decode_refused(const std::string& message) {
  if (const auto problem = json_depth_problem(message); !problem.empty()) throw ProtocolError("malformed refused: " + problem);
  try {
    const auto j = json::parse(message);
    return Refused{j.at("reason").get<std::string>()};
  } catch (const json::exception& e) {
    throw ProtocolError(std::string("malformed refused: ") + e.what());
  }
}

std::string encode_reannounce() { return envelope("reannounce").dump(); }
std::string encode_done() { return envelope("done").dump(); }

std::string message_type(const std::string& message) {
  try {
    return parse_checked(message, nullptr).at("type").get<std::string>();
  } catch (const VersionError&) {
    // A refusal travels to peers of every version.
    const auto j = json::parse(message);
    if (j.at("type") == "refused") return "refused";
    throw;
  }
}

}  // namespace quorum::bus
