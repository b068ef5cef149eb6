// Reading and writing tokenizer.json (the Hugging Face `tokenizers` layout). Only the parts
// that BPE models of the GPT-2 / Llama-3 / Qwen2 (byte-level) and Llama-2 / Mistral
// (SentencePiece-style, byte fallback) families use are understood; everything else is refused
// with the file and the JSON field named (docs/tokenizer.md).
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "runtime/common/error.h"
#include "runtime/tokenizer/json_reading.h"
#include "runtime/tokenizer/tokenizer.h"
#include "runtime/tokenizer/utf8.h"

namespace quorum::tokenizer {
namespace {

using nlohmann::json;
using ordered_json = nlohmann::ordered_json;

using json_reading::Context;
using json_reading::find;
using json_reading::quoted;

// Ids index tables, so an absurd id would mean an absurd allocation.
constexpr long long kMaxId = (1LL << 24) - 1;

bool valid_id(const json& value) {
  return value.is_number_integer() && value.get<long long>() >= 0 && value.get<long long>() <= kMaxId;
}

bool bool_of(const json& object, const char* key, bool fallback, const std::string& where,
             const Context& at) {
  const json* value = find(object, key);
  if (!value) return fallback;
  if (!value->is_boolean()) at.fail(where + key, "expected true or false");
  return value->get<bool>();
}

std::string type_of(const json& object, const std::string& where, const Context& at) {
  if (!object.is_object()) at.fail(where, "expected an object");
  const json* type = find(object, "type");
  if (!type || !type->is_string()) at.fail(where + ".type", "missing");
  return type->get<std::string>();
}

// ---- model ------------------------------------------------------------------------------------

// byte_level: the pre-tokenizer has a ByteLevel step (symbols are bytes); otherwise BPE runs
// over characters. space_symbol: what stands for a space in tokens ("▁"), if anything.
std::shared_ptr<const BpeModel> read_model(const json& root, bool byte_level,
                                           const std::string& space_symbol, const Context& at) {
  const json* model = find(root, "model");
  if (!model) at.fail("model", "missing");
  if (!model->is_object()) at.fail("model", "expected an object");
  const json* type = find(*model, "type");
  if (type) {
    if (!type->is_string()) at.fail("model.type", "expected a string");
    if (type->get<std::string>() != "BPE")
      at.fail("model.type", "unsupported model type " + quoted(type->get<std::string>()) +
                                ": only BPE is supported");
  } else if (!find(*model, "merges")) {
    at.fail("model.type", "missing");
  }
  if (const json* dropout = find(*model, "dropout")) {
    if (!dropout->is_number() || dropout->get<double>() != 0.0)
      at.fail("model.dropout", "BPE dropout is not supported (encoding is deterministic)");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    const json* value = find(*model, key);
    if (value && !(value->is_string() && value->get<std::string>().empty()))
      at.fail(std::string("model.") + key, "not supported; must be null");
  }
  BpeOptions options;
  options.byte_level = byte_level;
  options.space_symbol = space_symbol;
  options.byte_fallback = bool_of(*model, "byte_fallback", false, "model.", at);
  if (options.byte_fallback && byte_level)
    at.fail("model.byte_fallback",
            "byte_fallback together with a ByteLevel pre-tokenizer is not supported");
  options.fuse_unk = bool_of(*model, "fuse_unk", false, "model.", at);
  options.ignore_merges = bool_of(*model, "ignore_merges", false, "model.", at);

  const json* vocab = find(*model, "vocab");
  if (!vocab) at.fail("model.vocab", "missing");
  if (!vocab->is_object()) at.fail("model.vocab", "expected an object of token -> id");
  std::vector<BpeModel::Entry> entries;
  entries.reserve(vocab->size());
  std::unordered_map<std::string, TokenId> ids;
  std::unordered_map<TokenId, const std::string*> owners;
  ids.reserve(vocab->size());
  owners.reserve(vocab->size());
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    const json& value = it.value();
    if (!valid_id(value))
      at.fail("model.vocab[" + it.key() + "]",
              "expected an integer id from 0 to " + std::to_string(kMaxId));
    const TokenId id = static_cast<TokenId>(value.get<long long>());
    entries.push_back(BpeModel::Entry{it.key(), id});
    ids.emplace(it.key(), id);
  }
  for (const auto& entry : entries) {
    const auto [owner, inserted] = owners.emplace(entry.id, &entry.token);
    if (!inserted)
      at.fail("model.vocab", "id " + std::to_string(entry.id) + " is given to both " +
                                 quoted(*owner->second) + " and " + quoted(entry.token));
  }

