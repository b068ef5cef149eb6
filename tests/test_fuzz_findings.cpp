// Regression tests for what the fuzz targets of fuzz/ found (docs/reliability.md, "Fuzzing"):
// each input that crashed or was wrongly accepted is fed to the parser once more and must now
// give the parser's documented error: an InputError naming the file, line and field, or a bus
// ProtocolError.
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "runtime/bus/protocol.h"
#include "runtime/chat/chat_template.h"
#include "runtime/common/error.h"
#include "runtime/common/json_depth.h"
#include "runtime/config/sweep.h"
#include "runtime/interchange/jsonl_reader.h"
#include "runtime/model/config.h"
#include "runtime/model/safetensors.h"
#include "runtime/tokenizer/tokenizer.h"
#include "runtime/tokenizer/tokenizer_config.h"

using quorum::InputError;
using quorum::testing::TempDir;

namespace {

// A safetensors file: the 8-byte little-endian header length, the header, the data.
std::string safetensors_bytes(const std::string& header, const std::string& data = "") {
  std::string bytes;
  for (int i = 0; i < 8; ++i) bytes += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return bytes + header + data;
}

// JSON nested `depth` levels deep: [[[...]]].
std::string nested(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

// Runs `parse`, which must throw an InputError at (file, line, field) whose message has `words`.
template <typename Parse>
void require_input_error(Parse parse, const std::string& file, std::size_t line, const std::string& field,
                         const std::string& words) {
  try {
    parse();
    FAIL("no error (expected: " << words << ")");
  } catch (const InputError& e) {
    CHECK(e.file() == file);
    CHECK(e.line() == line);
    CHECK(e.field() == field);
    CHECK_THAT(e.what(), Catch::Contains(words));
  }
}

}  // namespace

TEST_CASE("a safetensors shape whose byte count wraps past 2^64 is refused", "[fuzz][safetensors]") {
  TempDir dir("fuzz-safetensors");
  // 2^62 x 4 float32 elements: 2^66 bytes, which wrapped to 0 and matched data_offsets [0, 0],
  // so the view claimed a shape of 2^64 elements over no data at all.
  const auto path = dir.file("wrap.safetensors", safetensors_bytes(
      R"({"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}})"));
  try {
    quorum::model::SafetensorsFile file(path);
    FAIL("accepted a shape of 2^64 elements over 0 bytes");
  } catch (const InputError& e) {
    CHECK(e.file() == path);
    CHECK(e.field() == "a");
    CHECK(std::string(e.what()).find("more than 2^64 bytes") != std::string::npos);
  }
  // The same shape in elements that do not wrap is still only a size mismatch.
  const auto plain = dir.file("plain.safetensors", safetensors_bytes(
      R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,8]}})", std::string(8, '\0')));
  CHECK_THROWS_WITH(quorum::model::SafetensorsFile(plain), Catch::Contains("holds 8 bytes but its shape and dtype need 16"));
}

TEST_CASE("a number beyond a double's range in tokenizer and problem files is an InputError", "[fuzz][tokenizer][config]") {
  // fuzz_tokenizer's input: the whole file one overflowing number. nlohmann's out_of_range
  // escaped the reader, which caught only parse_error, and ended the program.
  require_input_error([] { quorum::tokenizer::Tokenizer::from_json("0.6E6666666666666"); }, "tokenizer.json", 1, "",
                      "a number too large for a double");
  require_input_error([] { quorum::tokenizer::Tokenizer::from_json("{\"version\": \"1.0\",\n \"model\": {\"dropout\": 1e400}}"); },
                      "tokenizer.json", 2, "model.dropout", "number overflow parsing '1e400'");
  require_input_error([] { quorum::tokenizer::parse_tokenizer_config("{\"model_max_length\": 1e309}", "tokenizer_config.json"); },
                      "tokenizer_config.json", 1, "model_max_length", "a number too large for a double");
  // The same path in the sweep's JSONL problem files.
  TempDir dir("fuzz-problems");
  quorum::config::ProblemSource source;
  source.kind = quorum::config::ProblemSource::Kind::jsonl;
  source.format = "math";
  source.path = dir.file("problems.jsonl", "{\"problem\": \"1+1\", \"answer\": 2}\n{\"problem\": \"2+2\", \"answer\": 4e999}\n");
  require_input_error([&] { quorum::config::load_problems(source); }, source.path, 2, "answer",
                      "a number too large for a double");
}

