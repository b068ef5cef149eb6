#include "runtime/interchange/jsonl_reader.h"

#include <cmath>
#include <fstream>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "runtime/aggregation/draws.h"
#include "runtime/common/error.h"
#include "runtime/common/hash.h"
#include "runtime/common/json_depth.h"
#include "runtime/common/json_locate.h"
#include "runtime/common/level.h"

namespace quorum::interchange {
namespace {

using nlohmann::json;

// Where a value came from, for error messages.
struct Context {
  const std::string& file;
  std::size_t line;
  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw InputError(file, line, field, what);
  }
};

std::string stem_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  auto dot = name.find('.');
  return dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
}

const json& require(const json& object, const std::string& field, const Context& at) {
  auto it = object.find(field);
  if (it == object.end() || it->is_null()) at.fail(field, "missing");
  return *it;
}

// Answers and ids may be written as strings or as numbers.
std::string text_of(const json& value, const std::string& field, const Context& at) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number()) return value.dump();
  at.fail(field, "expected a string or a number, got " + std::string(value.type_name()));
}

std::string string_of(const json& value, const std::string& field, const Context& at) {
  if (!value.is_string()) at.fail(field, "expected a string, got " + std::string(value.type_name()));
  return value.get<std::string>();
}

// Step scores in [0, 1]; with the sigmoid transform, raw logits (any finite number) mapped into
// (0, 1) first, as outcome reward models such as Qwen2.5-Math-RM write them.
std::vector<float> step_scores_of(const json& value, const std::string& field, const Context& at,
                                  ScoreTransform transform) {
  if (!value.is_array()) at.fail(field, "expected a list of step scores");
  std::vector<float> scores;
  scores.reserve(value.size());
  for (std::size_t k = 0; k < value.size(); ++k) {
    const json& score = value[k];
    const std::string where = field + "[" + std::to_string(k) + "]";
    const bool logits = transform == ScoreTransform::sigmoid;
    if (!score.is_number())
      at.fail(where, std::string(logits ? "expected a number" : "expected a number in [0, 1]") + ", got " +
                         score.dump());
    double v = score.get<double>();
    if (!std::isfinite(v)) at.fail(where, "score " + score.dump() + " is not finite");
    if (logits) v = 1.0 / (1.0 + std::exp(-v));
    if (v < 0.0 || v > 1.0)
      at.fail(where, "score " + score.dump() +
                         " is outside [0, 1] (raw logits? --score-transform sigmoid maps them into (0, 1))");
    scores.push_back(static_cast<float>(v));
  }
  if (scores.empty()) at.fail(field, "no step scores");
  return scores;
}

std::vector<std::string> split_steps(const std::string& text, const std::string& separator) {
  std::vector<std::string> steps;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = separator.empty() ? std::string::npos : text.find(separator, start);
    if (end == std::string::npos) end = text.size();
    std::string step = text.substr(start, end - start);
    if (step.find_first_not_of(" \t\r\n") != std::string::npos) steps.push_back(std::move(step));
    start = end + separator.size();
    if (separator.empty()) break;
  }
  return steps;
}

std::string problem_id_of(const json& row, const std::string& problem, const Context& at) {
  for (const char* field : {"problem_id", "unique_id", "id"}) {
    auto it = row.find(field);
    if (it != row.end() && !it->is_null()) return text_of(*it, field, at);
  }
  return "h" + hex64(fnv1a64(problem));
}

// GSM8K writes the whole solution ending in "#### n"; the gold answer is n.
std::string gold_of(const json& row, const Context& at) {
  const char* field = row.contains("answer") ? "answer" : "gold";
  std::string gold = text_of(require(row, field, at), field, at);
  auto marker = gold.rfind("####");
  if (marker != std::string::npos) {
    gold = gold.substr(marker + 4);
    gold.erase(0, gold.find_first_not_of(" \t"));
  }
  if (gold.find_first_not_of(" \t\r\n") == std::string::npos) at.fail(field, "empty gold answer");
  return gold;
}

void check_step_count(const ResponseRecord& response, const std::string& prm,
                      const std::string& field, const Context& at, const std::string& separator) {
  const auto& scores = response.scores.at(prm);
  if (scores.size() == response.steps.size()) return;
  std::string escaped;
  for (char c : separator) escaped += c == '\n' ? "\\n" : std::string(1, c);
  at.fail(field, std::to_string(scores.size()) + " step scores for " +
                     std::to_string(response.steps.size()) + " steps (steps are split at \"" +
                     escaped + "\" unless the row lists them)");
}

