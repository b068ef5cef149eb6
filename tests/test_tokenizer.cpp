// The byte-level BPE tokenizer: the byte alphabet, pre-tokenizer patterns, merge order,
// ignore_merges, added tokens, NFC, round trips, tokenizer.json reading / writing / refusals,
// training, hostile input, speed, and agreement with Hugging Face `tokenizers` on encodings it
// produced (tests/data/tokenizer/hf_golden.json, see docs/tokenizer.md).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <functional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/common/error.h"
#include "runtime/tokenizer/bytes.h"
#include "runtime/tokenizer/normalize.h"
#include "runtime/tokenizer/pretokenize.h"
#include "runtime/tokenizer/tokenizer.h"
#include "runtime/tokenizer/train.h"
#include "runtime/tokenizer/utf8.h"
#include "cli_runner.h"

namespace {

using nlohmann::json;
using quorum::InputError;
using namespace quorum::tokenizer;

const std::string kData = std::string(QUORUM_TEST_DATA) + "/tokenizer/";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

json byte_level_step(bool add_prefix_space, bool use_regex) {
  return {{"type", "ByteLevel"},
          {"add_prefix_space", add_prefix_space},
          {"trim_offsets", true},
          {"use_regex", use_regex}};
}

json split_step(const std::string& pattern) {
  return {{"type", "Split"},
          {"pattern", {{"Regex", pattern}}},
          {"behavior", "Isolated"},
          {"invert", false}};
}

// A byte-level tokenizer.json: the 256 byte tokens (id = byte value), then `extra` tokens
// (given as raw text) in order, and merges (raw text pairs) in rank order.
json tiny_tokenizer(const std::vector<std::string>& extra,
                    const std::vector<std::pair<std::string, std::string>>& merges,
                    json pre_tokenizer = byte_level_step(false, false)) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[bytes_to_symbols(std::string(1, static_cast<char>(b)))] = b;
  int next = 256;
  for (const auto& token : extra) vocab[bytes_to_symbols(token)] = next++;
  json merge_list = json::array();
  for (const auto& [left, right] : merges)
    merge_list.push_back(bytes_to_symbols(left) + " " + bytes_to_symbols(right));
  return {{"version", "1.0"},
          {"added_tokens", json::array()},
          {"normalizer", nullptr},
          {"pre_tokenizer", std::move(pre_tokenizer)},
          {"post_processor", nullptr},
          {"decoder", byte_level_step(true, true)},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", nullptr},
            {"byte_fallback", false},
            {"ignore_merges", false},
            {"vocab", vocab},
            {"merges", merge_list}}}};
}

Tokenizer from(const json& config) { return Tokenizer::from_json(config.dump(), "test.json"); }

TokenId id_of(const Tokenizer& tok, const std::string& raw) {
  const auto id = tok.find_token(raw);
  REQUIRE(id.has_value());
  return *id;
}

// The variants of the small fixture that hf_golden.json was recorded with (same edits as the
// recording script described in docs/tokenizer.md).
json fixture_variant(const std::string& name) {
  json d = json::parse(read_file(kData + "small_bpe.json"));
  if (name == "nfc") {
    d["normalizer"] = {{"type", "NFC"}};
  } else if (name == "llama3") {
    d["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = kLlama3Pattern;
    d["model"]["ignore_merges"] = true;
    d["post_processor"] = json::parse(R"({"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
      "pair": [{"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
               {"Sequence": {"id": "B", "type_id": 1}}],
      "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [396], "tokens": ["<|endoftext|>"]}}})");
  } else if (name == "gpt2") {
    d["pre_tokenizer"] = byte_level_step(true, true);
  } else if (name == "flags") {
    for (auto& t : d["added_tokens"]) {
      if (t["content"] == "<tag>") t["single_word"] = true;
      if (t["content"] == "<|im_end|>") t["lstrip"] = true;
      if (t["content"] == "<|im_start|>") t["rstrip"] = true;
    }
  } else if (name == "digits") {
    d["pre_tokenizer"] = {
        {"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Digits"}, {"individual_digits", false}}, byte_level_step(false, true)}}};
  }
  return d;
}

// Pseudo-English with numbers, arithmetic steps and some non-ASCII words, deterministic.
std::string synthetic_text(std::size_t bytes, std::uint32_t seed) {
  static const char* const syllables[] = {"the", "an", "re", "con", "ing", "ter", "pro", "ka",
                                          "mi", "lo", "st", "ver", "qu", "ab", "ly", "tion",
                                          "é", "ü", "数", "学", "ж", "ç", "ing", "er"};
  std::mt19937 rng(seed);
  std::vector<std::string> lexicon;
  for (int i = 0; i < 3000; ++i) {
    std::string word;
    const int n = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < n; ++k) word += syllables[rng() % (sizeof syllables / sizeof *syllables)];
    if (rng() % 10 == 0) word[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(word[0])));
    lexicon.push_back(word);
  }
  std::string text;
  text.reserve(bytes + 200);
  while (text.size() < bytes) {
    if (rng() % 5 == 0) {
      const int a = static_cast<int>(rng() % 1000), b = static_cast<int>(rng() % 1000);
      text += "Step " + std::to_string(rng() % 9 + 1) + ": " + std::to_string(a) + " + " +
              std::to_string(b) + " = " + std::to_string(a + b) + "\n";
      continue;
    }
    const int words = 3 + static_cast<int>(rng() % 12);
    for (int w = 0; w < words; ++w) {
      // Zipf-like: low indices far more often.
      const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
      const std::size_t index = static_cast<std::size_t>(std::pow(3000.0, u)) - 1;
      if (w) text += ' ';
      text += lexicon[index];
      if (rng() % 15 == 0) text += ",";
    }
    text += rng() % 4 == 0 ? ".\n\n" : ". ";
  }
  return text;
}

