// Regression tests for what the fuzz targets of fuzz/ found (docs/reliability.md, "Fuzzing"):
// each input that crashed, hung or was wrongly accepted is fed to the parser once more and must
// now give an InputError naming the file and the field.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "cli_runner.h"
#include "runtime/common/error.h"
#include "runtime/model/safetensors.h"

using quorum::InputError;
using quorum::testing::TempDir;

namespace {

// A safetensors file: the 8-byte little-endian header length, the header, the data.
std::string safetensors_bytes(const std::string& header, const std::string& data = "") {
  std::string bytes;
  for (int i = 0; i < 8; ++i) bytes += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return bytes + header + data;
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
