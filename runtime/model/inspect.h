// `quorum inspect MODEL_DIR`: what quorum makes of a checkpoint (architecture, size, dtype,
// tokenizer, chat template, stop ids, PRM kind), and for a prompt the last position's logits or
// for a PRM the step scores, so that a user can compare quorum with another implementation on
// their own checkpoint. No libtorch in this header: the CLI includes it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/config/sweep.h"

namespace quorum::model {

struct InspectRequest {
  std::string directory;
  std::string device = "cpu";
  std::string dtype;                                // "" = auto
  std::optional<std::string> text;                  // a prompt as text (encoded as the policy's prompt is)
  std::optional<std::vector<std::int64_t>> ids;     // ... or as token ids
  std::optional<std::string> problem;               // a PRM's problem ...
  std::vector<std::string> steps;                   // ... and the steps it scores
  config::PrmSpec prm;                              // kind, step_token, ... (empty: quorum.json's, else by architecture)
  bool json = false;
};

// The report as text, or with json = true as one JSON object. Throws InputError for a
// directory that does not load, naming the file and field.
std::string inspect(const InspectRequest& request);

}  // namespace quorum::model