std::vector<std::string> round_trip_cases() {
  return {
      "",
      "Hello, world!",
      "The quick brown fox jumps over the lazy dog 1234567890 times.",
      "I'm sure they've said we'll win, didn't they? WE'LL SEE.",
      "café naïve résumé Straße İstanbul Ærøskøbing",
      "你好，世界！日本語のテキスト。한국어 텍스트",
      "emoji 😀 👍🏽 👨‍👩‍👧 🇫🇷 end",
      "combining: e\xCC\x81 a\xCC\x88\xCC\x81 Q\xCC\xA3\xCC\x81 \xE1\x84\x80\xE1\x85\xA1",
      "   leading and trailing   ",
      "tabs\tand\t\tmixed \t whitespace\u00a0nbsp\u3000ideographic",
      "line one\nline two\n\n\nline five\r\nwindows\r\n",
      "\n\n\n",
      "    def f(x):\n        return x * 2\n",
      "<|im_start|>user\nWhat is 2+3?<|im_end|>\n<|im_start|>assistant\n5<|im_end|>",
      "a<|endoftext|>b<|endoftext|><|endoftext|>",
      "almost special: <|im_end| and <|im_end|x> and <tag",
      "Step 1: 12 + 30 = 42 ки\nStep 2: 42 * 2 = 84 ки\nThe answer is 84",
      std::string("nul \0 byte and \x7f del", 20),
      "zero\u200bwidth and soft\u00adhyphen",
      "math: ∑ x² ≤ ½ √2 π ∞ ≠ ≈",
  };
}

}  // namespace

TEST_CASE("tokenizer: the byte alphabet maps every byte to one printable character", "[tokenizer]") {
  std::set<char32_t> seen;
  for (int b = 0; b < 256; ++b) {
    const char32_t c = byte_to_char(static_cast<unsigned char>(b));
    CHECK(char_to_byte(c) == b);
    seen.insert(c);
  }
  CHECK(seen.size() == 256);
  CHECK(bytes_to_symbols(" ") == "Ġ");
  CHECK(bytes_to_symbols("\n") == "Ċ");
  CHECK(bytes_to_symbols("a!~") == "a!~");
  CHECK(bytes_to_symbols("\xC3\xA9") == "Ã©");
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  CHECK(symbols_to_bytes(bytes_to_symbols(all)) == all);
  CHECK_FALSE(symbols_to_bytes("ok but 你").has_value());
}

TEST_CASE("tokenizer: invalid UTF-8 becomes U+FFFD per maximal bad sequence", "[tokenizer]") {
  CHECK(is_valid_utf8("héllo 你好 😀"));
  CHECK_FALSE(is_valid_utf8("\xC3"));
  CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));  // a surrogate
  CHECK_FALSE(is_valid_utf8("\xC0\xAF"));      // overlong
  CHECK(to_valid_utf8("a\xC3") == "a\xEF\xBF\xBD");
  CHECK(to_valid_utf8("\xE4\xBD") == "\xEF\xBF\xBD");             // truncated 3-byte char
  CHECK(to_valid_utf8("\xFF\xFE") == "\xEF\xBF\xBD\xEF\xBF\xBD");  // two bad bytes
  CHECK(to_valid_utf8("\xF0\x9F\x98x") == "\xEF\xBF\xBDx");
}

