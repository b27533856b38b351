#!/bin/sh
# Gantry recipe for a server over SSH: exits 0 when SSH_CHECK passes on the host (default: the
# current release is there) and, with SSH_HEALTH_URL, that URL answers 2xx. Usage: status.sh
# Runs over ssh: the check command in SSH_APP_DIR.
. "$(dirname "$0")/lib.sh"
remote "${SSH_CHECK:-test -d current/}" <<'REMOTE'
set -eu
dir=$1 check=$2
cd "$dir" 2>/dev/null || { echo "no folder $dir on $(hostname)" >&2; exit 3; }
[ -L current ] || { echo "nothing deployed in $dir (no current symlink)" >&2; exit 3; }
sh -c "$check" || { echo "the check failed: $check" >&2; exit 3; }
REMOTE
if [ -n "${SSH_HEALTH_URL:-}" ]; then
  command -v curl >/dev/null 2>&1 || die "curl is not installed"
  curl -fsS --max-time 10 -o /dev/null "$SSH_HEALTH_URL" || die "$SSH_HEALTH_URL is not healthy"
fi
