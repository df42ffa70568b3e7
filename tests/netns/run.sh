#!/usr/bin/env bash
# The three hosts without Docker: client, proxy and server in Linux network namespaces made
# here, joined by veth pairs on private addresses that exist only inside them:
#
#   fl-client-PID 10.201.0.2 ── 10.201.0.1 fl-proxy-PID 10.201.1.1 ── 10.201.1.2 fl-server-PID
#        echo-client               faultline (ip_forward=0)                echo-server
#
# The client has a route to the server's subnet through the proxy namespace, which does not
# forward: the server is reachable only through faultline. Asserts, per scenario (10054,
# partial-recv, from examples/ with these addresses): the robust echo-client exits 0 and met
# the fault (--json), and the --naive one is caught; and that a direct connect from the client
# to the server fails; and that --congestion auto on a 0.0.0.0 listener leaves remote legs on
# the namespace's default and puts a loopback client on reno. Root only (SKIPPED otherwise).
# Every namespace and process it made is removed at the end, on failure too. No traffic leaves
# these namespaces.
#
# Binaries: $BUILD_DIR/bin/{faultline,echo-server,echo-client} (default BUILD_DIR: build/).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build}
bin=$build/bin
start=$(date +%s)

say() { echo "netns-test: $*"; }
skip() { echo "SKIPPED: $*"; exit 0; }
fail() { echo "FAILED: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "tests/netns/run.sh needs root (it creates network namespaces)"
command -v ip >/dev/null || skip "no ip command (iproute2)"
for b in faultline echo-server echo-client; do
  [ -x "$bin/$b" ] || fail "$bin/$b not found: build first (scripts/build, or set BUILD_DIR)"
done

ns_c=fl-client-$$ ns_p=fl-proxy-$$ ns_s=fl-server-$$
client_ip=10.201.0.2 proxy_c_ip=10.201.0.1 proxy_s_ip=10.201.1.1 server_ip=10.201.1.2
proxy_port=7000 server_port=7001
work=$(mktemp -d /tmp/faultline-netns-test.XXXXXX)
pids=()
made_ns=()

cleanup() {
  local rc=$?
  set +e
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  # Deleting a namespace deletes the veth ends in it (and so their peers).
  for p in "${made_ns[@]}"; do ip netns del "$p" 2>/dev/null; done
  if [ "$rc" -ne 0 ]; then
    for f in "$work"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }; done
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
# Background processes are started with `ip netns exec` itself, never through in_ns: a shell
# function in the background is a subshell, and $! would be its PID, not the program's.

# --- the namespaces -------------------------------------------------------------------------
ip netns add "$ns_c" 2>"$work/netns.err" || skip "cannot create network namespaces: $(cat "$work/netns.err")"
made_ns+=("$ns_c")
for ns in "$ns_p" "$ns_s"; do ip netns add "$ns"; made_ns+=("$ns"); done

# veth names (at most 15 characters): flc<pid> in the client, flpc<pid> its peer in the proxy.
ip link add "flc$$" netns "$ns_c" type veth peer name "flpc$$" netns "$ns_p"
ip link add "fls$$" netns "$ns_s" type veth peer name "flps$$" netns "$ns_p"
in_ns "$ns_c" ip addr add "$client_ip/24" dev "flc$$"
in_ns "$ns_p" ip addr add "$proxy_c_ip/24" dev "flpc$$"
in_ns "$ns_p" ip addr add "$proxy_s_ip/24" dev "flps$$"
in_ns "$ns_s" ip addr add "$server_ip/24" dev "fls$$"
for ns in "$ns_c" "$ns_p" "$ns_s"; do in_ns "$ns" ip link set lo up; done
in_ns "$ns_c" ip link set "flc$$" up
in_ns "$ns_p" ip link set "flpc$$" up
in_ns "$ns_p" ip link set "flps$$" up
in_ns "$ns_s" ip link set "fls$$" up
# The client may route to the server's subnet, but only via the proxy, which does not forward.
in_ns "$ns_c" ip route add 10.201.1.0/24 via "$proxy_c_ip"
in_ns "$ns_p" sysctl -qw net.ipv4.ip_forward=0
[ "$(in_ns "$ns_p" cat /proc/sys/net/ipv4/ip_forward)" = 0 ] || fail "ip_forward is on in $ns_p"
say "namespaces $ns_c, $ns_p, $ns_s up"

# wait_for DEADLINE_S DESCRIPTION COMMAND...: poll until COMMAND succeeds, or fail.
wait_for() {
  local limit=$1 what=$2; shift 2
  local deadline=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "timed out after ${limit} s waiting for $what"
    sleep 0.1
  done
}
listening() { in_ns "$1" ss -Hltn "sport = :$2" | grep -q .; }

# --- the server -----------------------------------------------------------------------------
ip netns exec "$ns_s" "$bin/echo-server" --listen "$server_ip:$server_port" >"$work/echo-server.log" 2>&1 &
pids+=($!)
wait_for 10 "echo-server to listen" grep -q "listening on $server_ip:$server_port" "$work/echo-server.log"

# --- the client cannot reach the server directly ------------------------------------------
# The SYN goes to the proxy namespace and dies there (no forwarding): the connect times out.
rc=0
in_ns "$ns_c" timeout 20 "$bin/echo-client" --connect "$server_ip:$server_port" --count 1 \
  --size 8 --timeout 1000 --retries 0 --quiet >"$work/direct.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "the client reached the server directly at $server_ip:$server_port"
[ "$rc" -eq 6 ] || fail "direct connect: echo-client exited $rc, expected 6 (could not connect)"
say "direct client -> server $server_ip:$server_port: unreachable (echo-client exit 6), as it must be"

# --- per scenario: faultline in the proxy namespace ----------------------------------------
# run_scenario NAME COUNTER: the robust client must exit 0 with COUNTER > 0 in its summary; the
# naive client (run first, on a fresh proxy) must fail.
run_scenario() {
  local name=$1 counter=$2 config=$work/$1.yaml
  sed -e "s/listen: 127\.0\.0\.1:7000/listen: $proxy_c_ip:$proxy_port/" \
      -e "s/upstream: 127\.0\.0\.1:7001/upstream: $server_ip:$server_port/" \
      "$root/examples/$name.yaml" >"$config"
  grep -q "listen: $proxy_c_ip:$proxy_port" "$config" || fail "examples/$name.yaml: no listen 127.0.0.1:7000"
  "$bin/faultline" --check "$config" >/dev/null || fail "$config does not validate"

  ip netns exec "$ns_p" "$bin/faultline" --config "$config" >"$work/faultline-$name.log" 2>&1 &
  local fl=$!
  pids+=("$fl")
  wait_for 10 "faultline ($name) to listen on $proxy_c_ip:$proxy_port" listening "$ns_p" "$proxy_port"

  local naive_rc=0
  in_ns "$ns_c" timeout 30 "$bin/echo-client" --connect "$proxy_c_ip:$proxy_port" --count 10 \
    --size 64 --timeout 1000 --naive --quiet >"$work/naive-$name.log" 2>&1 || naive_rc=$?
  [ "$naive_rc" -ne 0 ] || fail "$name: the --naive client passed: the fault did not reach it"

  local summary
  rc=0
  summary=$(in_ns "$ns_c" timeout 60 "$bin/echo-client" --connect "$proxy_c_ip:$proxy_port" \
    --count 10 --size 64 --retries 10 --json 2>"$work/client-$name.log") || rc=$?
  [ "$rc" -eq 0 ] || fail "$name: the robust echo-client exited $rc: $summary"
  printf '%s\n' "$summary" | grep -Eq "\"$counter\":[1-9]" ||
    fail "$name: the robust client passed without meeting the fault ($counter = 0): $summary"
  say "[$name] naive client caught (exit $naive_rc); robust client exit 0: $summary"

  kill -TERM "$fl"
  local status=0
  wait "$fl" || status=$?
  # Reaped: drop it from the list so that cleanup never signals a reused PID.
  local p keep=()
  for p in "${pids[@]}"; do [ "$p" = "$fl" ] || keep+=("$p"); done
  pids=("${keep[@]}")
  [ "$status" -eq 0 ] || fail "$name: faultline exited $status on SIGTERM, expected 0"
}

run_scenario 10054 resets
run_scenario partial-recv partial_reads

# --- --congestion auto on a wildcard listener ----------------------------------------------
# A remote client and the remote upstream keep the namespace's default algorithm; a client on
# loopback gets reno. Read from the proxy's own sockets with ss.
cc_port=7002
default_cc=$(in_ns "$ns_p" cat /proc/sys/net/ipv4/tcp_congestion_control)
cc_of() {  # ss filter -> the algorithm of the first established socket that matches
  in_ns "$ns_p" ss -Htin state established "$1" | awk 'NR % 2 == 0 { print $1; exit }'
}
has_socket() { [ -n "$(cc_of "$1")" ]; }
hold_connection() {  # namespace, address: a client that sends 4 bytes, reads the echo, waits
  ip netns exec "$1" timeout 30 bash -c "exec 3<>/dev/tcp/$2/$cc_port && printf ping >&3 &&
    read -r -t 25 -N 4 echoed <&3 && read -r -t 25 -N 1 more <&3" &
  pids+=($!)
  holder=$!
}
if [ "$default_cc" = reno ]; then
  say "congestion: the namespace's default is reno, nothing to tell apart (skipped)"
else
  cat >"$work/congestion.yaml" <<YAML
proxies:
  - name: wildcard
    listen: 0.0.0.0:$cc_port
    upstream: $server_ip:$server_port
YAML
  ip netns exec "$ns_p" "$bin/faultline" --config "$work/congestion.yaml" --api off \
    >"$work/faultline-congestion.log" 2>&1 &
  cc_pid=$!
  pids+=($cc_pid)
  wait_for 10 "faultline (congestion) to listen on :$cc_port" listening "$ns_p" "$cc_port"

  hold_connection "$ns_c" "$proxy_c_ip"
  wait_for 10 "the remote client's two legs" has_socket "( dport = :$server_port )"
  wait_for 10 "the remote client's leg" has_socket "( sport = :$cc_port and dst $client_ip )"
  got=$(cc_of "( sport = :$cc_port and dst $client_ip )")
  [ "$got" = "$default_cc" ] || fail "congestion: remote client leg runs $got, expected the default $default_cc"
  got=$(cc_of "( dport = :$server_port )")
  [ "$got" = "$default_cc" ] || fail "congestion: remote upstream leg runs $got, expected the default $default_cc"
  kill "$holder" 2>/dev/null || true
  wait "$holder" 2>/dev/null || true

  hold_connection "$ns_p" 127.0.0.1
  wait_for 10 "the loopback client's leg" has_socket "( sport = :$cc_port and dst 127.0.0.1 )"
  got=$(cc_of "( sport = :$cc_port and dst 127.0.0.1 )")
  [ "$got" = reno ] || fail "congestion: loopback client leg runs $got, expected reno"
  kill "$holder" 2>/dev/null || true
  wait "$holder" 2>/dev/null || true
  say "congestion auto on 0.0.0.0: remote client and upstream legs $default_cc, loopback client leg reno"
  kill -TERM "$cc_pid"
  wait "$cc_pid" || fail "faultline (congestion) exited $? on SIGTERM, expected 0"
fi

say "PASSED in $(( $(date +%s) - start )) s"
