# Gantry recipe for a plain server over SSH: helpers shared by deploy.sh, rollback.sh,
# status.sh and version.sh (sourced by them, not run).
#
# On the host, SSH_APP_DIR holds:
#   repo/                a git clone of the application (its origin has the release tags)
#   releases/<version>/  one folder per deployed version (git archive of its tag)
#   current              a symlink to releases/<version>: what the service runs
# A deploy fetches the tags, unpacks releases/<version> once, switches the symlink and runs
# SSH_RESTART; a rollback switches the symlink back to a release still there and restarts.
#
# Environment:
#   SSH_HOST             user@host; required
#   SSH_APP_DIR          the application's folder on the host (absolute path); required
#   SSH_RESTART          the command run on the host in SSH_APP_DIR after the switch, e.g.
#                        "sudo systemctl restart shop"; required for deploy and rollback
#   SSH_CHECK            command run there by status.sh (default: test -d current/)
#   SSH_HEALTH_URL       optional: status.sh also requires a 2xx from this URL
#   SSH_PRIVATE_KEY      optional: the private key itself (from a secret); written to a
#                        private temporary file for ssh -i, never printed
#   SSH_KNOWN_HOSTS      optional: a known_hosts file holding the host's key
#   SSH_OPTS             optional: more ssh options, e.g. "-p 2222"
#   SSH_TAG_PREFIX       release tags are <prefix><version> (default v)
#   SSH_KEEP             releases kept on the host (default 5; the serving one is never removed)
set -eu

TAG_PREFIX=${SSH_TAG_PREFIX-v}
KEEP=${SSH_KEEP:-5}

die() {
  printf 'ssh: %s\n' "$*" >&2
  exit 1
}
say() { printf 'ssh: %s\n' "$*"; }

command -v ssh >/dev/null 2>&1 || die "ssh is not installed"
[ -n "${SSH_HOST:-}" ] || die "SSH_HOST is not set (user@host)"
[ -n "${SSH_APP_DIR:-}" ] || die "SSH_APP_DIR is not set (the application's folder on the host)"
case $SSH_APP_DIR in
  /*) ;;
  *) die "SSH_APP_DIR must be an absolute path: $SSH_APP_DIR" ;;
esac
case $KEEP in
  '' | *[!0-9]* | 0) die "SSH_KEEP must be a number of releases (1 or more)" ;;
esac

check_version() {
  case $1 in
    '' | *[!A-Za-z0-9._+-]*) die "not a version: '$1'" ;;
  esac
}

# One word for the remote shell: $1 in single quotes.
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
key_opts=""
if [ -n "${SSH_PRIVATE_KEY:-}" ]; then
  (umask 077 && printf '%s\n' "$SSH_PRIVATE_KEY" >"$tmp/key")
  key_opts="-i $tmp/key -o IdentitiesOnly=yes"
fi
known_opts=""
if [ -n "${SSH_KNOWN_HOSTS:-}" ]; then
  known_opts="-o UserKnownHostsFile=$SSH_KNOWN_HOSTS -o StrictHostKeyChecking=yes"
fi

# remote ARG…: runs the shell script on standard input on the host, in SSH_APP_DIR, with ARG…
# as $1…. Its output is shown; a failed login or a refused host key is said as such.
remote() {
  args="$(q "$SSH_APP_DIR")"
  for a in "$@"; do args="$args $(q "$a")"; done
  rc=0
  # shellcheck disable=SC2086 # the option lists are meant to split into words
  ssh -o BatchMode=yes -o ConnectTimeout=15 $key_opts $known_opts ${SSH_OPTS:-} "$SSH_HOST" \
    "sh -s -- $args" 2>"$tmp/err" || rc=$?
  cat "$tmp/err" >&2
  case $rc in
    0) return 0 ;;
    255)
      if grep -q 'Host key verification failed\|REMOTE HOST IDENTIFICATION' "$tmp/err"; then
        die "the host key of $SSH_HOST is unknown or changed (SSH_KNOWN_HOSTS, or ssh-keyscan it once)"
      fi
      die "cannot log in to $SSH_HOST (ssh exit 255); check the deploy key and that it is in the host's authorized_keys"
      ;;
    *) die "the step on $SSH_HOST failed (exit $rc)" ;;
  esac
}
