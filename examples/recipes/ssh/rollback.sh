#!/bin/sh
# Gantry recipe for a server over SSH: points current back at releases/<version>, still on the
# host from its deploy, and runs SSH_RESTART. Usage: rollback.sh <version>
# Runs over ssh: ln -sfn + mv -T, the restart command.
. "$(dirname "$0")/lib.sh"
version=${1:-}
check_version "$version"
[ -n "${SSH_RESTART:-}" ] || die "SSH_RESTART is not set (the command that restarts the service)"
remote "$version" "$SSH_RESTART" <<'REMOTE'
set -eu
dir=$1 version=$2 restart=$3
cd "$dir" 2>/dev/null || { echo "no folder $dir on $(hostname)" >&2; exit 3; }
[ -d "releases/$version" ] || { echo "releases/$version is not on the host any more: deploy $version instead" >&2; exit 3; }
ln -sfn "releases/$version" .current.new
mv -T .current.new current 2>/dev/null || { rm -f .current.new; ln -sfn "releases/$version" current; }
echo "current -> releases/$version"
sh -c "$restart"
REMOTE
say "rolled back to $version on $SSH_HOST"
