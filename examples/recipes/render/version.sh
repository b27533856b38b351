#!/bin/sh
# Gantry recipe for Render: prints the version the service serves: the release tag of the live
# deploy's commit (prints nothing while no deploy is live, the commit when no tag points at it).
# Usage: version.sh. Calls GET /services/{id}/deploys.
. "$(dirname "$0")/lib.sh"
live=$(live_deploy) || exit 1
[ -n "$live" ] || exit 0
sha=$(printf '%s' "$live" | jq -r '.commit.id')
found=$(version_of "$sha")
printf '%s\n' "${found:-$sha}"
