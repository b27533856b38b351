#!/bin/sh
# Gantry recipe for Heroku: exits 0 when the current release succeeded and every web dyno is
# up, and, with HEROKU_HEALTH_URL, that URL answers 2xx. Usage: status.sh
# Calls GET /apps/{app}/releases (Range: version, newest first) and GET /apps/{app}/dynos.
. "$(dirname "$0")/lib.sh"
current=$(current_release) || exit 1
[ -n "$current" ] || die "$HEROKU_APP has no current release"
state=$(printf '%s' "$current" | jq -r '.status')
[ "$state" = succeeded ] || die "the current release v$(printf '%s' "$current" | jq -r '.version') is $state"
dynos=$(api GET "$APP/dynos") || exit 1
down=$(printf '%s' "$dynos" | jq -r '[.[] | select(.type == "web" and .state != "up") | "\(.name) \(.state)"] | join(", ")')
[ -z "$down" ] || die "web dynos not up: $down"
if [ -n "${HEROKU_HEALTH_URL:-}" ]; then
  curl -fsS --max-time 10 -o /dev/null "$HEROKU_HEALTH_URL" || die "$HEROKU_HEALTH_URL is not healthy"
fi
say "release v$(printf '%s' "$current" | jq -r '.version') is up"