TEST_CASE("tokenizer: Qwen2, Llama-3 and GPT-2 split patterns on known inputs", "[tokenizer]") {
  const PreTokenizer qwen({PreTokenizerStep::split_regex(kQwen2Pattern),
                           PreTokenizerStep::byte_level(false, false)});
  const PreTokenizer llama({PreTokenizerStep::split_regex(kLlama3Pattern),
                            PreTokenizerStep::byte_level(false, false)});
  const PreTokenizer gpt2({PreTokenizerStep::byte_level(false, true)});
  using V = std::vector<std::string>;

  // Qwen2 keeps every digit on its own; Llama-3 groups up to three; GPT-2 takes the run.
  CHECK(qwen.split("12345") == V{"1", "2", "3", "4", "5"});
  CHECK(llama.split("12345") == V{"123", "45"});
  CHECK(gpt2.split("12345") == V{"12345"});
  CHECK(qwen.split("x=42") == V{"x", "=", "4", "2"});
  CHECK(gpt2.split("in 2024") == V{"in", " 2024"});
  CHECK(qwen.split("in 2024") == V{"in", " ", "2", "0", "2", "4"});

  // Contractions: case-insensitive in Qwen2 / Llama-3, lower case only in GPT-2.
  CHECK(qwen.split("I'm don't WE'LL") == V{"I", "'m", " don", "'t", " WE", "'LL"});
  CHECK(llama.split("they've It'S") == V{"they", "'ve", " It", "'S"});
  CHECK(gpt2.split("don't WE'LL") == V{"don", "'t", " WE", "'", "LL"});

  // The space before a word stays with the word; a run of spaces gives all but the last away.
  CHECK(qwen.split("hello   world") == V{"hello", "  ", " world"});
  CHECK(qwen.split("  hello") == V{" ", " hello"});
  CHECK(gpt2.split("hello   world") == V{"hello", "  ", " world"});
  CHECK(qwen.split("end  ") == V{"end", "  "});

  // Letters are Unicode letters; punctuation runs keep their trailing newlines.
  CHECK(qwen.split("naïve café 你好世界") == V{"naïve", " café", " 你好世界"});
  CHECK(qwen.split("Hi!!! ok") == V{"Hi", "!!!", " ok"});
  CHECK(qwen.split("a.\n\nb") == V{"a", ".\n\n", "b"});
  CHECK(qwen.split("x\n\n  y") == V{"x", "\n\n", " ", " y"});
  CHECK(llama.split("(x+1)") == V{"(x", "+", "1", ")"});
  CHECK(qwen.split("$100") == V{"$", "1", "0", "0"});

  // Bytes that are not UTF-8 never reach the regex: they form pieces of their own.
  CHECK(qwen.split("ab\xFF\xFE" "cd") == V{"ab", "\xFF\xFE", "cd"});

  // Digits (Unicode numbers) and ByteLevel's prefix space.
  const PreTokenizer digits({PreTokenizerStep::digits(true), PreTokenizerStep::byte_level(false, false)});
  CHECK(digits.split("a12b³") == V{"a", "1", "2", "b", "³"});
  const PreTokenizer prefix({PreTokenizerStep::byte_level(true, true)});
  CHECK(prefix.split("hello world") == V{" hello", " world"});
}

TEST_CASE("tokenizer: merges are applied in rank order, not in text order", "[tokenizer]") {
  // Rank 0 is (b, c), rank 1 is (a, b). Text order would merge "ab" first and leave "c".
  const Tokenizer tok = from(tiny_tokenizer({"bc", "ab"}, {{"b", "c"}, {"a", "b"}}));
  CHECK(tok.encode("abc") == std::vector<TokenId>{'a', 256});
  CHECK(tok.encode("abab") == std::vector<TokenId>{257, 257});
  CHECK(tok.encode("bcab") == std::vector<TokenId>{256, 257});

  // A later merge builds on an earlier result: (a, bc) only exists because (b, c) went first.
  const Tokenizer chained =
      from(tiny_tokenizer({"bc", "ab", "abc"}, {{"b", "c"}, {"a", "b"}, {"a", "bc"}}));
  CHECK(chained.encode("abc") == std::vector<TokenId>{258});
  CHECK(chained.encode("abbc") == std::vector<TokenId>{257, 256});

  // Equal ranks (the same merge twice in a row) go left first.
  const Tokenizer pairs = from(tiny_tokenizer({"aa"}, {{"a", "a"}}));
  CHECK(pairs.encode("aaa") == std::vector<TokenId>{256, 'a'});
  CHECK(pairs.encode("aaaa") == std::vector<TokenId>{256, 256});

  // A long piece (beyond the piece cache) takes the same path.
  const std::string many(1000, 'a');
  CHECK(pairs.encode(many) == std::vector<TokenId>(500, 256));
  CHECK(pairs.decode(pairs.encode(many)) == many);
}

TEST_CASE("tokenizer: ignore_merges emits a piece found whole in the vocabulary", "[tokenizer]") {
  json config = tiny_tokenizer({"he", "ll", "hello"}, {{"h", "e"}, {"l", "l"}});
  const Tokenizer merging = from(config);
  CHECK(merging.encode("hello") == std::vector<TokenId>{256, 257, 'o'});
  config["model"]["ignore_merges"] = true;
  const Tokenizer whole = from(config);
  CHECK(whole.encode("hello") == std::vector<TokenId>{258});
  CHECK(whole.encode("hellos") == std::vector<TokenId>{256, 257, 'o', 's'});  // not in vocab
  CHECK(whole.decode(whole.encode("hello hello")) == "hello hello");
}