// Token counts are summed per response and per pool: a count beyond 2^53 tokens is no count a
// model produced, and would lose precision or overflow the sums.
double token_count(const json& value, const std::string& field, const Context& at) {
  if (!value.is_number() || value.get<double>() < 0 || value.get<double>() > 0x1p53)
    at.fail(field, "expected a non-negative number of tokens up to 2^53, got " + value.dump());
  return value.get<double>();
}

// quorum's own layout: {"problem", "answer", "policy"?, "responses": [{"text", "steps"?,
// "answer"?, "prompt_tokens"?, "completion_tokens"?, "scores": {prm: [..]}}]}
void read_native_responses(const json& row, const ReadOptions& options, const Context& at,
                           ProblemRecord& record) {
  const json& responses = require(row, "responses", at);
  if (!responses.is_array()) at.fail("responses", "expected a list of responses");
  for (std::size_t i = 0; i < responses.size(); ++i) {
    const std::string base = "responses[" + std::to_string(i) + "]";
    const json& item = responses[i];
    if (!item.is_object()) at.fail(base, "expected an object");
    ResponseRecord response;
    if (auto it = item.find("text"); it != item.end()) response.text = string_of(*it, base + ".text", at);
    if (auto it = item.find("steps"); it != item.end()) {
      if (!it->is_array()) at.fail(base + ".steps", "expected a list of strings");
      for (std::size_t k = 0; k < it->size(); ++k)
        response.steps.push_back(string_of((*it)[k], base + ".steps[" + std::to_string(k) + "]", at));
      if (response.text.empty())
        for (const auto& step : response.steps) response.text += (response.text.empty() ? "" : "\n") + step;
    } else {
      if (!item.contains("text")) at.fail(base + ".text", "missing (a response needs text or steps)");
      response.steps = split_steps(response.text, options.step_separator);
    }
    if (auto it = item.find("answer"); it != item.end() && !it->is_null())
      response.answer = text_of(*it, base + ".answer", at);
    for (auto [field, target] : {std::pair{"prompt_tokens", &response.prompt_tokens},
                                 std::pair{"completion_tokens", &response.completion_tokens}}) {
      auto it = item.find(field);
      if (it == item.end() || it->is_null()) continue;
      *target = token_count(*it, base + "." + field, at);
    }
    auto scores_it = item.find("scores");
    if ((scores_it == item.end() || scores_it->is_null()) && !options.require_scores) {
      record.responses.push_back(std::move(response));
      continue;
    }
    if (scores_it == item.end() || scores_it->is_null()) at.fail(base + ".scores", "missing");
    const json& scores = *scores_it;
    if (!scores.is_object()) at.fail(base + ".scores", "expected an object {prm: [step scores]}");
    for (auto it = scores.begin(); it != scores.end(); ++it) {
      const std::string field = base + ".scores." + it.key();
      response.scores[it.key()] = step_scores_of(it.value(), field, at, options.score_transform);
      check_step_count(response, it.key(), field, at, options.step_separator);
    }
    record.responses.push_back(std::move(response));
  }
}

// A list with one entry per completion, or absent (null).
const json* per_completion(const json& row, const char* field, std::size_t completions, const Context& at) {
  const auto it = row.find(field);
  if (it == row.end() || it->is_null()) return nullptr;
  if (!it->is_array() || it->size() != completions)
    at.fail(field, "expected a list with one entry per completion (" + std::to_string(completions) + " completions)");
  return &*it;
}

