#!/bin/sh
# Gantry recipe for Replit: exits 0 when the published App's health endpoint answers 2xx with
# a status of "ok" (or no status field). Usage: status.sh. Calls GET <app>/health.
. "$(dirname "$0")/lib.sh"
answer=$(health) || exit 1
state=$(printf '%s' "$answer" | jq -r '.status // "ok"' 2>/dev/null || echo "not JSON")
[ "$state" = ok ] || die "$HEALTH reports status '$state'"
say "healthy"