TEST_CASE("tokenizer: added tokens are cut out first, longest first, as one id", "[tokenizer]") {
  const Tokenizer tok = Tokenizer::load(kData + "small_bpe.json");
  const TokenId start = id_of(tok, "<|im_start|>");
  const TokenId end = id_of(tok, "<|im_end|>");
  CHECK(start == 397);
  CHECK(end == 398);
  CHECK(tok.encode("<|im_end|>") == std::vector<TokenId>{end});
  const auto ids = tok.encode("<|im_start|>user\nhi<|im_end|>");
  CHECK(ids.front() == start);
  CHECK(ids.back() == end);
  CHECK(std::count(ids.begin(), ids.end(), end) == 1);
  CHECK(tok.decode(ids) == "<|im_start|>user\nhi<|im_end|>");
  CHECK(tok.decode(ids, true) == "user\nhi");

  // With parse_special off the text is ordinary text.
  const auto plain = tok.encode("<|im_end|>", false, false);
  CHECK(plain.size() > 1);
  CHECK(std::find(plain.begin(), plain.end(), end) == plain.end());
  CHECK(tok.decode(plain) == "<|im_end|>");

  // Longest first among tokens starting at the same place. (Both are matched on the raw text:
  // a normalized token, the default for non-special ones, would be looked for only after the
  // others are cut out, as Hugging Face does.)
  json config = tiny_tokenizer({}, {});
  config["added_tokens"] = json::array(
      {{{"id", 256}, {"content", "<tag>"}, {"special", true}},
       {{"id", 257}, {"content", "<tag>+"}, {"special", false}, {"normalized", false}}});
  const Tokenizer added = from(config);
  CHECK(added.encode("x<tag>+y<tag>") == std::vector<TokenId>{'x', 257, 'y', 256});
  CHECK(added.decode({'x', 257, 'y', 256}, true) == "x<tag>+y");
  CHECK(added.is_special(256));
  CHECK_FALSE(added.is_special(257));
  CHECK(added.is_added(257));
  CHECK(added.vocab_size() == 258);
}

TEST_CASE("tokenizer: token lookups by content for eos / pad / step separators", "[tokenizer]") {
  const Tokenizer tok = Tokenizer::load(kData + "small_bpe.json");
  CHECK(tok.vocab_size() == 400);
  CHECK(tok.added_token_id("<|endoftext|>") == std::optional<TokenId>(396));
  CHECK_FALSE(tok.added_token_id("<|eot_id|>").has_value());
  CHECK(tok.find_first_token({"<|eot_id|>", "<|im_end|>", "<|endoftext|>"}) ==
        std::optional<TokenId>(398));
  const auto newlines = tok.find_token("\n\n");
  REQUIRE(newlines.has_value());
  CHECK(tok.token_to_id("ĊĊ") == newlines);
  CHECK(tok.id_to_token(*newlines) == std::optional<std::string>("ĊĊ"));
  CHECK(tok.token_bytes(*newlines) == std::optional<std::string>("\n\n"));
  CHECK(tok.encode("\n\n") == std::vector<TokenId>{*newlines});
  CHECK(tok.token_to_id("Ġ") == std::optional<TokenId>(32));
  CHECK(tok.id_to_token(398) == std::optional<std::string>("<|im_end|>"));
  CHECK_FALSE(tok.find_token("no such token anywhere").has_value());
  CHECK_FALSE(tok.id_to_token(5000).has_value());
  CHECK(tok.is_special(398));
  CHECK_FALSE(tok.is_special(10));
}

TEST_CASE("tokenizer: decode(encode(x)) == x", "[tokenizer]") {
  const Tokenizer fixture = Tokenizer::load(kData + "small_bpe.json");
  const Tokenizer gpt2_style = from(fixture_variant("digits"));
  const Tokenizer llama_style = from(fixture_variant("llama3"));
  std::vector<std::string> corpus = round_trip_cases();
  corpus.push_back(synthetic_text(20000, 3));
  const Tokenizer trained = train_bpe(corpus, 420, {"<|endoftext|>", "<|im_start|>", "<|im_end|>"});
  for (const Tokenizer* tok : {&fixture, &gpt2_style, &llama_style, &trained}) {
    for (const auto& text : round_trip_cases()) {
      INFO(text);
      const auto ids = tok->encode(text);
      CHECK(tok->decode(ids) == text);
      CHECK(tok->decode_bytes(ids) == text);
      CHECK(tok->decode(tok->encode(text, false, false)) == text);
    }
  }
  // Whitespace runs of every length and mix.
  for (int n = 1; n < 40; ++n) {
    const std::string run = std::string(static_cast<std::size_t>(n), ' ') + "x" +
                            std::string(static_cast<std::size_t>(n % 7), '\n') +
                            std::string(static_cast<std::size_t>(n % 5), '\t') + "y   ";
    CHECK(trained.decode(trained.encode(run)) == run);
  }
}

TEST_CASE("tokenizer: decoding broken UTF-8, unknown ids and byte tokens", "[tokenizer]") {
  const Tokenizer tok = Tokenizer::load(kData + "small_bpe.json");
  // "é" is bytes C3 A9: each byte alone is half a character.
  CHECK(tok.decode({0xC3}) == "\xEF\xBF\xBD");
  CHECK(tok.decode_bytes({0xC3}) == "\xC3");
  CHECK(tok.decode({0xC3, 0xA9}) == "é");
  CHECK(tok.decode({'a', 0xE4, 0xBD, 'b'}) == "a\xEF\xBF\xBD" "b");
  CHECK(tok.decode({0xF0, 0x9F}) == "\xEF\xBF\xBD");
  // Ids that name no token (e.g. a model's padded embedding rows) are skipped.
  CHECK(tok.decode({'a', 5000, -3, 'b', 400}) == "ab");
  CHECK(tok.decode({}) == "");
}

