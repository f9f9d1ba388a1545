# shellcheck shell=bash
# The PostgreSQL standby of `deploy/stack.sh start --pg-standby`: a second
# private cluster in <state>/pg/standby on its own port, made once with
# pg_basebackup from the primary (<state>/pg/data), streaming from it
# through the physical replication slot standby1 as application_name
# standby1. Once it streams, the primary's synchronous_standby_names names
# it: with synchronous_commit = on a commit on the primary returns only once
# the standby has flushed it, so that no acknowledged commit is lost when
# the primary dies (pg-kill-primary) and the standby is promoted
# (pg-promote). While the standby is down, commits on the primary wait.
# The standby never has synchronous_standby_names: promoted, it has no
# standby of its own and commits alone.
#
# After a promotion (pg/standby without standby.signal) pg/data is stale:
# start never starts it again (two primaries would both take writes), only
# the promoted node; to have a primary and a standby again, stop the stack
# and delete <state>/pg (start then makes both afresh: the data is lost).
#
# Sourced by deploy/stack.sh, which sets OC_STATE, OC_PG_PORT and, from
# stack.env, OC_PG_STANDBY_PORT (unset: no standby). Replication
# connections from 127.0.0.1 use trust, as every other (pg.sh).
#
#   <state>/pg/standby/         data directory (outcomes-stack.conf rewritten at every start)
#   <state>/pg/standby.log      its log (pg_ctl -l);  pg/.s.PGSQL.<port>  its socket
#   <state>/pg/basebackup.log   pg_basebackup's output

OC_PG_STANDBY_NAME="standby1" # its application_name, and its slot's name

oc_pg_standby_data() { printf '%s/pg/standby' "$OC_STATE"; }
oc_pg_standby_log() { printf '%s/pg/standby.log' "$OC_STATE"; }

# oc_pg_has_standby: the stack has a standby (stack.env names its port).
oc_pg_has_standby() { [[ -n "${OC_PG_STANDBY_PORT:-}" ]]; }

# oc_pg_standby_promoted: the standby exists and was promoted (pg_ctl
# promote removes its standby.signal).
oc_pg_standby_promoted() {
  [[ -f "$(oc_pg_standby_data)/PG_VERSION" && ! -f "$(oc_pg_standby_data)/standby.signal" ]]
}

# oc_pg_multi_conninfo DB: a conninfo naming both nodes, primary first;
# libpq takes the first that accepts writes (target_session_attrs).
oc_pg_multi_conninfo() {
  printf 'host=127.0.0.1,127.0.0.1 port=%s,%s dbname=%s user=%s target_session_attrs=read-write' \
    "$OC_PG_PORT" "$OC_PG_STANDBY_PORT" "$1" "$OC_PG_SUPERUSER"
}

# oc_pg_query PORT SQL: runs SQL in database postgres on PORT, prints the
# result (unaligned, tuples only).
oc_pg_query() {
  "$(oc_pg_bin)/psql" "$(oc_pg_conninfo postgres "$1")" -XtAq -v ON_ERROR_STOP=1 -c "$2" 2>&1
}

# oc_pg_wait_for PORT SQL WANT WHAT: polls SQL on PORT until it prints
# WANT; dies naming WHAT after OC_PG_START_TIMEOUT seconds.
oc_pg_wait_for() {
  local port="$1" sql="$2" want="$3" what="$4" t0 got=""
  t0="$(oc_now)"
  while ! got="$(oc_pg_query "$port" "$sql")" || [[ "$got" != "$want" ]]; do
    if [[ "$(oc_elapsed "$t0" | cut -d. -f1)" -ge "$OC_PG_START_TIMEOUT" ]]; then
      oc_die "postgres: ${what} after ${OC_PG_START_TIMEOUT} s (got '${got}'; logs $(oc_pg_dir)/postgres.log, $(oc_pg_standby_log))"
    fi
    sleep 0.1
  done
}

# oc_pg_standby_ports_free: the ports start is about to bind are free.
oc_pg_standby_ports_free() {
  if ! oc_pg_standby_promoted && ! oc_pg_running; then
    oc_port_free "$OC_PG_PORT" "postgres" || return 1
  fi
  if ! oc_pg_running "$(oc_pg_standby_data)"; then
    oc_port_free "$OC_PG_STANDBY_PORT" "postgres standby" || return 1
  fi
}

