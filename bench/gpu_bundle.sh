#!/usr/bin/env bash
# Assembles gpu-bundle/: what building quorum needs besides a compiler, CMake, Python and a CUDA
# PyTorch, for a machine that has those but neither the Debian packages setup.sh installs nor a
# network (the GPU machine bench/gpu_check.sh runs on). Run here, on a Debian 12 machine where
# ./setup.sh has built quorum into BUILD_DIR:
#   bench/gpu_bundle.sh [BUNDLE_DIR=gpu-bundle] [BUILD_DIR=build]
# BUNDLE_DIR/usr mirrors /usr for those packages' files: headers, CMake and pkg-config files
# (made relocatable), the libraries quorum links and every library they need in turn (glibc,
# libstdc++ and libgcc_s excepted: they come with the compiler). CMake reads it through
# CMAKE_PREFIX_PATH=BUNDLE_DIR/usr; gpu_check.sh puts on LD_LIBRARY_PATH only the libraries the
# machine lacks. BUNDLE_DIR/web holds the report's three charting scripts, which the build
# otherwise fetches with npm. BUNDLE_DIR/MANIFEST lists the packages and versions.
# The bundle is git-ignored; the device tool carries it when asked (carry: ["gpu-bundle"]).
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=$(realpath -m "${1:-gpu-bundle}")
build=${2:-build}

# The packages whose files the build reads, and the libraries quorum links from them.
dev_packages=(catch2 nlohmann-json3-dev libcli11-dev libpcre2-dev libyaml-cpp-dev libzmq3-dev cppzmq-dev libcaf-dev
              libsqlite3-dev)
linked=(libpcre2-8 libyaml-cpp libzmq libcaf_core libsqlite3)
# pkgconf, for a machine without pkg-config (CMake's PkgConfig finds libpcre2-8 and libzmq).
tools=(/usr/bin/pkgconf)
# The C and C++ runtimes every machine with a compiler has.
runtime='^(libc|libm|libpthread|libdl|librt|libresolv|ld-linux-x86-64|libstdc\+\+|libgcc_s)\.so'
multiarch=usr/lib/x86_64-linux-gnu

die() { echo "gpu_bundle: $*" >&2; exit 1; }
for p in "${dev_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || die "package $p is not installed (run ./setup.sh)"
done

rm -rf "$bundle"
mkdir -p "$bundle/$multiarch" "$bundle/usr/bin"
{
  echo "# Debian packages bundled by bench/gpu_bundle.sh on $(hostname), $(date -u +%F)"
  dpkg-query -W "${dev_packages[@]}"
} >"$bundle/MANIFEST"

# The packages' own files, documentation and the static libraries beside the shared ones aside
# (quorum links the shared ones; Catch2's main library, static only, stays: CMake checks that the
# file of every imported target exists).
for p in "${dev_packages[@]}"; do
  dpkg -L "$p" | grep -v '^/usr/share/\(doc\|man\|lintian\)/\|^/usr/lib/x86_64-linux-gnu/[^/]*\.a$' | while read -r f; do
    if [[ -L $f || -f $f ]]; then (cd / && cp -a --parents "${f#/}" "$bundle"); fi
  done
done

# A library file and the links to it beside it (its soname), into BUNDLE/usr/lib/x86_64-linux-gnu.
add_library() {
  local real
  real=$(readlink -f "$1")
  cp -a "$real" "$bundle/$multiarch/"
  find "$(dirname "$real")" -maxdepth 1 -lname "$(basename "$real")" -exec cp -a {} "$bundle/$multiarch/" \;
  echo "library $(basename "$real")" >>"$bundle/MANIFEST"
}
# A binary's libraries, and theirs in turn, the C and C++ runtimes aside.
needed() { ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | while read -r l; do [[ $(basename "$l") =~ $runtime ]] || echo "$l"; done; }
for l in "${linked[@]}"; do
  so=/$multiarch/$l.so
  [[ -e $so ]] || die "$so is missing"
  add_library "$so"
  for dependency in $(needed "$so"); do add_library "$dependency"; done
done
for tool in "${tools[@]}"; do
  cp -a "$tool" "$bundle/usr/bin/"
  for dependency in $(needed "$tool"); do add_library "$dependency"; done
done
# Links of libraries not bundled (libcaf_io.so, libpcre2-16.so, ...) would dangle.
find "$bundle" -xtype l -delete

# pkg-config files name /usr; ${pcfiledir} (the file's own folder) makes them point into the bundle.
find "$bundle" -name '*.pc' | while read -r pc; do
  up=$(realpath --relative-to="$(dirname "$pc")" "$bundle/usr")
  sed -i "s|/usr\\b|\${pcfiledir}/$up|g" "$pc"
done

# The report's charting libraries, compiled into the binary (CMakeLists.txt, QUORUM_ASSETS).
for script in vega/build/vega.min.js vega-lite/build/vega-lite.min.js vega-embed/build/vega-embed.min.js; do
  [[ -f $build/web/node_modules/$script ]] || die "$build/web/node_modules/$script is missing: build quorum here first (./setup.sh)"
  mkdir -p "$bundle/web/node_modules/$(dirname "$script")"
  cp "$build/web/node_modules/$script" "$bundle/web/node_modules/$script"
done

echo "gpu_bundle: $bundle ($(du -sh "$bundle" | cut -f1), $(find "$bundle" -type f | wc -l) files)"
