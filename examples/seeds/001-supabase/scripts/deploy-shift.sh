#!/bin/sh
# The canary's traffic split: ./scripts/deploy-shift.sh ENV VERSION PERCENT. At 100 the version
# is promoted and the one before it stops.
set -eu
env_name=$1
version=$2
weight=${3%\%}
: "${ESTATE_VAULT_DEPLOY_API:?set ESTATE_VAULT_DEPLOY_API (the platform API)}"
: "${ESTATE_VAULT_DEPLOY_TOKEN:?set ESTATE_VAULT_DEPLOY_TOKEN}"
curl --silent --show-error --fail-with-body --max-time 60 \
  -H "Authorization: Bearer $ESTATE_VAULT_DEPLOY_TOKEN" -H "Content-Type: application/json" \
  --data "{\"version\": \"$version\", \"weight\": $weight}" "$ESTATE_VAULT_DEPLOY_API/v1/envs/$env_name/shift"
echo