# oc_pg_standby_create: the standby's data directory, once, by
# pg_basebackup from the running primary (into pg/standby.tmp, renamed
# when complete), with the replication slot and standby.signal.
oc_pg_standby_create() {
  local data tmp log slot="$OC_PG_STANDBY_NAME" t0
  data="$(oc_pg_standby_data)"
  [[ -f "${data}/PG_VERSION" ]] && return 0
  tmp="${data}.tmp"
  log="$(oc_pg_dir)/basebackup.log"
  t0="$(oc_now)"
  if ! awk '$1 == "host" && $2 == "replication" && $4 == "127.0.0.1/32" { f = 1 } END { exit !f }' \
    "$(oc_pg_data)/pg_hba.conf"; then
    printf 'host    replication     all             127.0.0.1/32            trust\n' |
      oc_as_pg tee -a "$(oc_pg_data)/pg_hba.conf" >/dev/null
    oc_as_pg "$(oc_pg_bin)/pg_ctl" -D "$(oc_pg_data)" reload >/dev/null 2>&1 9>&- ||
      oc_die "postgres: reload after allowing replication connections failed"
  fi
  oc_pg_query "$OC_PG_PORT" "SELECT pg_create_physical_replication_slot('${slot}', true)
    WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = '${slot}')" >/dev/null ||
    oc_die "postgres: cannot create the replication slot ${slot} on 127.0.0.1:${OC_PG_PORT}"
  oc_info "postgres standby: pg_basebackup of 127.0.0.1:${OC_PG_PORT} into ${data} (slot ${slot})"
  rm -rf "$tmp"
  if ! oc_as_pg "$(oc_pg_bin)/pg_basebackup" -h 127.0.0.1 -p "$OC_PG_PORT" -U "$OC_PG_SUPERUSER" \
    -D "$tmp" -X stream -S "$slot" -c fast >"$log" 2>&1 9>&-; then
    tail -n 20 "$log" >&2
    rm -rf "$tmp"
    oc_die "postgres standby: pg_basebackup failed (log: ${log})"
  fi
  # A standby; and never a synchronous_standby_names of its own.
  oc_as_pg touch "${tmp}/standby.signal"
  oc_as_pg sed -i '/^[[:space:]]*synchronous_standby_names/d' "${tmp}/postgresql.auto.conf"
  mv "$tmp" "$data"
  oc_info "postgres standby: base backup done ($(oc_elapsed "$t0") s)"
}

# oc_pg_standby_write_config: the standby's outcomes-stack.conf: pg.sh's
# settings on its own port, plus where it streams from.
oc_pg_standby_write_config() {
  local data
  data="$(oc_pg_standby_data)"
  oc_pg_write_config "$data" "$OC_PG_STANDBY_PORT" pg/standby.log
  oc_as_pg tee -a "${data}/outcomes-stack.conf" >/dev/null <<CONF
# The standby of 127.0.0.1:${OC_PG_PORT} (stack.sh start --pg-standby); without
# standby.signal (promoted) the two lines below are ignored.
primary_conninfo = 'host=127.0.0.1 port=${OC_PG_PORT} user=${OC_PG_SUPERUSER} application_name=${OC_PG_STANDBY_NAME}'
primary_slot_name = '${OC_PG_STANDBY_NAME}'
hot_standby = on
wal_retrieve_retry_interval = '1s'
# Never a synchronous standby of its own: promoted, it must commit alone.
synchronous_standby_names = ''
CONF
}

# oc_pg_standby_start: makes the standby if needed, starts it, waits until
# it accepts connections.
oc_pg_standby_start() {
  local data log t0
  data="$(oc_pg_standby_data)"
  log="$(oc_pg_standby_log)"
  oc_pg_standby_create
  if oc_pg_running "$data"; then
    oc_info "postgres standby: already running (pid $(oc_pg_pid "$data"), 127.0.0.1:${OC_PG_STANDBY_PORT})"
  else
    oc_port_free "$OC_PG_STANDBY_PORT" "postgres standby" || exit 1
    oc_pg_clear_stale_pid "$data" "$OC_PG_STANDBY_PORT"
    oc_pg_standby_write_config
    t0="$(oc_now)"
    if ! oc_as_pg "$(oc_pg_bin)/pg_ctl" -D "$data" -l "$log" -w -t "$OC_PG_START_TIMEOUT" \
      start >"$(oc_pg_dir)/pg_ctl.log" 2>&1 9>&-; then
      cat "$(oc_pg_dir)/pg_ctl.log" >&2
      tail -n 30 "$log" >&2
      oc_die "postgres standby: start failed (log: ${log})"
    fi
    oc_mark_started
    oc_info "postgres standby: started pid $(oc_pg_pid "$data") on 127.0.0.1:${OC_PG_STANDBY_PORT} in $(oc_elapsed "$t0") s; log ${log}"
  fi
  oc_pg_wait_for "$OC_PG_STANDBY_PORT" "SELECT 1" 1 "the standby does not accept connections"
}

