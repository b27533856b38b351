#!/bin/sh
# Gantry recipe for Replit: moves the App's branch back to the commit tagged v<version> (a
# forced push: the newer commits stay on their tags) and waits until the published App reports
# <version>. Usage: rollback.sh <version>
# Runs the same git push as deploy.sh, then polls GET <app>/health.
. "$(dirname "$0")/lib.sh"
version=${1:-}
check_version "$version"
push_release "$version"
wait_serving "$version"
say "$version is serving again"
