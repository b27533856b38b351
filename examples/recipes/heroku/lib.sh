# Gantry recipe for Heroku: helpers shared by deploy.sh, rollback.sh, status.sh and version.sh
# (sourced by them, not run). Talks to the Heroku Platform API
# (https://devcenter.heroku.com/articles/platform-api-reference), version 3.
#
# Environment:
#   HEROKU_API_KEY       an API token (heroku authorizations:create, or Account settings); required
#   HEROKU_APP           the app's name or id; required
#   HEROKU_API           API base URL (default https://api.heroku.com)
#   HEROKU_HEALTH_URL    optional: status.sh also requires a 2xx from this URL
#   HEROKU_POLL_SECONDS  pause between checks of a running build or release (default 5)
#   HEROKU_WAIT_SECONDS  how long a build plus its release may take (default 1200)
# The token is handed to curl on its standard input (-H @-), never as an argument, and never printed.
set -eu

HEROKU_API=${HEROKU_API:-https://api.heroku.com}
HEROKU_API=${HEROKU_API%/}
POLL=${HEROKU_POLL_SECONDS:-5}
WAIT=${HEROKU_WAIT_SECONDS:-1200}

die() {
  printf 'heroku: %s\n' "$*" >&2
  exit 1
}
say() { printf 'heroku: %s\n' "$*"; }

for tool in curl jq; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
[ -n "${HEROKU_API_KEY:-}" ] || die "HEROKU_API_KEY is not set (a Heroku API token)"
[ -n "${HEROKU_APP:-}" ] || die "HEROKU_APP is not set (the app's name)"
case $HEROKU_APP in
  *[!a-z0-9-]*) die "HEROKU_APP is not an app name or id: $HEROKU_APP" ;;
esac
APP=/apps/$HEROKU_APP

check_version() {
  case $1 in
    '' | *[!A-Za-z0-9._+-]*) die "not a version: '$1'" ;;
  esac
}

# The request headers that must not be arguments: the token, and a Range when asked for.
headers() {
  printf 'Authorization: Bearer %s\n' "$HEROKU_API_KEY"
  [ -z "$range" ] || printf 'Range: %s\n' "$range"
}

# api METHOD PATH [JSON [RANGE]]: prints the response body (200, 201 or 206 for a partial list).
# Call it as x=$(api …) || exit 1, never on the left of a pipe (the pipe would hide its failure).
# Any other answer ends the script with a message naming the request; 429 and 5xx are tried
# again (3 attempts).
api() {
  attempt=1
  range=${4:-}
  while :; do
    code=0
    set -- "$1" "$2" "${3:-}"
    if [ -n "$3" ]; then
      out=$(headers |
        curl -sS --fail-with-body --max-time 30 -X "$1" -H @- \
          -H 'Accept: application/vnd.heroku+json; version=3' -H 'Content-Type: application/json' \
          --data-binary "$3" -w '\n%{http_code}' "$HEROKU_API$2") || code=$?
    else
      out=$(headers |
        curl -sS --fail-with-body --max-time 30 -X "$1" -H @- \
          -H 'Accept: application/vnd.heroku+json; version=3' -w '\n%{http_code}' "$HEROKU_API$2") || code=$?
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
    000 | '') die "cannot reach $HEROKU_API ($1 $2, curl exit $code)" ;;
    401) die "Heroku refused the API token (401 on $1 $2${detail:+: $detail}); check HEROKU_API_KEY" ;;
    403) die "the token may not do this (403 on $1 $2${detail:+: $detail}); it needs write access to $HEROKU_APP" ;;
    404) die "not found (404 on $1 $2${detail:+: $detail}); check HEROKU_APP=$HEROKU_APP" ;;
    *) die "$1 $2 answered $status${detail:+: $detail}" ;;
  esac
}

# Waits until release $1 (id) has status succeeded; fails on failed or after WAIT seconds.
wait_release() {
  deadline=$(($(date +%s) + WAIT))
  seen=""
  while :; do
    release=$(api GET "$APP/releases/$1") || exit 1
    state=$(printf '%s' "$release" | jq -r '.status')
    [ "$state" = "$seen" ] || say "release v$(printf '%s' "$release" | jq -r '.version'): $state"
    seen=$state
    case $state in
      succeeded) return 0 ;;
      failed) die "release $1 failed (its release phase output is in the app's Activity tab)" ;;
    esac
    [ "$(date +%s)" -lt "$deadline" ] || die "release $1 is still $state after ${WAIT}s"
    sleep "$POLL"
  done
}

# The builds of the app, newest first (JSON array).
builds() {
  api GET "$APP/builds" "" "created_at ..; order=desc, max=200"
}

# The current release (JSON), from the newest releases; nothing when there is none.
current_release() {
  list=$(api GET "$APP/releases" "" "version ..; order=desc, max=50") || exit 1
  printf '%s' "$list" | jq -c '[.[] | select(.current == true)][0] // empty'
}
