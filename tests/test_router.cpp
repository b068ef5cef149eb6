// The coordinator's ROUTER socket thread seen from a worker's socket: CURVE handshakes that the
// router's ZAP handler lets in or refuses, and what it delivers and logs.
#include <catch2/catch.hpp>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "runtime/bus/keys.h"
#include "runtime/bus/router.h"

namespace {

// Polls `done` for up to five seconds; the handshakes below take milliseconds.
template <class Condition>
bool eventually(Condition done) {
  for (int i = 0; i < 500; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

}  // namespace

// The router's ZAP handler answers every CURVE handshake. Its reply once echoed the request id
// from a temporary string already destroyed when the reply was sent: AddressSanitizer stops this
// test there (stack-use-after-scope), and without it the reply could carry garbage.
TEST_CASE("the router's ZAP handler lets the sweep's key in and refuses another", "[bus]") {
  if (!quorum::bus::curve_available()) return;
  zmq::context_t context;
  const auto sweep_key = quorum::bus::generate_key_pair();
  quorum::bus::Router router(context, {{"tcp://127.0.0.1:*"}, sweep_key});
  std::mutex mutex;
  std::vector<std::string> delivered, logged;
  router.start(
      [&](const std::string&, std::string payload) {
        std::lock_guard lock(mutex);
        delivered.push_back(std::move(payload));
      },
      [&](const std::string& line) {
        std::lock_guard lock(mutex);
        logged.push_back(line);
      });
  const auto connect = [&](const quorum::bus::KeyPair& client) {
    zmq::socket_t dealer(context, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.set(zmq::sockopt::curve_serverkey, sweep_key.public_key);
    dealer.set(zmq::sockopt::curve_publickey, client.public_key);
    dealer.set(zmq::sockopt::curve_secretkey, client.secret_key);
    dealer.connect(router.endpoints().at(0));
    return dealer;
  };

  auto stranger = connect(quorum::bus::generate_key_pair());
  stranger.send(zmq::str_buffer("from a stranger"), zmq::send_flags::dontwait);
  CHECK(eventually([&] { return router.counters().refused_peers > 0; }));

  auto member = connect(sweep_key);
  member.send(zmq::str_buffer("from the sweep"), zmq::send_flags::none);
  CHECK(eventually([&] {
    std::lock_guard lock(mutex);
    return !delivered.empty();
  }));
  router.stop();
  CHECK(delivered == std::vector<std::string>{"from the sweep"});
  REQUIRE(!logged.empty());
  CHECK(logged.front().find("does not hold the sweep's key") != std::string::npos);
}
