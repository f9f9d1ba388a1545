# shellcheck shell=bash
# The private PostgreSQL cluster. Sourced by deploy/stack.sh, which sets
# OC_STATE and OC_PG_PORT. The standby of `stack.sh start --pg-standby` is
# in pg_standby.sh; the functions below taking an optional data directory
# or port (default: this cluster's) serve it too.
#
# Authentication is `trust` for the unix socket and 127.0.0.1: acceptable for
# this throwaway dev/test cluster only, which listens on 127.0.0.1 alone and
# keeps its socket inside the state directory. Never use it for real data.

OC_PG_START_TIMEOUT="${OC_PG_START_TIMEOUT:-60}"
OC_PG_STOP_TIMEOUT="${OC_PG_STOP_TIMEOUT:-60}"
OC_PG_DB="outcomes"
OC_PG_SUPERUSER="postgres"

oc_pg_bin() { printf '/usr/lib/postgresql/%s/bin' "$PG_MAJOR"; }
oc_pg_dir() { printf '%s/pg' "$OC_STATE"; }
oc_pg_data() { printf '%s/pg/data' "$OC_STATE"; }

# oc_as_pg CMD...: runs CMD as the postgres user when we are root (initdb
# and pg_ctl refuse to run as root), as ourselves otherwise.
oc_as_pg() {
  if oc_is_root; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# oc_pg_preflight: the PostgreSQL binaries are there, and as root the
# postgres user exists and can reach the state directory.
oc_pg_preflight() {
  local b
  for b in initdb pg_ctl pg_isready psql pg_basebackup; do
    [[ -x "$(oc_pg_bin)/${b}" ]] ||
      oc_die "$(oc_pg_bin)/${b} not found: apt-get install postgresql-${PG_MAJOR}"
  done
  if oc_is_root; then
    id postgres >/dev/null 2>&1 ||
      oc_die "no 'postgres' user to run PostgreSQL as: apt-get install postgresql-${PG_MAJOR} creates it"
    runuser -u postgres -- test -x "$OC_STATE" ||
      oc_die "the postgres user cannot reach ${OC_STATE}: make its parent directories searchable (chmod o+x) or set OUTCOMES_STACK_DIR elsewhere"
  fi
}

# oc_pg_conninfo DB [PORT]: a libpq connection string to the cluster (or
# to the one on PORT).
oc_pg_conninfo() {
  printf 'host=127.0.0.1 port=%s dbname=%s user=%s' "${2:-$OC_PG_PORT}" "$1" "$OC_PG_SUPERUSER"
}

# oc_pg_init: initdb once; our settings live in outcomes-stack.conf,
# included from postgresql.conf and rewritten at every start.
oc_pg_init() {
  local dir data
  dir="$(oc_pg_dir)"
  data="$(oc_pg_data)"
  mkdir -p "$dir"
  if oc_is_root; then
    chown postgres:postgres "$dir"
  fi
  if [[ -f "${data}/PG_VERSION" ]]; then
    return 0
  fi
  oc_info "postgres: initdb ${data} (auth trust, local only)"
  rm -rf "$data"
  if ! oc_as_pg "$(oc_pg_bin)/initdb" -D "$data" -U "$OC_PG_SUPERUSER" \
    --auth=trust --encoding=UTF8 --locale=C.UTF-8 --no-instructions \
    >"${dir}/initdb.log" 2>&1 9>&-; then
    tail -n 20 "${dir}/initdb.log" >&2
    rm -rf "$data"
    oc_die "postgres: initdb failed (log: ${dir}/initdb.log)"
  fi
  printf "\n# deploy/stack.sh\ninclude 'outcomes-stack.conf'\n" |
    oc_as_pg tee -a "${data}/postgresql.conf" >/dev/null
}

# oc_pg_write_config [DATA PORT LOG]: port, addresses, socket and logging
# settings, in DATA/outcomes-stack.conf (default: this cluster's; LOG names
# its pg_ctl -l file in a comment).
# shellcheck disable=SC2120 # its arguments are optional
oc_pg_write_config() {
  local dir data="${1:-$(oc_pg_data)}" port="${2:-$OC_PG_PORT}" log="${3:-pg/postgres.log}"
  dir="$(oc_pg_dir)"
  # A unix socket path is limited to 107 bytes.
  if [[ "${#dir}" -gt 90 ]]; then
    oc_die "postgres: state directory path too long for a unix socket (${#dir} > 90 bytes): set OUTCOMES_STACK_DIR to a shorter path"
  fi
  oc_as_pg tee "${data}/outcomes-stack.conf" >/dev/null <<CONF
# Written by deploy/stack.sh at every start; edits are lost.
port = ${port}
listen_addresses = '127.0.0.1'
unix_socket_directories = '${dir}'
fsync = on
synchronous_commit = on
# stderr goes to ${log} (pg_ctl -l).
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
log_min_duration_statement = -1
CONF
}

# oc_pg_running [DATA]: the postmaster of our data directory (or of DATA)
# is alive: the pid in postmaster.pid is a live process (not a zombie,
# which pg_ctl would count) running postgres on this data directory.
oc_pg_running() {
  local pid cmd data="${1:-$(oc_pg_data)}"
  pid="$(oc_pg_pid "$data")" || return 1
  cmd="$(oc_pid_cmdline "$pid")" || return 1
  [[ "$cmd" == *"postgres -D ${data} "* || "$cmd" == *"postgres -D ${data}" ]]
}

# oc_pg_clear_stale_pid [DATA PORT]: after a crash (kill -9), postmaster.pid
# and the socket's lock file name a dead process; PostgreSQL refuses to
# start while that pid looks alive (a zombie not yet reaped, or a reused
# pid). Only called when oc_pg_running is false. A lock held by a live
# postgres stays.
# shellcheck disable=SC2120 # its arguments are optional
oc_pg_clear_stale_pid() {
  local f pid data="${1:-$(oc_pg_data)}" port="${2:-$OC_PG_PORT}"
  for f in "${data}/postmaster.pid" "$(oc_pg_dir)/.s.PGSQL.${port}.lock"; do
    [[ -f "$f" ]] || continue
    pid="$(head -n 1 "$f" 2>/dev/null || true)"
    if oc_pid_alive "$pid" && [[ "$(cat "/proc/${pid}/comm" 2>/dev/null)" == postgres ]]; then
      continue
    fi
    oc_warn "postgres: removing stale ${f} (pid ${pid:-?} is gone)"
    rm -f "$f"
    if [[ "$f" == *.lock ]]; then
      rm -f "${f%.lock}"
    fi
  done
}

# oc_pg_pid [DATA]: the postmaster's pid (first line of postmaster.pid).
oc_pg_pid() {
  local pid
  pid="$(head -n 1 "${1:-$(oc_pg_data)}/postmaster.pid" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  printf '%s\n' "$pid"
}

# oc_pg_answers [PORT]: pg_isready says the server (on PORT) accepts
# connections.
# shellcheck disable=SC2120 # its arguments are optional
oc_pg_answers() {
  "$(oc_pg_bin)/pg_isready" -q -h 127.0.0.1 -p "${1:-$OC_PG_PORT}" \
    -U "$OC_PG_SUPERUSER" -d postgres -t 5 >/dev/null 2>&1
}

# oc_pg_create_db: creates the outcomes database when it is missing.
oc_pg_create_db() {
  local found
  found="$("$(oc_pg_bin)/psql" "$(oc_pg_conninfo postgres)" -XtAq -v ON_ERROR_STOP=1 \
    -c "SELECT 1 FROM pg_database WHERE datname = '${OC_PG_DB}'")" ||
    oc_die "postgres: cannot query the server on 127.0.0.1:${OC_PG_PORT}"
  if [[ "$found" != "1" ]]; then
    "$(oc_pg_bin)/psql" "$(oc_pg_conninfo postgres)" -XtAq -v ON_ERROR_STOP=1 \
      -c "CREATE DATABASE ${OC_PG_DB}" ||
      oc_die "postgres: CREATE DATABASE ${OC_PG_DB} failed"
    oc_info "postgres: created database ${OC_PG_DB}"
  fi
}

# oc_pg_start: initdb if needed, start, wait for pg_isready, create the db.
oc_pg_start() {
  local dir t0
  dir="$(oc_pg_dir)"
  oc_pg_init
  if oc_pg_running; then
    if oc_pg_answers; then
      oc_info "postgres: already running (pid $(oc_pg_pid), 127.0.0.1:${OC_PG_PORT})"
      oc_pg_create_db
      return 0
    fi
    oc_info "postgres: pid $(oc_pg_pid) is up but not accepting connections yet; waiting"
  else
    oc_port_free "$OC_PG_PORT" "postgres" || exit 1
    oc_pg_clear_stale_pid
    oc_pg_write_config
    t0="$(oc_now)"
    if ! oc_as_pg "$(oc_pg_bin)/pg_ctl" -D "$(oc_pg_data)" -l "${dir}/postgres.log" \
      -w -t "$OC_PG_START_TIMEOUT" start >"${dir}/pg_ctl.log" 2>&1 9>&-; then
      cat "${dir}/pg_ctl.log" >&2
      printf -- '--- last lines of %s ---\n' "${dir}/postgres.log" >&2
      tail -n 30 "${dir}/postgres.log" >&2
      oc_die "postgres: start failed (log: ${dir}/postgres.log)"
    fi
    oc_mark_started
    oc_info "postgres: started pid $(oc_pg_pid) on 127.0.0.1:${OC_PG_PORT} in $(oc_elapsed "$t0") s; log ${dir}/postgres.log"
  fi
  t0="$(oc_now)"
  while ! oc_pg_answers; do
    if [[ "$(oc_elapsed "$t0" | cut -d. -f1)" -ge "$OC_PG_START_TIMEOUT" ]]; then
      tail -n 30 "${dir}/postgres.log" >&2
      oc_die "postgres: not accepting connections on 127.0.0.1:${OC_PG_PORT} after ${OC_PG_START_TIMEOUT} s"
    fi
    sleep 0.2
  done
  oc_pg_create_db
}

# oc_pg_stop [DATA NAME LOG]: fast shutdown; immediate if that does not
# finish in time (default: this cluster; NAME prefixes the lines, LOG is
# named on failure).
oc_pg_stop() {
  local t0 data="${1:-$(oc_pg_data)}" name="${2:-postgres}" log="${3:-$(oc_pg_dir)/postgres.log}"
  if ! oc_pg_running "$data"; then
    oc_info "${name}: not running"
    return 0
  fi
  oc_info "${name}: stopping pid $(oc_pg_pid "$data")"
  t0="$(oc_now)"
  if ! oc_as_pg "$(oc_pg_bin)/pg_ctl" -D "$data" -m fast -w \
    -t "$OC_PG_STOP_TIMEOUT" stop >/dev/null 2>&1; then
    oc_warn "${name}: fast shutdown did not finish in ${OC_PG_STOP_TIMEOUT} s; immediate shutdown"
    oc_as_pg "$(oc_pg_bin)/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
      oc_die "${name}: could not stop the server (pid $(oc_pg_pid "$data")); see ${log}"
  fi
  oc_info "${name}: stopped ($(oc_elapsed "$t0") s)"
}

# oc_pg_status: prints the server's state; true when it accepts connections.
oc_pg_status() {
  if ! oc_pg_running; then
    printf 'postgres:   stopped\n'
    return 1
  fi
  if oc_pg_answers; then
    printf 'postgres:   running, pid %s, 127.0.0.1:%s, database %s (pg_isready ok)\n' \
      "$(oc_pg_pid)" "$OC_PG_PORT" "$OC_PG_DB"
    return 0
  fi
  printf 'postgres:   NOT ANSWERING, pid %s, 127.0.0.1:%s (see %s)\n' \
    "$(oc_pg_pid)" "$OC_PG_PORT" "$(oc_pg_dir)/postgres.log"
  return 1
}
