// Reads problems, responses and step scores from JSONL in either of two layouts:
//  - quorum's own rows (docs/interchange.md): {"problem", "answer", "policy", "responses": [...]}
//  - rows of Python best-of-N pipelines: {"problem", "answer", "completions": [text, ...],
//    "scores": [[step scores], ...]}, one PRM per file (or per "scores_<prm>" column).
// Rows for the same (policy, problem) from several files are merged: that is how one file per
// PRM comes together. Every error names the file, the line and the field.
#pragma once

#include <string>

#include "runtime/interchange/records.h"

namespace quorum::interchange {

struct InputSpec {
  std::string path;
  std::string policy;  // default policy name for rows without a "policy" field
  std::string prm;     // PRM name of a plain "scores" column; default: the file's stem
};

// Parses "PATH[:key=value,...]" with keys policy and prm.
InputSpec parse_input_spec(const std::string& text);

// How step scores in the files become probabilities in [0, 1].
enum class ScoreTransform { none, sigmoid };

// "none" or "sigmoid"; std::invalid_argument otherwise.
ScoreTransform parse_score_transform(const std::string& name);

struct ReadOptions {
  std::string default_policy = "policy";
  std::string step_separator = "\n\n";  // splits completion text into steps when none are given
  // Grading needs only texts and gold answers: without this, rows without step scores are read
  // (scores that are present are still checked).
  bool require_scores = true;
  ScoreTransform score_transform = ScoreTransform::none;
};

// Reads one file into dataset (merging with what is there).
void read_jsonl(const InputSpec& input, const ReadOptions& options, Dataset& dataset);

// Checks that every response of a policy is scored by the same PRMs; throws InputError.
void check_complete(const Dataset& dataset);

}  // namespace quorum::interchange
