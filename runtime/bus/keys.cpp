#include "runtime/bus/keys.h"

#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <zmq.h>

#include "runtime/common/error.h"
#include "runtime/common/text.h"

namespace quorum::bus {

bool curve_available() { return zmq_has("curve") == 1; }

KeyPair generate_key_pair() {
  char public_key[41], secret_key[41];
  if (zmq_curve_keypair(public_key, secret_key) != 0)
    throw std::runtime_error(std::string("cannot make a CURVE key pair: ") + zmq_strerror(zmq_errno()));
  return {public_key, secret_key};
}

void write_key_file(const std::string& path, const KeyPair& pair) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw InputError(path, 0, "", std::string("cannot create the key file: ") + std::strerror(errno));
  const std::string text = "# quorum sweep key pair (CURVE, Z85). The coordinator and every worker of the sweep\n"
                           "# read this file; anyone holding it can join the sweep, so keep it private.\n"
                           "public = " + pair.public_key + "\nsecret = " + pair.secret_key + "\n";
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written) throw InputError(path, 0, "", "cannot write the key file");
}

KeyPair read_key_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path, 0, "", "cannot read the key file (make one with `quorum keygen FILE`)");
  KeyPair pair;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (line.empty() || line[0] == '#') continue;
    const auto equals = line.find('=');
    const auto name = trim(line.substr(0, equals)), value = equals == std::string::npos ? "" : trim(line.substr(equals + 1));
    if (name != "public" && name != "secret") throw InputError(path, number, name, "expected `public = KEY` or `secret = KEY`");
    std::uint8_t decoded[32];
    if (value.size() != 40 || !zmq_z85_decode(decoded, value.c_str()))
      throw InputError(path, number, name, "not a 40-character Z85 CURVE key");
    (name == "public" ? pair.public_key : pair.secret_key) = value;
  }
  if (pair.public_key.empty() || pair.secret_key.empty()) throw InputError(path, 0, "", "needs both a public and a secret key");
  char derived[41];
  if (zmq_curve_public(derived, pair.secret_key.c_str()) != 0 || pair.public_key != derived)
    throw InputError(path, 0, "public", "the public key is not the secret key's");
  return pair;
}

std::string ensure_sweep_key(const std::string& store) {
  const std::filesystem::path path = std::filesystem::absolute(store + ".key");
  std::filesystem::create_directories(path.parent_path());
  if (!std::filesystem::exists(path)) write_key_file(path.string(), generate_key_pair());
  return path.string();
}

}  // namespace quorum::bus
