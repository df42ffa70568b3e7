#!/usr/bin/env bash
# The Windows build under Wine: faultline.exe (MinGW, scripts/build-windows) with the Linux
# echo-server behind it and both echo-clients in front.
#   1. relays byte-exact: 64 KiB random payloads, both ways, Linux and Windows clients
#   2. its reset fault: the Windows echo-client reports WSAECONNRESET (10054), the Linux one
#      ECONNRESET
#   3. --check on a bad file: the same file:line:col error as the Linux build
#   4. the control API answers: GET /version, a toxic created and listed
# Then it builds the Windows download, dist/faultline-<version>-windows-x64.zip
# (scripts/dist-windows), from the executables it tested.
# Installs MinGW and Wine (Debian packages) when root; prints "SKIPPED: <reason>" and exits 0
# where they cannot be had. Wine runs in a temporary prefix, removed at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build}
started=$(date +%s)

skip() { echo "SKIPPED: $*"; exit 0; }
if [ "$(id -u)" -eq 0 ]; then
  "$root/scripts/deps" g++-mingw-w64-x86-64-posix wine wine64 curl >/dev/null 2>&1 ||
    echo "(could not install MinGW and Wine from Debian; using what is there)"
fi
command -v x86_64-w64-mingw32-g++-posix >/dev/null ||
  skip "MinGW-w64 is not installed (apt-get install g++-mingw-w64-x86-64-posix)"
wine=$(command -v wine || command -v wine64 || ls /usr/lib/wine/wine64 2>/dev/null || true)
[ -n "$wine" ] || skip "Wine is not installed (apt-get install wine wine64)"
command -v curl >/dev/null || skip "curl is not installed"

BUILD_TARGETS="faultline echo-server echo-client" BUILD_DIR=$build "$root/scripts/build" >/dev/null
winbin=$("$root/scripts/build-windows" | tail -1)  # compiler errors show as they are
for exe in faultline echo-client; do
  [ -f "$winbin/$exe.exe" ] || { echo "FAIL: $winbin/$exe.exe was not built"; exit 1; }
done

work=$(mktemp -d)
pids=()
export WINEDEBUG=-all WINEPREFIX=$work/wine WINEDLLOVERRIDES="mscoree,mshtml="
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  WINEPREFIX=$work/wine timeout 20 wineserver -k 2>/dev/null || true  # this prefix's only
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

