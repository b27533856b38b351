#!/bin/sh
# Gantry recipe for a server over SSH: on the host, fetches the tags, unpacks the commit tagged
# v<version> into releases/<version> (once), points current at it, runs SSH_RESTART and keeps
# the newest SSH_KEEP releases. Usage: deploy.sh <version>
# Runs over ssh: git fetch --tags, git archive | tar -x, ln -sfn + mv -T, the restart command.
. "$(dirname "$0")/lib.sh"
version=${1:-}
check_version "$version"
[ -n "${SSH_RESTART:-}" ] || die "SSH_RESTART is not set (the command that restarts the service)"
remote "$version" "$TAG_PREFIX" "$KEEP" "$SSH_RESTART" <<'REMOTE'
set -eu
dir=$1 version=$2 prefix=$3 keep=$4 restart=$5
cd "$dir" 2>/dev/null || { echo "no folder $dir on $(hostname)" >&2; exit 3; }
git -C repo rev-parse --git-dir >/dev/null 2>&1 || { echo "$dir/repo is not a git clone" >&2; exit 3; }
git -C repo fetch --quiet --tags --force origin
sha=$(git -C repo rev-parse --verify --quiet "refs/tags/$prefix$version^{commit}") ||
  { echo "no tag $prefix$version in $dir/repo after git fetch --tags" >&2; exit 3; }
mkdir -p releases
if [ ! -d "releases/$version" ]; then
  rm -rf "releases/.new-$version"
  mkdir "releases/.new-$version"
  git -C repo archive "$sha" | tar -x -C "releases/.new-$version"
  mv "releases/.new-$version" "releases/$version"
  echo "unpacked $prefix$version ($sha) into $dir/releases/$version"
fi
ln -sfn "releases/$version" .current.new
mv -T .current.new current 2>/dev/null || { rm -f .current.new; ln -sfn "releases/$version" current; }
echo "current -> releases/$version"
sh -c "$restart"
# The newest $keep releases stay (by unpack time), and always the serving one.
ls -1t releases | tail -n +"$((keep + 1))" | while read -r old; do
  [ "$old" = "$version" ] || rm -rf "releases/$old"
done
REMOTE
say "$version deployed on $SSH_HOST"
