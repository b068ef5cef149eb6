// `quorum task`: the built-in arithmetic task (docs/task.md). `generate` writes seeded problems
// as JSONL; `check` labels every step of responses to them.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/cli/command.h"
#include "runtime/common/error.h"
#include "runtime/common/files.h"
#include "runtime/task/arithmetic.h"

namespace quorum::cli {
namespace {

using nlohmann::json;

struct GenerateArgs {
  int level = 1;
  std::size_t count = 100;
  std::uint64_t seed = 0;
  std::uint64_t first = 0;
  std::string out;
};

struct CheckArgs {
  std::string problem_file;
  std::string responses_file;
  std::string out;
};

void generate(const GenerateArgs& args) {
  std::string text;
  for (std::size_t k = 0; k < args.count; ++k) {
    const auto problem = task::generate(args.level, args.seed, args.first + k);
    const json row{{"problem_id", task::problem_id(problem)},
                   {"problem", task::problem_text(problem)},
                   {"answer", std::to_string(problem.answer())},
                   {"solution", task::solution_text(problem)},
                   {"level", problem.level}};
    text += row.dump() + "\n";
  }
  write_file_atomically(args.out, text);
  std::cerr << "task: wrote " << args.count << " level-" << args.level << " problems to " << args.out << "\n";
}

// Calls row(line_number, object) for each non-blank line of a JSONL file.
template <typename Row>
void read_rows(const std::string& path, Row&& row) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, 0, "", "cannot open");
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json value;
    try {
      value = json::parse(line);
    } catch (const json::exception& e) {
      throw InputError(path, number, "", std::string("malformed JSON: ") + e.what());
    }
    if (!value.is_object()) throw InputError(path, number, "", "a row must be a JSON object");
    row(number, value);
  }
  if (in.bad()) throw InputError(path, number, "", "read error");
}

std::string string_field(const std::string& path, std::size_t line, const json& row, const char* field) {
  const auto it = row.find(field);
  if (it == row.end()) return {};
  if (!it->is_string()) throw InputError(path, line, field, "must be a string");
  return it->get<std::string>();
}

struct ProblemSet {
  std::map<std::string, task::Problem> by_id;
  std::map<std::string, std::string> id_by_text;
};

ProblemSet read_problems(const std::string& path) {
  ProblemSet set;
  read_rows(path, [&](std::size_t line, const json& row) {
    const std::string text = string_field(path, line, row, "problem");
    if (text.empty()) throw InputError(path, line, "problem", "missing");
    const auto problem = task::parse_problem(text);
    if (!problem) throw InputError(path, line, "problem", "not an arithmetic task problem (docs/task.md)");
    const auto answer = row.find("answer");
    if (answer != row.end()) {
      const std::string gold = answer->is_string() ? answer->get<std::string>() : answer->dump();
      if (gold != std::to_string(problem->answer()))
        throw InputError(path, line, "answer", "'" + gold + "' is not the problem's answer " +
                                                   std::to_string(problem->answer()));
    }
    std::string id = string_field(path, line, row, "problem_id");
    if (id.empty()) id = text;
    if (!set.by_id.emplace(id, *problem).second) throw InputError(path, line, "problem_id", "'" + id + "' repeats");
    set.id_by_text.emplace(text, id);
  });
  return set;
}

