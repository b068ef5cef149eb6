// The bus router's frame handling (runtime/bus/router.cpp), without sockets: the input is one
// multipart message, its frames separated by NUL bytes. A first byte 'Z' makes it a ZAP request
// to answer_zap_request (the rest its frames), anything else a message off the ROUTER socket to
// read_inbound (the whole input its frames: routing id, then what the peer sent). The contract:
// nothing throws; a message is delivered exactly when it has two frames, and then its payload
// goes to the protocol's decoder as the coordinator's does (ProtocolError or success); a ZAP
// request is answered with six frames echoing its request id, and let in only with the key.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/bus/protocol.h"
#include "runtime/bus/router.h"

namespace {

// The frames of a message: the input split at every NUL byte (so never fewer than one).
std::vector<std::string_view> split(std::string_view input) {
  std::vector<std::string_view> frames;
  for (;;) {
    const auto nul = input.find('\0');
    frames.push_back(input.substr(0, nul));
    if (nul == std::string_view::npos) return frames;
    input.remove_prefix(nul + 1);
  }
}

// A public key (Z85) the ZAP handler lets in: fuzz/corpus/router_frames/zap_curve_ok holds its
// 32 bytes (no NUL among them).
const std::string kPublicKey = "Hhkag{fHxz-KiaiSZ[e@2s8!DZ?=r)FZde?/%74U";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace quorum::bus;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (!input.empty() && input[0] == 'Z') {
    const auto request = split(input.substr(1));
    const ZapAnswer answer = answer_zap_request(request, kPublicKey);
    if (answer.reply.size() != 6 || answer.reply[0] != "1.0") __builtin_trap();
    if (request.size() >= 6 && answer.reply[1] != request[1]) __builtin_trap();
    if (answer.accepted != (answer.reply[2] == "200")) __builtin_trap();
    if (answer.accepted && (request.size() != 7 || request[5] != "CURVE" || request[6].size() != 32)) __builtin_trap();
    return 0;
  }
  const auto frames = split(input);
  const Inbound inbound = read_inbound(frames);
  if (inbound.payload.has_value() != (frames.size() == 2)) __builtin_trap();
  if (!inbound.payload) {
    if (inbound.problem.empty()) __builtin_trap();
    return 0;
  }
  if (inbound.peer != frames[0] || *inbound.payload != frames[1]) __builtin_trap();
  try {
    const std::string type = message_type(*inbound.payload);
    if (type == "hello") (void)decode_hello(*inbound.payload);
    else if (type == "heartbeat") (void)decode_heartbeat(*inbound.payload);
    else if (type == "result") (void)decode_result(*inbound.payload);
    else if (type == "failure") (void)decode_failure(*inbound.payload);
    else if (type == "release") (void)decode_release(*inbound.payload);
  } catch (const ProtocolError&) {
  }
  return 0;
}
