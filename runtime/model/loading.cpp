#include "runtime/model/loading.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "runtime/common/error.h"
#include "runtime/model/device.h"

namespace quorum::model {
namespace {

namespace fs = std::filesystem;

// A model directory's optional JSON file (null when absent).
nlohmann::json optional_json_file(const fs::path& path) {
  if (!fs::exists(path)) return nullptr;
  try {
    return nlohmann::json::parse(std::ifstream(path));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path.string(), 0, "", std::string("not valid JSON: ") + e.what());
  }
}

std::string manifest_text(const nlohmann::json& manifest, const char* key) {
  return manifest.contains(key) && manifest[key].is_string() ? manifest[key].get<std::string>() : std::string();
}

}  // namespace

nlohmann::json manifest_of(const std::string& directory) {
  auto manifest = optional_json_file(fs::path(directory) / "quorum.json");
  return manifest.is_null() ? nlohmann::json::object() : manifest;
}

WeightDtype resolve_dtype(const std::string& setting, const std::string& directory, const torch::Device& device) {
  return resolve_weight_dtype(setting.empty() ? "auto" : setting, directory, device.is_cuda());
}

WeightDtype planned_dtype(const std::string& setting, const std::string& directory, const std::string& device) {
  const bool on_cuda = device.rfind("cuda", 0) == 0 || (device == "auto" && torch::cuda::is_available());
  return resolve_weight_dtype(setting.empty() ? "auto" : setting, directory, on_cuda);
}

void log_placement(const std::string& name, const std::string& directory, Decoder& decoder) {
  // The decoder creates every weight in its dtype, on one device. Workers load their models at the
  // same time and std::cerr writes each << on its own, so the line goes out in one write.
  std::ostringstream line;
  line << "quorum: model " << name << " (" << directory << ") runs on " << decoder->parameters().front().device().str()
       << " in " << weight_dtype_name(decoder->dtype()) << "\n";
  std::cerr << line.str() << std::flush;
}

// transformers' generate stops at each of them, so quorum's sampler does too (Qwen2.5-Instruct
// lists <|endoftext|> there only).
std::vector<std::int64_t> generation_eos_ids(const std::string& directory) {
  const auto path = fs::path(directory) / "generation_config.json";
  const auto root = optional_json_file(path);
  std::vector<std::int64_t> ids;
  if (!root.is_object()) return ids;
  const auto it = root.find("eos_token_id");
  if (it == root.end() || it->is_null()) return ids;
  for (const auto& id : it->is_array() ? *it : nlohmann::json::array({*it})) {
    if (!id.is_number_integer() || id.get<std::int64_t>() < 0)
      throw InputError(path.string(), 0, "eos_token_id", "expected a token id or a list of them, got " + it->dump());
    ids.push_back(id.get<std::int64_t>());
  }
  return ids;
}

Vocabulary load_vocabulary(const std::string& directory, bool needs_chat_template, const char* field) {
  auto loaded = tokenizer::load_pretrained_tokenizer(directory);
  Vocabulary v{std::move(loaded.tokenizer),
                {loaded.config.bos_token.value_or(""), loaded.config.eos_token.value_or("")},
                std::nullopt,
                loaded.eos_id ? std::optional<std::int64_t>(*loaded.eos_id) : std::nullopt,
                loaded.config.clean_up_tokenization_spaces};
  if (needs_chat_template) {
    v.chat_template = chat::load_chat_template(directory);
    if (!v.chat_template)
      throw InputError(directory, 0, field,
                       "'chat' asks for the checkpoint's chat template, and it has none (no chat_template.jinja, no "
                       "chat_template in tokenizer_config.json)");
  }
  return v;
}

std::string Vocabulary::decode(const std::vector<std::int64_t>& ids) const {
  auto text = tokens.decode({ids.begin(), ids.end()}, /*skip_special=*/true);
  return clean_up ? tokenizer::clean_up_tokenization(std::move(text)) : text;
}

std::vector<std::int64_t> LoadedPolicy::prompt_ids(const std::string& problem) const {
  const auto text = prompts::policy_prompt(prompt, vocabulary.chat_template ? &*vocabulary.chat_template : nullptr,
                                           vocabulary.specials, problem);
  const auto ids = vocabulary.tokens.encode(text.text, text.add_special);
  return {ids.begin(), ids.end()};
}

