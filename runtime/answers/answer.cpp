// Answer: the normalised text and parsed structure of one final answer, and the equivalence
// that grades answers and groups them into voting classes.
#include "runtime/answers/answer.h"

#include "runtime/answers/normalize.h"
#include "runtime/answers/value.h"

namespace quorum::answers {

struct Answer::Value {
  ParsedValue parsed;
};

Answer Answer::parse(std::string_view raw) {
  Answer answer;
  answer.normalized_ = normalize_answer(raw);
  answer.value_ = std::make_shared<const Value>(Value{parse_value(answer.normalized_)});
  return answer;
}

Verdict Answer::compare(const Answer& other) const {
  // No answer is never right, not even against another empty answer (or an empty gold).
  if (normalized_.empty() || other.normalized_.empty()) return {false, "no answer"};
  if (normalized_ == other.normalized_) return {true, "same normalised text"};
  if (!value_ || !other.value_) return {false, "no answer"};  // a default-constructed Answer
  return compare_values(value_->parsed, other.value_->parsed);
}

bool Answer::equivalent_to(const Answer& other) const { return compare(other).equivalent; }

bool equivalent(std::string_view gold, std::string_view pred) {
  return Answer::parse(gold).equivalent_to(Answer::parse(pred));
}

std::vector<int> group_classes(const std::vector<Answer>& answers) {
  std::vector<int> classes(answers.size(), -1);
  std::vector<std::size_t> representatives;  // index of each class's first answer
  for (std::size_t i = 0; i < answers.size(); ++i) {
    if (answers[i].normalized().empty()) continue;  // abstains: class -1
    int found = -1;
    for (std::size_t c = 0; c < representatives.size() && found < 0; ++c) {
      if (answers[i].equivalent_to(answers[representatives[c]])) found = static_cast<int>(c);
    }
    if (found < 0) {
      found = static_cast<int>(representatives.size());
      representatives.push_back(i);
    }
    classes[i] = found;
  }
  return classes;
}

}  // namespace quorum::answers
