#!/usr/bin/env bash
# The package's consumers: examples/embed/ (a CMake project of its own that tests its client
# through an in-process Faultline) built and tested two ways:
#   installed  `cmake --install` of the build into a prefix, then find_package(Faultline 0.2)
#              from there (CMAKE_PREFIX_PATH), as a user of the package does;
#   source     add_subdirectory of this source tree (-DFAULTLINE_SOURCE_DIR), no install.
# It also checks that the installed public headers include nothing internal. Its build trees
# stay in $BUILD_DIR/package-consumer and beside it in $BUILD_DIR-embed-source, so a second run
# is incremental (seconds).
# Environment: BUILD_DIR (default build/, configured and built if needed), JOBS.
# Exit 0: both passed; non-zero: failed.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build}
jobs=${JOBS:-$(nproc)}
work=$build/package-consumer
start=$(date +%s)
say() { echo "package-consumer: $*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
# What `cmake --install` installs (not the tests).
cmake --build "$build" -j "$jobs" --target faultline echo-server echo-client faultline_embed \
  faultline_gtest faultline_man_pages >/dev/null || fail "building the installed targets"

# --- installed -------------------------------------------------------------------------------
prefix=$work/prefix
rm -rf "$prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null || fail "cmake --install"
for f in bin/faultline bin/echo-server bin/echo-client share/man/man1/faultline.1 \
         include/faultline/faultline.hpp include/faultline/gtest.hpp \
         include/faultline/version.hpp lib/cmake/Faultline/FaultlineConfig.cmake \
         lib/cmake/Faultline/FaultlineConfigVersion.cmake share/doc/faultline/README.md \
         share/doc/faultline/examples/demo.yaml share/doc/faultline/examples/embed/CMakeLists.txt; do
  [ -e "$prefix/$f" ] || fail "cmake --install did not install $f"
done
if grep -rnE '#include [<"](config|faults|proxy|control|api|asio)[/.]' "$prefix/include/faultline"; then
  fail "an installed public header includes an internal or Asio header (above)"
fi
version=$("$prefix/bin/faultline" --version)
say "installed $version into $prefix"

say "examples/embed against the installed package (find_package)"
cmake -S "$root/examples/embed" -B "$work/installed" "${generator[@]}" "${launcher[@]}" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_PREFIX_PATH="$prefix" >"$work/installed.log" 2>&1 ||
  { cat "$work/installed.log" >&2; fail "configuring examples/embed against $prefix"; }
grep -q "Faultline_DIR:PATH=$prefix/" "$work/installed/CMakeCache.txt" ||
  fail "find_package(Faultline) did not find the installed one"
cmake --build "$work/installed" -j "$jobs" >>"$work/installed.log" 2>&1 ||
  { tail -n 40 "$work/installed.log" >&2; fail "building examples/embed against $prefix"; }
(cd "$work/installed" && ctest --output-on-failure --timeout 60) ||
  fail "examples/embed's tests against the installed package"

say "examples/embed with add_subdirectory of the source tree"
# Beside $build, not inside it: at the same depth under the tree, Faultline's own sources
# compile with the same relative paths as in $build and hit the compiler cache (CCACHE_BASEDIR,
# set by scripts/test) instead of being compiled a second time.
source_build=${build%/}-embed-source
cmake -S "$root/examples/embed" -B "$source_build" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFAULTLINE_SOURCE_DIR="$root" >"$work/source.log" 2>&1 ||
  { cat "$work/source.log" >&2; fail "configuring examples/embed with FAULTLINE_SOURCE_DIR"; }
cmake --build "$source_build" -j "$jobs" >>"$work/source.log" 2>&1 ||
  { tail -n 40 "$work/source.log" >&2; fail "building examples/embed from the source tree"; }
(cd "$source_build" && ctest --output-on-failure --timeout 60) ||
  fail "examples/embed's tests built from the source tree"

say "passed in $(( $(date +%s) - start )) s"
