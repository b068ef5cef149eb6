// Answer extraction and equivalence (runtime/answers): the input is a response text, then
// optionally a NUL byte and a gold answer. Nothing here may throw, and parsing is bounded in
// time and memory whatever the input (answer.h), and an answer is equivalent to itself
// (equal canonical forms are equivalent, answer.h: reflexive for a non-empty normalised form).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/answers/answer.h"
#include "runtime/answers/normalize.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace quorum::answers;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto nul = input.find('\0');
  const std::string_view response = input.substr(0, nul);
  const std::string_view gold = nul == std::string_view::npos ? std::string_view("42") : input.substr(nul + 1);

  const Extraction extraction = extract(response);
  const std::string predicted = extraction.answer.value_or(std::string(response));
  (void)normalize_answer(gold);
  const Answer a = Answer::parse(gold), b = Answer::parse(predicted);
  if (!b.normalized().empty() && !b.equivalent_to(b)) __builtin_trap();
  (void)a.compare(b);
  (void)equivalent(gold, predicted);
  (void)group_classes({a, b, Answer::parse(response)});
  return 0;
}
