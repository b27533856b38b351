#!/bin/sh
# Gantry recipe for Heroku: prints the version the app serves: the source_blob.version of the
# build whose slug the current release runs (nothing when no build made it). Usage: version.sh
# Calls GET /apps/{app}/releases (Range: version, newest first) and GET /apps/{app}/builds.
. "$(dirname "$0")/lib.sh"
current=$(current_release) || exit 1
[ -n "$current" ] || exit 0
slug=$(printf '%s' "$current" | jq -r '.slug.id // empty')
[ -n "$slug" ] || exit 0
list=$(builds) || exit 1
printf '%s' "$list" | jq -r --arg slug "$slug" '[.[] | select(.slug.id == $slug)][0].source_blob.version // empty'
