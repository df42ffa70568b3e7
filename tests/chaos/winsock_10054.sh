#!/usr/bin/env bash
# The 10054 seen from a real Winsock client: echo-client.exe (MinGW) under Wine against the
# proxy running examples/10054.yaml. Exits 77 (ctest: skipped) without MinGW or Wine.
set -euo pipefail
root=$1
build=$2
wine=$(command -v wine || command -v wine64 || ls /usr/lib/wine/wine64 2>/dev/null || true)
[ -n "$wine" ] || { echo "SKIPPED: wine is not installed (apt-get install wine64)"; exit 77; }
set +e
exe=$(BUILD_DIR=$build "$root/scripts/build-windows-client")
status=$?
set -e
[ "$status" -eq 77 ] && { echo "$exe"; exit 77; }
[ "$status" -eq 0 ] || { echo "cross-compiling echo-client failed"; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
wait_for() {  # file, pattern: up to 10 s
  for _ in $(seq 100); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "timed out waiting for '$2' in $1"; cat "$1"; return 1
}

"$build/bin/echo-server" --listen 127.0.0.1:0 --quiet >"$work/server.log" 2>&1 &
pids+=($!)
wait_for "$work/server.log" "listening on"
upstream=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/server.log" | head -1)

start_proxy() {
  sed -e "s/127.0.0.1:7001/127.0.0.1:$upstream/" -e "s/127.0.0.1:7000/127.0.0.1:0/" \
    "$root/examples/10054.yaml" >"$work/10054.yaml"
  "$build/bin/faultline" --config "$work/10054.yaml" --api 127.0.0.1:0 >"$work/proxy.log" 2>&1 &
  proxy_pid=$!
  pids+=($proxy_pid)
  wait_for "$work/proxy.log" "listening on 127.0.0.1:[0-9]+"
  port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/proxy.log" | head -1)
}

export WINEDEBUG=-all WINEPREFIX=$work/wine
# Linux reports an RST to the first recv after it and EOF to later ones; Wine's socket layer
# sometimes makes that first recv itself, and the application then reads EOF. Up to three
# fresh tries for Winsock to hand the 10054 to the application.
naive_status=0
for attempt in 1 2 3; do
  start_proxy
  set +e
  naive=$(timeout 60 "$wine" "$exe" --connect "127.0.0.1:$port" --count 10 --size 64 --naive 2>&1)
  naive_status=$?
  set -e
  echo "$naive"
  kill "$proxy_pid"
  wait "$proxy_pid" 2>/dev/null || true
  echo "$naive" | grep -q "WSAECONNRESET (10054)" && break
  echo "(attempt $attempt: Wine read the reset as EOF; trying again)"
done
start_proxy
set +e
robust=$(timeout 60 "$wine" "$exe" --connect "127.0.0.1:$port" --count 10 --size 64 --retries 10 --json 2>&1)
robust_status=$?
set -e
echo "$robust"

fail=0
[ "$naive_status" -eq 3 ] || { echo "FAIL: naive echo-client.exe exited $naive_status, expected 3"; fail=1; }
echo "$naive" | grep -q "WSAECONNRESET (10054)" || { echo "FAIL: no WSAECONNRESET (10054) from Winsock"; fail=1; }
[ "$robust_status" -eq 0 ] || { echo "FAIL: robust echo-client.exe exited $robust_status"; fail=1; }
# Under Wine a recv after the RST may read as an EOF rather than 10054 (Wine's mapping); the
# robust client handles both the same way: reconnect and resend.
echo "$robust" | grep -qE '"resets":[1-9]|"eofs":[1-9]' || { echo "FAIL: robust client met no reset"; fail=1; }
[ "$fail" -eq 0 ] && echo "PASS: Winsock reported 10054 and the robust client survived it"
exit "$fail"
