#!/bin/sh
# Gantry recipe for Netlify: publishes again the newest ready deploy titled v<version> with
# Netlify's restore deploy (instant: nothing is rebuilt) and waits until it is the published
# one. Usage: rollback.sh <version>
# Calls GET /sites/{site_id}/deploys, POST /sites/{site_id}/deploys/{deploy_id}/restore, then
# GET /sites/{site_id}.
. "$(dirname "$0")/lib.sh"
version=${1:-}
check_version "$version"
list=$(api GET "$SITE/deploys?per_page=100") || exit 1
id=$(printf '%s' "$list" | jq -r --arg t "v$version" '[.[] | select(.title == $t and .state == "ready")][0].id // empty')
[ -n "$id" ] || die "no ready deploy titled v$version among the site's last 100 deploys"
api POST "$SITE/deploys/$id/restore" >/dev/null
say "restoring deploy $id ($version)"
wait_published "$id"
say "$version is published again"