# oc_pg_standby_sync_on: waits until the standby streams from the primary,
# then makes it the primary's synchronous standby (its config rewritten
# with synchronous_standby_names, reloaded) and waits until it is one.
oc_pg_standby_sync_on() {
  local name="$OC_PG_STANDBY_NAME"
  oc_pg_wait_for "$OC_PG_PORT" \
    "SELECT state FROM pg_stat_replication WHERE application_name = '${name}'" streaming \
    "the standby does not stream from the primary"
  if [[ "$(oc_pg_query "$OC_PG_PORT" 'SHOW synchronous_standby_names')" != "$name" ]]; then
    oc_pg_write_config
    oc_as_pg tee -a "$(oc_pg_data)/outcomes-stack.conf" >/dev/null <<CONF
# Synchronous replication to the standby (stack.sh start --pg-standby): a
# commit returns once ${name} has flushed it; while it is down, commits wait.
synchronous_standby_names = '${name}'
CONF
    oc_as_pg "$(oc_pg_bin)/pg_ctl" -D "$(oc_pg_data)" reload >/dev/null 2>&1 9>&- ||
      oc_die "postgres: reload for synchronous replication failed"
  fi
  oc_pg_wait_for "$OC_PG_PORT" \
    "SELECT sync_state FROM pg_stat_replication WHERE application_name = '${name}'" sync \
    "the standby is not synchronous"
  oc_info "postgres: synchronous replication to ${name} (127.0.0.1:${OC_PG_STANDBY_PORT}) streaming"
}

# oc_pg_ha_start: the primary and its standby (or, once promoted, the
# promoted standby alone), the outcomes database, synchronous replication.
oc_pg_ha_start() {
  if oc_pg_standby_promoted; then
    oc_warn "postgres: the standby was promoted (stack.sh pg-promote): starting it alone; the old primary ${OC_STATE}/pg/data is stale and stays down (to start afresh: stack.sh stop; rm -rf ${OC_STATE}/pg; stack.sh start)"
    oc_pg_standby_start
    return 0
  fi
  oc_pg_start
  oc_pg_standby_start
  oc_pg_standby_sync_on
}

# oc_pg_standby_stop: fast shutdown of the standby (after the primary's).
oc_pg_standby_stop() {
  oc_pg_stop "$(oc_pg_standby_data)" "postgres standby" "$(oc_pg_standby_log)"
}