namespace {

// A policy as the spec describes it; with load, its weights held, else only checked against
// config.json (a decoder on the meta device holds no memory).
LoadedPolicy prepare_policy(const config::PolicySpec& spec, bool load) {
  const auto manifest = manifest_of(spec.path);
  const auto prompt = spec.prompt.empty() ? manifest_text(manifest, "prompt") : spec.prompt;
  if (prompt.empty())
    throw InputError(spec.path, 0, "prompt", "the policy has no quorum.json prompt: give one in the sweep config");
  LoadedPolicy policy{Decoder(nullptr), load_vocabulary(spec.path, prompt == "chat", "prompt"), {prompt, spec.system}, {}};
  // A check runs where the sweep is planned, which need not have the GPU its workers have.
  if (load) {
    const auto device = resolve_device(spec.device);
    const auto dtype = resolve_dtype(spec.dtype, spec.path, device);
    policy.decoder = load_decoder(spec.path, device, dtype);
    log_placement(spec.name, spec.path, policy.decoder);
  } else {
    policy.decoder = Decoder(ModelConfig::load(spec.path), planned_dtype(spec.dtype, spec.path, spec.device),
                             torch::Device(torch::kMeta));
    check_parameters(*policy.decoder, spec.path);
  }
  auto& s = policy.sampling;
  s.temperature = spec.temperature, s.top_p = spec.top_p, s.top_k = spec.top_k;
  s.max_new_tokens = spec.max_new_tokens;
  s.stop_token_ids = policy.decoder->config().eos_token_ids;
  auto stop_at = [&](std::int64_t id) {
    if (std::find(s.stop_token_ids.begin(), s.stop_token_ids.end(), id) == s.stop_token_ids.end())
      s.stop_token_ids.push_back(id);
  };
  for (const auto id : generation_eos_ids(spec.path)) stop_at(id);
  // The tokenizer's own eos too, as vLLM stops at it (tokenizer_config.json's eos_token).
  if (const auto eos = policy.vocabulary.eos_id) stop_at(*eos);
  const auto eos = manifest_text(manifest, "eos_token");
  if (!eos.empty()) stop_at(prompts::single_token(policy.vocabulary.tokens, eos, spec.path, "eos_token"));
  if (s.stop_token_ids.empty()) throw InputError(spec.path, 0, "eos_token_id", "the policy names no end-of-sequence token");
  s.pad_token_id = s.stop_token_ids.front();
  return policy;
}

}  // namespace

LoadedPolicy load_policy(const config::PolicySpec& spec) { return prepare_policy(spec, true); }

void check_policy(const config::PolicySpec& spec) {
  // The prompt of a problem is rendered once: a template that raises, or a prompt the tokenizer
  // cannot encode, fails here rather than in the first unit.
  prepare_policy(spec, false).prompt_ids("What is 1 + 1?");
}

namespace {

LoadedPrm prepare_prm(const config::PrmSpec& spec, bool load) {
  const auto manifest = manifest_of(spec.path);
  auto pick = [&](const std::string& configured, const char* key) {
    return configured.empty() ? manifest_text(manifest, key) : configured;
  };
  prompts::PrmFormat format;
  format.kind = prompts::prm_kind(pick(spec.kind, "kind"), spec.path);
  format.step_token = pick(spec.step_token, "step_token");
  if (const auto prompt = pick(spec.prompt, "prompt"); !prompt.empty()) format.prompt = prompt;
  format.system = spec.system;
  if (const auto good = pick(spec.good_token, "good_token"); !good.empty()) format.good_token = good;
  if (const auto bad = pick(spec.bad_token, "bad_token"); !bad.empty()) format.bad_token = bad;
  const bool outcome = format.kind == prompts::PrmKind::outcome_head;
  if (outcome && spec.score_transform != "sigmoid")
    throw InputError(spec.path, 0, "score_transform",
                     "an outcome_head model gives raw rewards, not probabilities: set score_transform: sigmoid");
  if (!outcome && spec.score_transform == "sigmoid")
    throw InputError(spec.path, 0, "score_transform",
                     std::string("a ") + prompts::prm_kind_name(format.kind) +
                         " PRM's scores are probabilities already; sigmoid maps an outcome_head's raw rewards");
  const bool chat = format.prompt == "chat" || format.kind == prompts::PrmKind::chat_turn;
  auto vocabulary = load_vocabulary(spec.path, chat, format.kind == prompts::PrmKind::chat_turn ? "kind" : "prompt");
  prompts::PrmInputBuilder inputs(format, vocabulary.tokens, vocabulary.chat_template, vocabulary.specials, spec.path);
  PrmSettings settings;
  settings.kind = format.kind;
  settings.step_token_id = inputs.step_token_id();
  settings.good_token_id = inputs.good_token_id(), settings.bad_token_id = inputs.bad_token_id();
  // Padding is masked out, so any id of the vocabulary serves; quorum's models name theirs.
  const auto eos = manifest_text(manifest, "eos_token");
  settings.pad_token_id = eos.empty() ? 0 : prompts::single_token(vocabulary.tokens, eos, spec.path, "eos_token");
  if (!load) {
    ProcessRewardModel::check(spec.path, settings, planned_dtype(spec.dtype, spec.path, spec.device));
    return {std::move(inputs), nullptr};
  }
  const auto device = resolve_device(spec.device);
  const auto dtype = resolve_dtype(spec.dtype, spec.path, device);
  auto prm = std::make_unique<ProcessRewardModel>(spec.path, settings, device, dtype);
  log_placement(spec.name, spec.path, prm->decoder());
  return {std::move(inputs), std::move(prm)};
}

}  // namespace

LoadedPrm load_prm(const config::PrmSpec& spec) { return prepare_prm(spec, true); }

void check_prm(const config::PrmSpec& spec) {
  if (spec.kind == "checker") return;  // no model directory: the config checked what there is
  const auto prm = prepare_prm(spec, false);
  if (prm.inputs.scores_outcome())
    prm.inputs.build_outcome("What is 1 + 1?", "1 + 1 = 2.\nThe answer is 2.");
  else
    prm.inputs.build("What is 1 + 1?", {"1 + 1 = 2.", "The answer is 2."});
}

}  // namespace quorum::model
