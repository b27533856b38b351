#!/bin/sh
# Gantry recipe for Replit: prints the version the published App reports on its health
# endpoint. Usage: version.sh. Calls GET <app>/health.
. "$(dirname "$0")/lib.sh"
answer=$(health) || exit 1
printf '%s' "$answer" | jq -r '.version // empty'
