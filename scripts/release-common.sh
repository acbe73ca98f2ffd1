# shellcheck shell=bash
# Shared by scripts/deploy and scripts/rollback (sourced, not run).
#
# Layout on the machine (DEPLOY_ROOT, default /srv/alphanode):
#   releases/<id>/     one copy of the code per release, with RELEASE (JSON: id, commit, deployed_at),
#                      .env -> ../../shared/.env, var -> ../../shared/var, staticfiles/ (its own)
#   current -> releases/<id>    what gunicorn serves; the master runs from this path (scripts/serve)
#   previous -> releases/<id>   what scripts/rollback goes back to
#   shared/.env        production settings (docs/production.env.example)
#   shared/var/        run-time files kept across releases
#   shared/gunicorn.pid, shared/log/gunicorn.log (when this script had to start gunicorn)
#   deploys.log        one JSON line per deploy or rollback, also recorded in the database (/ops/)

root=${DEPLOY_ROOT:-/srv/alphanode}
venv=${DEPLOY_VENV:-$root/venv}
python="$venv/bin/python"
pidfile="$root/shared/gunicorn.pid"
smoke_timeout=${SMOKE_TIMEOUT:-60}
# shellcheck disable=SC2034  # used by scripts/deploy
scripts_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

log() { printf '%s %s: %s\n' "$(date -u +%H:%M:%S)" "$(basename "$0")" "$*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date -u +%Y-%m-%dT%H:%M:%SZ; }

# One deploy or rollback at a time on this machine.
take_lock() {
  mkdir -p "$root"
  exec 9>"$root/deploy.lock"
  flock -n 9 || die "another deploy or rollback is running (lock: $root/deploy.lock); wait for it, then retry"
}

require_setup() {
  [[ -x "$python" ]] || die "no virtualenv at $venv: create it (python3.11 -m venv $venv) or set DEPLOY_VENV"
  [[ -f "$root/shared/.env" ]] || die "no settings at $root/shared/.env: copy docs/production.env.example there and fill it in"
  mkdir -p "$root/releases" "$root/shared/var" "$root/shared/log"
}

# Run manage.py inside a release directory (it reads the release's .env link).
manage() {
  local dir=$1
  shift
  (cd "$dir" && "$python" manage.py "$@")
}

release_of_link() {  # the release id a link (current, previous) points to, or nothing
  local target
  target=$(readlink "$root/$1" 2>/dev/null) || return 0
  basename "$target"
}

release_field() {  # release_field <release-id> <field>: a field of its RELEASE file
  "$python" -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2]) or "")' \
    "$root/releases/$1/RELEASE" "$2"
}

# Atomically point a link (current or previous) at a release: rename(2) replaces the old link.
point() {
  local link=$1 release=$2
  ln -sfn "releases/$release" "$root/.$link.new"
  mv -T "$root/.$link.new" "$root/$link"
}

# Note in the release's RELEASE file when it went live (/health and /ops/ show it).
mark_deployed() {
  "$python" - "$root/releases/$1/RELEASE" "$(now)" <<'PY'
import json, sys
path, when = sys.argv[1], sys.argv[2]
data = json.load(open(path))
data["deployed_at"] = when
open(path, "w").write(json.dumps(data) + "\n")
PY
}

master_pid() {  # the running gunicorn master's pid, or nothing
  local pid
  [[ -f "$pidfile" ]] || return 0
  pid=$(cat "$pidfile")
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then echo "$pid"; fi
}

# HUP the master: it re-reads gunicorn.conf.py from current/, starts new workers on the
# release current points to, and lets the old workers finish their requests. With no
# master running (first deploy), start one from the stable path.
reload_server() {
  local pid
  pid=$(master_pid)
  if [[ -n "$pid" ]]; then
    log "reloading gunicorn (master $pid, HUP)"
    kill -HUP "$pid"
  else
    log "gunicorn is not running: starting it (log: $root/shared/log/gunicorn.log)"
    DEPLOY_ROOT="$root" DEPLOY_VENV="$venv" setsid "$root/current/scripts/serve" \
      >>"$root/shared/log/gunicorn.log" 2>&1 </dev/null 9>&- &
    for _ in $(seq 100); do [[ -n "$(master_pid)" ]] && return 0; sleep 0.1; done
    die "gunicorn did not start; see $root/shared/log/gunicorn.log"
  fi
}

smoke() {  # smoke <release-id>: the running server answers as this release
  manage "$root/releases/$1" smoke_test --expect-release "$1" --timeout "$smoke_timeout"
}

# record <action> <release> <previous> <outcome> <started> <message> [migrations-file] [changes-file]
record() {
  local action=$1 release=$2 previous=$3 outcome=$4 started=$5 message=$6 migrations=${7:-} changes=${8:-}
  local commit=""
  [[ -f "$root/releases/$release/RELEASE" ]] && commit=$(release_field "$release" commit)
  "$python" -c 'import json, sys; keys = ("time", "action", "release", "commit", "previous", "outcome", "message"); print(json.dumps(dict(zip(keys, sys.argv[1:]))))' \
    "$(now)" "$action" "$release" "$commit" "$previous" "$outcome" "$message" >>"$root/deploys.log"
  local args=(--action "$action" --release "$release" --commit "$commit" --previous "$previous"
    --outcome "$outcome" --started-at "$started" --message "$message")
  [[ -n "$migrations" ]] && args+=(--migrations-file "$migrations")
  [[ -n "$changes" ]] && args+=(--changes-file "$changes")
  local dir="$root/releases/$release"
  [[ -d "$dir" ]] || dir="$root/current"
  # The database may be what failed: the deploys.log line above is the record of last resort.
  manage "$dir" record_deployment "${args[@]}" >/dev/null \
    || log "warning: could not record the $action in the database (it is in $root/deploys.log)"
}
