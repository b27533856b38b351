#!/bin/sh
# Gantry recipe for Replit: pushes the commit tagged v<version> to the branch the Replit App
# follows, then waits until the published App reports <version>. Usage: deploy.sh <version>
# Runs git push <remote> +<commit>:refs/heads/<branch> refs/tags/v<version>, then polls
# GET <app>/health.
. "$(dirname "$0")/lib.sh"
version=${1:-}
check_version "$version"
push_release "$version"
wait_serving "$version"
say "$version is serving"
