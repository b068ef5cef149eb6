// tokenizer.json loading and encoding (runtime/tokenizer): the input is a tokenizer.json, then
// optionally a NUL byte and a text to encode (without one, a fixed text is encoded). A loaded
// tokenizer encodes any bytes, and its ids decode; bad files are an InputError naming the field.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/common/error.h"
#include "runtime/tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace quorum;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto nul = input.find('\0');
  const std::string json(input.substr(0, nul));
  const std::string_view text = nul == std::string_view::npos ? std::string_view("Hello world, 12 + 30 = 42.\n\n  done")
                                                              : input.substr(nul + 1);
  try {
    const auto tokenizer = tokenizer::Tokenizer::from_json(json);
    for (const bool special : {false, true}) {
      const auto ids = tokenizer.encode(text, special, special);
      (void)tokenizer.decode(ids, !special);
      (void)tokenizer.decode_bytes(ids);
    }
  } catch (const InputError&) {
  }
  return 0;
}
