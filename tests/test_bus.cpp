// The bus from the command line: key files, the refusal to serve tcp:// in the clear by
// accident, and a unit that no connected worker can run (it waits, it is never leased).
#include <catch2/catch.hpp>

#include <filesystem>
#include <sys/stat.h>

#include "cli_runner.h"
#include "process.h"
#include "runtime/bus/keys.h"
#include "runtime/common/error.h"
#include "runtime/model/workers.h"
#include "runtime/store/store.h"
#include "tiny_sweep.h"

using namespace quorum::testing;

TEST_CASE("quorum keygen: a private key pair that reads back - broken key files are named", "[bus][cli]") {
  TempDir dir("keygen");
  const auto key = (dir.path() / "sweep.key").string();
  const auto made = run_quorum("keygen " + key);
  INFO(made.output);
  REQUIRE(made.exit_code == 0);
  struct stat info {};
  REQUIRE(::stat(key.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  const auto pair = quorum::bus::read_key_file(key);
  CHECK(pair.public_key.size() == 40);
  CHECK(run_quorum("keygen " + key).exit_code == 2);  // never replaces a key

  const auto swapped = dir.file("swapped.key", "public = " + quorum::bus::generate_key_pair().public_key +
                                                   "\nsecret = " + pair.secret_key + "\n");
  CHECK_THROWS_AS(quorum::bus::read_key_file(swapped), quorum::InputError);
  const auto garbled = dir.file("garbled.key", "# comment\npublic = short\n");
  const auto worker = run_quorum("worker --connect tcp://127.0.0.1:1 --key " + garbled);
  INFO(worker.output);
  CHECK(worker.exit_code == 2);
  CHECK(worker.output.find("garbled.key:2") != std::string::npos);
  const auto keyless = run_quorum("worker --connect tcp://127.0.0.1:1");
  CHECK(keyless.exit_code == 2);
  CHECK(keyless.output.find("--key") != std::string::npos);
}

TEST_CASE("quorum coordinator: tcp:// without a key is refused unless --insecure - launched host workers",
          "[bus][cli]") {
  TempDir dir("coordinator-key");
  train_tiny_models(dir);
  const auto config = dir.file("sweep.yaml", sweep_yaml("s.db", 2, 4, 8));
  const auto refused = run_quorum("coordinator " + config + " --bind tcp://127.0.0.1:0 --quiet");
  INFO(refused.output);
  CHECK(refused.exit_code == 2);
  CHECK(refused.output.find("needs the sweep's key pair") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "s.db"));
  // --insecure on both sides: a sweep runs in the clear (the launcher passes --insecure on).
  const auto clear = run_quorum("run " + config + " --quiet --workers 1 --insecure");
  INFO(clear.output);
  CHECK(clear.exit_code == 0);
  CHECK(clear.output.find("no authentication") != std::string::npos);

  // The host-list launcher: one worker per host through the remote command, here `env`, which
  // runs the worker's command line on this machine with {host} in its environment.
  const auto hosts = dir.file("hosts.txt", "# two hosts\nalpha\n\nbeta  # the second\n");
  const auto launched = run_quorum("run " + dir.file("hosts.yaml", sweep_yaml("h.db", 2, 4, 8)) + " --quiet --hosts " +
                                   hosts + " --bind 'tcp://127.0.0.1:*' --remote-command 'env QUORUM_HOST={host}'");
  INFO(launched.output);
  CHECK(launched.exit_code == 0);
  // Both were started (one may find the tiny sweep finished by the other before it says hello).
  CHECK((launched.output.find("worker alpha joined") != std::string::npos ||
         launched.output.find("worker beta joined") != std::string::npos));
  CHECK(std::filesystem::exists(dir.path() / "h.db.workers" / "alpha.log"));
  CHECK(std::filesystem::exists(dir.path() / "h.db.workers" / "beta.log"));
  CHECK(launched.output.find("(CURVE)") != std::string::npos);  // with the key made beside the store
  CHECK(std::filesystem::exists(dir.path() / "h.db.key"));
}

TEST_CASE("a unit no connected worker can run is never leased - the others finish", "[bus][run]") {
  if (quorum::model::cuda_available()) {
    WARN("skipped: this machine has CUDA, so a CUDA policy is runnable here");
    return;
  }
  TempDir dir("unrunnable");
  train_tiny_models(dir);
  auto yaml = sweep_yaml("s.db", 4, 4, 8);
  yaml.replace(yaml.find("temperature: 0.7}"), 17, "temperature: 0.7, device: cuda}");
  const auto config = dir.file("sweep.yaml", yaml);
  const auto store_path = (dir.path() / "s.db").string();
  // What the store holds: pa's units done, and how often pb's were leased.
  const auto count = [&] {
    std::pair<std::size_t, std::size_t> pa_done_pb_leased{0, 0};
    try {
      quorum::store::Store store(store_path, true);
      for (const auto& unit : store.units()) {
        if (unit.id.find("/pa/") != std::string::npos) pa_done_pb_leased.first += unit.state == quorum::store::UnitState::done;
        if (unit.id.find("/pb/") != std::string::npos) pa_done_pb_leased.second += unit.attempts;
      }
    } catch (const quorum::InputError&) {  // not made yet
    }
    return pa_done_pb_leased;
  };
  // The run waits for a CUDA worker forever. It is stopped once the rest is done, however long
  // that takes (a sanitizer build runs many times slower), and must still be waiting then.
  Process run(quorum_args({"run", config, "--quiet"}), (dir.path() / "run.log").string());
  const auto start = Clock::now();
  while (count().first < 8 && run.running() && seconds_since(start) < 900) sleep_s(0.2);
  sleep_s(1);  // a pb lease, were one given, would be stored by now
  const bool waiting = run.running();
  run.signal(SIGKILL);
  run.wait(30);
  INFO(run.output());
  CHECK(waiting);
  CHECK(run.output().find("no connected worker can run policy/pb") != std::string::npos);
  const auto [pa_done, pb_leased] = count();
  CHECK(pb_leased == 0);
  CHECK(pa_done == 8);  // (4 + 4 problems) / 2 per unit, sampled and scored
}
