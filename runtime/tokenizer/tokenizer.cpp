#include "runtime/tokenizer/tokenizer.h"

#include <stdexcept>
#include <unordered_map>

#include "runtime/tokenizer/utf8.h"

namespace quorum::tokenizer {

struct Tokenizer::State {
  TokenizerParts parts;
  AddedTokenMatcher raw_matcher;         // added tokens with normalized = false
  AddedTokenMatcher normalized_matcher;  // the others, by their normalized content
  // What decode hands the decoder for each added token (index as in parts.added_tokens): the
  // normalized content for normalized tokens, as Hugging Face does.
  std::vector<std::string> added_decode_text;
  // The decoder is ByteLevel alone over a byte-level model: decode joins token_bytes.
  bool plain_byte_level_decode = false;
  std::unordered_map<std::string, TokenId> added_by_content;
  std::unordered_map<TokenId, std::size_t> added_by_id;  // index into parts.added_tokens
  std::size_t vocab_size = 0;
};

Tokenizer::Tokenizer(TokenizerParts parts) {
  if (!parts.model) throw std::invalid_argument("tokenizer has no model");
  auto state = std::make_shared<State>();
  const BpeModel& model = *parts.model;
  state->vocab_size = model.size();
  for (std::size_t i = 0; i < parts.added_tokens.size(); ++i) {
    const AddedToken& token = parts.added_tokens[i];
    if (token.id < 0)
      throw std::invalid_argument("added token '" + token.content + "' has a negative id");
    if (token.content.empty())
      throw std::invalid_argument("added token " + std::to_string(token.id) + " is empty");
    if (model.has(token.id) && model.token(token.id) != token.content &&
        model.token_bytes(token.id) != token.content)
      throw std::invalid_argument("added token '" + token.content + "' has id " +
                                  std::to_string(token.id) + ", which belongs to model token '" +
                                  model.token(token.id) + "'");
    if (!state->added_by_id.emplace(token.id, i).second)
      throw std::invalid_argument("two added tokens have id " + std::to_string(token.id));
    if (!state->added_by_content.emplace(token.content, token.id).second)
      throw std::invalid_argument("two added tokens have the content '" + token.content + "'");
    state->vocab_size = std::max(state->vocab_size, static_cast<std::size_t>(token.id) + 1);
  }
  for (const TokenId id : parts.prefix)
    if (id < 0 || static_cast<std::size_t>(id) >= state->vocab_size)
      throw std::invalid_argument("post-processor names unknown id " + std::to_string(id));
  for (const TokenId id : parts.suffix)
    if (id < 0 || static_cast<std::size_t>(id) >= state->vocab_size)
      throw std::invalid_argument("post-processor names unknown id " + std::to_string(id));
  std::vector<AddedToken> raw, normalized;
  for (const AddedToken& token : parts.added_tokens) {
    std::string scratch;
    const std::string_view form = token.normalized
                                      ? normalize(parts.normalizers, token.content, scratch)
                                      : std::string_view(token.content);
    state->added_decode_text.emplace_back(form);
    if (form.empty()) continue;  // Hugging Face builds no pattern that could match it
    AddedToken pattern = token;
    pattern.content = std::string(form);
    (token.normalized ? normalized : raw).push_back(std::move(pattern));
  }
  state->raw_matcher = AddedTokenMatcher(raw);
  state->normalized_matcher = AddedTokenMatcher(normalized);
  state->plain_byte_level_decode = model.options().byte_level && parts.decoder.size() == 1 &&
                                   parts.decoder[0].kind == DecoderStep::Kind::byte_level;
  state->parts = std::move(parts);
  state_ = std::move(state);
}

const TokenizerParts& Tokenizer::parts() const { return state_->parts; }

void Tokenizer::encode_segment(std::string_view text, bool at_text_start, bool parse_special,
                               std::vector<TokenId>& out) const {
  const State& state = *state_;
  const TokenizerParts& parts = state.parts;
  const BpeModel& model = *parts.model;
  std::string scratch;
  text = normalize(parts.normalizers, text, scratch);
  const auto encode_pieces = [&](std::string_view plain, bool at_start) {
    parts.pre_tokenizer.split(
        plain, [&](std::string_view piece) { model.encode_piece(piece, out); }, at_start);
  };
  if (!parse_special || state.normalized_matcher.empty()) {
    encode_pieces(text, at_text_start);
    return;
  }
  std::vector<AddedTokenMatcher::Segment> segments;
  state.normalized_matcher.split(text, segments);
  for (const auto& segment : segments) {
    if (segment.id >= 0)
      out.push_back(segment.id);
    else
      encode_pieces(text.substr(segment.begin, segment.end - segment.begin),
                    at_text_start && segment.begin == 0);
  }
}

std::vector<TokenId> Tokenizer::encode(std::string_view text, bool add_special,
                                       bool parse_special) const {
  const State& state = *state_;
  std::vector<TokenId> ids;
  ids.reserve(text.size() / 3 + 4);
  if (add_special) ids.insert(ids.end(), state.parts.prefix.begin(), state.parts.prefix.end());
  if (parse_special && !state.raw_matcher.empty()) {
    std::vector<AddedTokenMatcher::Segment> segments;
    state.raw_matcher.split(text, segments);
    for (const auto& segment : segments) {
      if (segment.id >= 0)
        ids.push_back(segment.id);
      else
        encode_segment(text.substr(segment.begin, segment.end - segment.begin),
                       segment.begin == 0, parse_special, ids);
    }
  } else {
    encode_segment(text, true, parse_special, ids);
  }
  if (add_special) ids.insert(ids.end(), state.parts.suffix.begin(), state.parts.suffix.end());
  return ids;
}

namespace {

// The token strings Hugging Face's decode hands its decoder: added tokens first (their
// decode text), then model tokens as spelled in tokenizer.json; unknown ids are skipped.
template <typename State>
std::vector<std::string> decoder_input(const State& state, const std::vector<TokenId>& ids,
                                       bool skip_special) {
  const BpeModel& model = *state.parts.model;
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (const TokenId id : ids) {
    const auto it = state.added_by_id.find(id);
    if (it != state.added_by_id.end()) {
      if (!(skip_special && state.parts.added_tokens[it->second].special))
        tokens.push_back(state.added_decode_text[it->second]);
      continue;
    }
    if (model.has(id)) tokens.push_back(model.token(id));
  }
  return tokens;
}

}  // namespace

std::string Tokenizer::decode_bytes(const std::vector<TokenId>& ids, bool skip_special) const {
  const State& state = *state_;
  const BpeModel& model = *state.parts.model;
  if (!state.plain_byte_level_decode)
    return run_decoder(state.parts.decoder, decoder_input(state, ids, skip_special), true);
  std::string out;
  out.reserve(ids.size() * 4);
  for (const TokenId id : ids) {
    if (!state.added_by_id.empty()) {
      const auto it = state.added_by_id.find(id);
      if (it != state.added_by_id.end()) {
        const AddedToken& token = state.parts.added_tokens[it->second];
        if (!(skip_special && token.special)) out += state.added_decode_text[it->second];
        continue;
      }
    }
    if (model.has(id)) out += model.token_bytes(id);
  }
  return out;
}

std::string Tokenizer::decode(const std::vector<TokenId>& ids, bool skip_special) const {
  const State& state = *state_;
  std::string bytes =
      state.plain_byte_level_decode
          ? decode_bytes(ids, skip_special)
          : run_decoder(state.parts.decoder, decoder_input(state, ids, skip_special), false);
  if (is_valid_utf8(bytes)) return bytes;
  return to_valid_utf8(bytes);
}

std::size_t Tokenizer::vocab_size() const { return state_->vocab_size; }

std::optional<TokenId> Tokenizer::token_to_id(std::string_view token) const {
  if (auto id = added_token_id(token)) return id;
  const TokenId id = state_->parts.model->find_token(token);
  if (id >= 0) return id;
  return std::nullopt;
}

std::optional<std::string> Tokenizer::id_to_token(TokenId id) const {
  const auto it = state_->added_by_id.find(id);
  if (it != state_->added_by_id.end()) return state_->parts.added_tokens[it->second].content;
  if (state_->parts.model->has(id)) return state_->parts.model->token(id);
  return std::nullopt;
}

std::optional<std::string> Tokenizer::token_bytes(TokenId id) const {
  const auto it = state_->added_by_id.find(id);
  if (it != state_->added_by_id.end()) return state_->parts.added_tokens[it->second].content;
  if (state_->parts.model->has(id)) return state_->parts.model->token_bytes(id);
  return std::nullopt;
}

std::optional<TokenId> Tokenizer::added_token_id(std::string_view content) const {
  const auto it = state_->added_by_content.find(std::string(content));
  if (it == state_->added_by_content.end()) return std::nullopt;
  return it->second;
}

std::optional<TokenId> Tokenizer::find_token(std::string_view text) const {
  if (auto id = added_token_id(text)) return id;
  const TokenId id = state_->parts.model->find_bytes(text);
  if (id >= 0) return id;
  return std::nullopt;
}

std::optional<TokenId> Tokenizer::find_first_token(
    const std::vector<std::string>& candidates) const {
  for (const auto& candidate : candidates)
    if (auto id = find_token(candidate)) return id;
  return std::nullopt;
}

bool Tokenizer::is_added(TokenId id) const { return state_->added_by_id.count(id) != 0; }

bool Tokenizer::is_special(TokenId id) const {
  const auto it = state_->added_by_id.find(id);
  return it != state_->added_by_id.end() && state_->parts.added_tokens[it->second].special;
}

}  // namespace quorum::tokenizer
