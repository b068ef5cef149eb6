// The sweeps' problem files (runtime/config/problems.cpp): any bytes as one JSONL file, read by
// config::load_problems (what the sweep's plan calls) as "math" rows, as "gsm8k" rows, and as
// math rows with a limit of two. The contract: InputError naming the file, with the line for
// a fault in a row, or success with problems that have an id, a text and an answer, ids unique.
#include <cstddef>
#include <cstdint>
#include <set>

#include "fuzz/fuzz_common.h"
#include "runtime/common/error.h"
#include "runtime/config/sweep.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace quorum;
  const fuzz::ScratchFile file("problems.jsonl", data, size);
  for (const auto& [format, limit] : {std::pair<const char*, std::size_t>{"math", 0}, {"gsm8k", 0}, {"math", 2}}) {
    config::ProblemSource source;
    source.kind = config::ProblemSource::Kind::jsonl;
    source.path = file.path();
    source.format = format;
    source.limit = limit;
    try {
      const auto problems = config::load_problems(source);
      if (limit > 0 && problems.size() > limit) __builtin_trap();
      std::set<std::string> ids;
      for (const auto& problem : problems)
        if (problem.id.empty() || problem.text.empty() || problem.answer.empty() || !ids.insert(problem.id).second)
          __builtin_trap();
    } catch (const InputError& error) {
      // Every fault of a row names its line; only an unreadable file has none.
      if (error.file() != source.path || error.line() == 0) __builtin_trap();
    }
  }
  return 0;
}