// Python pipelines (search-and-learn's rows among them): {"problem", "answer", "completions":
// [text], "scores": [[..]] or {prm: [[..]]}, "scores_<prm>": [[..]], "completion_tokens"?:
// [n], "steps"?: [[step]]}. "steps" (quorum's export writes it) gives each completion's steps
// as they were scored, instead of the text split at the separator.
void read_pipeline_responses(const json& row, const InputSpec& input, const ReadOptions& options,
                             const Context& at, ProblemRecord& record) {
  const json& completions = require(row, "completions", at);
  if (!completions.is_array()) at.fail("completions", "expected a list of completion texts");
  const json* steps = per_completion(row, "steps", completions.size(), at);
  const json* tokens = per_completion(row, "completion_tokens", completions.size(), at);
  for (std::size_t i = 0; i < completions.size(); ++i) {
    const auto index = "[" + std::to_string(i) + "]";
    ResponseRecord response;
    response.text = string_of(completions[i], "completions" + index, at);
    if (steps) {
      const json& listed = (*steps)[i];
      if (!listed.is_array()) at.fail("steps" + index, "expected a list of strings");
      for (std::size_t k = 0; k < listed.size(); ++k)
        response.steps.push_back(string_of(listed[k], "steps" + index + "[" + std::to_string(k) + "]", at));
    } else {
      response.steps = split_steps(response.text, options.step_separator);
    }
    if (tokens) response.completion_tokens = token_count((*tokens)[i], "completion_tokens" + index, at);
    record.responses.push_back(std::move(response));
  }

  // (PRM name, field name, per-completion score lists)
  std::vector<std::tuple<std::string, std::string, const json*>> columns;
  std::string default_prm = input.prm;
  if (auto it = row.find("prm"); it != row.end()) default_prm = string_of(*it, "prm", at);
  if (default_prm.empty()) default_prm = stem_of(input.path);
  for (auto it = row.begin(); it != row.end(); ++it) {
    const std::string& key = it.key();
    if (key == "scores" && it->is_object()) {
      for (auto p = it->begin(); p != it->end(); ++p) columns.emplace_back(p.key(), "scores." + p.key(), &p.value());
    } else if (key == "scores") {
      columns.emplace_back(default_prm, key, &it.value());
    } else if (key.rfind("scores_", 0) == 0 && key.size() > 7) {
      columns.emplace_back(key.substr(7), key, &it.value());
    }
  }
  if (columns.empty() && options.require_scores)
    at.fail("scores", "missing (expected \"scores\" or \"scores_<prm>\")");
  for (const auto& [prm, field, lists] : columns) {
    if (!lists->is_array() || lists->size() != completions.size())
      at.fail(field, "expected one list of step scores per completion (" +
                         std::to_string(completions.size()) + " completions)");
    for (std::size_t i = 0; i < completions.size(); ++i) {
      const std::string where = field + "[" + std::to_string(i) + "]";
      auto& response = record.responses[i];
      response.scores[prm] = step_scores_of((*lists)[i], where, at, options.score_transform);
      check_step_count(response, prm, where, at, options.step_separator);
    }
  }
}

void merge(Dataset& dataset, ProblemRecord record) {
  const auto key = std::make_pair(record.policy, record.problem_id);
  auto found = dataset.index.find(key);
  if (found == dataset.index.end()) {
    dataset.index.emplace(key, dataset.problems.size());
    dataset.problems.push_back(std::move(record));
    return;
  }
  ProblemRecord& existing = dataset.problems[found->second];
  const Context at{record.file, record.line};
  const std::string earlier = existing.file + ":" + std::to_string(existing.line);
  if (!record.level.empty() && !existing.level.empty() && record.level != existing.level)
    at.fail("level", "problem '" + record.problem_id + "' is level " + record.level + " here but " + existing.level +
                         " at " + earlier);
  if (existing.level.empty()) existing.level = record.level;
  if (existing.responses.size() != record.responses.size())
    at.fail("", "problem '" + record.problem_id + "' of policy '" + record.policy + "' has " +
                    std::to_string(record.responses.size()) + " responses here but " +
                    std::to_string(existing.responses.size()) + " at " + earlier);
  for (std::size_t i = 0; i < record.responses.size(); ++i) {
    auto& target = existing.responses[i];
    auto& source = record.responses[i];
    if (target.text != source.text)
      at.fail("response " + std::to_string(i), "text differs from the same response at " + earlier);
    for (auto& [prm, scores] : source.scores) {
      if (target.scores.count(prm))
        at.fail("scores", "PRM '" + prm + "' scores problem '" + record.problem_id +
                              "' twice (also at " + earlier + ")");
      target.scores.emplace(prm, std::move(scores));
    }
  }
}

}  // namespace

ScoreTransform parse_score_transform(const std::string& name) {
  if (name == "none") return ScoreTransform::none;
  if (name == "sigmoid") return ScoreTransform::sigmoid;
  throw std::invalid_argument("unknown score transform '" + name + "' (expected none or sigmoid)");
}