TEST_CASE("JSON nested deeper than 256 levels is refused before it is parsed", "[fuzz][json]") {
  // Parsing is iterative, but dumping, copying and comparing a value recurse once per level:
  // 200000 levels in config.json's vocab_size ("expected a number, got <dump>"), a JSONL score
  // or a bus message's version ("protocol version <dump>") overflowed the stack.
  const std::string deep = nested(200000);
  TempDir dir("fuzz-depth");
  const auto rows = dir.file("rows.jsonl", "{\"problem\": \"q\", \"answer\": \"1\", \"completions\": [\"x\"], \"scores\": [[0.5]]}\n"
                                           "{\"problem\": \"q\", \"answer\": \"1\", \"completions\": [\"x\"], \"scores\": [" + deep + "]}\n");
  require_input_error([&] {
    quorum::interchange::Dataset dataset;
    quorum::interchange::read_jsonl({rows, "", ""}, {}, dataset);
  }, rows, 2, "", "JSON nested more than 256 levels deep");
  std::filesystem::create_directories(dir.path() / "model");
  const auto config = dir.file("model/config.json", "{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": " + deep + "}");
  require_input_error([&] { quorum::model::ModelConfig::load((dir.path() / "model").string()); }, config, 0, "",
                      "JSON nested more than 256 levels deep");
  const auto weights = dir.file("deep.safetensors", safetensors_bytes("{\"a\": " + deep + "}"));
  require_input_error([&] { quorum::model::SafetensorsFile file(weights); }, weights, 0, "",
                      "bad header: JSON nested more than 256 levels deep");
  require_input_error([&] { quorum::tokenizer::Tokenizer::from_json("{\"decoder\": " + deep + "}"); }, "tokenizer.json", 0, "",
                      "JSON nested more than 256 levels deep");
  CHECK_THROWS_AS(quorum::bus::message_type("{\"type\": \"hello\", \"v\": " + deep + "}"), quorum::bus::ProtocolError);
  CHECK_THROWS_WITH(quorum::bus::decode_refused("{\"v\": 2, \"reason\": " + deep + "}"),
                    Catch::Contains("nested more than 256 levels deep"));
  // What the readers accept nests far less: 256 levels still parse (and fail for other reasons).
  CHECK_THROWS_WITH(quorum::bus::message_type("{\"type\": \"hello\", \"v\": " + nested(255) + "}"),
                    Catch::Contains("protocol version"));
  CHECK(quorum::json_nesting_depth(R"({"a": "[[[{{", "b": [["\"]"]]})") == 3);
}

TEST_CASE("bus integers must be integers of their type, and scores floats", "[fuzz][bus]") {
  using namespace quorum::bus;
  const auto version = std::to_string(kProtocolVersion);
  // A float beyond the range of a 64-bit integer was cast to one (undefined behaviour, UBSan's
  // report in fuzz_bus_protocol); a negative number wrapped to a huge unsigned one.
  const std::string hello = "{\"v\":" + version + R"(,"type":"hello","worker":"w","cuda":false,"slots":1,"loaded":[],"running":[],"memory_bytes":)";
  CHECK(decode_hello(hello + "1024}").memory_bytes == 1024);
  CHECK_THROWS_WITH(decode_hello(hello + "1e300}"), Catch::Contains("field 'memory_bytes': expected a non-negative integer, got 1e+300"));
  CHECK_THROWS_WITH(decode_hello(hello + "-1}"), Catch::Contains("field 'memory_bytes': expected a non-negative integer, got -1"));
  CHECK_THROWS_WITH(decode_hello(hello + "2.0}"), Catch::Contains("field 'memory_bytes'"));
  const std::string lease = "{\"v\":" + version + R"(,"type":"lease","lease":"l","unit":"u","kind":"sample","work":{"policy":"p","split":"s","problems":[],"seed":1,"samples":)";
  CHECK(decode_lease(lease + "4}}").sample.samples == 4);
  CHECK_THROWS_WITH(decode_lease(lease + "-1e300}}"), Catch::Contains("field 'samples': expected a 64-bit integer"));
  CHECK_THROWS_WITH(decode_lease(lease + "9223372036854775808}}"), Catch::Contains("field 'samples'"));
  // A score beyond a float's range became inf, which encode writes as null: the coordinator
  // would have refused the worker's own result on the way back.
  const std::string result = "{\"v\":" + version + R"(,"type":"result","lease":"l","unit":"u","responses":[],"scores":[{"response":"x","prm":"r","scored_tokens":1,"seconds":0.1,"scores":)";
  CHECK(decode_result(result + "[0.5]}]}").scores[0].scores == std::vector<float>{0.5f});
  CHECK_THROWS_WITH(decode_result(result + "[1e300]}]}"), Catch::Contains("field 'scores': 1e+300 is beyond a float's range"));
  CHECK_THROWS_AS(decode_result(result + "0.5}]}"), ProtocolError);
}

TEST_CASE("config.json and safetensors integers must be integers", "[fuzz][model]") {
  TempDir dir("fuzz-integers");
  std::filesystem::create_directories(dir.path() / "model");
  const std::string model = (dir.path() / "model").string();
  const std::string base = R"({"architectures": ["Qwen2ForCausalLM"], "vocab_size": 16, "hidden_size": 8,
    "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
    "rope_theta": 10000.0, "rms_norm_eps": 1e-6)";
  const auto config = dir.file("model/config.json", base + "}");
  CHECK(quorum::model::ModelConfig::load(model).max_window_layers == 28);
  // fuzz_model_config's input had "eos_token_id": 99...9151643 (46 digits): parsed as a float,
  // then cast to int64 (undefined behaviour); a string there escaped as nlohmann's type_error.
  for (const char* eos : {"9999999999999999999999999999999999999999151643", "\"2\"", "[1, 2.5]", "-1"}) {
    dir.file("model/config.json", base + ", \"eos_token_id\": " + eos + "}");
    require_input_error([&] { quorum::model::ModelConfig::load(model); }, config, 0, "eos_token_id",
                        "expected a token id (a non-negative integer) or a list of them");
  }
  dir.file("model/config.json", base + ", \"eos_token_id\": [1, 2]}");
  CHECK(quorum::model::ModelConfig::load(model).eos_token_ids == std::vector<std::int64_t>{1, 2});
  dir.file("model/config.json", base + ", \"max_window_layers\": 1e300}");
  require_input_error([&] { quorum::model::ModelConfig::load(model); }, config, 0, "max_window_layers", "expected an integer");

  // The same casts in safetensors headers: a shape or offset of 1e300, or -1 as an offset.
  const auto weights = dir.file("w.safetensors", safetensors_bytes(R"({"a":{"dtype":"U8","shape":[1e300],"data_offsets":[0,0]}})"));
  require_input_error([&] { quorum::model::SafetensorsFile file(weights); }, weights, 0, "a", "a dimension must be an integer");
  dir.file("w.safetensors", safetensors_bytes(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[-1,1e300]}})", "x"));
  require_input_error([&] { quorum::model::SafetensorsFile file(weights); }, weights, 0, "a",
                      "data_offsets must be non-negative integers");
}

namespace {

// Parses and renders a template with one user message; InputErrors come from either step.
std::string render(const std::string& source, const nlohmann::json& context = nullptr) {
  const auto chat = quorum::chat::ChatTemplate::parse(source, "t.jinja");
  if (!context.is_null()) return chat.render_context(context);
  return chat.render({{"user", "hi"}}, true);
}

void require_template_error(const std::string& source, std::size_t line, const std::string& words) {
  require_input_error([&] { render(source); }, "t.jinja", line, "chat_template", words);
}

}  // namespace

// libFuzzer's first finding (39 executions): a byte that is not UTF-8 before a "{%-" tag.
// The lexer strips the text before it by code point, and the decoder's RenderError escaped
// ChatTemplate::parse, whose callers expect an InputError. The source is checked up front now.
TEST_CASE("chat templates: a source that is not UTF-8 is an InputError naming its line", "[fuzz][chat]") {
  require_template_error("line one\nab\xff {%- if true %}x{% endif %}", 2, "the template is not valid UTF-8 (byte 0xff)");
  require_template_error("{{ 'caf\xc3' }}", 1, "not valid UTF-8 (byte 0xc3)");
  CHECK(render("caf\xc3\xa9 {%- if true %} \xe2\x80\x83x{% endif %}") == "caf\xc3\xa9 \xe2\x80\x83x");
}

// Tags nested by recursion in the parser and the renderer: 100 000 nested ifs (900 KB) ran
// the parser's stack out, as expressions once did; they now stop at 200 levels as those do.
TEST_CASE("chat templates: tags nested deeper than 200 levels are refused", "[fuzz][chat]") {
  std::string source;
  for (int i = 0; i < 100000; ++i) source += "{% if true %}";
  require_template_error(source, 1, "tags nested too deeply (more than 200 levels)");
  std::string fine;
  for (int i = 0; i < 100; ++i) fine = "{% for x in [1] %}" + fine + "{% endfor %}";
  CHECK(render("{% if true %}" + fine + "ok{% endif %}") == "ok");
}

// Templates that ran for hours or without end: nested loops over range(100000) (10^10
// iterations printing nothing), 1 ** 9223372036854775807 (multiplied that many times), '' times
// a huge count (the loop ran although nothing grew), and 'abcd' * 2^62, whose byte count
// 4 * 2^62 wrapped to 0 and passed the size check.
TEST_CASE("chat templates: loops and repetitions without end stop with an error", "[fuzz][chat]") {
  require_template_error("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", 1,
                         "the template ran more than 250000 steps");
  CHECK(render("{{ 1 ** 9223372036854775807 }} {{ (-1) ** 9223372036854775807 }} {{ 0 ** 0 }} {{ 0 ** 5 }} {{ 2 ** 62 }}") ==
        "1 -1 1 0 4611686018427387904");
  require_template_error("{{ 2 ** 63 }}", 1, "integer overflow");
  CHECK(render("{{ '' * 9223372036854775807 }}|{{ [] * 9223372036854775807 }}|{{ (1,) * 0 }}") == "|[]|()");
  require_template_error("{{ 'abcd' * 4611686018427387904 }}", 1, "repeated string too long");
  // A list item is a few hundred bytes, and making one takes time: lists made by `*` and strings
  // iterated stop at 100 000 items, as range() does.
  require_template_error("{{ ([1, 2] * 600000) | length }}", 1, "repeated list too long");
  CHECK(render("{{ ([1, 2] * 50000) | length }}") == "100000");
  require_template_error("{% for c in 'ab' * 600000 %}{% endfor %}", 1, "iterating a string of 1200000 bytes");
}

// A namespace stored in itself made a cycle of shared pointers (printing it recursed until the
// stack ran out; freed, it leaked), and a namespace attribute wrapped in a list once per loop
// iteration nested without bound (freeing it recursed once per level).
TEST_CASE("chat templates: namespaces cannot hold namespaces, values nest at most 256 levels", "[fuzz][chat]") {
  require_template_error("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}", 1, "a namespace inside a namespace");
  require_template_error("{% set ns = namespace() %}{% set ns.l = [1, {'a': ns}] %}", 1, "a namespace inside a namespace");
  require_template_error("{% set ns = namespace() %}{% set other = namespace(x=ns) %}", 1, "a namespace inside a namespace");
  require_template_error("{% set ns = namespace(x=1) %}{% for i in range(1000) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}",
                         1, "a value nested more than 256 levels deep");
  CHECK(render("{% set ns = namespace(x=1) %}{% for i in range(3) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }} {{ [ns] | length }}") ==
        "[[[1]]] 1");
  // A render context nested deeper than 256 levels (callers parse JSON with kMaxJsonDepth).
  nlohmann::json deep = 1;
  for (int i = 0; i < 300; ++i) deep = nlohmann::json::array({deep});
  require_input_error([&] { render("{{ x }}", {{"x", deep}}); }, "t.jinja", 0, "chat_template", "JSON nested more than 256 levels deep");
}

// tojson(indent=10**12) asked std::string for a terabyte (std::length_error escaped the
// renderer), and a long indent repeated at every line could ask for as much.
TEST_CASE("chat templates: tojson refuses an indent that would make a huge text", "[fuzz][chat]") {
  require_template_error("{{ [1] | tojson(indent=1000000000000) }}", 1, "indent 1000000000000 is too large");
  require_template_error("{{ [[1, 2], [3]] | tojson(indent='a' * 3000000) }}", 1, "tojson: a string of more than 4194304 bytes");
  CHECK(render("{{ [1] | tojson(indent=2) }}") == "[\n  1\n]");
}

// Strings a template computes: 'a' * 60000000 was allowed (up to the 64 MB output limit), and
// from it replace('', ...) asked for gigabytes, split() made 30 million values, and a slice, a
// title() or a join of range(100000) took from 16 s to hours under the sanitizers. Computed
// strings stop at 4 MB now, splits at 100 000 parts, and reading a long string costs steps.
TEST_CASE("chat templates: computed strings stop at 4 MB, and reading them costs steps", "[fuzz][chat]") {
  require_template_error("{{ 'a' * 5000000 }}", 1, "repeated string too long");
  require_template_error("{{ ('a' * 4000000) ~ ('b' * 500000) }}", 1, "~: a string of more than 4194304 bytes");
  require_template_error("{{ ('a' * 3000000) + ('b' * 3000000) }}", 1, "+: a string of more than 4194304 bytes");
  require_template_error("{{ ('a' * 3000000).replace('', 'bb') }}", 1, "replace: a string of more than 4194304 bytes");
  require_template_error("{{ range(100000) | join('a' * 1000) }}", 1, "join: a string of more than 4194304 bytes");
  require_template_error("{{ ('a,' * 1000000).split(',') | length }}", 1, "split: more than 100000 parts");
  require_template_error("{% set s = 'a' * 1000000 %}{% for i in range(1000) %}{{ s[::-1] | length }}{% endfor %}", 1,
                         "the template ran more than 250000 steps");
  require_template_error("{% set s = 'a' * 1000000 %}{% for i in range(100000) %}{{ s[i] }}{% endfor %}", 1,
                         "the template ran more than 250000 steps");
  CHECK(render("{{ ('ab' * 3).replace('b', 'c') }} {{ 'a b  c'.split() | length }} {{ range(3) | join('-') }}") ==
        "acacac 3 0-1-2");
}
