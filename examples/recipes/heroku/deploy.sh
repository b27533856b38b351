#!/bin/sh
# Gantry recipe for Heroku: builds <version> from a source tarball with the Build API and waits
# for the build and the release it creates. Usage: deploy.sh <version> <tarball-url>
# (e.g. https://github.com/acme/shop/archive/refs/tags/v1.4.2.tar.gz: Heroku downloads it, so
# it must be public or carry its own signature).
# Calls POST /apps/{app}/builds {"source_blob": {"url", "version"}}, GET /apps/{app}/builds/{id},
# then GET /apps/{app}/releases/{id}.
. "$(dirname "$0")/lib.sh"
version=${1:-}
url=${2:-}
check_version "$version"
case $url in
  https://* | http://*) ;;
  *) die "usage: deploy.sh <version> <tarball-url>" ;;
esac
build=$(api POST "$APP/builds" "$(jq -cn --arg url "$url" --arg v "$version" '{source_blob: {url: $url, version: $v}}')") || exit 1
id=$(printf '%s' "$build" | jq -r '.id')
say "building $version as build $id"
deadline=$(($(date +%s) + WAIT))
while :; do
  state=$(printf '%s' "$build" | jq -r '.status')
  case $state in
    succeeded) break ;;
    failed) die "build $id failed (its output is in the app's Activity tab)" ;;
  esac
  [ "$(date +%s)" -lt "$deadline" ] || die "build $id is still $state after ${WAIT}s"
  sleep "$POLL"
  build=$(api GET "$APP/builds/$id") || exit 1
done
release=$(printf '%s' "$build" | jq -r '.release.id // empty')
[ -n "$release" ] || die "build $id succeeded without a release"
wait_release "$release"
say "$version is released"
