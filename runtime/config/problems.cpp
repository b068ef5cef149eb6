// load_problems: a split's problems from the built-in arithmetic task or from a JSONL file
// ("math" or "gsm8k" rows), with stable ids (docs/config.md, "Problem sources").
#include <cctype>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "runtime/common/error.h"
#include "runtime/common/json_depth.h"
#include "runtime/common/json_locate.h"
#include "runtime/common/level.h"
#include "runtime/common/text.h"
#include "runtime/common/hash.h"
#include "runtime/config/sweep.h"
#include "runtime/task/arithmetic.h"

namespace quorum::config {
namespace {

using nlohmann::json;

std::vector<Problem> arithmetic_problems(const ProblemSource& source) {
  std::vector<Problem> problems;
  problems.reserve(source.levels.size() * source.count);
  for (int level : source.levels) {
    std::vector<task::Problem> set;
    try {
      set = task::generate_set(level, source.seed, source.count);
    } catch (const std::invalid_argument& e) {
      throw InputError("", 0, "levels", e.what());
    }
    for (const auto& p : set)
      problems.push_back({task::problem_id(p), task::problem_text(p), std::to_string(p.answer()), std::to_string(level)});
  }
  return problems;
}

// GSM8K's gold answer: the text after the last "####", trimmed, with thousands separators
// (a comma between two digits) removed: "1,234" -> "1234".
std::string gsm8k_gold(const std::string& answer) {
  const auto mark = answer.rfind("####");
  if (mark == std::string::npos) return "";
  const std::string gold = trim(answer.substr(mark + 4));
  std::string out;
  for (std::size_t i = 0; i < gold.size(); ++i) {
    const bool separator = gold[i] == ',' && i > 0 && i + 1 < gold.size() &&
                           std::isdigit(static_cast<unsigned char>(gold[i - 1])) &&
                           std::isdigit(static_cast<unsigned char>(gold[i + 1]));
    if (!separator) out += gold[i];
  }
  return out;
}

class Rows {
 public:
  Rows(const ProblemSource& source) : source_(source) {}

  std::vector<Problem> read() {
    std::ifstream in(source_.path, std::ios::binary);
    if (!in) throw InputError(source_.path, 0, "", "cannot open the problem file");
    std::vector<Problem> problems;
    std::map<std::string, std::size_t> first_line;  // id -> line
    std::string text;
    for (line_ = 1; std::getline(in, text); ++line_) {
      if (source_.limit > 0 && problems.size() >= source_.limit) break;
      if (trim(text).empty()) continue;
      json row;
      if (const auto problem = json_depth_problem(text); !problem.empty()) fail("", problem);
      try {
        row = json::parse(text);
      } catch (const json::parse_error& e) {
        fail("", std::string("malformed JSON: ") + e.what());
      } catch (const json::out_of_range& e) {
        // The one out_of_range a parse throws: a number beyond a double's range (e.g. 1e309).
        JsonFieldLocator locator;
        json::sax_parse(text, &locator);
        fail(locator.failed_field, std::string("a number too large for a double (") + e.what() + ")");
      }
      if (!row.is_object()) fail("", "expected a JSON object, got " + std::string(row.type_name()));
      Problem p = source_.format == "gsm8k" ? gsm8k(row) : math(row);
      p.level = level(row);
      const std::string field = id_field(row);
      p.id = field.empty() ? "p" + hex64(fnv1a64(p.text)) : text_field(row, field);
      const auto [it, fresh] = first_line.emplace(p.id, line_);
      if (!fresh && field.empty())
        fail(source_.format == "gsm8k" ? "question" : "problem",
             "the same problem text as line " + std::to_string(it->second) + " (both get the id '" + p.id +
                 "'); give the rows ids");
      if (!fresh) fail(field, "duplicate id '" + p.id + "' (first on line " + std::to_string(it->second) + ")");
      problems.push_back(std::move(p));
    }
    if (in.bad()) throw InputError(source_.path, line_, "", "cannot read the problem file");
    return problems;
  }

 private:
  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw InputError(source_.path, line_, field, what);
  }

  const json& require(const json& row, const std::string& field) const {
    auto it = row.find(field);
    if (it == row.end() || it->is_null()) fail(field, "missing");
    return *it;
  }

  std::string string_field(const json& row, const std::string& field) const {
    const json& v = require(row, field);
    if (!v.is_string()) fail(field, "expected a string, got " + std::string(v.type_name()));
    auto s = v.get<std::string>();
    if (trim(s).empty()) fail(field, "is empty");
    return s;
  }

  // Answers and ids may be strings or numbers.
  std::string text_field(const json& row, const std::string& field) const {
    const json& v = require(row, field);
    std::string s;
    if (v.is_string()) s = v.get<std::string>();
    else if (v.is_number()) s = v.dump();
    else fail(field, "expected a string or a number, got " + std::string(v.type_name()));
    if (trim(s).empty()) fail(field, "is empty");
    return s;
  }

  Problem math(const json& row) const { return {"", string_field(row, "problem"), text_field(row, "answer"), ""}; }

  Problem gsm8k(const json& row) const {
    Problem p{"", string_field(row, "question"), "", ""};
    const auto answer = string_field(row, "answer");
    if (answer.find("####") == std::string::npos) fail("answer", "has no '####' before the final answer");
    p.answer = gsm8k_gold(answer);
    if (p.answer.empty()) fail("answer", "nothing follows the last '####'");
    return p;
  }

  // The optional `level` (runtime/common/level.h).
  std::string level(const json& row) const {
    const auto it = row.find("level");
    try {
      return problem_level(it == row.end() ? nullptr : &*it);
    } catch (const std::invalid_argument& e) {
      fail("level", e.what());
    }
  }

  // The field naming the row: "id", else "problem_id", else "" (the id is a hash of the text).
  static std::string id_field(const json& row) {
    for (const char* field : {"id", "problem_id"})
      if (auto it = row.find(field); it != row.end() && !it->is_null()) return field;
    return "";
  }

  const ProblemSource& source_;
  std::size_t line_ = 0;
};

}  // namespace

std::vector<Problem> load_problems(const ProblemSource& source) {
  if (source.kind == ProblemSource::Kind::arithmetic) return arithmetic_problems(source);
  if (!source.format.empty() && source.format != "math" && source.format != "gsm8k")
    throw InputError(source.path, 0, "format", "must be math or gsm8k, got '" + source.format + "'");
  return Rows(source).read();
}

}  // namespace quorum::config