  if (const json* unk_token = find(*model, "unk_token")) {
    if (!unk_token->is_string()) at.fail("model.unk_token", "expected a string or null");
    const auto it = ids.find(unk_token->get<std::string>());
    if (it == ids.end())
      at.fail("model.unk_token", quoted(unk_token->get<std::string>()) + " is not in model.vocab");
    options.unk = it->second;
  }

  std::vector<Merge> merges;
  if (const json* list = find(*model, "merges")) {
    if (!list->is_array()) at.fail("model.merges", "expected an array");
    merges.reserve(list->size());
    for (std::size_t i = 0; i < list->size(); ++i) {
      const json& item = (*list)[i];
      const std::string field = "model.merges[" + std::to_string(i) + "]";
      std::string left, right;
      if (item.is_string()) {
        const std::string& text = item.get_ref<const std::string&>();
        const std::size_t space = text.find(' ');
        if (space == std::string::npos || text.find(' ', space + 1) != std::string::npos)
          at.fail(field, "expected \"left right\" (two tokens separated by one space), got " +
                             quoted(text));
        left = text.substr(0, space);
        right = text.substr(space + 1);
      } else if (item.is_array() && item.size() == 2 && item[0].is_string() &&
                 item[1].is_string()) {
        left = item[0].get<std::string>();
        right = item[1].get<std::string>();
      } else {
        at.fail(field, "expected \"left right\" or [left, right]");
      }
      const auto find_id = [&](const std::string& token, const char* what) {
        const auto it = ids.find(token);
        if (it == ids.end())
          at.fail(field, std::string("merge ") + what + " " + quoted(token) +
                             " is not in model.vocab");
        return it->second;
      };
      const TokenId l = find_id(left, "names");
      const TokenId r = find_id(right, "names");
      const TokenId result = find_id(left + right, "result");
      merges.push_back(Merge{l, r, result});
    }
  }
  return std::make_shared<const BpeModel>(entries, std::move(merges), std::move(options));
}

// ---- added tokens -------------------------------------------------------------------------------

std::vector<AddedToken> read_added_tokens(const json& root, const Context& at) {
  std::vector<AddedToken> tokens;
  const json* list = find(root, "added_tokens");
  if (!list) return tokens;
  if (!list->is_array()) at.fail("added_tokens", "expected an array");
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json& item = (*list)[i];
    const std::string where = "added_tokens[" + std::to_string(i) + "].";
    if (!item.is_object()) at.fail("added_tokens[" + std::to_string(i) + "]", "expected an object");
    AddedToken token;
    const json* id = find(item, "id");
    if (!id || !valid_id(*id))
      at.fail(where + "id", "expected an integer id from 0 to " + std::to_string(kMaxId));
    token.id = static_cast<TokenId>(id->get<long long>());
    const json* content = find(item, "content");
    if (!content || !content->is_string() || content->get<std::string>().empty())
      at.fail(where + "content", "expected a non-empty string");
    token.content = content->get<std::string>();
    token.special = bool_of(item, "special", false, where, at);
    token.single_word = bool_of(item, "single_word", false, where, at);
    token.lstrip = bool_of(item, "lstrip", false, where, at);
    token.rstrip = bool_of(item, "rstrip", false, where, at);
    token.normalized = bool_of(item, "normalized", !token.special, where, at);
    tokens.push_back(std::move(token));
  }
  return tokens;
}

// Hugging Face ignores the ids written in added_tokens: loading gives each token the id of the
// model token with the same spelling, or else the next id after the vocabulary, in file order.
// A file whose ids say otherwise would encode differently there, so it is refused.
void check_added_token_ids(const std::vector<AddedToken>& tokens, const BpeModel& model,
                           const Context& at) {
  TokenId next = static_cast<TokenId>(model.token_count());
  std::unordered_map<std::string, TokenId> assigned;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const AddedToken& token = tokens[i];
    TokenId id;
    if (const auto it = assigned.find(token.content); it != assigned.end())
      id = it->second;
    else if (const TokenId in_model = model.find_token(token.content); in_model >= 0)
      id = in_model;
    else
      id = next++;
    assigned.emplace(token.content, id);
    if (id != token.id)
      at.fail("added_tokens[" + std::to_string(i) + "].id",
              "Hugging Face gives " + quoted(token.content) + " id " + std::to_string(id) +
                  " (the model token spelled so, else the next id after the vocabulary), not " +
                  std::to_string(token.id));
  }
}

