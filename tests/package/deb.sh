#!/usr/bin/env bash
# The Debian package: `cpack -G DEB` makes faultline_<version>_amd64.deb from the build, its
# Depends (from dpkg-shlibdeps) are checked, and it is installed with apt into a fresh Debian 12
# root (a chroot unpacked from the debootstrap tarball tests/docker/run.sh keeps in
# /var/cache/faultline/, made here when missing), where `faultline --version` must print the
# project's version and `faultline --check` must pass on every installed example.
# Needs root (chroot, apt) and debootstrap (installed with apt-get when missing); otherwise it
# prints `SKIPPED: <reason>` and exits 0. Environment: BUILD_DIR (default build/), JOBS.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build}
jobs=${JOBS:-$(nproc)}
cache_dir=/var/cache/faultline
base_tar=$cache_dir/debian-bookworm-slim.tar  # shared with tests/docker/run.sh
start=$(date +%s)
say() { echo "package-deb: $*"; }
skip() { echo "SKIPPED: $*"; exit 0; }
fail() { echo "FAILED: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "tests/package/deb.sh needs root (chroot, apt-get)"
command -v dpkg-shlibdeps >/dev/null || skip "no dpkg-shlibdeps (dpkg-dev): cannot declare Depends"
if [ ! -s "$base_tar" ] && ! command -v debootstrap >/dev/null; then
  say "installing debootstrap"
  { DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq --no-install-recommends \
      debootstrap || { timeout 300 apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq --no-install-recommends \
      debootstrap; }; } >/dev/null 2>&1 || skip "debootstrap is not available and cannot be installed"
fi

work=$(mktemp -d /tmp/faultline-deb-test.XXXXXX)
rootfs=$work/rootfs
cleanup() {
  local rc=$?
  set +e
  mountpoint -q "$rootfs/proc" && umount "$rootfs/proc"
  rm -rf "$work"
  [ "$rc" -eq 0 ] || echo "package-deb: failed after $(( $(date +%s) - start )) s" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the package -------------------------------------------------------------------------------
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j "$jobs" --target faultline echo-server echo-client faultline_embed \
  faultline_gtest faultline_man_pages >/dev/null || fail "building the packaged targets"
version=$(sed -n 's/^#define FAULTLINE_VERSION "\(.*\)"$/\1/p' "$build/generated/include/faultline/version.hpp")
(cd "$work" && cpack --config "$build/CPackConfig.cmake" -G DEB >"$work/cpack.log" 2>&1) ||
  { tail -n 30 "$work/cpack.log" >&2; fail "cpack -G DEB"; }
deb=$work/faultline_${version}_$(dpkg --print-architecture).deb
[ -f "$deb" ] || { ls "$work" >&2; fail "cpack made no $(basename "$deb")"; }
depends=$(dpkg-deb -f "$deb" Depends)
say "$(basename "$deb"): $(du -k "$deb" | cut -f1) KiB, Depends: $depends"
for lib in libc6 libstdc++6 libyaml-cpp0.7 libspdlog1.10 libfmt9; do
  [[ "$depends" == *"$lib"* ]] || fail "Depends lacks $lib (dpkg-shlibdeps)"
done
contents=$(dpkg-deb -c "$deb")  # whole, not piped into grep -q (pipefail and SIGPIPE)
grep -q './usr/lib/[^ ]*cmake/Faultline/FaultlineConfig.cmake' <<<"$contents" ||
  fail "the package has no FaultlineConfig.cmake"

# --- a fresh Debian 12 root ------------------------------------------------------------------------
apt_mirror() {  # the bookworm mirror this machine's apt uses (deb822 or one-line entries)
  local files=() f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && files+=("$f")
  done
  [ "${#files[@]}" -gt 0 ] || return 0
  awk '
    FNR == 1 { uri = ""; suites = "" }
    /^[[:space:]]*$/ { uri = ""; suites = ""; next }
    /^[[:space:]]*deb[[:space:]]/ {
      for (i = 2; i < NF; i++) if ($i ~ /:\/\//) {
        if ($(i + 1) == "bookworm") { print $i; exit }
        break
      }
    }
    /^URIs:/   { uri = $2 }
    /^Suites:/ { suites = $0 " " }
    uri != "" && suites ~ /[[:space:]]bookworm[[:space:]]/ && uri !~ /security/ { print uri; exit }
  ' "${files[@]}"
}
mirror=$(apt_mirror)
mirror=${mirror:-http://deb.debian.org/debian}
mkdir -p "$rootfs"
if [ -s "$base_tar" ]; then
  say "a fresh root from $base_tar"
  tar -C "$rootfs" -xf "$base_tar"
else
  say "debootstrap --variant=minbase bookworm from $mirror (once; kept in $base_tar)"
  timeout 900 debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log" >&2; fail "debootstrap failed"; }
  printf 'deb %s bookworm main\ndeb %s bookworm-updates main\n' "$mirror" "$mirror" \
    >"$rootfs/etc/apt/sources.list"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
  mkdir -p "$cache_dir"
  tar --numeric-owner -C "$rootfs" -cf "$base_tar.tmp" . && mv "$base_tar.tmp" "$base_tar"
fi
# The docker test's tarball is slimmed (no /usr/share/doc): a plain Debian keeps the docs.
rm -f "$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim"
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
mount -t proc proc "$rootfs/proc"
cp "$deb" "$rootfs/tmp/"
in_root() { chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"; }

say "apt-get install ./$(basename "$deb") in the fresh root"
{ in_root timeout 300 apt-get update -qq &&
  in_root DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq \
    --no-install-recommends "/tmp/$(basename "$deb")"; } >"$work/apt.log" 2>&1 ||
  { tail -n 30 "$work/apt.log" >&2; fail "apt-get install of the package in a fresh Debian 12"; }

# --- what it installed runs --------------------------------------------------------------------
got=$(in_root faultline --version)
[ "$got" = "faultline $version" ] || fail "faultline --version printed \"$got\", expected \"faultline $version\""
in_root echo-server --help >/dev/null || fail "echo-server --help"
in_root echo-client --help >/dev/null || fail "echo-client --help"
[ -f "$rootfs/usr/share/man/man1/faultline.1" ] || [ -f "$rootfs/usr/share/man/man1/faultline.1.gz" ] ||
  fail "no manual page faultline.1"
examples=$(cd "$rootfs" && ls usr/share/doc/faultline/examples/*.yaml)
[ -n "$examples" ] || fail "no examples installed in /usr/share/doc/faultline/examples"
n=0
for f in $examples; do
  in_root faultline --check "/$f" || fail "faultline --check /$f"
  n=$((n + 1))
done
say "passed in $(( $(date +%s) - start )) s: installed on Debian $(cat "$rootfs/etc/debian_version"), $version, --check ok on $n examples"
