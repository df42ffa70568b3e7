#!/usr/bin/env bash
# The `extra` stage of scripts/test --all for the package: its consumers (examples/embed
# against the installed tree and from the source tree), then the .deb in a fresh Debian root
# (root only, else SKIPPED). Takes the main build in BUILD_DIR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/consumer.sh"
"$here/deb.sh"
