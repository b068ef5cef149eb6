#include "runtime/model/inspect.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "runtime/common/error.h"
#include "runtime/model/device.h"
#include "runtime/model/loading.h"
#include "runtime/model/safetensors.h"
#include "runtime/model/workers.h"

namespace quorum::model {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The PRM kind a directory is scored as: the request's, else quorum.json's, else what the
// architecture implies (a reward or value head); empty for a plain causal language model.
std::string prm_kind_of(const InspectRequest& request, const ModelConfig& config) {
  if (!request.prm.kind.empty()) return request.prm.kind;
  const auto manifest = manifest_of(request.directory);
  if (manifest.contains("role") && manifest["role"] == "prm")
    return manifest.contains("kind") && manifest["kind"].is_string() ? manifest["kind"].get<std::string>() : "reward_head";
  if (config.architecture.find("ForProcessRewardModel") != std::string::npos) return "reward_head";
  if (config.architecture.find("ForPrmModel") != std::string::npos) return "value_head";
  if (config.architecture.find("ForRewardModel") != std::string::npos) return "outcome_head";
  return "";
}

std::int64_t parameter_count(const std::string& directory) {
  const CheckpointTensors tensors(directory);
  std::int64_t count = 0;
  for (const auto& name : tensors.names()) {
    std::int64_t elements = 1;
    for (const auto d : tensors.at(name).shape) elements *= d;
    count += elements;
  }
  return count;
}

std::string tokenizer_kind(const tokenizer::Tokenizer& tokens) {
  const auto& options = tokens.model().options();
  if (options.byte_level) return "byte-level BPE";
  return std::string("SentencePiece-style BPE") + (options.byte_fallback ? " with byte fallback" : "");
}

std::string joined(const std::vector<std::int64_t>& ids) {
  std::string text;
  for (std::size_t i = 0; i < ids.size(); ++i) text += (i ? "," : "") + std::to_string(ids[i]);
  return text;
}

}  // namespace