void check(const CheckArgs& args) {
  const ProblemSet problems = read_problems(args.problem_file);
  const std::string& path = args.responses_file;
  std::string output;
  std::size_t responses = 0, answers_correct = 0, complete = 0;
  std::size_t label_counts[4] = {0, 0, 0, 0};

  read_rows(path, [&](std::size_t line, const json& row) {
    std::string id = string_field(path, line, row, "problem_id");
    const task::Problem* problem = nullptr;
    if (!id.empty()) {
      const auto it = problems.by_id.find(id);
      if (it == problems.by_id.end()) throw InputError(path, line, "problem_id", "'" + id + "' is not in " + args.problem_file);
      problem = &it->second;
    } else {
      const auto text = problems.id_by_text.find(string_field(path, line, row, "problem"));
      if (text == problems.id_by_text.end())
        throw InputError(path, line, "problem", "no problem_id, and no problem of " + args.problem_file + " has this text");
      id = text->second;
      problem = &problems.by_id.at(id);
    }

    std::vector<std::string> texts;
    const auto add_texts = [&](const char* field) {
      const auto it = row.find(field);
      if (it == row.end()) return;
      if (it->is_string()) {
        texts.push_back(it->get<std::string>());
        return;
      }
      if (!it->is_array()) throw InputError(path, line, field, "must be a string or a list");
      for (std::size_t i = 0; i < it->size(); ++i) {
        const json& item = (*it)[i];
        const json* text = item.is_object() && item.contains("text") ? &item["text"] : &item;
        if (!text->is_string())
          throw InputError(path, line, std::string(field) + "[" + std::to_string(i) + "]", "must be a text");
        texts.push_back(text->get<std::string>());
      }
    };
    add_texts("response");
    add_texts("responses");
    add_texts("completions");
    if (texts.empty()) throw InputError(path, line, "responses", "no response (response, responses or completions)");

    for (std::size_t i = 0; i < texts.size(); ++i) {
      const auto result = task::check(*problem, texts[i]);
      json labels = json::array();
      for (const auto& step : result.steps) {
        labels.push_back(task::label_name(step.label));
        ++label_counts[static_cast<int>(step.label)];
      }
      ++responses;
      answers_correct += result.answer_correct;
      complete += result.complete;
      const json out{{"problem_id", id},
                     {"response_index", i},
                     {"labels", labels},
                     {"first_error", result.first_error},
                     {"answer", result.final_answer ? json(*result.final_answer) : json(nullptr)},
                     {"answer_correct", result.answer_correct},
                     {"complete", result.complete}};
      output += out.dump() + "\n";
    }
  });

  if (args.out.empty()) {
    std::fwrite(output.data(), 1, output.size(), stdout);
    std::fflush(stdout);
  } else {
    write_file_atomically(args.out, output);
  }
  const auto share = [&](std::size_t k) { return responses ? 100.0 * static_cast<double>(k) / responses : 0.0; };
  std::fprintf(stderr,
               "task check: %zu responses, answer correct %.1f%%, all steps correct %.1f%%; steps: %zu correct, "
               "%zu wrong_arithmetic, %zu illegal, %zu malformed\n",
               responses, share(answers_correct), share(complete), label_counts[0], label_counts[1],
               label_counts[2], label_counts[3]);
}

}  // namespace

void register_task(CLI::App& app, int& exit_code) {
  auto* task = app.add_subcommand("task", "The built-in arithmetic reasoning task: generate problems, check responses");
  task->require_subcommand(1);

  auto gen = std::make_shared<GenerateArgs>();
  auto* generate_cmd = task->add_subcommand("generate", "Write seeded arithmetic problems as JSONL "
                                                        "{problem_id, problem, answer, solution, level}");
  generate_cmd->add_option("--level", gen->level, "Difficulty level")
      ->check(CLI::Range(task::kMinLevel, task::kMaxLevel))
      ->capture_default_str();
  generate_cmd->add_option("--count", gen->count, "Number of problems")->capture_default_str();
  generate_cmd->add_option("--seed", gen->seed, "Seed")->capture_default_str();
  generate_cmd->add_option("--first", gen->first, "Index of the first problem")->capture_default_str();
  generate_cmd->add_option("--out,-o", gen->out, "Output JSONL file")->required();
  generate_cmd->callback([gen, &exit_code] {
    generate(*gen);
    exit_code = 0;
  });

  auto chk = std::make_shared<CheckArgs>();
  auto* check_cmd = task->add_subcommand(
      "check", "Label every step of responses (JSONL rows with problem_id or problem, and response, responses or "
               "completions); writes one JSONL row per response");
  check_cmd->add_option("--problem-file", chk->problem_file, "Problems JSONL (as `task generate` writes)")->required();
  check_cmd->add_option("--responses", chk->responses_file, "Responses JSONL")->required();
  check_cmd->add_option("--out,-o", chk->out, "Output JSONL file (default: standard output)");
  check_cmd->callback([chk, &exit_code] {
    check(*chk);
    exit_code = 0;
  });
}

}  // namespace quorum::cli
