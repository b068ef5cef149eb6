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
