#!/bin/sh
# Gantry recipe for Netlify: uploads the built site folder as a zip deploy titled v<version>,
# waits until it is ready and publishes it (a site whose auto publishing is locked gets it
# published explicitly). Usage: deploy.sh <version> [folder, default dist]
# Calls POST /sites/{site_id}/deploys?title=… (Content-Type: application/zip),
# GET /sites/{site_id}/deploys/{deploy_id}, GET /sites/{site_id} and, when the deploy is not
# published by itself, POST /sites/{site_id}/deploys/{deploy_id}/restore.
. "$(dirname "$0")/lib.sh"
version=${1:-}
folder=${2:-dist}
check_version "$version"
command -v zip >/dev/null 2>&1 || die "zip is not installed"
[ -d "$folder" ] || die "no folder $folder to deploy (build the site for $version first)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$folder" && zip -q -r "$tmp/site.zip" .) || die "cannot zip $folder"
deploy=$(api POST "$SITE/deploys?title=v$version" "@$tmp/site.zip") || exit 1
id=$(printf '%s' "$deploy" | jq -r '.id')
say "uploaded $version as deploy $id"
deadline=$(($(date +%s) + WAIT))
seen=""
while :; do
  state=$(printf '%s' "$deploy" | jq -r '.state')
  [ "$state" = "$seen" ] || say "deploy $id: $state"
  seen=$state
  case $state in
    ready) break ;;
    error) die "deploy $id failed: $(printf '%s' "$deploy" | jq -r '.error_message // "no message"')" ;;
  esac
  [ "$(date +%s)" -lt "$deadline" ] || die "deploy $id is still $state after ${WAIT}s"
  sleep "$POLL"
  deploy=$(api GET "$SITE/deploys/$id") || exit 1
done
site=$(api GET "$SITE") || exit 1
if [ "$(printf '%s' "$site" | jq -r '.published_deploy.id // empty')" != "$id" ]; then
  say "publishing deploy $id"
  api POST "$SITE/deploys/$id/restore" >/dev/null
  wait_published "$id"
fi
say "$version is published"
