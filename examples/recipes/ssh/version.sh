#!/bin/sh
# Gantry recipe for a server over SSH: prints the release current points at (nothing when
# nothing is deployed). Usage: version.sh. Runs over ssh: readlink current.
. "$(dirname "$0")/lib.sh"
remote <<'REMOTE'
dir=$1
target=$(readlink "$dir/current" 2>/dev/null) || exit 0
basename "$target"
REMOTE
