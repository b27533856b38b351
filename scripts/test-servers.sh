#!/bin/sh
# Installs the Debian packages of the servers the test suite starts (each test starts its own
# on 127.0.0.1 in a temporary folder and stops it): redis-server and prometheus. Does nothing
# when they are already there. Postgres needs no package: it comes from embedded-postgres.
set -eu
missing=""
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
command -v prometheus >/dev/null 2>&1 || missing="$missing prometheus"
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
  as_root=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root="sudo -n"
else
  echo "gantry tests need these Debian packages:$missing" >&2
  echo "install them as root: apt-get update && apt-get install -y$missing" >&2
  exit 1
fi
echo "installing test servers:$missing"
$as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