# oc_pg_ha_status: prints the state of both nodes; true when the primary
# accepts connections and the standby streams synchronously from it, or,
# once promoted, when the promoted node accepts writes and the old primary
# is down.
oc_pg_ha_status() {
  local data rc=0 rep
  data="$(oc_pg_standby_data)"
  if oc_pg_standby_promoted; then
    if oc_pg_running; then
      printf 'postgres:   RUNNING, pid %s, 127.0.0.1:%s, although the standby was promoted: two primaries\n' \
        "$(oc_pg_pid)" "$OC_PG_PORT"
      rc=1
    else
      printf 'postgres:   stopped (old primary, 127.0.0.1:%s; stale since the standby was promoted)\n' "$OC_PG_PORT"
    fi
  else
    oc_pg_status || rc=1
  fi
  if ! oc_pg_running "$data"; then
    printf 'pg standby: stopped (127.0.0.1:%s)\n' "$OC_PG_STANDBY_PORT"
    return 1
  fi
  if oc_pg_standby_promoted; then
    if [[ "$(oc_pg_query "$OC_PG_STANDBY_PORT" 'SELECT pg_is_in_recovery()')" == f ]]; then
      printf 'pg standby: running, pid %s, 127.0.0.1:%s, PROMOTED: the primary now (accepts writes)\n' \
        "$(oc_pg_pid "$data")" "$OC_PG_STANDBY_PORT"
      return "$rc"
    fi
    printf 'pg standby: NOT ANSWERING as a primary, pid %s, 127.0.0.1:%s (see %s)\n' \
      "$(oc_pg_pid "$data")" "$OC_PG_STANDBY_PORT" "$(oc_pg_standby_log)"
    return 1
  fi
  rep="$(oc_pg_query "$OC_PG_PORT" "SELECT state || ', ' || sync_state FROM pg_stat_replication
    WHERE application_name = '${OC_PG_STANDBY_NAME}'" 2>/dev/null || true)"
  if [[ "$rep" == "streaming, sync" ]]; then
    printf 'pg standby: running, pid %s, 127.0.0.1:%s, %s from 127.0.0.1:%s (synchronous)\n' \
      "$(oc_pg_pid "$data")" "$OC_PG_STANDBY_PORT" "$OC_PG_STANDBY_NAME" "$OC_PG_PORT"
    return "$rc"
  fi
  printf 'pg standby: NOT STREAMING synchronously, pid %s, 127.0.0.1:%s (primary says: %s; see %s)\n' \
    "$(oc_pg_pid "$data")" "$OC_PG_STANDBY_PORT" "${rep:-nothing}" "$(oc_pg_standby_log)"
  return 1
}

# oc_pg_node_pid primary|standby: the postmaster's pid of that node (by
# data directory: pg/data, pg/standby); fails when it is not running.
oc_pg_node_pid() {
  local data
  case "$1" in
  primary) data="$(oc_pg_data)" ;;
  standby) data="$(oc_pg_standby_data)" ;;
  *) oc_die "usage: stack.sh pg-pid primary|standby" ;;
  esac
  oc_pg_running "$data" || return 1
  oc_pg_pid "$data"
}

# oc_pg_kill_primary: kill -9 of the primary's postmaster (pid from
# pg/data/postmaster.pid, checked to be ours); waits until it is gone. Its
# backends notice and exit by themselves.
oc_pg_kill_primary() {
  local pid
  if ! oc_pg_running; then
    oc_info "postgres primary: not running; nothing killed"
    return 0
  fi
  pid="$(oc_pg_pid)"
  kill -KILL "$pid" 2>/dev/null || true
  while oc_pid_alive "$pid"; do
    sleep 0.05
  done
  oc_info "postgres primary: killed postmaster pid ${pid} (SIGKILL), 127.0.0.1:${OC_PG_PORT}"
}

# oc_pg_promote: pg_ctl promote of the standby, then waits until it
# accepts writes (pg_is_in_recovery() false). Refuses while the primary
# runs: two primaries would both take writes.
oc_pg_promote() {
  local data t0
  data="$(oc_pg_standby_data)"
  oc_pg_running "$data" ||
    oc_die "postgres standby: not running (127.0.0.1:${OC_PG_STANDBY_PORT}): nothing to promote"
  if oc_pg_standby_promoted; then
    oc_info "postgres standby: already promoted (127.0.0.1:${OC_PG_STANDBY_PORT})"
    return 0
  fi
  if oc_pg_running; then
    oc_die "postgres: the primary (pid $(oc_pg_pid), 127.0.0.1:${OC_PG_PORT}) is running: promoting the standby would make two primaries; stop or kill it first (stack.sh pg-kill-primary)"
  fi
  t0="$(oc_now)"
  oc_as_pg "$(oc_pg_bin)/pg_ctl" -D "$data" -w -t "$OC_PG_START_TIMEOUT" promote \
    >"$(oc_pg_dir)/pg_ctl.log" 2>&1 9>&- || {
    cat "$(oc_pg_dir)/pg_ctl.log" >&2
    oc_die "postgres standby: pg_ctl promote failed (log: $(oc_pg_standby_log))"
  }
  oc_pg_wait_for "$OC_PG_STANDBY_PORT" 'SELECT pg_is_in_recovery()' f \
    "the promoted standby is still in recovery"
  oc_info "postgres standby: promoted; accepts writes on 127.0.0.1:${OC_PG_STANDBY_PORT} after $(oc_elapsed "$t0") s"
}
