#!/bin/sh
# Gantry recipe for Render: puts version <version> back with Render's rollback, which reuses the
# build artifact of the earlier deploy of that commit, and waits until it is live. Without an
# earlier deploy of it, it builds the commit instead. Usage: rollback.sh <version>
# Calls GET /services/{id}/deploys, POST /services/{id}/rollback {"deployId": …}, then
# GET /services/{id}/deploys/{deployId}.
. "$(dirname "$0")/lib.sh"
version=${1:-}
check_version "$version"
sha=$(commit_of "$version") || exit 1
earlier=$(deploy_of_commit "$sha") || exit 1
if [ -z "$earlier" ]; then
  say "no earlier deploy of $version on this service: building commit $sha"
  exec sh "$(dirname "$0")/deploy.sh" "$version"
fi
from=$(printf '%s' "$earlier" | jq -r '.id')
deploy=$(api POST "$SERVICE/rollback" "$(jq -cn --arg id "$from" '{deployId: $id}')") || exit 1
id=$(printf '%s' "$deploy" | jq -r '.id')
say "rolling back to $version (deploy $from) as $id"
wait_live "$id"
say "$version is live again"
