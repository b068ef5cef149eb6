// Which libtorch the build uses (cmake/libtorch.cmake, README "A GPU build"), configured on its
// probe project (tests/cmake/libtorch_probe), seconds instead of quorum's minutes: a
// QUORUM_LIBTORCH that names no libtorch, or a python3 without a usable PyTorch, stops CMake
// with a message that says so; this build's own libtorch is accepted and described; a build
// folder does not switch libtorch; the same libtorch claiming the pre-C++11 libstdc++ ABI is
// refused.
#include <catch2/catch.hpp>

#include <cctype>
#include <filesystem>
#include <fstream>

#include "cli_runner.h"

using quorum::testing::TempDir;

namespace {

// Configures the probe with QUORUM_LIBTORCH=spec, in a fresh build folder unless `again`;
// `environment` prefixes the command line. The output's whitespace runs are single spaces:
// CMake wraps its messages.
quorum::testing::CommandResult configure(const TempDir& dir, const std::string& spec,
                                         const std::string& environment = "", bool again = false) {
  const auto build = dir.path() / "probe-build";
  if (!again) std::filesystem::remove_all(build);
  auto result = quorum::testing::run_quorum_in_shell(environment + " '" + QUORUM_CMAKE + "' -S '" + QUORUM_LIBTORCH_PROBE +
                                                     "' -B '" + build.string() + "' -DQUORUM_LIBTORCH='" + spec + "'");
  std::string flat;
  for (const char c : result.output) {
    const bool space = std::isspace(static_cast<unsigned char>(c));
    if (!space) flat += c;
    else if (!flat.empty() && flat.back() != ' ') flat += ' ';
  }
  result.output = flat;
  return result;
}

// A python3 first on PATH (dir/bin) that runs `script` (sh) whatever it is asked.
std::string fake_python(const TempDir& dir, const std::string& script) {
  const auto bin = dir.path() / "bin";
  std::filesystem::create_directories(bin);
  std::ofstream(bin / "python3") << "#!/bin/sh\n" << script << "\n";
  std::filesystem::permissions(bin / "python3", std::filesystem::perms::owner_all);
  return "PATH='" + bin.string() + "':\"$PATH\"";
}

}  // namespace

TEST_CASE("QUORUM_LIBTORCH naming no libtorch stops the configuration, saying why", "[build]") {
  TempDir dir("libtorch-missing");
  const auto nowhere = (dir.path() / "nowhere").string();
  const auto missing = configure(dir, nowhere);
  INFO(missing.output);
  CHECK(missing.exit_code != 0);
  CHECK_THAT(missing.output, Catch::Contains("QUORUM_LIBTORCH=" + nowhere + ": no such folder"));

  const auto empty = dir.path() / "empty";
  std::filesystem::create_directories(empty);
  const auto no_config = configure(dir, empty.string());
  INFO(no_config.output);
  CHECK(no_config.exit_code != 0);
  CHECK_THAT(no_config.output, Catch::Contains("QUORUM_LIBTORCH=" + empty.string() + " holds no TorchConfig.cmake"));

  const auto relative = configure(dir, "libtorch");
  INFO(relative.output);
  CHECK(relative.exit_code != 0);
  CHECK_THAT(relative.output, Catch::Contains("expected an absolute path or 'python'"));
}

TEST_CASE("QUORUM_LIBTORCH=python with a python3 that has no usable PyTorch stops the configuration", "[build]") {
  TempDir dir("libtorch-python");
  const auto no_torch =
      configure(dir, "python", fake_python(dir, "echo \"ModuleNotFoundError: No module named 'torch'\" >&2; exit 1"));
  INFO(no_torch.output);
  CHECK(no_torch.exit_code != 0);
  CHECK_THAT(no_torch.output, Catch::Contains("cannot import torch (ModuleNotFoundError: No module named 'torch')"));

  // Debian's python3-torch, for one, has no C++ package under torch.utils.cmake_prefix_path.
  const auto prefix = (dir.path() / "site-packages" / "torch" / "share" / "cmake").string();
  const auto no_package = configure(dir, "python", fake_python(dir, "printf '/usr/bin/python3\\n1.13.0\\n" + prefix + "\\n'"));
  INFO(no_package.output);
  CHECK(no_package.exit_code != 0);
  CHECK_THAT(no_package.output, Catch::Contains("ships no C++ package"));
}

TEST_CASE("this build's libtorch is described, and refused when it claims the pre-C++11 ABI", "[build]") {
  TempDir dir("libtorch-abi");
  const auto accepted = configure(dir, QUORUM_TORCH_DIR);
  INFO(accepted.output);
  REQUIRE(accepted.exit_code == 0);
  CHECK_THAT(accepted.output, Catch::Contains("(config " + std::string(QUORUM_TORCH_DIR) + "); CUDA: " +
                                              (QUORUM_TORCH_CUDA ? "yes" : "no")));

  // The same TorchConfig.cmake, with the flag a pre-C++11-ABI libtorch sets.
  const auto old_abi = dir.path() / "old-abi";
  std::filesystem::create_directories(old_abi);
  std::ofstream(old_abi / "TorchConfig.cmake") << "include(\"" << QUORUM_TORCH_DIR << "/TorchConfig.cmake\")\n"
                                               << "set(TORCH_CXX_FLAGS \"-D_GLIBCXX_USE_CXX11_ABI=0\")\n";
  std::ofstream(old_abi / "TorchConfigVersion.cmake") << "include(\"" << QUORUM_TORCH_DIR << "/TorchConfigVersion.cmake\")\n";
  // A build folder keeps the libtorch it was configured with: TorchConfig.cmake caches paths.
  const auto switched = configure(dir, old_abi.string(), "", /*again=*/true);
  INFO(switched.output);
  CHECK(switched.exit_code != 0);
  CHECK_THAT(switched.output, Catch::Contains("another libtorch needs another build folder"));
  const auto refused = configure(dir, old_abi.string());
  INFO(refused.output);
  CHECK(refused.exit_code != 0);
  CHECK_THAT(refused.output, Catch::Contains("pre-C++11 libstdc++ ABI"));
  CHECK_THAT(refused.output, Catch::Contains("PyTorch 2.7 or later"));
}
