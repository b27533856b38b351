#!/bin/sh
# Exits 0 when every running deployment of ENV answers /api/health/ready with "ready".
set -eu
env_name=$1
: "${ESTATE_VAULT_DEPLOY_API:?set ESTATE_VAULT_DEPLOY_API (the platform API)}"
: "${ESTATE_VAULT_DEPLOY_TOKEN:?set ESTATE_VAULT_DEPLOY_TOKEN}"
state=$(curl --silent --show-error --fail-with-body --max-time 10 \
  -H "Authorization: Bearer $ESTATE_VAULT_DEPLOY_TOKEN" "$ESTATE_VAULT_DEPLOY_API/v1/envs/$env_name")
echo "$state"
echo "$state" | node -e '
  const s = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
  process.exit(s.deployments.length > 0 && s.deployments.every((d) => d.ready) ? 0 : 1);
'
