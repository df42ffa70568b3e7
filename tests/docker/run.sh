#!/usr/bin/env bash
# The Docker test: builds the image from the Dockerfile (which runs the unit tests), checks
# the image (non-root, healthcheck, SIGTERM exit 0), runs it as Toxiproxy's image is run
# (tests/docker/toxiproxy_image.sh: no arguments, -host/-config, a mounted file, unknown flags,
# Testcontainers' Toxiproxy module), validates docker-compose.yml without a daemon, runs the compose environment for scenarios 10054 and partial-recv (each must exit 0:
# every echo verified and the fault met, on an internal network), and checks that the API port
# is published on 127.0.0.1 only. Exit 0: passed or SKIPPED; non-zero: failed.
#
# Needs root: it installs docker.io, docker-compose and debootstrap when missing and starts
# dockerd when none answers (and stops it again, by its PID, at the end). No image registry
# is needed: the base image debian:bookworm (tagged debian:bookworm-slim too) is made with
# debootstrap from this machine's apt mirror and kept, with its tarball in
# /var/cache/faultline/, for the next run. The layer cache is kept too (tags
# faultline-cache:build, :runtime, :toolchain and :runtime-base) so that a rerun with unchanged
# sources takes seconds; FAULTLINE_DOCKER_KEEP_CACHE=0 removes those as well.
#
# Environment: SCENARIOS (default "10054 partial-recv"), DOCKER_JOBS (compile jobs, default
# 2), DOCKER_UNIT_TESTS (ON: build and run the unit tests in the image's build stage; OFF:
# only the binaries, as scripts/test's docker stage asks, the host having run them),
# FAULTLINE_DOCKER_KEEP_CACHE (default 1).
#
#   tests/docker/run.sh --prepare   only the tools, the base tarball and the Dockerfile's two
#                                   base stages (package installs, no sources; dockerd for
#                                   as long as that takes): scripts/test --all runs it while
#                                   the main build compiles
set -euo pipefail
prepare=0
case "${1:-}" in
  "") ;;
  --prepare) prepare=1 ;;
  *) echo "tests/docker/run.sh: unknown argument '$1' (expected --prepare or nothing)" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "$0")/../.." && pwd)
scenarios=${SCENARIOS:-10054 partial-recv}
jobs=${DOCKER_JOBS:-2}
unit_tests=${DOCKER_UNIT_TESTS:-ON}
keep_cache=${FAULTLINE_DOCKER_KEEP_CACHE:-1}
cache_dir=/var/cache/faultline
base_tar=$cache_dir/debian-bookworm-slim.tar
image=faultline:ci-test-$$
project=faultline-ci-$$
start=$(date +%s)

say() { echo "docker-test: $*"; }
skip() { echo "SKIPPED: $*"; exit 0; }
fail() { echo "FAILED: $*" >&2; exit 1; }
elapsed() { echo "$(( $(date +%s) - start )) s"; }

[ "$(id -u)" -eq 0 ] || skip "tests/docker/run.sh needs root (it installs packages and starts dockerd)"

# --- tools ------------------------------------------------------------------------------
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ "${#need[@]}" -gt 0 ]; then
  say "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  { timeout 300 apt-get update -qq &&
    timeout 600 apt-get install -y -qq --no-install-recommends "${need[@]}"; } >/dev/null ||
    skip "cannot install ${need[*]} with apt-get"
fi
command -v docker >/dev/null || skip "no docker client"

work=$(mktemp -d /tmp/faultline-docker-test.XXXXXX)
dockerd_pid=""
compose=(docker-compose -f "$root/docker-compose.yml" -p "$project")