// ---- normalizer ---------------------------------------------------------------------------------

// A {"String": ...} or {"Regex": ...} pattern (Replace, Split).
std::pair<std::string, bool> read_pattern(const json& value, const std::string& where,
                                          const Context& at) {
  const json* pattern = find(value, "pattern");
  if (!pattern || !pattern->is_object() || pattern->size() != 1)
    at.fail(where + ".pattern", "expected {\"Regex\": ...} or {\"String\": ...}");
  const std::string kind = pattern->begin().key();
  if ((kind != "Regex" && kind != "String") || !pattern->begin().value().is_string())
    at.fail(where + ".pattern", "expected {\"Regex\": ...} or {\"String\": ...}");
  return {pattern->begin().value().get<std::string>(), kind == "Regex"};
}

std::string string_of(const json& value, const char* key, const std::string& where,
                      const Context& at) {
  const json* field = find(value, key);
  if (!field || !field->is_string()) at.fail(where + "." + key, "expected a string");
  return field->get<std::string>();
}

void read_normalizer(const json& value, const std::string& where,
                     std::vector<NormalizerStep>& steps, const Context& at) {
  const std::string type = type_of(value, where, at);
  if (type == "NFC") {
    steps.push_back(NormalizerStep::nfc());
  } else if (type == "Prepend") {
    steps.push_back(NormalizerStep::prepend(string_of(value, "prepend", where, at)));
  } else if (type == "Replace") {
    const auto [pattern, is_regex] = read_pattern(value, where, at);
    const std::string content = string_of(value, "content", where, at);
    if (!is_regex) {
      steps.push_back(NormalizerStep::replace_string(pattern, content));
    } else {
      try {
        steps.push_back(NormalizerStep::replace_regex(pattern, content));
      } catch (const std::invalid_argument& e) {
        at.fail(where + ".pattern.Regex", e.what());
      }
    }
  } else if (type == "Sequence") {
    const json* list = find(value, "normalizers");
    if (!list || !list->is_array()) at.fail(where + ".normalizers", "expected an array");
    for (std::size_t i = 0; i < list->size(); ++i)
      read_normalizer((*list)[i], where + ".normalizers[" + std::to_string(i) + "]", steps, at);
  } else {
    at.fail(where + ".type", "unsupported normalizer " + quoted(type) +
                                 ": supported are NFC, Prepend, Replace and Sequence");
  }
}

// Metaspace's replacement, prepend_scheme (or the older add_prefix_space) and split, as
// Hugging Face reads them for the pre-tokenizer and the decoder alike.
PreTokenizerStep read_metaspace(const json& value, const std::string& where, const Context& at) {
  const std::string replacement = string_of(value, "replacement", where, at);
  char32_t c;
  if (replacement.empty() || decode_utf8(replacement, 0, c) != replacement.size())
    at.fail(where + ".replacement", "expected exactly one character");
  using Scheme = PreTokenizerStep::PrependScheme;
  Scheme scheme = Scheme::always;
  if (const json* name = find(value, "prepend_scheme")) {
    if (!name->is_string()) at.fail(where + ".prepend_scheme", "expected a string");
    const std::string text = name->get<std::string>();
    if (text == "always") scheme = Scheme::always;
    else if (text == "first") scheme = Scheme::first;
    else if (text == "never") scheme = Scheme::never;
    else at.fail(where + ".prepend_scheme", "expected \"always\", \"first\" or \"never\"");
  }
  if (const json* prefix = find(value, "add_prefix_space")) {
    if (!prefix->is_boolean()) at.fail(where + ".add_prefix_space", "expected true or false");
    // Hugging Face refuses false unless prepend_scheme says "never" (its default is
    // "always"); true leaves prepend_scheme as it is.
    if (!prefix->get<bool>() && scheme != Scheme::never)
      at.fail(where + ".add_prefix_space", "false does not match prepend_scheme");
  }
  return PreTokenizerStep::metaspace(replacement, scheme,
                                     bool_of(value, "split", true, where + ".", at));
}

// ---- pre-tokenizer ------------------------------------------------------------------------------

