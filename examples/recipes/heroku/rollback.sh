#!/bin/sh
# Gantry recipe for Heroku: rolls back to the release that the newest successful build of
# <version> created, with the Platform API's release rollback (a new release with that
# release's slug and config vars), and waits for it. Usage: rollback.sh <version>
# Calls GET /apps/{app}/builds, POST /apps/{app}/releases {"release": id}, then
# GET /apps/{app}/releases/{id}.
. "$(dirname "$0")/lib.sh"
version=${1:-}
check_version "$version"
list=$(builds) || exit 1
target=$(printf '%s' "$list" |
  jq -r --arg v "$version" '[.[] | select(.source_blob.version == $v and .status == "succeeded" and .release != null)][0].release.id // empty')
[ -n "$target" ] || die "no successful build of $version on $HEROKU_APP to roll back to"
release=$(api POST "$APP/releases" "$(jq -cn --arg id "$target" '{release: $id}')") || exit 1
id=$(printf '%s' "$release" | jq -r '.id')
say "rolling back to $version (release $target) as release v$(printf '%s' "$release" | jq -r '.version')"
wait_release "$id"
say "$version is released again"
