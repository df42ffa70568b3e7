#!/usr/bin/env bash
# Which routes into a container keep faultline's reset a reset (tests/docker/run.sh calls it
# with the image it built; it can run alone: tests/docker/routes.sh IMAGE). The proxy has its
# upstream down and `on_upstream_failure: reset`, so it answers every client with an RST; a
# naive echo-client (from the same image) says what reached it:
#   1. client on the same Docker network, by service name (compose)     -> ECONNRESET
#   2. client on the host, to the container's own address (bridge IP)   -> ECONNRESET
#   3. faultline with --network host, client on the host                -> ECONNRESET
#   4. client on the host, through a published port (-p), docker-proxy  -> EOF: docker-proxy is a
#      user-space relay with a TCP connection of its own to each side; when the proxy's side
#      is reset it ends the client's side with close(), a FIN. (Docker Desktop's forwarding on
#      Windows and macOS is a user-space relay too.)
# Route 4 also checks that faultline logs, once, that its clients come through the gateway.
# When dockerd runs without the userland proxy (iptables NAT only), route 4 keeps the RST:
# the script says so and expects that instead. Exit 0: as above; 1: a route gave another end.
set -euo pipefail
image=${1:?usage: tests/docker/routes.sh IMAGE}
tag=faultline-routes-$$
work=$(mktemp -d /tmp/faultline-routes.XXXXXX)
chmod 755 "$work"
fail=0
say() { echo "routes: $*"; }
cleanup() {
  set +e
  docker rm -f "$tag-net" "$tag-bridge" "$tag-host" "$tag-published" >/dev/null 2>&1
  docker network rm "$tag" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {  # a TCP port free on the host's loopback
  local p=$((20000 + RANDOM % 20000))
  while ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; do p=$((p + 1)); done
  echo "$p"
}
config() {  # listen address -> $work/NAME.yaml
  cat >"$work/$1.yaml" <<YAML
proxies:
  - name: down
    listen: $2
    upstream: 127.0.0.1:1      # nothing listens: every dial is refused
    on_upstream_failure: reset
YAML
  chmod 644 "$work/$1.yaml"
}
start() {  # name, config, docker run options...: waits until it listens
  local name=$1 conf=$2
  shift 2
  docker run -d --name "$tag-$name" "$@" -v "$work/$conf.yaml:/etc/faultline/faultline.yaml:ro" \
    "$image" --config /etc/faultline/faultline.yaml --api off >/dev/null
  local deadline=$(($(date +%s) + 30))
  until docker logs "$tag-$name" 2>&1 | grep -q 'listening on'; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      docker logs "$tag-$name" >&2
      say "faultline ($name) did not listen within 30 s"
      exit 1
    fi
    sleep 0.2
  done
}
client() {  # docker run options..., HOST:PORT: what the naive client met (reset, eof, other)
  local out
  out=$(timeout 60 docker run --rm --entrypoint echo-client "${@:1:$#-1}" "$image" \
    --connect "${!#}" --count 1 --size 64 --naive --timeout 5000 --json 2>/dev/null || true)
  if grep -q '"resets":[1-9]' <<<"$out"; then echo reset
  elif grep -q '"eofs":[1-9]' <<<"$out"; then echo eof
  else echo "other: $out"; fi
}
expect() {  # route, expected, got
  if [ "$3" = "$2" ]; then
    say "$1: $3 (as expected)"
  else
    say "FAIL $1: expected $2, got $3"
    fail=1
  fi
}

# 1. The same user-defined network, by name: what docker compose does.
docker network create "$tag" >/dev/null
config net 0.0.0.0:7000
start net net --network "$tag" --network-alias faultline
expect "same network (faultline:7000)" reset "$(client --network "$tag" faultline:7000)"

# 2. The host, to the container's address on the default bridge.
start bridge net
ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$tag-bridge")
expect "host to the container's address ($ip:7000)" reset "$(client --network host "$ip:7000")"

# 3. --network host: faultline on the host's own stack.
port=$(free_port)
config host "127.0.0.1:$port"
start host host --network host
expect "--network host (127.0.0.1:$port)" reset "$(client --network host "127.0.0.1:$port")"

# 4. A published port: Docker's port forwarding between the client and faultline.
port=$(free_port)
start published net -p "127.0.0.1:$port:7000"
if pgrep -f "docker-proxy .*-host-port $port" >/dev/null; then
  expect "published port (-p 127.0.0.1:$port:7000, docker-proxy)" eof \
    "$(client --network host "127.0.0.1:$port")"
  if docker logs "$tag-published" 2>&1 | grep -q "comes from the container's gateway"; then
    say "faultline logged that its client came through the gateway, with the fix"
  else
    say "FAIL: faultline did not log the gateway hint"
    docker logs "$tag-published" 2>&1 | tail -5 >&2
    fail=1
  fi
else
  expect "published port (-p 127.0.0.1:$port:7000, iptables NAT: no userland proxy)" reset \
    "$(client --network host "127.0.0.1:$port")"
fi
[ "$fail" -eq 0 ] && say "PASSED: routes 1-3 keep the RST; a published port through docker-proxy gives EOF"
exit "$fail"
