#!/bin/sh
# Prints the version that serves ENV (the stable one while a canary runs beside it).
set -eu
env_name=$1
: "${ESTATE_VAULT_DEPLOY_API:?set ESTATE_VAULT_DEPLOY_API (the platform API)}"
curl --silent --show-error --fail-with-body --max-time 10 "$ESTATE_VAULT_DEPLOY_API/v1/envs/$env_name/version" |
  node -e 'const s = JSON.parse(require("node:fs").readFileSync(0, "utf8")); if (s.version) console.log(s.version);'
