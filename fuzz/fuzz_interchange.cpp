// The JSONL interchange reader (runtime/interchange): any bytes as one JSONL file, read in both
// the scored layout (require_scores) and the grading one (sigmoid scores), then checked for
// completeness. The contract: bad input is an InputError naming the file, line and field.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_common.h"
#include "runtime/common/error.h"
#include "runtime/interchange/jsonl_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace quorum;
  const fuzz::ScratchFile file("responses.jsonl", data, size);
  for (const bool require_scores : {true, false}) {
    interchange::ReadOptions options;
    options.require_scores = require_scores;
    options.score_transform = require_scores ? interchange::ScoreTransform::none : interchange::ScoreTransform::sigmoid;
    try {
      interchange::Dataset dataset;
      interchange::read_jsonl({file.path(), "", ""}, options, dataset);
      if (require_scores) interchange::check_complete(dataset);
    } catch (const InputError&) {
    }
  }
  return 0;
}
