#!/bin/sh
# Pre-Flight 5: ./scripts/verify-env.sh <environment>. The team's script lives here in their
# repository; in this seed folder it is the stand-in's (standin/verify-env.mjs).
exec node "$(dirname "$0")/../standin/verify-env.mjs" "$@"