void read_pre_tokenizer(const json& value, const std::string& where,
                        std::vector<PreTokenizerStep>& steps, const Context& at) {
  const std::string type = type_of(value, where, at);
  if (type == "Sequence") {
    const json* list = find(value, "pretokenizers");
    if (!list || !list->is_array()) at.fail(where + ".pretokenizers", "expected an array");
    for (std::size_t i = 0; i < list->size(); ++i)
      read_pre_tokenizer((*list)[i], where + ".pretokenizers[" + std::to_string(i) + "]", steps,
                         at);
    return;
  }
  if (!steps.empty() && steps.back().kind == PreTokenizerStep::Kind::byte_level)
    at.fail(where + ".type", "a " + quoted(type) + " pre-tokenizer after ByteLevel is not supported: "
                             "ByteLevel must come last");
  const auto has = [&](PreTokenizerStep::Kind kind) {
    for (const auto& step : steps)
      if (step.kind == kind) return true;
    return false;
  };
  if ((type == "ByteLevel" && has(PreTokenizerStep::Kind::metaspace)) ||
      (type == "Metaspace" && has(PreTokenizerStep::Kind::byte_level)))
    at.fail(where + ".type", "Metaspace and ByteLevel in one pre-tokenizer are not supported");
  if (type == "Metaspace") {
    steps.push_back(read_metaspace(value, where, at));
    return;
  }
  if (type == "ByteLevel") {
    const bool prefix = bool_of(value, "add_prefix_space", true, where + ".", at);
    const bool use_regex = bool_of(value, "use_regex", true, where + ".", at);
    PreTokenizerStep step = PreTokenizerStep::byte_level(prefix, use_regex);
    step.trim_offsets = bool_of(value, "trim_offsets", true, where + ".", at);
    steps.push_back(std::move(step));
  } else if (type == "Split") {
    const auto [text, is_regex] = read_pattern(value, where, at);
    const json* behavior = find(value, "behavior");
    if (!behavior || !behavior->is_string()) at.fail(where + ".behavior", "missing");
    PreTokenizerStep::Behavior b;
    if (behavior->get<std::string>() == "Isolated")
      b = PreTokenizerStep::Behavior::isolated;
    else if (behavior->get<std::string>() == "Removed")
      b = PreTokenizerStep::Behavior::removed;
    else
      at.fail(where + ".behavior", "unsupported split behavior " +
                                       quoted(behavior->get<std::string>()) +
                                       ": only Isolated and Removed are supported");
    if (bool_of(value, "invert", false, where + ".", at))
      at.fail(where + ".invert", "inverted splits are not supported");
    if (is_regex) {
      try {
        steps.push_back(PreTokenizerStep::split_regex(text, b));
      } catch (const std::invalid_argument& e) {
        at.fail(where + ".pattern.Regex", e.what());
      }
    } else {
      PreTokenizerStep step;
      step.kind = PreTokenizerStep::Kind::split;
      step.pattern = text;
      step.pattern_is_regex = false;
      step.behavior = b;
      steps.push_back(std::move(step));
    }
  } else if (type == "Digits") {
    steps.push_back(
        PreTokenizerStep::digits(bool_of(value, "individual_digits", false, where + ".", at)));
  } else {
    at.fail(where + ".type", "unsupported pre-tokenizer " + quoted(type) +
                                 ": supported are ByteLevel, Metaspace, Split, Digits and Sequence");
  }
}

// ---- post-processor -----------------------------------------------------------------------------