InputSpec parse_input_spec(const std::string& text) {
  InputSpec spec;
  auto colon = text.rfind(':');
  if (colon == std::string::npos || text.find('=', colon) == std::string::npos) {
    spec.path = text;
    return spec;
  }
  spec.path = text.substr(0, colon);
  std::string options = text.substr(colon + 1);
  std::size_t start = 0;
  while (start < options.size()) {
    auto end = options.find(',', start);
    if (end == std::string::npos) end = options.size();
    const std::string pair = options.substr(start, end - start);
    auto eq = pair.find('=');
    const std::string key = pair.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : pair.substr(eq + 1);
    if (key == "policy") spec.policy = value;
    else if (key == "prm") spec.prm = value;
    else throw InputError("", 0, "--input", "unknown option '" + key + "' in '" + text + "' (expected policy= or prm=)");
    if (value.empty()) throw InputError("", 0, "--input", "empty value for '" + key + "' in '" + text + "'");
    start = end + 1;
  }
  return spec;
}

void read_jsonl(const InputSpec& input, const ReadOptions& options, Dataset& dataset) {
  std::ifstream in(input.path);
  if (!in) throw InputError(input.path, 0, "", "cannot open file");
  std::string line;
  std::size_t line_number = 0, rows = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const Context at{input.path, line_number};
    json row;
    if (const auto problem = json_depth_problem(line); !problem.empty()) at.fail("", problem);
    try {
      row = json::parse(line);
    } catch (const json::parse_error& e) {
      std::string why = e.what();
      if (line.find("NaN") != std::string::npos) why = "NaN is not a number JSON can hold (" + why + ")";
      at.fail("", "malformed JSON: " + why);
    } catch (const json::out_of_range& e) {
      // The one out_of_range a parse throws: a number beyond a double's range (e.g. 1e309).
      JsonFieldLocator locator;
      json::sax_parse(line, &locator);
      at.fail(locator.failed_field, std::string("a number too large for a double (") + e.what() + ")");
    }
    if (!row.is_object()) at.fail("", "expected a JSON object per line");

    ProblemRecord record;
    record.file = input.path;
    record.line = line_number;
    const char* problem_field = row.contains("question") && !row.contains("problem") ? "question" : "problem";
    record.problem = text_of(require(row, problem_field, at), problem_field, at);
    record.gold = gold_of(row, at);
    record.problem_id = problem_id_of(row, record.problem, at);
    record.policy = input.policy.empty() ? options.default_policy : input.policy;
    if (auto it = row.find("policy"); it != row.end()) record.policy = string_of(*it, "policy", at);
    try {
      const auto it = row.find("level");
      record.level = problem_level(it == row.end() ? nullptr : &*it);
    } catch (const std::invalid_argument& e) {
      at.fail("level", e.what());
    }
    if (row.contains("responses"))
      read_native_responses(row, options, at, record);
    else
      read_pipeline_responses(row, input, options, at, record);
    const char* responses_field = row.contains("responses") ? "responses" : "completions";
    if (record.responses.empty()) at.fail(responses_field, "empty pool: no responses");
    // The budget sweep numbers a problem's responses in 16 bits: more would silently mix them up.
    if (record.responses.size() > aggregation::kMaxResponsesPerProblem)
      at.fail(responses_field, std::to_string(record.responses.size()) + " responses: analysis supports at most " +
                                   std::to_string(aggregation::kMaxResponsesPerProblem) + " per problem");
    merge(dataset, std::move(record));
    ++rows;
  }
  if (rows == 0) throw InputError(input.path, 0, "", "no rows: the file holds no problems");
}

void check_complete(const Dataset& dataset) {
  if (dataset.problems.empty()) throw InputError("", 0, "--input", "no problems were read");
  std::map<std::string, std::set<std::string>> prms_of_policy;
  for (const auto& problem : dataset.problems)
    for (const auto& response : problem.responses)
      for (const auto& [prm, scores] : response.scores) prms_of_policy[problem.policy].insert(prm);
  for (const auto& problem : dataset.problems) {
    const auto& expected = prms_of_policy[problem.policy];
    if (expected.empty())
      throw InputError(problem.file, problem.line, "scores",
                       "policy '" + problem.policy + "' has no PRM scores at all");
    for (std::size_t i = 0; i < problem.responses.size(); ++i)
      for (const auto& prm : expected)
        if (!problem.responses[i].scores.count(prm))
          throw InputError(problem.file, problem.line, "response " + std::to_string(i),
                           "no scores from PRM '" + prm + "', which scores other responses of policy '" +
                               problem.policy + "'");
  }
}

}  // namespace quorum::interchange