TEST_CASE("tokenizer: NFC normalization", "[tokenizer]") {
  CHECK(nfc("e\xCC\x81") == "é");
  CHECK(nfc("a\xCC\x81\xCC\xA3") == "\xE1\xBA\xA1\xCC\x81");  // reordered, then composed: ạ́
  CHECK(nfc("\xE2\x84\xAB") == "Å");                          // Angstrom sign -> Å
  CHECK(nfc("\xE0\xA5\x98") == "\xE0\xA4\x95\xE0\xA4\xBC");   // composition exclusion stays apart
  CHECK(nfc("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8") == "각");  // Hangul jamo compose
  CHECK(nfc("A\xCC\x8A\xCC\x81") == "Ǻ");
  CHECK(nfc("plain ascii") == "plain ascii");
  CHECK(nfc("already é 你好") == "already é 你好");
  CHECK(nfc("bad \xFF e\xCC\x81") == "bad \xFF é");
  CHECK(is_nfc_quick("café 你好 😀 한국어 Ærø"));
  CHECK(is_nfc_quick("x\xCC\x96\xCC\x95"));              // marks in canonical order
  CHECK_FALSE(is_nfc_quick("x\xCC\x95\xCC\x96"));         // the same marks out of order
  CHECK(nfc("x\xCC\x95\xCC\x96") == "x\xCC\x96\xCC\x95");
  CHECK_FALSE(is_nfc_quick("e\xCC\x81"));                   // composes
  CHECK_FALSE(is_nfc_quick("\xE2\x84\xAB"));                // a singleton
  CHECK_FALSE(is_nfc_quick("x\xCC\x81\xCC\xA3"));          // marks out of order
  CHECK(nfc("x\xCC\x81\xCC\xA3") == "x\xCC\xA3\xCC\x81");

  const Tokenizer tok = from(fixture_variant("nfc"));
  CHECK(tok.encode("caf" "e\xCC\x81") == tok.encode("café"));
  CHECK(tok.decode(tok.encode("caf" "e\xCC\x81")) == "café");
  CHECK(tok.decode(tok.encode("already NFC: café 你好")) == "already NFC: café 你好");
}

TEST_CASE("tokenizer: the post-processor template wraps encode(add_special)", "[tokenizer]") {
  const Tokenizer tok = from(fixture_variant("llama3"));
  const auto plain = tok.encode("hi there");
  auto wrapped = tok.encode("hi there", true);
  REQUIRE(wrapped.size() == plain.size() + 1);
  CHECK(wrapped.front() == 396);
  CHECK(std::vector<TokenId>(wrapped.begin() + 1, wrapped.end()) == plain);
  CHECK(tok.decode(wrapped, true) == "hi there");
  CHECK(tok.parts().prefix == std::vector<TokenId>{396});
}

TEST_CASE("tokenizer: encodings agree with Hugging Face tokenizers", "[tokenizer]") {
  const json golden = json::parse(read_file(kData + "hf_golden.json"));
  const auto texts = golden["texts"].get<std::vector<std::string>>();
  for (const auto& [name, expected] : golden["variants"].items()) {
    const Tokenizer tok = from(fixture_variant(name));
    const bool add = name == "llama3";
    REQUIRE(expected.size() == texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
      INFO(name << " text " << i << ": " << json(texts[i]).dump());
      CHECK(tok.encode(texts[i], add) == expected[i].get<std::vector<TokenId>>());
    }
  }
}

TEST_CASE("tokenizer: save then load gives the same file and the same encodings", "[tokenizer]") {
  const quorum::testing::TempDir dir("tokenizer-save");
  const json golden = json::parse(read_file(kData + "hf_golden.json"));
  const auto texts = golden["texts"].get<std::vector<std::string>>();
  for (const char* name : {"base", "nfc", "llama3", "gpt2", "flags", "digits"}) {
    INFO(name);
    const Tokenizer original = from(fixture_variant(name));
    const std::string path = (dir.path() / (std::string(name) + ".json")).string();
    original.save(path);
    const Tokenizer loaded = Tokenizer::load(path);
    CHECK(loaded.to_json() == original.to_json());
    CHECK(loaded.vocab_size() == original.vocab_size());
    for (const auto& text : texts) {
      CHECK(loaded.encode(text) == original.encode(text));
      CHECK(loaded.encode(text, true) == original.encode(text, true));
    }
  }
  // The written layout is the Hugging Face one.
  const json written = json::parse(from(fixture_variant("llama3")).to_json());
  CHECK(written["model"]["type"] == "BPE");
  CHECK(written["model"]["ignore_merges"] == true);
  CHECK(written["model"]["merges"][0].is_string());
  CHECK(written["model"]["vocab"]["ĠĠ"] == 256);
  CHECK(written["pre_tokenizer"]["type"] == "Sequence");
  CHECK(written["post_processor"]["type"] == "TemplateProcessing");
  CHECK(written["decoder"]["type"] == "ByteLevel");
  CHECK(written["added_tokens"][2]["content"] == "<|im_end|>");

  // Merges written as [left, right] pairs are read too.
  json pairs = fixture_variant("base");
  for (auto& merge : pairs["model"]["merges"]) {
    const std::string text = merge.get<std::string>();
    const std::size_t space = text.find(' ');
    merge = json::array({text.substr(0, space), text.substr(space + 1)});
  }
  CHECK(from(pairs).to_json() == from(fixture_variant("base")).to_json());
}

