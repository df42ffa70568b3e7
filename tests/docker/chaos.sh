#!/bin/sh
# The `chaos` service of docker-compose.yml: runs the robust echo-client through the proxy and
# exits with its code. It also fails (exit 1) when the client passed without meeting the
# scenario's fault, read from its --json summary, so a green run proves the handling.
#   SCENARIO     which scenario the proxy runs (picks the defaults below)
#   TARGET       HOST:PORT of the proxy (default faultline:7000)
#   CLIENT_ARGS  echo-client arguments instead of the scenario's defaults
#   EXPECT       the --json counter that must be > 0 instead of the scenario's ("" for none)
set -u
scenario=${SCENARIO:-10054}
target=${TARGET:-faultline:7000}
case "$scenario" in
  10054)        args="--count 10 --size 64 --retries 10";             expect=resets ;;
  partial-recv) args="--count 10 --size 64 --retries 10";             expect=partial_reads ;;
  coalesce)     args="--count 20 --size 64 --pipeline 4 --retries 10"; expect=coalesced_reads ;;
  timeouts)     args="--count 10 --size 64 --timeout 300 --retries 10"; expect=timeouts ;;
  *)            args="--count 10 --size 64 --retries 10";             expect="" ;;
esac
args=${CLIENT_ARGS:-$args}
expect=${EXPECT-$expect}

echo "chaos: scenario $scenario: echo-client --connect $target $args --json"
# shellcheck disable=SC2086 # args is a list of words
summary=$(echo-client --connect "$target" $args --json)
code=$?
echo "chaos: $summary"
if [ "$code" -ne 0 ]; then
  echo "chaos: FAILED: echo-client exited $code (3 resets, 4 timeouts, 5 mismatch, 6 no connect)"
  exit "$code"
fi
if [ -n "$expect" ]; then
  if ! printf '%s\n' "$summary" | grep -Eq "\"$expect\":[1-9]"; then
    echo "chaos: FAILED: the client passed but never met the fault ($expect = 0)"
    exit 1
  fi
  echo "chaos: PASSED: every echo verified, and the client handled the fault ($expect > 0)"
else
  echo "chaos: PASSED: every echo verified"
fi
