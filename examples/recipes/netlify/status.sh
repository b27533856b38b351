#!/bin/sh
# Gantry recipe for Netlify: exits 0 when the site has a published deploy that is ready, and,
# with NETLIFY_HEALTH_URL, that URL answers 2xx. Usage: status.sh
# Calls GET /sites/{site_id}.
. "$(dirname "$0")/lib.sh"
site=$(api GET "$SITE") || exit 1
state=$(printf '%s' "$site" | jq -r '.published_deploy.state // "none"')
[ "$state" = ready ] || die "the published deploy is $state"
if [ -n "${NETLIFY_HEALTH_URL:-}" ]; then
  curl -fsS --max-time 10 -o /dev/null "$NETLIFY_HEALTH_URL" || die "$NETLIFY_HEALTH_URL is not healthy"
fi
say "deploy $(printf '%s' "$site" | jq -r '.published_deploy.id') is published"