TEST_CASE("tokenizer: a trained tokenizer has the requested size and round-trips its corpus",
          "[tokenizer]") {
  std::vector<std::string> corpus;
  for (std::uint32_t i = 0; i < 40; ++i) corpus.push_back(synthetic_text(12000, i));
  corpus.push_back("<|im_start|>user\nspecial tokens are never merged<|im_end|>");
  const std::vector<std::string> specials = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
  const Tokenizer tok = train_bpe(corpus, 500, specials);
  CHECK(tok.vocab_size() == 500);
  CHECK(tok.model().merges().size() >= 500 - 256 - 3);
  CHECK(tok.added_token_id("<|endoftext|>") == std::optional<TokenId>(497));
  CHECK(tok.added_token_id("<|im_end|>") == std::optional<TokenId>(499));
  for (int b = 0; b < 256; ++b)
    CHECK(tok.find_token(std::string(1, static_cast<char>(b))) == std::optional<TokenId>(b));
  // No learned token contains a special token's text.
  for (TokenId id = 256; id < 497; ++id)
    CHECK(tok.token_bytes(id)->find("<|") == std::string::npos);
  std::size_t bytes = 0, tokens = 0;
  for (const auto& text : corpus) {
    const auto ids = tok.encode(text);
    CHECK(tok.decode(ids) == text);
    bytes += text.size();
    tokens += ids.size();
  }
  CHECK(static_cast<double>(bytes) / static_cast<double>(tokens) > 2.0);  // it compresses

  // Deterministic: thread count and text order do not matter; the file loads back.
  TrainOptions options;
  options.vocab_size = 500;
  options.special_tokens = specials;
  options.threads = 1;
  const std::string one_thread = train_bpe(corpus, options).to_json();
  options.threads = 2;
  std::vector<std::string> reversed(corpus.rbegin(), corpus.rend());
  CHECK(train_bpe(reversed, options).to_json() == one_thread);
  CHECK(tok.to_json() == one_thread);
  CHECK(Tokenizer::from_json(one_thread).to_json() == one_thread);

  // A corpus with too few distinct pairs stops early rather than invent tokens.
  const Tokenizer small = train_bpe({"abababab"}, 400, {});
  CHECK(small.vocab_size() < 400);
  CHECK(small.decode(small.encode("abab ba")) == "abab ba");

  CHECK_THROWS_AS(train_bpe(corpus, 100, specials), std::invalid_argument);
  CHECK_THROWS_AS(train_bpe(corpus, 500, {"<a>", "<a>"}), std::invalid_argument);
  CHECK_THROWS_AS(train_bpe(corpus, 500, {}, "(unclosed"), std::invalid_argument);
}

TEST_CASE("tokenizer: 500 tokens trained on 5 MB, and 4 MB encoded and decoded back", "[tokenizer]") {
  // Sizes of real corpora; how fast this goes is bench_generate's business, not a test's.
  std::vector<std::string> corpus;
  std::size_t total = 0;
  for (std::uint32_t i = 0; total < 5'000'000; ++i) {
    corpus.push_back(synthetic_text(50000, 100 + i));
    total += corpus.back().size();
  }
  const Tokenizer tok = train_bpe(corpus, 500, {"<|endoftext|>"});
  CHECK(tok.vocab_size() == 500);

  const std::string text = synthetic_text(4'000'000, 999);
  const auto ids = tok.encode(text);
  CHECK(ids.size() < text.size() / 2);  // merges that compress
  CHECK(tok.decode(ids) == text);
}

TEST_CASE("tokenizer: 1 MB of random bytes encodes and decodes", "[tokenizer]") {
  std::mt19937 rng(42);
  std::string bytes(1 << 20, '\0');
  for (auto& c : bytes) c = static_cast<char>(rng() & 0xFF);
  // Also long runs that stress the regex: one class repeated, and whitespace.
  std::string runs = std::string(200000, ' ') + std::string(200000, 'a') + "\n" +
                     std::string(100000, '\n') + std::string(100000, '9') + std::string(50000, '!');
  for (const char* name : {"base", "nfc", "gpt2", "llama3"}) {
    INFO(name);
    const Tokenizer tok = from(fixture_variant(name));
    const auto ids = tok.encode(bytes);
    // What the tokenizer changes on purpose: NFC composes what it can, and the GPT-2 style
    // ByteLevel step puts a space in front of text that does not start with one.
    REQUIRE(bytes[0] != ' ');
    const std::string expected = name == std::string("nfc")    ? nfc(bytes)
                                 : name == std::string("gpt2") ? " " + bytes
                                                               : bytes;
    CHECK(tok.decode_bytes(ids) == expected);
    const std::string text = tok.decode(ids);
    CHECK(is_valid_utf8(text));
    const auto run_ids = tok.encode(runs);
    CHECK(tok.decode(run_ids) == runs);  // starts with a space: no prefix added
  }
}

