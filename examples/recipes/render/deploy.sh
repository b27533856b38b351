#!/bin/sh
# Gantry recipe for Render: deploys the commit tagged v<version> to the service and waits until
# that deploy is live. Usage: deploy.sh <version>
# Calls POST /services/{id}/deploys {"commitId": …}, then GET /services/{id}/deploys/{deployId}.
. "$(dirname "$0")/lib.sh"
version=${1:-}
check_version "$version"
sha=$(commit_of "$version") || exit 1
deploy=$(api POST "$SERVICE/deploys" "$(jq -cn --arg sha "$sha" '{clearCache: "do_not_clear", commitId: $sha}')") || exit 1
id=$(printf '%s' "$deploy" | jq -r '.id // empty')
if [ -z "$id" ]; then
  # 202: queued behind a running deploy; it shows in the list.
  list=$(api GET "$SERVICE/deploys?limit=20") || exit 1
  id=$(printf '%s' "$list" | jq -r --arg sha "$sha" '[.[].deploy | select(.commit.id == $sha)][0].id // empty')
  [ -n "$id" ] || die "Render accepted the deploy of $version but it is not in the service's deploys"
fi
say "deploying $version (commit $sha) as $id"
wait_live "$id"
say "$version is live"