void read_template(const json& value, const std::string& where, TokenizerParts& parts,
                   const Context& at) {
  const json* single = find(value, "single");
  if (!single || !single->is_array()) at.fail(where + ".single", "expected an array");
  const json* specials = find(value, "special_tokens");
  bool seen_sequence = false;
  for (std::size_t i = 0; i < single->size(); ++i) {
    const json& item = (*single)[i];
    const std::string field = where + ".single[" + std::to_string(i) + "]";
    if (!item.is_object() || item.size() != 1)
      at.fail(field, "expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
    const std::string kind = item.begin().key();
    if (kind == "Sequence") {
      if (seen_sequence) at.fail(field, "the template names the sequence twice");
      seen_sequence = true;
    } else if (kind == "SpecialToken") {
      const json& special = item.begin().value();
      const json* name = special.is_object() ? find(special, "id") : nullptr;
      if (!name || !name->is_string()) at.fail(field + ".SpecialToken.id", "expected a string");
      const json* entry = specials && specials->is_object() ? find(*specials, name->get<std::string>().c_str()) : nullptr;
      if (!entry || !entry->is_object())
        at.fail(where + ".special_tokens", quoted(name->get<std::string>()) + " is not listed");
      const json* ids = find(*entry, "ids");
      if (!ids || !ids->is_array()) at.fail(where + ".special_tokens." + name->get<std::string>() + ".ids", "expected an array");
      for (const json& id : *ids) {
        if (!valid_id(id))
          at.fail(where + ".special_tokens." + name->get<std::string>() + ".ids",
                  "expected integer ids from 0 to " + std::to_string(kMaxId));
        (seen_sequence ? parts.suffix : parts.prefix).push_back(static_cast<TokenId>(id.get<long long>()));
      }
    } else {
      at.fail(field, "expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
    }
  }
  if (!seen_sequence) at.fail(where + ".single", "the template never names the sequence ($A)");
}

void read_post_processor(const json& value, const std::string& where, TokenizerParts& parts,
                         const Context& at) {
  const std::string type = type_of(value, where, at);
  if (type == "ByteLevel") return;  // it only adjusts offsets, which are not computed here
  if (type == "TemplateProcessing") {
    read_template(value, where, parts, at);
  } else if (type == "Sequence") {
    const json* list = find(value, "processors");
    if (!list || !list->is_array()) at.fail(where + ".processors", "expected an array");
    for (std::size_t i = 0; i < list->size(); ++i)
      read_post_processor((*list)[i], where + ".processors[" + std::to_string(i) + "]", parts, at);
  } else {
    at.fail(where + ".type", "unsupported post-processor " + quoted(type) +
                                 ": supported are ByteLevel, TemplateProcessing and Sequence");
  }
}

// ---- decoder ------------------------------------------------------------------------------------

std::size_t count_of(const json& value, const char* key, const std::string& where,
                     const Context& at) {
  const json* field = find(value, key);
  if (!field || !field->is_number_unsigned()) at.fail(where + "." + key, "expected a count");
  return field->get<std::size_t>();
}

void read_decoder(const json& value, const std::string& where, std::vector<DecoderStep>& steps,
                  const Context& at) {
  const std::string type = type_of(value, where, at);
  DecoderStep step;
  if (type == "ByteLevel") {
    step.kind = DecoderStep::Kind::byte_level;
  } else if (type == "Replace") {
    step.kind = DecoderStep::Kind::replace;
    std::tie(step.pattern, step.pattern_is_regex) = read_pattern(value, where, at);
    step.content = string_of(value, "content", where, at);
    if (step.pattern_is_regex) {
      try {
        step.regex = std::make_shared<const Regex>(step.pattern);
      } catch (const std::invalid_argument& e) {
        at.fail(where + ".pattern.Regex", e.what());
      }
    }
  } else if (type == "ByteFallback") {
    step.kind = DecoderStep::Kind::byte_fallback;
  } else if (type == "Fuse") {
    step.kind = DecoderStep::Kind::fuse;
  } else if (type == "Strip") {
    step.kind = DecoderStep::Kind::strip;
    step.strip_char = string_of(value, "content", where, at);
    char32_t c;
    if (step.strip_char.empty() || decode_utf8(step.strip_char, 0, c) != step.strip_char.size())
      at.fail(where + ".content", "expected exactly one character");
    step.start = count_of(value, "start", where, at);
    step.stop = count_of(value, "stop", where, at);
  } else if (type == "Metaspace") {
    const PreTokenizerStep metaspace = read_metaspace(value, where, at);
    step.kind = DecoderStep::Kind::metaspace;
    step.replacement = metaspace.replacement;
    step.prepend_never = metaspace.prepend_scheme == PreTokenizerStep::PrependScheme::never;
  } else if (type == "Sequence") {
    const json* list = find(value, "decoders");
    if (!list || !list->is_array()) at.fail(where + ".decoders", "expected an array");
    for (std::size_t i = 0; i < list->size(); ++i)
      read_decoder((*list)[i], where + ".decoders[" + std::to_string(i) + "]", steps, at);
    return;
  } else {
    at.fail(where + ".type", "unsupported decoder " + quoted(type) +
                                 ": supported are ByteLevel, Replace, ByteFallback, Fuse, Strip, "
                                 "Metaspace and Sequence");
  }
  steps.push_back(std::move(step));
}

// ---- writing ------------------------------------------------------------------------------------

ordered_json step_json(const PreTokenizerStep& step) {
  ordered_json out;
  switch (step.kind) {
    case PreTokenizerStep::Kind::split:
      out["type"] = "Split";
      out["pattern"] = ordered_json{{step.pattern_is_regex ? "Regex" : "String", step.pattern}};
      out["behavior"] =
          step.behavior == PreTokenizerStep::Behavior::isolated ? "Isolated" : "Removed";
      out["invert"] = false;
      break;
    case PreTokenizerStep::Kind::byte_level:
      out["type"] = "ByteLevel";
      out["add_prefix_space"] = step.add_prefix_space;
      out["trim_offsets"] = step.trim_offsets;
      out["use_regex"] = step.use_regex;
      break;
    case PreTokenizerStep::Kind::digits:
      out["type"] = "Digits";
      out["individual_digits"] = step.individual_digits;
      break;
    case PreTokenizerStep::Kind::metaspace:
      out["type"] = "Metaspace";
      out["replacement"] = step.replacement;
      out["prepend_scheme"] =
          step.prepend_scheme == PreTokenizerStep::PrependScheme::always  ? "always"
          : step.prepend_scheme == PreTokenizerStep::PrependScheme::first ? "first"
                                                                          : "never";
      out["split"] = step.split_on_replacement;
      break;
  }
  return out;
}

ordered_json normalizer_json(const NormalizerStep& step) {
  switch (step.kind) {
    case NormalizerStep::Kind::nfc:
      return ordered_json{{"type", "NFC"}};
    case NormalizerStep::Kind::prepend:
      return ordered_json{{"type", "Prepend"}, {"prepend", step.text}};
    case NormalizerStep::Kind::replace:
      return ordered_json{
          {"type", "Replace"},
          {"pattern", ordered_json{{step.pattern_is_regex ? "Regex" : "String", step.pattern}}},
          {"content", step.content}};
  }
  return nullptr;
}

// Sections kept verbatim are held as compact JSON text with sorted keys (as read); they are
// written back with "type" first at every level, the way Hugging Face writes them.
ordered_json type_first(const json& value) {
  if (value.is_array()) {
    ordered_json out = ordered_json::array();
    for (const auto& item : value) out.push_back(type_first(item));
    return out;
  }
  if (!value.is_object()) return ordered_json::parse(value.dump());
  ordered_json out = ordered_json::object();
  if (value.contains("type")) out["type"] = type_first(value["type"]);
  for (auto it = value.begin(); it != value.end(); ++it)
    if (it.key() != "type") out[it.key()] = type_first(it.value());
  return out;
}

}  // namespace

Tokenizer Tokenizer::from_json(const std::string& text, const std::string& name) {
  const Context at{name};
  const json root = json_reading::parse_object(text, name);

  TokenizerParts parts;
  if (const json* normalizer = find(root, "normalizer"))
    read_normalizer(*normalizer, "normalizer", parts.normalizers, at);

  std::vector<PreTokenizerStep> steps;
  if (const json* pre = find(root, "pre_tokenizer")) read_pre_tokenizer(*pre, "pre_tokenizer", steps, at);
  bool byte_level = false;
  std::string space_symbol;
  for (const auto& step : steps) {
    byte_level = byte_level || step.kind == PreTokenizerStep::Kind::byte_level;
    if (step.kind == PreTokenizerStep::Kind::metaspace) space_symbol = step.replacement;
  }
  // Llama-2's "legacy" layout has no pre-tokenizer: its normalizer turns spaces into "▁".
  for (const auto& step : parts.normalizers)
    if (step.kind == NormalizerStep::Kind::replace && !step.pattern_is_regex && step.pattern == " ")
      space_symbol = step.content;
  parts.pre_tokenizer = PreTokenizer(std::move(steps));
  parts.model = read_model(root, byte_level, space_symbol, at);
  parts.added_tokens = read_added_tokens(root, at);
  check_added_token_ids(parts.added_tokens, *parts.model, at);

  if (const json* post = find(root, "post_processor")) {
    read_post_processor(*post, "post_processor", parts, at);
    parts.post_processor_json = post->dump();
  }

  for (const auto* ids : {&parts.prefix, &parts.suffix})
    for (const TokenId id : *ids) {
      bool known = parts.model->has(id);
      for (const auto& token : parts.added_tokens) known = known || token.id == id;
      if (!known)
        at.fail("post_processor", "the template names id " + std::to_string(id) +
                                      ", which is neither a model token nor an added token");
    }

  const json* decoder = find(root, "decoder");
  if (!decoder) at.fail("decoder", "missing");
  parts.decoder.clear();
  read_decoder(*decoder, "decoder", parts.decoder, at);
  parts.decoder_json = decoder->dump();

  try {
    return Tokenizer(std::move(parts));
  } catch (const std::invalid_argument& e) {
    at.fail("added_tokens", e.what());
  }
}

Tokenizer Tokenizer::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, 0, "", "cannot open tokenizer file");
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) throw InputError(path, 0, "", "cannot read tokenizer file");
  return from_json(content.str(), path);
}

