// The sweep's CURVE key pair. One pair per sweep: the coordinator serves with it and accepts
// only workers that prove they hold its secret half, so a peer without the key file cannot join.
#pragma once

#include <string>

namespace quorum::bus {

struct KeyPair {
  std::string public_key, secret_key;  // Z85, 40 characters each
};

// Whether this libzmq was built with CURVE.
bool curve_available();
KeyPair generate_key_pair();

// Writes the pair readable by its owner only; refuses to replace an existing file.
void write_key_file(const std::string& path, const KeyPair& pair);
// The sweep's own key file, "<store>.key", written with a new pair when absent; returns its
// absolute path.
std::string ensure_sweep_key(const std::string& store);
// Reads a file written by write_key_file; an InputError names the file and line otherwise.
KeyPair read_key_file(const std::string& path);

}  // namespace quorum::bus