wait_for() {  # file, extended regex, seconds
  local deadline=$(($(date +%s) + $3))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "timed out after $3 s waiting for '$2' in $1:"
  sed 's/^/   /' "$1"
  return 1
}
port_of() { sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$1" | head -1; }
fail=0
check() {  # description, then a command that must succeed
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}

# A new prefix takes Wine a while to set up: once, bounded, before anything is timed.
echo "== Wine $("$wine" --version 2>/dev/null) in a temporary prefix"
timeout 300 "$wine" wineboot --init >/dev/null 2>&1 || { echo "FAIL: wineboot did not finish in 300 s"; exit 1; }

"$build/bin/echo-server" --listen 127.0.0.1:0 --quiet >server.log 2>&1 &
pids+=($!)
wait_for server.log "listening on" 10
upstream=$(port_of server.log)

start_proxy() {  # config file: faultline.exe runs it, API on a free port; sets port, api
  : >proxy.log
  "$wine" "$winbin/faultline.exe" --config "$1" --api 127.0.0.1:0 --threads 2 >proxy.log 2>&1 &
  proxy_pid=$!
  pids+=($proxy_pid)
  wait_for proxy.log "control API listening on http://127.0.0.1:[0-9]+" 120
  port=$(port_of proxy.log)
  api=$(sed -n 's|.*control API listening on http://\(127.0.0.1:[0-9]*\).*|\1|p' proxy.log | head -1)
}
stop_proxy() { kill "$proxy_pid" 2>/dev/null || true; wait "$proxy_pid" 2>/dev/null || true; }

cat >relay.yaml <<YAML
proxies:
  - name: echo
    listen: 127.0.0.1:0
    upstream: 127.0.0.1:$upstream
YAML
sed -e "s/127.0.0.1:7001/127.0.0.1:$upstream/" -e "s/127.0.0.1:7000/127.0.0.1:0/" \
  "$root/examples/10054.yaml" >10054.yaml

echo "== 1. faultline.exe relays byte-exact"
start_proxy relay.yaml
sed 's/^/   /' proxy.log | head -3
check "Linux echo-client: 4 x 64 KiB random payloads echoed byte-exact through faultline.exe" \
  timeout 120 "$build/bin/echo-client" --connect "127.0.0.1:$port" --count 4 --size 65536 \
  --seed "$RANDOM" --timeout 30000 --quiet
check "echo-client.exe: 4 x 64 KiB random payloads echoed byte-exact through faultline.exe" \
  timeout 120 "$wine" "$winbin/echo-client.exe" --connect "127.0.0.1:$port" --count 4 \
  --size 65536 --seed "$RANDOM" --timeout 30000 --quiet

echo "== 4. the control API of faultline.exe ($api)"
version=$(curl -sS --max-time 30 "http://$api/version" || true)
echo "   GET /version: $version"
check "GET /version answers" grep -q '[0-9]\.[0-9]' <<<"$version"
created=$(curl -sS --max-time 30 -X POST "http://$api/proxies/echo/toxics" \
  -d '{"name":"slow","type":"latency","stream":"downstream","attributes":{"latency":20}}' || true)
echo "   POST /proxies/echo/toxics: $created"
check "a latency toxic is created" grep -q '"name":"slow"' <<<"$created"
listed=$(curl -sS --max-time 30 "http://$api/proxies/echo/toxics" || true)
check "the toxic is listed" grep -q '"slow"' <<<"$listed"
check "the relay still works with the toxic on" \
  timeout 60 "$build/bin/echo-client" --connect "127.0.0.1:$port" --count 2 --size 1000 --quiet
stop_proxy

echo "== 2. the reset fault: WSAECONNRESET (10054) in Winsock, ECONNRESET on Linux"
start_proxy 10054.yaml
set +e
linux=$(timeout 60 "$build/bin/echo-client" --connect "127.0.0.1:$port" --count 10 --size 64 --naive 2>&1)
linux_status=$?
set -e
echo "$linux" | sed 's/^/   linux: /'
check "the Linux echo-client exits 3 on ECONNRESET" \
  test "$linux_status" -eq 3 -a -n "$(grep ECONNRESET <<<"$linux")"
stop_proxy
# Linux reports an RST to the first recv after it; Wine's socket layer sometimes makes that
# first recv itself, and the application then reads EOF. Up to three fresh tries.
for attempt in 1 2 3; do
  start_proxy 10054.yaml
  set +e
  windows=$(timeout 90 "$wine" "$winbin/echo-client.exe" --connect "127.0.0.1:$port" --count 10 \
    --size 64 --naive 2>&1 | tr -d '\r')
  set -e
  stop_proxy
  echo "$windows" | sed 's/^/   windows: /'
  grep -q "WSAECONNRESET (10054)" <<<"$windows" && break
  echo "   (attempt $attempt: Wine read the reset as EOF; trying again)"
done
check "echo-client.exe reports WSAECONNRESET (10054) from faultline.exe's reset" \
  grep -q "WSAECONNRESET (10054)" <<<"$windows"

echo "== 3. --check: the same file:line:col error"
printf 'proxies:\n  - name: echo\n    listen: 127.0.0.1:0\n    upstream: 127.0.0.1:1\n    faults:\n      - { type: latency, latency: fast }\n' >bad.yaml
set +e
linux_check=$("$build/bin/faultline" --check bad.yaml 2>&1)
linux_check_status=$?
windows_check=$(timeout 60 "$wine" "$winbin/faultline.exe" --check bad.yaml 2>&1 | tr -d '\r')
windows_check_status=$(timeout 60 "$wine" "$winbin/faultline.exe" --check bad.yaml >/dev/null 2>&1; echo $?)
good_status=$(timeout 60 "$wine" "$winbin/faultline.exe" --check relay.yaml >/dev/null 2>&1; echo $?)
set -e
echo "   linux:   $linux_check"
echo "   windows: $windows_check"
check "--check prints a bad.yaml:LINE:COL error" grep -qE '^bad\.yaml:[0-9]+:[0-9]+' <<<"$linux_check"
check "faultline.exe --check prints the same as Linux" test "$linux_check" = "$windows_check"
check "both exit 1 on the bad file" test "$linux_check_status" -eq 1 -a "$windows_check_status" -eq 1
check "faultline.exe --check exits 0 on a good file" test "$good_status" -eq 0

echo "== $(($(date +%s) - started)) s"
if [ "$fail" -ne 0 ]; then echo "FAIL: the Windows build"; exit 1; fi
echo "PASS: faultline.exe under Wine"
zip=$("$root/scripts/dist-windows" | tail -1)
echo "the Windows download: $zip ($(du -k "$zip" | cut -f1) KiB)"
