#!/usr/bin/env bash
# The GPU check, for a session that has a GPU machine (an NVIDIA H200 with a CUDA PyTorch and
# transformers installed, 16 cores, no network, about 10 minutes a run): builds quorum against
# that PyTorch's libtorch (QUORUM_LIBTORCH=python) into build-gpu/, runs the [cuda] tests, times
# generation with quorum's bench_generate and with transformers (bench/hf_generate.py), and has
# quorum load the checkpoint transformers saved.
#
# The machine lacks the Debian packages setup.sh installs (yaml-cpp, CAF, ZeroMQ, SQLite, PCRE2,
# Catch2, CLI11, nlohmann-json, cppzmq) and npm: they travel in gpu-bundle/, which
# bench/gpu_bundle.sh assembles here and the device tool carries (it is git-ignored):
#   here:    bench/gpu_bundle.sh
#   device:  run(command="bench/gpu_check.sh", carry=["gpu-bundle"], timeout_s=600)
# CMake reads the bundle's headers and CMake and pkg-config files through CMAKE_PREFIX_PATH; the
# bundled libraries the machine lacks go on LD_LIBRARY_PATH for the build and quorum's programs
# (not for Python); the report's charting scripts are laid where `npm ci` would put them.
#
#   bench/gpu_check.sh [STAGE...]   stages: build test bench hf (default: all, in that order)
# A machine kept warm keeps build-gpu/, so a second run can skip `build`. Everything goes to
# $OUT (./gpu-check-out when unset): gpu_check.log (all of it), configure.log, build.log,
# tests.txt, bench-DTYPE.txt, hf.txt, hf.json, inspect.txt, summary.txt. The 1 GB checkpoint
# hf_generate.py saves goes to $WORK (/tmp/quorum-gpu-check), not $OUT. JOBS (16) sets the build's
# parallelism; QUORUM_LIBTORCH (python) another libtorch.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out=${OUT:-$repo/gpu-check-out}
work=${WORK:-/tmp/quorum-gpu-check}
libtorch=${QUORUM_LIBTORCH:-python}
jobs=${JOBS:-16}
bundle=$repo/gpu-bundle
build=$repo/build-gpu
model=$work/qwen2.5-0.5b-shape
stages=("$@")
((${#stages[@]})) || stages=(build test bench hf)
mkdir -p "$out" "$work"
exec > >(tee -a "$out/gpu_check.log") 2>&1

say() { echo "gpu_check: $*" | tee -a "$out/summary.txt"; }
die() { say "FAILED: $*"; exit 1; }
started=$SECONDS
stage_done() { say "$1 done ($((SECONDS - started)) s so far)"; }

for stage in "${stages[@]}"; do
  [[ $stage =~ ^(build|test|bench|hf)$ ]] || die "unknown stage '$stage' (build, test, bench or hf)"
done

# ---- what the machine has ---------------------------------------------------------------------
if command -v nvidia-smi >/dev/null; then
  say "GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1)"
else
  say "no nvidia-smi on PATH"
fi
if python3 -c 'import torch' 2>/dev/null; then
  say "PyTorch: $(python3 -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda, "GPU visible:", torch.cuda.is_available(), "C++11 ABI:", torch.compiled_with_cxx11_abi())')"
elif [[ $libtorch == python || " ${stages[*]} " == *" hf "* ]]; then
  die "python3 ($(command -v python3 || echo none)) cannot import torch"
fi
[[ -d $bundle/usr ]] || die "$bundle is missing: run bench/gpu_bundle.sh here first and carry gpu-bundle"

# CMake: the system's, else the one the cmake pip package ships.
if ! command -v cmake >/dev/null; then
  cmake_bin=$(python3 -c 'import cmake; print(cmake.CMAKE_BIN_DIR)' 2>/dev/null) || die "no cmake (neither on PATH nor the cmake pip package)"
  export PATH=$cmake_bin:$PATH
fi
command -v c++ >/dev/null || die "no C++ compiler (c++) on PATH"
# A CUDA libtorch's TorchConfig.cmake looks for the CUDA toolkit: nvcc on PATH, else the usual
# places, else the nvidia-cuda-nvcc pip package beside the PyTorch.
if ! command -v nvcc >/dev/null; then
  for nvcc in /usr/local/cuda/bin/nvcc /usr/local/cuda-*/bin/nvcc \
              $(python3 -c 'import nvidia, glob; print(*[p for d in nvidia.__path__ for p in glob.glob(d + "/*/bin/nvcc")])' 2>/dev/null); do
    if [[ -x $nvcc ]]; then PATH=$(dirname "$nvcc"):$PATH; break; fi
  done
fi
say "toolchain: $(cmake --version | head -1), $(c++ --version | head -1), nvcc: $(command -v nvcc || echo 'none found: a CUDA libtorch may fail to configure')"

# The bundled libraries this machine lacks (by soname), for the build and quorum's programs.
bundle_libs=$work/bundle-libs
rm -rf "$bundle_libs" && mkdir -p "$bundle_libs"
known=$("$(command -v ldconfig || echo /sbin/ldconfig)" -p)
while read -r library; do
  soname=$(objdump -p "$library" | awk '$1 == "SONAME" {print $2}')
  if [[ -n $soname ]] && ! grep -q "^\s*$soname " <<<"$known"; then ln -sf "$library" "$bundle_libs/$soname"; fi
done < <(find "$bundle/usr/lib/x86_64-linux-gnu" -maxdepth 1 -type f -name 'lib*.so.*')
say "bundled libraries used: $(find "$bundle_libs" -type l -printf '%f ' | sort)"
native() { LD_LIBRARY_PATH=$bundle_libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$@"; }

# ---- build ------------------------------------------------------------------------------------
if [[ " ${stages[*]} " == *" build "* ]]; then
  # Make, not Ninja: Ninja reruns a command whose output it has not built itself, the npm-ci
  # stamps laid below included.
  options=(-G "Unix Makefiles" -DCMAKE_BUILD_TYPE=Release -DQUORUM_LIBTORCH="$libtorch" -DCMAKE_PREFIX_PATH="$bundle/usr")
  command -v pkg-config >/dev/null || options+=(-DPKG_CONFIG_EXECUTABLE="$bundle/usr/bin/pkgconf")
  # npm ci only fetches the report's scripts (from the bundle here) and the tokenizer tests'
  # vocabularies (not run here): `false` makes any attempt to run them fail loudly.
  command -v npm >/dev/null || options+=(-DNPM_EXECUTABLE=/bin/false)
  command -v node >/dev/null || options+=(-DNODE_EXECUTABLE=/bin/false)
  native cmake -S . -B "$build" "${options[@]}" >"$out/configure.log" 2>&1 ||
    { tail -40 "$out/configure.log"; die "configure failed (configure.log)"; }
  libtorch_line=$(grep -- '^-- libtorch [0-9]' "$out/configure.log" || true)
  say "${libtorch_line#-- }"
  if [[ $libtorch_line != *"CUDA: yes"* ]]; then
    # Another libtorch given by hand: a check of the build alone (the [cuda] tests will skip).
    [[ $libtorch == python ]] && die "python3's PyTorch has no CUDA"
    say "WARNING: QUORUM_LIBTORCH=$libtorch has no CUDA: the [cuda] tests will skip"
  fi
  # What `npm ci` would have laid down, newer than web/package*.json so that it does not run.
  mkdir -p "$build/web" "$build/tokenizer-vocab/node_modules"
  cp -r "$bundle/web/node_modules" "$build/web/"
  touch "$build/web/npm-ci.stamp" "$build/tokenizer-vocab/npm-ci.stamp"
  native cmake --build "$build" -j"$jobs" --target quorum_tests bench_generate >"$out/build.log" 2>&1 ||
    { grep -m 20 -B2 -A8 'error' "$out/build.log" || tail -40 "$out/build.log"; die "build failed (build.log)"; }
  stage_done build
fi

# ---- the [cuda] tests -------------------------------------------------------------------------
if [[ " ${stages[*]} " == *" test "* ]]; then
  set +e
  native "$build/quorum_tests" "[cuda]" >"$out/tests.txt" 2>&1
  status=$?
  set -e
  { grep -v '^quorum: model' "$out/tests.txt" || true; } | tail -25
  say "[cuda] tests: $(grep -E '^(All tests passed|test cases:)' "$out/tests.txt" | head -1) (exit $status)"
  grep -q 'skipped:' "$out/tests.txt" && say "some [cuda] tests were SKIPPED (tests.txt)"
  stage_done test
fi

# ---- quorum's generation bench ------------------------------------------------------------------
if [[ " ${stages[*]} " == *" bench "* ]]; then
  for dtype in bfloat16 float32; do
    if native "$build/bench_generate" --device cuda --dtype "$dtype" --batch 64 >"$out/bench-$dtype.txt" 2>&1; then
      tail -15 "$out/bench-$dtype.txt"
      say "bench_generate $dtype: done (bench-$dtype.txt)"
    else
      tail -15 "$out/bench-$dtype.txt"
      say "bench_generate --device cuda --dtype $dtype --batch 64 FAILED (bench-$dtype.txt)"
    fi
  done
  stage_done bench
fi

# ---- transformers' generate, and quorum loading the same checkpoint -----------------------------
if [[ " ${stages[*]} " == *" hf "* ]]; then
  python3 bench/hf_generate.py "$model" --batch 64 --samples 128 --max-new-tokens 256 --json "$out/hf.json" |
    tee "$out/hf.txt" || die "hf_generate.py failed"
  grep 'tokens/s' "$out/hf.txt" >>"$out/summary.txt" || true
  if native "$build/quorum" inspect "$model" --device cuda --ids 151643,9707,11,1879 >"$out/inspect.txt" 2>&1; then
    say "quorum loads the transformers checkpoint: $(grep -m1 '^quorum: model' "$out/inspect.txt")"
  else
    tail -5 "$out/inspect.txt"
    say "quorum inspect of the transformers checkpoint FAILED (inspect.txt)"
  fi
  stage_done hf
fi
say "all stages done in $((SECONDS - started)) s"
