#!/bin/sh
# Gantry recipe for Netlify: prints the version of the published deploy: its title v<version>
# without the v (nothing when nothing is published). Usage: version.sh
# Calls GET /sites/{site_id}.
. "$(dirname "$0")/lib.sh"
site=$(api GET "$SITE") || exit 1
printf '%s' "$site" | jq -r '.published_deploy.title // empty | sub("^v"; "")'