std::string Tokenizer::to_json() const {
  const TokenizerParts& p = parts();
  const BpeModel& model = *p.model;
  ordered_json root;
  root["version"] = "1.0";
  root["truncation"] = nullptr;
  root["padding"] = nullptr;
  ordered_json added = ordered_json::array();
  for (const AddedToken& t : p.added_tokens)
    added.push_back(ordered_json{{"id", t.id},
                                 {"content", t.content},
                                 {"single_word", t.single_word},
                                 {"lstrip", t.lstrip},
                                 {"rstrip", t.rstrip},
                                 {"normalized", t.normalized},
                                 {"special", t.special}});
  root["added_tokens"] = std::move(added);
  if (p.normalizers.empty()) {
    root["normalizer"] = nullptr;
  } else if (p.normalizers.size() == 1) {
    root["normalizer"] = normalizer_json(p.normalizers[0]);
  } else {
    ordered_json list = ordered_json::array();
    for (const auto& step : p.normalizers) list.push_back(normalizer_json(step));
    root["normalizer"] = ordered_json{{"type", "Sequence"}, {"normalizers", std::move(list)}};
  }
  const auto& steps = p.pre_tokenizer.steps();
  if (steps.empty()) {
    root["pre_tokenizer"] = nullptr;
  } else if (steps.size() == 1) {
    root["pre_tokenizer"] = step_json(steps[0]);
  } else {
    ordered_json list = ordered_json::array();
    for (const auto& step : steps) list.push_back(step_json(step));
    root["pre_tokenizer"] = ordered_json{{"type", "Sequence"}, {"pretokenizers", std::move(list)}};
  }
  root["post_processor"] = type_first(json::parse(p.post_processor_json));
  root["decoder"] = type_first(json::parse(p.decoder_json));

  ordered_json m;
  m["type"] = "BPE";
  m["dropout"] = nullptr;
  m["unk_token"] = model.unk() >= 0 ? ordered_json(model.token(model.unk())) : ordered_json(nullptr);
  m["continuing_subword_prefix"] = nullptr;
  m["end_of_word_suffix"] = nullptr;
  m["fuse_unk"] = model.options().fuse_unk;
  m["byte_fallback"] = model.options().byte_fallback;
  m["ignore_merges"] = model.ignore_merges();
  ordered_json vocab = ordered_json::object();
  for (std::size_t id = 0; id < model.size(); ++id)
    if (model.has(static_cast<TokenId>(id))) vocab[model.token(static_cast<TokenId>(id))] = id;
  m["vocab"] = std::move(vocab);
  // "left right" strings are read by every version of `tokenizers`; pairs are needed only when
  // a token holds a space, which byte-level and "▁"-spelled tokens never do.
  bool spaces = false;
  for (const Merge& merge : model.merges())
    if (model.token(merge.left).find(' ') != std::string::npos ||
        model.token(merge.right).find(' ') != std::string::npos)
      spaces = true;
  ordered_json merges = ordered_json::array();
  for (const Merge& merge : model.merges()) {
    if (spaces)
      merges.push_back(ordered_json::array({model.token(merge.left), model.token(merge.right)}));
    else
      merges.push_back(model.token(merge.left) + " " + model.token(merge.right));
  }
  m["merges"] = std::move(merges);
  root["model"] = std::move(m);
  return root.dump(2) + "\n";
}

void Tokenizer::save(const std::string& path) const {
  const std::string text = to_json();
  const std::string temporary = path + ".partial";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!out) throw InputError(temporary, 0, "", "cannot write");
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) throw InputError(path, 0, "", "cannot write: " + error.message());
}

}  // namespace quorum::tokenizer
