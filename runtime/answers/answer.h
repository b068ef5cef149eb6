// Final-answer extraction, normalisation and equivalence (design.md section 2).
// Equivalence decides correctness (c_i) and groups a problem's answers into the classes
// that every voting strategy counts.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/answers/value.h"

namespace quorum::answers {

struct ExtractOptions {
  // Regexes (ECMAScript) with one capture group, tried in order when no \boxed{} / \fbox{}
  // is present; the last match in the text wins. Defaults cover "The answer is ..." and
  // GSM8K's "#### n".
  std::vector<std::string> fallback_patterns = default_fallback_patterns();
  // Without a box, the content of the last $...$, $$...$$, \(...\) or \[...\] that ends
  // within the final 300 characters, before the patterns.
  bool math_environment_fallback = true;
  // As the last resort, take the last number in the text.
  bool last_number_fallback = true;

  static std::vector<std::string> default_fallback_patterns();
};

// Which rule found the answer (docs/answers.md, "Extraction order").
enum class ExtractionRule { boxed, boxed_list, math_environment, pattern, last_number, none };
std::string_view rule_name(ExtractionRule rule);

struct Extraction {
  std::optional<std::string> answer;  // nullopt when nothing is found
  ExtractionRule rule = ExtractionRule::none;
  int pattern = -1;  // rule == pattern: the index of the pattern that matched
};

// The final answer of a response: the last \boxed{...} or \fbox{...} (nested braces
// honoured; several boxes in a row read as one list), else the fallbacks, in order.
Extraction extract(std::string_view text, const ExtractOptions& options = {});
std::optional<std::string> extract_answer(std::string_view text,
                                          const ExtractOptions& options = {});

// A parsed answer. Parsing is bounded in time and memory whatever the input.
class Answer {
 public:
  static Answer parse(std::string_view raw);

  // Canonical text form: equal canonical forms are always equivalent, except that an empty
  // form (no answer) is equivalent to nothing.
  const std::string& normalized() const { return normalized_; }
  bool equivalent_to(const Answer& other) const;
  // The verdict and the rule that decided it (or why the answers differ), for audits.
  Verdict compare(const Answer& other) const;

 private:
  std::string normalized_;
  struct Value;  // parsed structure (number, tuple, interval, set, text)
  std::shared_ptr<const Value> value_;
};

bool equivalent(std::string_view gold, std::string_view pred);

// Class id per answer, numbered 0, 1, ... in order of first appearance; answers equivalent to
// an earlier one share its id. Answers with an empty normalised form abstain: class -1.
std::vector<int> group_classes(const std::vector<Answer>& answers);

}  // namespace quorum::answers
