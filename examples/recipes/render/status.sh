#!/bin/sh
# Gantry recipe for Render: exits 0 when the service has a live deploy and the newest deploy did
# not fail, and, with RENDER_HEALTH_URL, that URL answers 2xx. Usage: status.sh
# Calls GET /services/{id}/deploys (and the health URL).
. "$(dirname "$0")/lib.sh"
deploys=$(api GET "$SERVICE/deploys?limit=20") || exit 1
live=$(printf '%s' "$deploys" | jq -r '[.[].deploy | select(.status == "live")][0].id // empty')
[ -n "$live" ] || die "no live deploy on $RENDER_SERVICE_ID"
newest=$(printf '%s' "$deploys" | jq -r '.[0].deploy | "\(.id) \(.status)"')
case ${newest#* } in
  *_failed) die "the newest deploy failed: $newest" ;;
esac
if [ -n "${RENDER_HEALTH_URL:-}" ]; then
  curl -fsS --max-time 10 -o /dev/null "$RENDER_HEALTH_URL" || die "$RENDER_HEALTH_URL is not healthy"
fi
say "deploy $live is live"
