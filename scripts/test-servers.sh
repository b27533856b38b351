#!/bin/sh
# Installs the Debian packages of the servers the test suite starts (each test starts its own
# on 127.0.0.1 in a temporary folder and stops it): redis-server, prometheus, and Debian's
# PostgreSQL for the restore-from-dump tests (pg_dump and pg_restore refuse a server newer
# than themselves, so those tests use the server that comes with them); and the tools some
# tests drive: chromium (the dashboard, through playwright-core) and xmllint (libxml2-utils:
# the JUnit report against its XSD), and openssh-server (the SSH deploy recipe's tests log in
# to their own sshd on 127.0.0.1). Does nothing when they are already there. Gantry's own
# Postgres comes from embedded-postgres.
set -eu
missing=""
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
command -v prometheus >/dev/null 2>&1 || missing="$missing prometheus"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v xmllint >/dev/null 2>&1 || missing="$missing libxml2-utils"
command -v /usr/sbin/sshd >/dev/null 2>&1 || missing="$missing openssh-server"
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
# No cluster of its own on port 5432: the tests start their servers in temporary folders.
$as_root mkdir -p /etc/postgresql-common
[ -f /etc/postgresql-common/createcluster.conf ] ||
  echo "create_main_cluster = false" | $as_root tee /etc/postgresql-common/createcluster.conf >/dev/null
$as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  -o Dpkg::Options::=--force-confold $missing >/dev/null
