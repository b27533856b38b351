# Gantry recipe for Netlify: helpers shared by deploy.sh, rollback.sh, status.sh and version.sh
# (sourced by them, not run). Talks to Netlify's public REST API
# (https://docs.netlify.com/api/get-started/, https://open-api.netlify.com).
#
# Environment:
#   NETLIFY_AUTH_TOKEN    a personal access token (User settings → Applications); required
#   NETLIFY_SITE_ID       the site's id (Site configuration → Site details → Site ID); required
#   NETLIFY_API           API base URL (default https://api.netlify.com/api/v1)
#   NETLIFY_HEALTH_URL    optional: status.sh also requires a 2xx from this URL
#   NETLIFY_POLL_SECONDS  pause between checks of a processing deploy (default 3)
#   NETLIFY_WAIT_SECONDS  how long a deploy may take to be ready (default 600)
# Deploys are titled v<version>; that title is how version.sh and rollback.sh know them.
# The token is handed to curl on its standard input (-H @-), never as an argument, and never printed.
set -eu

NETLIFY_API=${NETLIFY_API:-https://api.netlify.com/api/v1}
NETLIFY_API=${NETLIFY_API%/}
POLL=${NETLIFY_POLL_SECONDS:-3}
WAIT=${NETLIFY_WAIT_SECONDS:-600}

die() {
  printf 'netlify: %s\n' "$*" >&2
  exit 1
}
say() { printf 'netlify: %s\n' "$*"; }

for tool in curl jq; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
[ -n "${NETLIFY_AUTH_TOKEN:-}" ] || die "NETLIFY_AUTH_TOKEN is not set (a Netlify personal access token)"
[ -n "${NETLIFY_SITE_ID:-}" ] || die "NETLIFY_SITE_ID is not set (the site's id)"
case $NETLIFY_SITE_ID in
  *[!A-Za-z0-9._-]*) die "NETLIFY_SITE_ID is not a site id: $NETLIFY_SITE_ID" ;;
esac
SITE=/sites/$NETLIFY_SITE_ID

check_version() {
  case $1 in
    '' | *[!A-Za-z0-9._+-]*) die "not a version: '$1'" ;;
  esac
}

token_header() { printf 'Authorization: Bearer %s\n' "$NETLIFY_AUTH_TOKEN"; }

# api METHOD PATH [JSON | @zipfile]: prints the response body. Call it as x=$(api …) || exit 1,
# never on the left of a pipe (the pipe would hide its failure). Any answer but 2xx ends the
# script with a message naming the request; 429 and 5xx are tried again (3 attempts).
api() {
  attempt=1
  while :; do
    code=0
    case ${3:-} in
      '')
        out=$(token_header | curl -sS --fail-with-body --max-time 60 -X "$1" -H @- \
          -w '\n%{http_code}' "$NETLIFY_API$2") || code=$?
        ;;
      @*)
        out=$(token_header | curl -sS --fail-with-body --max-time 300 -X "$1" -H @- \
          -H 'Content-Type: application/zip' --data-binary "$3" -w '\n%{http_code}' "$NETLIFY_API$2") || code=$?
        ;;
      *)
        out=$(token_header | curl -sS --fail-with-body --max-time 60 -X "$1" -H @- \
          -H 'Content-Type: application/json' --data-binary "$3" -w '\n%{http_code}' "$NETLIFY_API$2") || code=$?
        ;;
    esac
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
    000 | '') die "cannot reach $NETLIFY_API ($1 $2, curl exit $code)" ;;
    401) die "Netlify refused the access token (401 on $1 $2${detail:+: $detail}); check NETLIFY_AUTH_TOKEN" ;;
    403) die "the token may not do this (403 on $1 $2${detail:+: $detail})" ;;
    404) die "not found (404 on $1 $2${detail:+: $detail}); check NETLIFY_SITE_ID=$NETLIFY_SITE_ID" ;;
    *) die "$1 $2 answered $status${detail:+: $detail}" ;;
  esac
}

# Waits until the site's published deploy is $1.
wait_published() {
  deadline=$(($(date +%s) + WAIT))
  while :; do
    site=$(api GET "$SITE") || exit 1
    [ "$(printf '%s' "$site" | jq -r '.published_deploy.id // empty')" != "$1" ] || return 0
    [ "$(date +%s)" -lt "$deadline" ] || die "deploy $1 is not published after ${WAIT}s"
    sleep "$POLL"
  done
}
