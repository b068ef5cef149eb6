// The coordinator's end of the bus: one ROUTER socket served by its own thread. It binds the
// given endpoints, authenticates peers with CURVE when a key pair is given (a ZAP handler that
// accepts only the sweep's own public key), drops and logs what a peer should not send (frames
// of the wrong shape, oversized messages, failed handshakes), and delivers each well-formed
// payload with the peer's routing id. Any thread may send.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "runtime/bus/keys.h"
#include "runtime/bus/mailbox.h"

namespace quorum::bus {

struct RouterOptions {
  std::vector<std::string> endpoints;  // e.g. tcp://*:5555, tcp://127.0.0.1:* (any free port), inproc://name
  std::optional<KeyPair> key;          // none: no authentication (in-process runs only)
  std::int64_t max_message_bytes = std::int64_t(256) << 20;
};

class Router {
 public:
  using Deliver = std::function<void(const std::string& peer, std::string payload)>;
  using Log = std::function<void(const std::string& line)>;

  // Binds every endpoint; an InputError names one that cannot be bound.
  Router(zmq::context_t& context, RouterOptions options);
  // Serves from now on: each payload to `deliver`, each dropped peer or message to `log`.
  void start(Deliver deliver, Log log);
  // Stops serving (after sending what is queued) and lets go of the callbacks.
  void stop();
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // The endpoints as bound, wildcard ports resolved: what workers connect to.
  const std::vector<std::string>& endpoints() const { return bound_; }
  void send(const std::string& peer, std::string payload);

  struct Counters {
    std::atomic<std::uint64_t> refused_peers{0}, failed_handshakes{0}, malformed_frames{0};
  };
  const Counters& counters() const { return counters_; }

 private:
  void serve();
  void answer_zap();
  void read_monitor();
  void read_frames();

  RouterOptions options_;
  Deliver deliver_;
  Log log_;
  zmq::socket_t socket_, zap_, monitor_;
  std::vector<std::string> bound_;
  struct Outgoing {
    std::string peer, payload;
  };
  Mailbox<Outgoing> outbox_;
  std::atomic<bool> stopping_{false};
  Counters counters_;
  std::thread thread_;
};

// A peer's routing id as printable text, for logs.
std::string peer_text(const std::string& peer);

// What the router makes of the frames of one message off its ROUTER socket (the routing id
// ZeroMQ prepends, then what the peer sent; a worker's DEALER sends exactly one frame): a
// payload to deliver, or a line for the log saying why the message is dropped. No sockets
// involved, so fuzz/fuzz_router_frames.cpp feeds it any frames.
struct Inbound {
  std::string peer;                    // the routing id (empty when there were no frames at all)
  std::optional<std::string> payload;  // none: dropped, for the reason in `problem`
  std::string problem;
};
Inbound read_inbound(const std::vector<std::string_view>& frames);

// The router's answer to one ZAP request (ZAP 1.0: version, request id, domain, address,
// routing id, mechanism, credentials...): a peer is let in only with the CURVE mechanism and
// exactly the sweep's public key (Z85, 40 characters) as its one credential; a request of
// another ZAP version is answered 500 (RFC 27's internal error), not read. `reply` is the
// six frames to send back (version, the request id echoed, status, status text, user id,
// metadata), each owning its bytes.
struct ZapAnswer {
  bool accepted = false;
  std::string address, mechanism;  // "?" when the request has fewer than six frames
  std::vector<std::string> reply;
};
ZapAnswer answer_zap_request(const std::vector<std::string_view>& request, const std::string& public_key);

}  // namespace quorum::bus
