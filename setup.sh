#!/usr/bin/env bash
# Sets quorum up on a fresh Debian 12 machine and builds it.
#   ./setup.sh          install packages (when missing) and build
#   ./setup.sh demo     ... then run the demo sweep (configs/demo.yaml)
#   ./setup.sh test     install packages, build the tests with AddressSanitizer and UBSan into
#                       build-asan/ and run the whole suite there, then each fuzz target
#                       briefly (built into build-fuzz/); build/ is not built
#   ./setup.sh bench    ... then run the benchmarks
#   ./setup.sh sanitize ... build everything (the benchmarks too) with AddressSanitizer and
#                       UBSan into build-asan/ (instead of build/) and run the whole suite there
#   ./setup.sh tsan     ... build with ThreadSanitizer into build-tsan/ and run the actor, bus,
#                       store and sweep tests, with tests/tsan_suppressions.txt for what
#                       TSan cannot see in CAF, libzmq and libstdc++ (docs/reliability.md)
#   ./setup.sh fuzz     ... build the libFuzzer targets of fuzz/ with clang into build-fuzz/ and
#                       run each for QUORUM_FUZZ_SECONDS (default 600) seconds
#                       (docs/reliability.md, "Fuzzing"); ./setup.sh test runs each for
#                       QUORUM_FUZZ_CI_SECONDS (default 30) with a fixed seed
# With QUORUM_LIBTORCH set, quorum builds against another libtorch than Debian's CPU-only one,
# e.g. a CUDA one (README, "A GPU build"), into build-libtorch/ (build/ keeps Debian's):
#   QUORUM_LIBTORCH=/path/to/libtorch ./setup.sh   a libtorch folder (share/cmake/Torch inside)
#                                                  or the folder of its TorchConfig.cmake
#   QUORUM_LIBTORCH=python ./setup.sh              the libtorch of the PyTorch python3 imports
set -euo pipefail
libtorch=${QUORUM_LIBTORCH:-}
# A relative folder is taken from where setup.sh was started.
[[ -n $libtorch && $libtorch != python ]] && libtorch=$(realpath -m -- "$libtorch")
cd "$(dirname "$0")"
build=build
[[ -n $libtorch ]] && build="build-libtorch"

