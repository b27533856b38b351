#!/bin/sh
# Deploy one version of estate-vault: ./scripts/deploy.sh ENV VERSION (also the rollback, with
# the previous version). Talks to the hosting platform's API at $ESTATE_VAULT_DEPLOY_API with
# $ESTATE_VAULT_DEPLOY_TOKEN; in the stand-in that is standin/platform.mjs, whose rules say what
# a deploy does (a new version starts as a canary with no traffic; one that served before comes
# back at once).
set -eu
env_name=$1
version=$2
: "${ESTATE_VAULT_DEPLOY_API:?set ESTATE_VAULT_DEPLOY_API (the platform API)}"
: "${ESTATE_VAULT_DEPLOY_TOKEN:?set ESTATE_VAULT_DEPLOY_TOKEN}"
curl --silent --show-error --fail-with-body --max-time 60 \
  -H "Authorization: Bearer $ESTATE_VAULT_DEPLOY_TOKEN" -H "Content-Type: application/json" \
  --data "{\"version\": \"$version\"}" "$ESTATE_VAULT_DEPLOY_API/v1/envs/$env_name/deploy"
echo
