// The bus protocol decoder (runtime/bus/protocol.h): any bytes as one message payload, as a
// peer could send it. message_type, then the decoder of that type; a decoded message encodes
// to one that decodes and encodes to the same bytes again. The contract: a malformed message
// is a ProtocolError (VersionError for another version), nothing else.
#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/bus/protocol.h"

namespace {

using namespace quorum::bus;

// decode, encode, decode, encode: what was accepted once encodes to a message that is accepted
// again (a ProtocolError from the second decode escapes: it is a finding) and encodes the same.
template <typename Decode>
void round_trip(const std::string& message, Decode decode) {
  std::string first;
  try {
    first = encode(decode(message));
  } catch (const ProtocolError&) {
    return;
  }
  const std::string second = encode(decode(first));
  if (first != second) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string message(reinterpret_cast<const char*>(data), size);
  try {
    const std::string type = message_type(message);
    if (type == "hello") round_trip(message, decode_hello);
    else if (type == "welcome") round_trip(message, decode_welcome);
    else if (type == "heartbeat") round_trip(message, decode_heartbeat);
    else if (type == "lease") round_trip(message, decode_lease);
    else if (type == "result") round_trip(message, decode_result);
    else if (type == "failure") round_trip(message, decode_failure);
    else if (type == "ack") round_trip(message, decode_ack);
    else if (type == "release") round_trip(message, decode_release);
    else if (type == "refused") round_trip(message, decode_refused);
    else if (type == "serve") round_trip(message, decode_serve);
    else if (type == "score_paths") round_trip(message, decode_paths_to_score);
    else if (type == "path_scores") round_trip(message, decode_path_scores);
    else if (type == "cancel") round_trip(message, decode_cancel);
  } catch (const ProtocolError&) {
  }
  return 0;
}