packages=(
  build-essential cmake
  catch2 nlohmann-json3-dev libcli11-dev libpcre2-dev libyaml-cpp-dev libzmq3-dev cppzmq-dev iproute2 pkg-config
  python3 python3-numpy
  python3-jinja2  # the chat-template tests compare quorum's renderer with jinja2 as transformers sets it up
  libopenblas0-openmp  # libtorch on Debian otherwise multiplies matrices with the reference BLAS (20x slower)
  libcaf-dev libsqlite3-dev  # the actors and the store
)
# Debian's libtorch, unless another is named; the test suite's reference scripts run on Debian's
# python3 with its torch either way (python3-torch brings no headers, only its own libtorch).
[[ -z $libtorch ]] && packages+=(libtorch-dev python3-torch)
[[ -n $libtorch && ( ${1:-} == test || ${1:-} == sanitize ) ]] && packages+=(python3-torch)
# The HTML report's charting libraries come from the npm registry (web/package-lock.json); a
# machine with its own Node.js keeps it, one without gets Debian's.
command -v npm >/dev/null || packages+=(nodejs npm)
# The report's test opens it in a real browser.
[[ ${1:-} == test || ${1:-} == sanitize ]] && packages+=(chromium)
# The fuzz targets and the ASan build: clang and its runtimes (libclang_rt.fuzzer-x86_64.a...).
[[ ${1:-} == test || ${1:-} == fuzz || ${1:-} == sanitize ]] && packages+=(clang libclang-rt-14-dev)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  [[ $(id -u) == 0 ]] && sudo= || sudo=sudo
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# A sanitizer build in its own folder, QUORUM_SANITIZE as CMakeLists.txt reads it. -O1 (the
# suite would take hours at -O0) with line tables only: enough for the reports' stacks, and the
# libtorch objects compile in well under half the time of -O2 -g. AddressSanitizer builds use
# clang, which compiles them about a third faster than gcc (docs/reliability.md, "What they
# cost"); ThreadSanitizer's stays with the default compiler (gcc), as its suppressions were.
# Further arguments name the targets to build (default: all).
sanitized_build() {
  local folder=$1 sanitizers=$2 compilers=() lines=-g1
  shift 2
  [[ $sanitizers == address* ]] && compilers=(-DCMAKE_CXX_COMPILER=clang++) lines=-gline-tables-only
  cmake -S . -B "$folder" "${compilers[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 $lines -DNDEBUG" -DQUORUM_SANITIZE="$sanitizers" -DQUORUM_LIBTORCH="$libtorch" |
    sed -n 's/^-- libtorch/setup: libtorch/p'
  cmake --build "$folder" -j"$(nproc)" --target "${@:-all}"
}
# What the tests need built: their two binaries, which depend on the quorum binary they run.
test_targets=(quorum_tests quorum_runtime_tests)
# The fuzz targets (fuzz/, built by -DQUORUM_FUZZ=ON into build-fuzz/), each run for $1 seconds;
# further arguments go to every run (e.g. -seed=1). New inputs go to build-fuzz/corpus/NAME,
# never into the committed seeds of fuzz/corpus/NAME; a crash, leak, hang (-timeout) or memory
# blow-up (-rss_limit_mb) leaves its input in build-fuzz/findings/ and fails the step.
fuzz_targets() {
  local seconds=$1 failed=() name
  shift
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQUORUM_FUZZ=ON >/dev/null
  cmake --build build-fuzz -j"$(nproc)"
  mkdir -p build-fuzz/findings
  for target in fuzz/fuzz_*.cpp; do
    name=$(basename "$target" .cpp)
    name=${name#fuzz_}
    mkdir -p "build-fuzz/corpus/$name"
    echo "setup: fuzzing $name for $seconds s"
    UBSAN_OPTIONS=print_stacktrace=1 "./build-fuzz/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="build-fuzz/findings/$name-" "$@" \
      "build-fuzz/corpus/$name" "fuzz/corpus/$name" 2>"build-fuzz/fuzz_$name.log" ||
      { failed+=("$name"); tail -n 60 "build-fuzz/fuzz_$name.log"; }
    grep -E '^stat::number_of_executed_units|^Done ' "build-fuzz/fuzz_$name.log" || true
  done
  if ((${#failed[@]})); then
    echo "setup: fuzzing found something in: ${failed[*]} (inputs in build-fuzz/findings/)" >&2
    return 1
  fi
}

case "${1:-}" in
  fuzz)
    fuzz_targets "${QUORUM_FUZZ_SECONDS:-600}"
    exit
    ;;
  sanitize | test)
    # The tests' targets for test, everything (the benchmarks too) for sanitize.
    if [[ $1 == test ]]; then
      sanitized_build build-asan address,undefined "${test_targets[@]}"
    else
      sanitized_build build-asan address,undefined
    fi
    # Every report stops its test (-fno-sanitize-recover); UBSan's come with their stack.
    (cd build-asan && UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j"$(nproc)")
    # Each parser's fuzz target for a bounded time with a fixed seed (docs/reliability.md).
    if [[ $1 == test ]]; then fuzz_targets "${QUORUM_FUZZ_CI_SECONDS:-30}" -seed=1; fi
    exit
    ;;
  tsan)
    sanitized_build build-tsan thread "${test_targets[@]}"
    # The quorum processes the tests start inherit the options.
    export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan_suppressions.txt"
    # The router's and the sweep's tests are the runtime's (quorum_runtime_tests), the rest quorum_tests'.
    ./build-tsan/quorum_runtime_tests "[bus],[sweep]"
    exec ./build-tsan/quorum_tests "[bus],[store],[run]"
    ;;
esac

# Only CMake's line on the libtorch it found (version, library, CUDA or not) is shown.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DQUORUM_LIBTORCH="$libtorch" | sed -n 's/^-- libtorch/setup: libtorch/p'
cmake --build "$build" -j"$(nproc)"

case "${1:-}" in
  "") ;;
  demo)
    # The main job: every shipped policy sampled, every shipped PRM scoring, all strategies
    # evaluated (configs/demo.yaml). A second run continues the stored sweep.
    exec "./$build/quorum" run configs/demo.yaml
    ;;
  bench) "./$build/bench_analyze" && exec "./$build/bench_bus" ;;
  *) echo "setup: unknown action '$1' (expected demo, test, bench, sanitize, tsan or fuzz)" >&2; exit 2 ;;
esac
