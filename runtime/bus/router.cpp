#include "runtime/bus/router.h"

#include <cstring>
#include <zmq_addon.hpp>

#include "runtime/common/error.h"

namespace quorum::bus {

std::string peer_text(const std::string& peer) {
  static const char* digits = "0123456789abcdef";
  std::string text;
  for (unsigned char c : peer) text += digits[c >> 4], text += digits[c & 15];
  return text;
}

Router::Router(zmq::context_t& context, RouterOptions options)
    : options_(std::move(options)),
      socket_(context, zmq::socket_type::router),
      zap_(context, zmq::socket_type::rep),
      monitor_(context, zmq::socket_type::pair) {
  socket_.set(zmq::sockopt::linger, 500);  // time for the last "done" to reach the workers
  socket_.set(zmq::sockopt::router_mandatory, 1);  // a send to a vanished peer fails instead of vanishing
  socket_.set(zmq::sockopt::maxmsgsize, options_.max_message_bytes);
  if (options_.key) {
    // libzmq asks the handler bound here about every CURVE handshake of this context.
    zap_.bind("inproc://zeromq.zap.01");
    socket_.set(zmq::sockopt::curve_server, 1);
    socket_.set(zmq::sockopt::curve_secretkey, options_.key->secret_key);
    socket_.set(zmq::sockopt::zap_domain, "quorum");
  }
  const auto monitor_endpoint = "inproc://quorum-router-monitor-" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
  if (zmq_socket_monitor(socket_.handle(), monitor_endpoint.c_str(),
                         ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                             ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0)
    throw std::runtime_error(std::string("zmq_socket_monitor: ") + zmq_strerror(zmq_errno()));
  monitor_.connect(monitor_endpoint);
  for (const auto& endpoint : options_.endpoints) {
    try {
      socket_.bind(endpoint);
    } catch (const zmq::error_t& e) {
      throw InputError("", 0, "--bind", "cannot bind " + endpoint + ": " + e.what());
    }
    bound_.push_back(socket_.get(zmq::sockopt::last_endpoint));
  }
}

void Router::start(Deliver deliver, Log log) {
  deliver_ = std::move(deliver), log_ = std::move(log);
  // The sockets were made on another thread; starting the thread is the memory barrier that
  // lets the serving thread own them from here on.
  thread_ = std::thread([this] { serve(); });
}

Router::~Router() { stop(); }

void Router::stop() {
  stopping_ = true;
  outbox_.wake();
  if (thread_.joinable()) thread_.join();
  deliver_ = nullptr, log_ = nullptr;
}

void Router::send(const std::string& peer, std::string payload) { outbox_.push({peer, std::move(payload)}); }

void Router::serve() {
  std::vector<zmq_pollitem_t> items = {{socket_.handle(), 0, ZMQ_POLLIN, 0},
                                       {monitor_.handle(), 0, ZMQ_POLLIN, 0},
                                       {nullptr, outbox_.fd(), ZMQ_POLLIN, 0},
                                       {zap_.handle(), 0, ZMQ_POLLIN, 0}};
  if (!options_.key) items.pop_back();
  while (!stopping_) {
    zmq::poll(items);
    if (items[0].revents & ZMQ_POLLIN) read_frames();
    if (items[1].revents & ZMQ_POLLIN) read_monitor();
    if (items.size() > 3 && (items[3].revents & ZMQ_POLLIN)) answer_zap();
    if (items[2].revents & ZMQ_POLLIN) {
      for (auto& out : outbox_.take()) {
        try {
          socket_.send(zmq::buffer(out.peer), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
          socket_.send(zmq::buffer(out.payload), zmq::send_flags::dontwait);
        } catch (const zmq::error_t&) {
          // The peer is gone (or its queue is full); the protocol recovers from a lost message
          // by heartbeats and lease deadlines.
        }
      }
    }
  }
}

namespace {

std::vector<std::string_view> views(const std::vector<zmq::message_t>& frames) {
  std::vector<std::string_view> out;
  out.reserve(frames.size());
  for (const auto& frame : frames) out.emplace_back(static_cast<const char*>(frame.data()), frame.size());
  return out;
}

}  // namespace

Inbound read_inbound(const std::vector<std::string_view>& frames) {
  Inbound inbound;
  if (frames.empty()) {
    inbound.problem = "dropped a message without frames";
    return inbound;
  }
  inbound.peer = std::string(frames[0]);
  // A worker's DEALER sends exactly one frame per message: the routing id is the first.
  if (frames.size() != 2) {
    inbound.problem = "dropped a message of " + std::to_string(frames.size() - 1) + " frames from peer " +
                      peer_text(inbound.peer) + " (the protocol sends one)";
    return inbound;
  }
  inbound.payload = std::string(frames[1]);
  return inbound;
}

ZapAnswer answer_zap_request(const std::vector<std::string_view>& request, const std::string& public_key) {
  ZapAnswer answer;
  const bool complete = request.size() >= 6;
  answer.address = complete ? std::string(request[3]) : "?";
  answer.mechanism = complete ? std::string(request[5]) : "?";
  // ZAP 1.0 (RFC 27) is the only version there is: another is a request this handler cannot read.
  const bool known_version = !request.empty() && request[0] == "1.0";
  if (complete && known_version && answer.mechanism == "CURVE" && request.size() == 7 && request[6].size() == 32) {
    char key[41];
    zmq_z85_encode(key, reinterpret_cast<const std::uint8_t*>(request[6].data()), 32);
    answer.accepted = public_key == key;
  }
  answer.reply = {"1.0",
                  complete ? std::string(request[1]) : std::string(),
                  answer.accepted ? "200" : known_version ? "400" : "500",
                  answer.accepted ? "OK" : known_version ? "not the sweep's key" : "ZAP version not supported",
                  "",
                  ""};
  return answer;
}

void Router::read_frames() {
  for (;;) {
    std::vector<zmq::message_t> frames;
    const auto received = zmq::recv_multipart(socket_, std::back_inserter(frames), zmq::recv_flags::dontwait);
    if (!received) return;
    Inbound inbound = read_inbound(views(frames));
    if (!inbound.payload) {
      ++counters_.malformed_frames;
      log_(inbound.problem);
      continue;
    }
    deliver_(inbound.peer, std::move(*inbound.payload));
  }
}

void Router::answer_zap() {
  std::vector<zmq::message_t> request;
  if (!zmq::recv_multipart(zap_, std::back_inserter(request), zmq::recv_flags::dontwait)) return;
  const ZapAnswer answer = answer_zap_request(views(request), options_.key->public_key);
  if (!answer.accepted) {
    ++counters_.refused_peers;
    log_("refused a peer at " + answer.address + ": " +
         (answer.reply[2] == "500" ? "its ZAP request is not of version 1.0" : "it does not hold the sweep's key") + " (" +
         answer.mechanism + ")");
  }
  // The reply's frames are strings of `answer`, alive until send_multipart has copied them
  // (a buffer over a temporary once made the request id stack garbage: docs/reliability.md).
  std::vector<zmq::const_buffer> reply;
  for (const auto& frame : answer.reply) reply.push_back(zmq::buffer(frame));
  zmq::send_multipart(zap_, reply);
}

void Router::read_monitor() {
  std::vector<zmq::message_t> event;
  if (!zmq::recv_multipart(monitor_, std::back_inserter(event), zmq::recv_flags::dontwait) || event.size() < 2 ||
      event[0].size() < 6)
    return;
  std::uint16_t id;
  std::memcpy(&id, event[0].data(), sizeof id);
  ++counters_.failed_handshakes;
  const char* why = id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH       ? "refused by authentication"
                    : id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ? "not speaking ZMTP with the sweep's CURVE key"
                                                                : "closed during the handshake";
  log_(std::string("dropped a connection on ") + event[1].to_string() + ": " + why);
}

}  // namespace quorum::bus