std::string inspect(const InspectRequest& request) {
  const auto config = ModelConfig::load(request.directory);
  const auto device = resolve_device(request.device);
  const auto dtype = resolve_dtype(request.dtype, request.directory, device);
  // A directory without tokenizer.json still runs token ids (--ids).
  const bool has_tokenizer = fs::exists(fs::path(request.directory) / "tokenizer.json");
  const auto vocabulary = has_tokenizer ? std::optional<Vocabulary>(load_vocabulary(request.directory)) : std::nullopt;
  const auto chat_template = chat::load_chat_template(request.directory);
  auto eos = config.eos_token_ids;
  for (const auto id : generation_eos_ids(request.directory))
    if (std::find(eos.begin(), eos.end(), id) == eos.end()) eos.push_back(id);
  const auto kind = prm_kind_of(request, config);

  json report{{"directory", request.directory},
              {"architecture", config.architecture},
              {"parameters", parameter_count(request.directory)},
              {"device", device.str()},
              {"dtype", weight_dtype_name(dtype)},
              {"weight_bytes", model_weight_bytes(request.directory, dtype)},
              {"layers", config.num_layers},
              {"hidden_size", config.hidden_size},
              {"heads", config.num_heads},
              {"kv_heads", config.num_kv_heads},
              {"head_dim", config.head_dim},
              {"vocab_size", config.vocab_size},
              {"tokenizer", vocabulary ? tokenizer_kind(vocabulary->tokens) : std::string("none (no tokenizer.json)")},
              {"bos_token", vocabulary ? vocabulary->specials.bos_token : ""},
              {"eos_token", vocabulary ? vocabulary->specials.eos_token : ""},
              {"chat_template", chat_template.has_value()},
              {"eos_token_ids", eos},
              {"prm_kind", kind.empty() ? json(nullptr) : json(kind)}};

  if (!kind.empty()) {
    auto spec = request.prm;
    spec.name = "inspect", spec.path = request.directory, spec.kind = kind;
    spec.device = request.device, spec.dtype = request.dtype;
    // An outcome model's raw reward is printed as it is, and mapped as a sweep maps it.
    if (kind == "outcome_head") spec.score_transform = "sigmoid";
    const auto prm = load_prm(spec);
    report["step_token"] = prm.inputs.format().step_token;
    if (prm.inputs.step_token_id() >= 0) report["step_token_id"] = prm.inputs.step_token_id();
    if (prm.inputs.good_token_id() >= 0)
      report["good_bad_token_ids"] = {prm.inputs.good_token_id(), prm.inputs.bad_token_id()};
    if (request.problem) {
      if (prm.inputs.scores_outcome()) {
        // The steps, one per line, are the response it reads.
        std::string response;
        for (const auto& step : request.steps) response += (response.empty() ? "" : "\n") + step;
        const auto input = prm.inputs.build_outcome(*request.problem, response);
        const auto reward = prm.prm->score(std::vector<prompts::ScoringInput>{input}).front().front();
        report["ids"] = input.ids;
        report["positions"] = input.positions;
        report["reward"] = reward;
        report["score"] = 1.0 / (1.0 + std::exp(-static_cast<double>(reward)));
      } else {
        const auto input = prm.inputs.build(*request.problem, request.steps);
        report["ids"] = input.ids;
        report["positions"] = input.positions;
        report["step_scores"] = prm.prm->score(std::vector<prompts::ScoringInput>{input}).front();
      }
    }
  } else if (request.problem) {
    throw InputError(request.directory, 0, "--problem", "not a PRM: give --kind to score steps with a language model");
  }

  if (request.text || request.ids) {
    std::vector<std::int64_t> ids;
    if (request.ids) {
      ids = *request.ids;
    } else {
      if (!vocabulary) throw InputError(request.directory, 0, "tokenizer.json", "missing: give the prompt as --ids");
      const auto encoded = vocabulary->tokens.encode(*request.text, /*add_special=*/true);
      ids.assign(encoded.begin(), encoded.end());
    }
    if (ids.empty()) throw InputError(request.directory, 0, "--ids", "no tokens to run");
    for (const auto id : ids)
      if (id < 0 || id >= config.vocab_size)
        throw InputError(request.directory, 0, "--ids", "token id " + std::to_string(id) + " is not in the vocabulary");
    if (!config.lm_head) throw InputError(request.directory, 0, "architectures", "this model has no language-model head");
    auto decoder = load_decoder(request.directory, device, dtype);
    log_placement("inspect", request.directory, decoder);
    c10::InferenceMode inference;
    const auto n = static_cast<std::int64_t>(ids.size());
    const auto input = torch::tensor(ids, torch::kInt64).view({1, n}).to(device);
    const auto positions = torch::arange(n, torch::kInt64).view({1, n}).to(device);
    const auto logits = decoder->logits(decoder->hidden(input, positions)).select(1, n - 1).squeeze(0)
                            .to(torch::kCPU, torch::kFloat32).contiguous();
    const auto* p = logits.data_ptr<float>();
    report["ids"] = ids;
    report["logits"] = std::vector<float>(p, p + logits.numel());
    const auto top = std::max_element(p, p + logits.numel()) - p;
    report["argmax"] = top;
  }

  if (request.json) return report.dump() + "\n";
  std::ostringstream out;
  for (const char* key : {"directory", "architecture", "parameters", "device", "dtype", "weight_bytes", "layers",
                          "hidden_size", "heads", "kv_heads", "head_dim", "vocab_size", "tokenizer", "bos_token",
                          "eos_token", "chat_template", "eos_token_ids", "prm_kind", "step_token", "step_token_id",
                          "good_bad_token_ids"}) {
    if (!report.contains(key)) continue;
    const auto& value = report[key];
    out << key << ": " << (value.is_string() ? value.get<std::string>() : value.dump()) << "\n";
  }
  if (report.contains("step_scores")) {
    out << "input ids: " << joined(report["ids"].get<std::vector<std::int64_t>>()) << "\n";
    const auto scores = report["step_scores"].get<std::vector<float>>();
    for (std::size_t i = 0; i < scores.size(); ++i) {
      char line[64];
      std::snprintf(line, sizeof line, "step %zu: %.6f\n", i + 1, scores[i]);
      out << line;
    }
  }
  if (report.contains("logits")) {
    out << "ids: " << joined(report["ids"].get<std::vector<std::int64_t>>()) << "\n";
    const auto logits = report["logits"].get<std::vector<float>>();
    std::vector<std::size_t> order(logits.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    const auto shown = std::min<std::size_t>(10, order.size());
    std::partial_sort(order.begin(), order.begin() + shown, order.end(),
                      [&](std::size_t a, std::size_t b) { return logits[a] > logits[b]; });
    out << "last position's top logits (--json prints all " << logits.size() << "):\n";
    for (std::size_t i = 0; i < shown; ++i) {
      const auto token = vocabulary ? vocabulary->tokens.id_to_token(static_cast<tokenizer::TokenId>(order[i]))
                                    : std::optional<std::string>();
      char line[160];
      std::snprintf(line, sizeof line, "  %8zu %12.6f  %s\n", order[i], logits[order[i]], json(token.value_or("?")).dump().c_str());
      out << line;
    }
  }
  return out.str();
}

}  // namespace quorum::model
