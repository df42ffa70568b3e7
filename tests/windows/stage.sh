#!/usr/bin/env bash
# The full matrix's Windows stage (scripts/test --all runs every tests/*/stage.sh): the MinGW
# build of faultline under Wine, then the Windows zip in dist/. See run.sh.
exec "$(dirname "$0")/run.sh" "$@"
