# Gantry recipe for Replit: helpers shared by deploy.sh, rollback.sh, status.sh and version.sh
# (sourced by them, not run). Replit documents no public API to publish a Replit App: a
# publish takes the App's code as it is in its git history (Publish → Republish, or Agent).
# These scripts move the branch the App's code follows to the release's commit (a git push to
# the App's remote, e.g. the GitHub repository it is connected to), then wait for the published
# App to report the version on its health endpoint. Something on the Replit side must republish
# after the push (a person pressing Republish, or the team's own hook); the wait is bounded.
#
# Environment:
#   REPLIT_GIT_REMOTE     the git remote the App's code is pulled from; required for deploy/rollback
#   REPLIT_BRANCH         the branch it follows (default main)
#   REPLIT_GIT_TOKEN      optional: an HTTPS token for that remote, sent as an HTTP header
#                         (never in the URL, never as an argument)
#   REPLIT_APP_URL        the published App's URL (https://<name>.replit.app); required
#   REPLIT_HEALTH_PATH    its health endpoint, answering {"status":"ok","version":"…"} (default /health)
#   REPLIT_TAG_PREFIX     release tags are <prefix><version> (default v)
#   REPLIT_POLL_SECONDS   pause between health checks (default 5)
#   REPLIT_WAIT_SECONDS   how long the App may take to serve the version (default 900)
set -eu

BRANCH=${REPLIT_BRANCH:-main}
TAG_PREFIX=${REPLIT_TAG_PREFIX-v}
POLL=${REPLIT_POLL_SECONDS:-5}
WAIT=${REPLIT_WAIT_SECONDS:-900}

die() {
  printf 'replit: %s\n' "$*" >&2
  exit 1
}
say() { printf 'replit: %s\n' "$*"; }

for tool in curl jq git; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
[ -n "${REPLIT_APP_URL:-}" ] || die "REPLIT_APP_URL is not set (the published App's URL)"
HEALTH=${REPLIT_APP_URL%/}${REPLIT_HEALTH_PATH:-/health}

check_version() {
  case $1 in
    '' | *[!A-Za-z0-9._+-]*) die "not a version: '$1'" ;;
  esac
}

# Removes user:password@ from URLs in what git printed.
scrub() { sed 's#://[^/@ ]*@#://#g'; }

# Moves REPLIT_BRANCH on the remote to the commit tagged <prefix>$1 and pushes the tag.
push_release() {
  [ -n "${REPLIT_GIT_REMOTE:-}" ] || die "REPLIT_GIT_REMOTE is not set (the App's git remote)"
  sha=$(git rev-parse --verify --quiet "refs/tags/$TAG_PREFIX$1^{commit}") ||
    die "no tag $TAG_PREFIX$1 in $(pwd) (run git fetch --tags)"
  GIT_TERMINAL_PROMPT=0
  export GIT_TERMINAL_PROMPT
  if [ -n "${REPLIT_GIT_TOKEN:-}" ]; then
    basic=$(printf 'x-access-token:%s' "$REPLIT_GIT_TOKEN" | base64 | tr -d '\n')
    GIT_CONFIG_COUNT=1
    GIT_CONFIG_KEY_0=http.extraHeader
    GIT_CONFIG_VALUE_0="Authorization: Basic $basic"
    export GIT_CONFIG_COUNT GIT_CONFIG_KEY_0 GIT_CONFIG_VALUE_0
  fi
  log=$(mktemp)
  if ! git push --porcelain "$REPLIT_GIT_REMOTE" "+$sha:refs/heads/$BRANCH" "refs/tags/$TAG_PREFIX$1" >"$log" 2>&1; then
    scrub <"$log" >&2
    rm -f "$log"
    case $REPLIT_GIT_REMOTE in
      http://* | https://*) hint="check REPLIT_GIT_TOKEN (it needs write access to the repository)" ;;
      *) hint="check the SSH key that may push to it" ;;
    esac
    die "the push of $TAG_PREFIX$1 to the App's remote was refused; $hint"
  fi
  rm -f "$log"
  say "$BRANCH is at $sha ($TAG_PREFIX$1) on $(printf '%s' "$REPLIT_GIT_REMOTE" | scrub)"
}

# The App's health answer (JSON); fails when it does not answer 2xx.
health() {
  curl -sS --fail --max-time 10 -H 'Accept: application/json' "$HEALTH" || die "$HEALTH does not answer"
}

# Waits until the published App reports version $1.
wait_serving() {
  say "waiting up to ${WAIT}s for $HEALTH to report $1 (republish the App if nothing on the Replit side does)"
  deadline=$(($(date +%s) + WAIT))
  while :; do
    served=$(curl -sS --fail --max-time 10 "$HEALTH" 2>/dev/null | jq -r '.version // empty' 2>/dev/null || true)
    [ "${served#v}" != "${1#v}" ] || return 0
    [ "$(date +%s)" -lt "$deadline" ] || die "$HEALTH still reports '${served:-nothing}', not $1, after ${WAIT}s"
    sleep "$POLL"
  done
}