TEST_CASE("tokenizer: concurrent encodes agree with a single thread", "[tokenizer]") {
  const Tokenizer tok = Tokenizer::load(kData + "small_bpe.json");
  std::vector<std::string> texts;
  for (std::uint32_t i = 0; i < 8; ++i) texts.push_back(synthetic_text(30000, 500 + i));
  std::vector<std::vector<TokenId>> expected;
  for (const auto& text : texts) expected.push_back(tok.encode(text));
  const Tokenizer fresh = Tokenizer::load(kData + "small_bpe.json");  // cold cache
  std::vector<int> ok(4, 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (std::size_t i = 0; i < texts.size(); ++i) {
        const std::size_t k = (i + static_cast<std::size_t>(t)) % texts.size();
        if (fresh.encode(texts[k]) != expected[k]) ok[t] = 0;
      }
    });
  for (auto& thread : threads) thread.join();
  CHECK(ok == std::vector<int>(4, 1));
}

TEST_CASE("tokenizer: bad tokenizer.json files are refused naming the field", "[tokenizer]") {
  struct Case {
    std::string what;
    std::function<void(json&)> edit;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"missing model", [](json& d) { d.erase("model"); }, "model"},
      {"model not an object", [](json& d) { d["model"] = 3; }, "model"},
      {"unknown model type", [](json& d) { d["model"]["type"] = "WordPiece"; }, "model.type"},
      {"Unigram", [](json& d) { d["model"]["type"] = "Unigram"; }, "model.type"},
      {"byte fallback with ByteLevel", [](json& d) { d["model"]["byte_fallback"] = true; },
       "model.byte_fallback"},
      {"dropout", [](json& d) { d["model"]["dropout"] = 0.1; }, "model.dropout"},
      {"subword prefix", [](json& d) { d["model"]["continuing_subword_prefix"] = "##"; },
       "model.continuing_subword_prefix"},
      {"missing vocab", [](json& d) { d["model"].erase("vocab"); }, "model.vocab"},
      {"negative id", [](json& d) { d["model"]["vocab"]["a"] = -1; }, "model.vocab[a]"},
      {"duplicate ids", [](json& d) { d["model"]["vocab"]["zz"] = 5; }, "model.vocab"},
      {"absurd id", [](json& d) { d["model"]["vocab"]["zz"] = 2000000000; }, "model.vocab[zz]"},
      {"unknown merge token", [](json& d) { d["model"]["merges"].push_back("a qq"); },
       "model.merges[1]"},
      {"merge result not in vocab", [](json& d) { d["model"]["merges"].push_back("x y"); },
       "model.merges[1]"},
      {"malformed merge", [](json& d) { d["model"]["merges"].push_back("abc"); }, "model.merges[1]"},
      {"merge of three", [](json& d) { d["model"]["merges"].push_back(json::array({"a", "b", "c"})); },
       "model.merges[1]"},
      {"unk token not in vocab", [](json& d) { d["model"]["unk_token"] = "<unk>"; },
       "model.unk_token"},
      {"unknown pre-tokenizer", [](json& d) { d["pre_tokenizer"] = {{"type", "Whitespace"}}; },
       "pre_tokenizer.type"},
      {"unknown pre-tokenizer in a sequence",
       [](json& d) {
         d["pre_tokenizer"] = {{"type", "Sequence"},
                               {"pretokenizers", {split_step("\\s+"), {{"type", "Whitespace"}}}}};
       },
       "pre_tokenizer.pretokenizers[1].type"},
      {"Metaspace without a replacement",
       [](json& d) { d["pre_tokenizer"] = {{"type", "Metaspace"}}; },
       "pre_tokenizer.replacement"},
      {"Metaspace with an unknown prepend scheme",
       [](json& d) {
         d["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "_"}, {"prepend_scheme", "twice"}};
       },
       "pre_tokenizer.prepend_scheme"},
      {"Metaspace add_prefix_space false against prepend_scheme always",
       [](json& d) {
         d["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "_"}, {"add_prefix_space", false}};
       },
       "pre_tokenizer.add_prefix_space"},
      {"Metaspace and ByteLevel together",
       [](json& d) {
         d["pre_tokenizer"] = {{"type", "Sequence"},
                               {"pretokenizers", {{{"type", "Metaspace"}, {"replacement", "_"}},
                                                  byte_level_step(false, false)}}};
       },
       "pre_tokenizer.pretokenizers[1].type"},
      {"a step after ByteLevel",
       [](json& d) {
         d["pre_tokenizer"] = {{"type", "Sequence"},
                               {"pretokenizers", {byte_level_step(false, false), split_step("x")}}};
       },
       "pre_tokenizer.pretokenizers[1].type"},
      {"bad regex",
       [](json& d) {
         d["pre_tokenizer"] = {{"type", "Sequence"},
                               {"pretokenizers", {split_step("(unclosed"), byte_level_step(false, false)}}};
       },
       "pre_tokenizer.pretokenizers[0].pattern.Regex"},
      {"unsupported split behavior",
       [](json& d) {
         json split = split_step("\\s+");
         split["behavior"] = "MergedWithPrevious";
         d["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", {split, byte_level_step(false, false)}}};
       },
       "pre_tokenizer.pretokenizers[0].behavior"},
      {"inverted split",
       [](json& d) {
         json split = split_step("\\s+");
         split["invert"] = true;
         d["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", {split, byte_level_step(false, false)}}};
       },
       "pre_tokenizer.pretokenizers[0].invert"},
      {"NFKC normalizer", [](json& d) { d["normalizer"] = {{"type", "NFKC"}}; }, "normalizer.type"},
      {"Lowercase after Llama-2's Prepend",
       [](json& d) {
         d["normalizer"] = {{"type", "Sequence"},
                            {"normalizers", {{{"type", "Prepend"}, {"prepend", "▁"}},
                                             {{"type", "Lowercase"}}}}};
       },
       "normalizer.normalizers[1].type"},
      {"Replace without content",
       [](json& d) { d["normalizer"] = {{"type", "Replace"}, {"pattern", {{"String", " "}}}}; },
       "normalizer.content"},
      {"Replace with a bad regex",
       [](json& d) {
         d["normalizer"] = {{"type", "Replace"}, {"pattern", {{"Regex", "("}}}, {"content", ""}};
       },
       "normalizer.pattern.Regex"},
      {"Strip decoder of two characters",
       [](json& d) {
         d["decoder"] = {{"type", "Sequence"},
                         {"decoders", {{{"type", "Strip"}, {"content", "ab"}, {"start", 1}, {"stop", 0}}}}};
       },
       "decoder.decoders[0].content"},
      {"missing decoder", [](json& d) { d.erase("decoder"); }, "decoder"},
      {"other decoder", [](json& d) { d["decoder"] = {{"type", "WordPiece"}}; }, "decoder.type"},
      {"Roberta post-processor", [](json& d) { d["post_processor"] = {{"type", "RobertaProcessing"}}; },
       "post_processor.type"},
      {"template without the sequence",
       [](json& d) {
         d["post_processor"] = {{"type", "TemplateProcessing"}, {"single", json::array()}};
       },
       "post_processor.single"},
      {"template naming an unknown id",
       [](json& d) {
         d["post_processor"] = json::parse(R"({"type": "TemplateProcessing",
           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
           "special_tokens": {"<s>": {"id": "<s>", "ids": [9999], "tokens": ["<s>"]}}})");
       },
       "post_processor"},
      {"added token without content",
       [](json& d) { d["added_tokens"] = {{{"id", 300}}}; }, "added_tokens[0].content"},
      {"added token taking a model id",
       [](json& d) {
         d["added_tokens"] = {{{"id", 97}, {"content", "<s>"}, {"special", true}}};
       },
       "added_tokens[0].id"},
      {"added token after a gap (Hugging Face would number it 257)",
       [](json& d) { d["added_tokens"] = {{{"id", 300}, {"content", "<s>"}}}; },
       "added_tokens[0].id"},
      {"two added tokens with one id",
       [](json& d) {
         d["added_tokens"] = {{{"id", 257}, {"content", "<s>"}}, {{"id", 257}, {"content", "</s>"}}};
       },
       "added_tokens[1].id"},
  };
  const quorum::testing::TempDir dir("tokenizer-bad");
  for (const auto& c : cases) {
    INFO(c.what);
    json d = tiny_tokenizer({"ab"}, {{"a", "b"}});
    c.edit(d);
    const std::string path = dir.file("bad.json", d.dump());
    try {
      Tokenizer::load(path);
      FAIL("accepted");
    } catch (const InputError& e) {
      CHECK(e.field() == c.field);
      CHECK(e.file() == path);
      CHECK(std::string(e.what()).find("bad.json") != std::string::npos);
    }
  }

  // Malformed JSON: the file and the line are named.
  const std::string path = dir.file("broken.json", "{\n  \"model\": {\n    \"type\": \"BPE\",,\n");
  try {
    Tokenizer::load(path);
    FAIL("accepted");
  } catch (const InputError& e) {
    CHECK(e.line() == 3);
    CHECK(std::string(e.what()).find("malformed JSON") != std::string::npos);
  }
  CHECK_THROWS_AS(Tokenizer::load((dir.path() / "absent.json").string()), InputError);
  CHECK_THROWS_AS(Tokenizer::from_json("[1, 2]"), InputError);

  // Accepted: a minimal file, NFC, null fields, Sequence normalizer of NFC.
  json ok = tiny_tokenizer({"ab"}, {{"a", "b"}});
  ok["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "NFC"}}}}};
  ok["truncation"] = nullptr;
  const Tokenizer with_nfc = from(ok);
  const auto& normalizers = with_nfc.parts().normalizers;
  REQUIRE(normalizers.size() == 1);
  CHECK(normalizers[0].kind == NormalizerStep::Kind::nfc);
}
