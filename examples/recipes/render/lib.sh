# Gantry recipe for Render: helpers shared by deploy.sh, rollback.sh, status.sh and version.sh
# (sourced by them, not run). Talks to Render's public REST API (https://api-docs.render.com).
#
# Environment:
#   RENDER_API_KEY       a Render API key (Account settings → API keys); required
#   RENDER_SERVICE_ID    the service's id (srv-…); required
#   RENDER_API           API base URL (default https://api.render.com/v1)
#   RENDER_TAG_PREFIX    release tags are <prefix><version> (default v)
#   RENDER_HEALTH_URL    optional: status.sh also requires a 2xx from this URL
#   RENDER_POLL_SECONDS  pause between checks of a running deploy (default 5)
#   RENDER_WAIT_SECONDS  how long a deploy or rollback may take (default 1200)
# The key is handed to curl on its standard input (-H @-), never as an argument, and never printed.
set -eu

RENDER_API=${RENDER_API:-https://api.render.com/v1}
RENDER_API=${RENDER_API%/}
TAG_PREFIX=${RENDER_TAG_PREFIX-v}
POLL=${RENDER_POLL_SECONDS:-5}
WAIT=${RENDER_WAIT_SECONDS:-1200}

die() {
  printf 'render: %s\n' "$*" >&2
  exit 1
}
say() { printf 'render: %s\n' "$*"; }

for tool in curl jq git; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
[ -n "${RENDER_API_KEY:-}" ] || die "RENDER_API_KEY is not set (a Render API key)"
[ -n "${RENDER_SERVICE_ID:-}" ] || die "RENDER_SERVICE_ID is not set (the service's id, srv-...)"
case $RENDER_SERVICE_ID in
  *[!A-Za-z0-9_-]*) die "RENDER_SERVICE_ID is not a service id: $RENDER_SERVICE_ID" ;;
esac
SERVICE=/services/$RENDER_SERVICE_ID

check_version() {
  case $1 in
    '' | *[!A-Za-z0-9._+-]*) die "not a version: '$1'" ;;
  esac
}

# The commit the release tag of version $1 points at, from this checkout's tags.
commit_of() {
  git rev-parse --verify --quiet "refs/tags/$TAG_PREFIX$1^{commit}" ||
    die "no tag $TAG_PREFIX$1 in $(pwd) (run git fetch --tags)"
}

# The version whose release tag points at commit $1; nothing when no tag does.
version_of() {
  git tag --points-at "$1" --list "$TAG_PREFIX*" | sed -n "s/^$TAG_PREFIX//p" | head -n 1
}

# api METHOD PATH [JSON]: prints the response body. Call it as x=$(api …) || exit 1, never on
# the left of a pipe (the pipe would hide its failure). Any answer but 2xx ends the script with a
# message naming the request; 429 and 5xx are tried again (3 attempts).
api() {
  attempt=1
  while :; do
    code=0
    if [ $# -ge 3 ]; then
      out=$(printf 'Authorization: Bearer %s\n' "$RENDER_API_KEY" |
        curl -sS --fail-with-body --max-time 30 -X "$1" -H @- -H 'Accept: application/json' \
          -H 'Content-Type: application/json' --data-binary "$3" -w '\n%{http_code}' "$RENDER_API$2") || code=$?
    else
      out=$(printf 'Authorization: Bearer %s\n' "$RENDER_API_KEY" |
        curl -sS --fail-with-body --max-time 30 -X "$1" -H @- -H 'Accept: application/json' \
          -w '\n%{http_code}' "$RENDER_API$2") || code=$?
    fi
    status=$(printf '%s\n' "$out" | tail -n 1)
    body=$(printf '%s\n' "$out" | sed '$d')
    case $status in
      2??) printf '%s\n' "$body"; return 0 ;;
      429 | 5??)
        if [ "$attempt" -lt 3 ]; then
          attempt=$((attempt + 1))
          sleep "$POLL"
          continue
        fi
        ;;
    esac
    break
  done
  detail=$(printf '%s' "$body" | jq -r '.message // empty' 2>/dev/null || true)
  [ -n "$detail" ] || detail=$(printf '%s' "$body" | head -c 200)
  case $status in
    000 | '') die "cannot reach $RENDER_API ($1 $2, curl exit $code)" ;;
    401) die "Render refused the API key (401 on $1 $2${detail:+: $detail}); check RENDER_API_KEY" ;;
    403) die "the API key may not do this (403 on $1 $2${detail:+: $detail})" ;;
    404) die "not found (404 on $1 $2${detail:+: $detail}); check RENDER_SERVICE_ID=$RENDER_SERVICE_ID" ;;
    *) die "$1 $2 answered $status${detail:+: $detail}" ;;
  esac
}

# Waits until deploy $1 is live; fails when it ends otherwise or WAIT seconds pass.
wait_live() {
  deadline=$(($(date +%s) + WAIT))
  seen=""
  while :; do
    deploy=$(api GET "$SERVICE/deploys/$1") || exit 1
    state=$(printf '%s' "$deploy" | jq -r '.status')
    [ "$state" = "$seen" ] || say "deploy $1: $state"
    seen=$state
    case $state in
      live) return 0 ;;
      build_failed | update_failed | pre_deploy_failed | canceled | deactivated)
        die "deploy $1 ended $state (see the service's Events in the Render Dashboard)" ;;
    esac
    [ "$(date +%s)" -lt "$deadline" ] || die "deploy $1 is still $state after ${WAIT}s"
    sleep "$POLL"
  done
}

# The newest deploy whose commit is $1 and that went live once (live or deactivated), as JSON.
deploy_of_commit() {
  list=$(api GET "$SERVICE/deploys?limit=100") || exit 1
  printf '%s' "$list" | jq -c --arg sha "$1" '[.[].deploy | select(.commit.id == $sha and (.status == "live" or .status == "deactivated"))][0] // empty'
}

# The deploy that serves now, as JSON (nothing when none is live).
live_deploy() {
  list=$(api GET "$SERVICE/deploys?limit=20") || exit 1
  printf '%s' "$list" | jq -c '[.[].deploy | select(.status == "live")][0] // empty'
}