cleanup() {
  local rc=$?
  set +e
  if [ -n "${docker_up:-}" ]; then
    timeout 60 "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1
    docker rm -f "$project-standalone" >/dev/null 2>&1
    docker rmi "$image" >/dev/null 2>&1
    if [ "$keep_cache" = 0 ]; then
      docker rmi faultline-cache:build faultline-cache:runtime faultline-cache:toolchain \
        faultline-cache:runtime-base >/dev/null 2>&1
    fi
    # Cache layers of earlier sources, no longer tagged: only this project's (by label).
    docker image prune -f --filter label=dev.faultline.stage >/dev/null 2>&1
  fi
  if [ -n "$dockerd_pid" ]; then
    say "stopping the dockerd it started (PID $dockerd_pid)"
    kill -TERM "$dockerd_pid" 2>/dev/null
    for _ in $(seq 1 60); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$dockerd_pid" 2>/dev/null && kill -KILL "$dockerd_pid" 2>/dev/null
    wait "$dockerd_pid" 2>/dev/null
  fi
  rm -rf "$work"
  [ "$rc" -eq 0 ] || echo "docker-test: failed after $(elapsed)" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the base image: debootstrap, no registry ---------------------------------------------
# The Debian mirror this machine's apt uses (deb822 .sources or one-line .list entries).
apt_mirror() {
  local files=() f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && files+=("$f")
  done
  [ "${#files[@]}" -gt 0 ] || return 0
  awk '
    FNR == 1 { uri = ""; suites = "" }
    /^[[:space:]]*$/ { uri = ""; suites = ""; next }
    /^[[:space:]]*deb[[:space:]]/ {           # deb [options] URI SUITE COMPONENTS...
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

# The base tarball, once (kept in $base_tar, for tests/package/deb.sh too): debootstrap from
# this machine's apt mirror, slimmed. Needs no daemon.
make_base_tar() {
  if [ ! -s "$base_tar" ]; then
    mirror=$(apt_mirror)
    mirror=${mirror:-http://deb.debian.org/debian}
    say "debootstrap --variant=minbase bookworm from $mirror, slimmed (once; kept in $base_tar)"
    rootfs=$work/rootfs
    timeout 900 debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
      { tail -n 20 "$work/debootstrap.log" >&2; fail "debootstrap failed"; }
    printf 'deb %s bookworm main\ndeb %s bookworm-updates main\n' "$mirror" "$mirror" \
      >"$rootfs/etc/apt/sources.list"
    # Slim like the registry's debian:bookworm-slim, so that the image size reported is
    # representative: no docs, man pages or translations, no apt caches kept in layers.
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF2'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF2
    cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF2'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF2
    find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    rm -rf "$rootfs"/usr/share/{groff,info,linda,man,locale}/* "$rootfs"/usr/share/lintian/overrides/*
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
      "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/*
    mkdir -p "$cache_dir"
    tar --numeric-owner -C "$rootfs" -cf "$base_tar.tmp" . && mv "$base_tar.tmp" "$base_tar"
    rm -rf "$rootfs"
  fi
}

if [ "$prepare" = 1 ]; then
  make_base_tar
  say "prepared the tools and $base_tar in $(elapsed)"
else
  # --- the compose file, without a daemon -------------------------------------------------
  say "docker-compose config -q (no daemon needed)"
  for s in $scenarios; do
    [ -f "$root/tests/docker/scenarios/$s.yaml" ] || fail "no scenario file tests/docker/scenarios/$s.yaml"
    SCENARIO=$s "${compose[@]}" config -q || fail "docker-compose.yml does not validate (SCENARIO=$s)"
  done
fi

# --- the daemon ---------------------------------------------------------------------------
if timeout 10 docker info >/dev/null 2>&1; then
  say "using the Docker daemon that is running"
else
  say "starting dockerd (log: $cache_dir/dockerd.log)"
  mkdir -p "$cache_dir"
  dockerd >"$cache_dir/dockerd.log" 2>&1 &
  dockerd_pid=$!
  deadline=$(( $(date +%s) + 60 ))
  until timeout 5 docker info >/dev/null 2>&1; do
    if ! kill -0 "$dockerd_pid" 2>/dev/null; then
      wait "$dockerd_pid" 2>/dev/null || true
      dockerd_pid=""
      skip "dockerd cannot start here: $(tail -n 1 "$cache_dir/dockerd.log")"
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      skip "dockerd did not answer within 60 s: $(tail -n 1 "$cache_dir/dockerd.log")"
    fi
    sleep 0.5
  done
  say "dockerd up (PID $dockerd_pid) after $(elapsed)"
fi
docker_up=1

if docker image inspect debian:bookworm >/dev/null 2>&1; then
  say "base image debian:bookworm is cached"
else
  make_base_tar
  say "docker import $base_tar as debian:bookworm"
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' "$base_tar" debian:bookworm >/dev/null ||
    fail "docker import failed"
fi
docker image inspect debian:bookworm-slim >/dev/null 2>&1 ||
  docker tag debian:bookworm debian:bookworm-slim

# --- the image ------------------------------------------------------------------------------
export DOCKER_BUILDKIT=0
build() {  # build LOG ARGS...: the classic builder, host network for apt, bounded
  local log=$1; shift
  if ! timeout 3600 docker build --force-rm --network host --build-arg JOBS="$jobs" \
    --build-arg UNIT_TESTS="$unit_tests" "$@" "$root" >"$log" 2>&1; then
    cp "$log" "$cache_dir/last-build.log" 2>/dev/null || true
    tail -n 60 "$log" >&2
    fail "docker build $* failed (last 60 lines above; all in $cache_dir/last-build.log)"
  fi
}

# --prepare ends with the Dockerfile's two base stages (the package installs, no sources) in
# the layer cache, tagged so that the prune below keeps them; the full build finds them there.
if [ "$prepare" = 1 ]; then
  for target in toolchain runtime-base; do
    build "$work/$target.log" --target "$target" -t "faultline-cache:$target"
  done
  say "prepared the base stages (faultline-cache:toolchain, faultline-cache:runtime-base) in $(elapsed)"
  exit 0
fi
t0=$(date +%s)
say "docker build (build stage: compile, ctest -L unit; then the runtime image)"
build "$work/build.log" -t "$image"
cp "$work/build.log" "$cache_dir/last-build.log" 2>/dev/null || true
# One build, so both stages see the same sources. The build stage's image is the last
# " ---> ID" before the runtime stage's FROM: tag it so that it stays as the layer cache.
build_stage=$(awk '/^Step [0-9]+\/[0-9]+ : FROM .* AS runtime$/ { print last; exit }
                   /^ ---> [0-9a-f]+$/ { last = $2 }' "$work/build.log")
[ -n "$build_stage" ] || fail "cannot find the build stage's image in the build log"
docker tag "$build_stage" faultline-cache:build
docker tag "$image" faultline-cache:runtime
build_s=$(( $(date +%s) - t0 ))
size_bytes=$(docker image inspect -f '{{.Size}}' "$image")
size_mb=$(awk -v b="$size_bytes" 'BEGIN { printf "%.1f", b / 1000000 }')
say "image built in $build_s s: $image, $size_mb MB"
unit=$(grep -E '^[0-9]+% tests passed' "$work/build.log" | tail -n 1 || true)
if [ "$unit_tests" = ON ]; then
  say "unit tests in the build stage: ${unit:-passed when the cached build stage was built}"
else
  say "unit tests not built in the image (DOCKER_UNIT_TESTS=$unit_tests; they run on the host)"
fi


# --- the image on its own: user, healthcheck, no arguments, SIGTERM -> exit 0 ----------------
user=$(docker image inspect -f '{{.Config.User}}' "$image")
[ "$user" = faultline ] || fail "the image runs as \"$user\", expected the non-root user faultline"
docker image inspect -f '{{json .Config.Healthcheck}}' "$image" | grep -q 'faultline --probe' ||
  fail "the image has no faultline --probe HEALTHCHECK"
docker run -d --name "$project-standalone" --network none --health-interval 1s "$image" >/dev/null
deadline=$(( $(date +%s) + 30 ))
until [ "$(docker inspect -f '{{.State.Health.Status}}' "$project-standalone")" = healthy ]; do
  if [ "$(date +%s)" -ge "$deadline" ] || [ "$(docker inspect -f '{{.State.Running}}' "$project-standalone")" != true ]; then
    docker logs "$project-standalone" >&2 || true
    fail "the image with no arguments did not become healthy within 30 s"
  fi
  sleep 0.5
done
timeout 30 docker stop -t 10 "$project-standalone" >/dev/null
code=$(docker inspect -f '{{.State.ExitCode}}' "$project-standalone")
[ "$code" = 0 ] || { docker logs "$project-standalone" >&2; fail "docker stop (SIGTERM): exit $code, expected 0"; }
docker rm "$project-standalone" >/dev/null
say "standalone: non-root, healthy with no arguments, exit 0 on SIGTERM"

# --- the image as Toxiproxy's: its own script ---------------------------------------------------
t0=$(date +%s)
timeout 900 "$root/tests/docker/toxiproxy_image.sh" "$image" ||
  fail "the image as a Toxiproxy drop-in (tests/docker/toxiproxy_image.sh)"
say "Toxiproxy drop-in checks passed in $(( $(date +%s) - t0 )) s"

# --- the compose environment, per scenario -------------------------------------------------
# Only this script's choices reach the compose file.
unset SCENARIO CLIENT_ARGS FAULTLINE_PROBE COMPOSE_FILE COMPOSE_PROJECT_NAME
# The API port goes to a free port on the host's loopback (the test must not collide).
api_port=18474
while ss -Hltn "sport = :$api_port" 2>/dev/null | grep -q .; do api_port=$((api_port + 1)); done
export FAULTLINE_IMAGE=$image FAULTLINE_API_PORT=$api_port
for s in $scenarios; do
  t0=$(date +%s)
  log=$work/compose-$s.log
  rc=0
  SCENARIO=$s timeout 180 "${compose[@]}" up --no-build --abort-on-container-exit \
    --exit-code-from chaos >"$log" 2>&1 || rc=$?
  internal=$(docker network inspect -f '{{.Internal}}' "${project}_chaos" 2>/dev/null || echo missing)
  SCENARIO=$s timeout 60 "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
  if [ "$rc" -ne 0 ] || ! grep -q 'chaos: PASSED' "$log"; then
    tail -n 80 "$log" >&2
    fail "scenario $s: docker-compose up exited $rc (expected 0 with chaos: PASSED)"
  fi
  [ "$internal" = true ] || fail "scenario $s: network ${project}_chaos is not internal ($internal)"
  grep -ho 'chaos: PASSED.*' "$log" | sed "s/^/docker-test: [$s] /"
  say "scenario $s passed in $(( $(date +%s) - t0 )) s"
done

"$root/tests/docker/routes.sh" "$image" || fail "a route into the container changed how a reset ends (tests/docker/routes.sh)"

# --- the API port: published on the host's 127.0.0.1 only ----------------------------------
SCENARIO=10054 timeout 60 "${compose[@]}" up -d --no-build faultline >"$work/api.log" 2>&1 ||
  { cat "$work/api.log" >&2; fail "docker-compose up -d faultline failed"; }
fl_id=$(SCENARIO=10054 "${compose[@]}" ps -q faultline)
deadline=$(( $(date +%s) + 30 ))
until [ "$(docker inspect -f '{{.State.Health.Status}}' "$fl_id")" = healthy ]; do
  [ "$(date +%s)" -lt "$deadline" ] || { docker logs "$fl_id" >&2; fail "faultline not healthy within 30 s"; }
  sleep 0.5
done
binding=$(docker port "$fl_id" 8474/tcp)
[ "$binding" = "127.0.0.1:$api_port" ] || fail "API port published as \"$binding\", expected 127.0.0.1:$api_port only"
# Informational: the API answers when this build has it (the test does not depend on it).
answer=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "GET /version HTTP/1.0\r\n\r\n" >&3 && cat <&3' _ "$api_port" 2>/dev/null | tail -n 1 || true)
case "$answer" in
  *version*) say "API published on $binding only; GET /version: $answer" ;;
  *) say "API port published on $binding only (no answer from an API in this build)" ;;
esac
SCENARIO=10054 timeout 60 "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true

say "PASSED in $(elapsed) (image $size_mb MB, build $build_s s)"
