// A policy or a PRM loaded as a sweep config describes it, with the model's quorum.json filling
// in what the config leaves out (quorum's own models carry one; published checkpoints do not).
// The sweep's samplers and verifiers and `quorum inspect` load models through here alone.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/chat/chat_template.h"
#include "runtime/config/sweep.h"
#include "runtime/model/decoder.h"
#include "runtime/model/generate.h"
#include "runtime/model/prm.h"
#include "runtime/prompts/prompts.h"
#include "runtime/tokenizer/tokenizer_config.h"

namespace quorum::model {

// The checkpoint's tokenizer with tokenizer_config.json's special tokens, and its chat template
// (when it has one).
struct Vocabulary {
  tokenizer::Tokenizer tokens;
  prompts::Specials specials;
  std::optional<chat::ChatTemplate> chat_template;
  std::optional<std::int64_t> eos_id;  // tokenizer_config.json's eos_token
  bool clean_up = false;               // its clean_up_tokenization_spaces
  // A response's text as vLLM returns it: transformers' decode with skip_special_tokens (so a
  // policy that writes a special token, e.g. a PRM's step token, leaves no trace of it for the
  // PRM to misread) and the config's clean-up.
  std::string decode(const std::vector<std::int64_t>& ids) const;
};

// Throws InputError naming `field` when needs_chat_template and the checkpoint has none.
Vocabulary load_vocabulary(const std::string& directory, bool needs_chat_template = false,
                           const char* field = "prompt");

// A sweep's `dtype` setting ("" is auto) for a model that runs on device.
WeightDtype resolve_dtype(const std::string& setting, const std::string& directory, const torch::Device& device);

// The same where the model is planned, not run: the device setting as written ("auto" is CUDA
// when this process sees one).
WeightDtype planned_dtype(const std::string& setting, const std::string& directory, const std::string& device);

// One line on stderr: the device and dtype a model actually runs on, read from the loaded
// decoder (not from the settings that asked for them), e.g. "quorum: model small (models/policy-small)
// runs on cpu in float32". Every model quorum loads says it: the sweep's policies and PRMs,
// `quorum inspect`'s, and those `quorum train` and `quorum eval` train and evaluate.
void log_placement(const std::string& name, const std::string& directory, Decoder& decoder);

// DIR/quorum.json: what quorum's own models record about themselves (role, prompt, kind, step
// and eos tokens). Published checkpoints have none (an empty object); the sweep config then
// supplies what is needed.
nlohmann::json manifest_of(const std::string& directory);

// DIR/generation_config.json's eos_token_id (one id or a list; none without the file).
std::vector<std::int64_t> generation_eos_ids(const std::string& directory);

struct LoadedPolicy {
  Decoder decoder{nullptr};
  Vocabulary vocabulary;
  prompts::PolicyPrompt prompt;
  SamplingSettings sampling;  // stop ids: config.json's, generation_config.json's and quorum.json's eos
  // The prompt's token ids for a problem.
  std::vector<std::int64_t> prompt_ids(const std::string& problem) const;
};

LoadedPolicy load_policy(const config::PolicySpec& spec);

struct LoadedPrm {
  prompts::PrmInputBuilder inputs;
  std::unique_ptr<ProcessRewardModel> prm;
};

LoadedPrm load_prm(const config::PrmSpec& spec);

}  // namespace quorum::model
