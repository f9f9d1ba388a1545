#!/usr/bin/env bash
# Proves the high-availability topology of deploy/stack.sh, in a state
# directory of its own (the shared stack is never touched): `start --brokers
# 3 --pg-standby` gives three Kafka brokers, a quorum of three KRaft
# controllers and a synchronous PostgreSQL standby; `env` names the three
# brokers and both PostgreSQL nodes; a topic gets 3 replicas and
# min.insync.replicas=2; with the leader of a partition killed
# (kill-broker), an acks=all produce to that partition succeeds, and
# start-broker brings the broker back into the cluster and the ISR; with the
# active controller killed (kill-controller), another one leads, a topic is
# still created, and start-controller brings it back into the quorum; a row
# committed on the primary is on the standby at once; after pg-kill-primary
# and pg-promote, a client with the multi-host OUTCOMES_PG_CONNINFO
# (target_session_attrs=read-write) writes to the promoted node, which has
# every row committed before the kill; stop ends every process on SIGTERM
# (brokers first, while the quorum runs: their controlled shutdowns need it).
# Fails (never skips) when any of it does not hold.
#
# Run by ctest (label integration) with OC_SOURCE_DIR set; runs by hand
# too. The shared stack's broker jars (OUTCOMES_KAFKA_LIBS), when there,
# are copied to skip Maven. The schema registry is off
# (OUTCOMES_REGISTRY=off): it has no part in what is proved here, and its
# start would cost a 160 MB unpack and a JVM. OC_TEST_KEEP=1 keeps the
# state directory (the stack is stopped all the same).
set -euo pipefail

SRC="${OC_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
STACK_SH="${SRC}/deploy/stack.sh"
SHARED_LIBS="${OUTCOMES_KAFKA_LIBS:-}"
T_DIR=""
STARTED=0
TOPIC="ha_$$_${RANDOM}"
T_START="$SECONDS"

# shellcheck source=tests/integration/tap.bash
source "$(dirname "$0")/tap.bash"

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ "$STARTED" -eq 1 ]]; then
    stack stop >"${T_DIR}/stop.log" 2>&1 || {
      printf '# stack.sh stop failed:\n'
      sed 's/^/#   /' "${T_DIR}/stop.log"
    }
  fi
  if [[ -n "$T_DIR" && "${OC_TEST_KEEP:-0}" != 1 ]]; then
    rm -rf "$T_DIR"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# stack ARGS...: deploy/stack.sh on our state directory.
stack() {
  bash "$STACK_SH" "$@"
}

# show TEXT: TEXT as TAP comment lines.
show() {
  printf '%s\n' "$1" | sed 's/^/#   /' | head -n 40
}

# check WHAT CMD...: ok when CMD succeeds, else not_ok with its output.
check() {
  local what="$1" out
  shift
  if out="$("$@" 2>&1)"; then
    ok "$what"
  else
    show "$out"
    not_ok "$what"
  fi
}

# psql_at CONNINFO SQL...: psql, one command per SQL, tuples only; bounded
# (a commit waiting for a missing synchronous standby would hang).
psql_at() {
  local conninfo="$1" args=() sql
  shift
  for sql in "$@"; do args+=(-c "$sql"); done
  timeout 30 psql "$conninfo" -XtAq -v ON_ERROR_STOP=1 "${args[@]}"
}

# alive PID: PID is a live process (a zombie, left until PID 1 reaps it,
# counts as gone).
alive() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ "${stat:0:1}" != Z && "${stat:0:1}" != X ]]
}

# partition_line P: kcat's metadata line for partition P of TOPIC.
partition_line() {
  timeout 20 kcat -L -b "$OUTCOMES_KAFKA_BROKERS" -t "$TOPIC" -m 10 2>/dev/null |
    grep "^    partition $1,"
}

preflight() {
  local t
  for t in kcat psql java timeout; do
    command -v "$t" >/dev/null 2>&1 || bail "${t} not found: tests/run.sh installs it (deploy/lib/install-deps.sh)"
  done
  [[ -f "$STACK_SH" ]] || bail "${STACK_SH} is missing"
}

start_stack() {
  local t0=$SECONDS out
  T_DIR="$(mktemp -d /tmp/oc_stack_ha.XXXXXX)"
  chmod 0755 "$T_DIR" # the postgres user must reach pg/
  unset OUTCOMES_KAFKA_BROKERS OUTCOMES_PG_CONNINFO OUTCOMES_PG_SUPER_CONNINFO \
    OUTCOMES_SCHEMA_REGISTRY_URL OUTCOMES_KAFKA_LIBS
  export OUTCOMES_STACK_DIR="${T_DIR}/stack" OUTCOMES_REGISTRY=off
  if [[ -n "$SHARED_LIBS" && -f "${SHARED_LIBS}/.assembled" ]]; then
    mkdir -p "${OUTCOMES_STACK_DIR}/kafka"
    cp -a "$SHARED_LIBS" "${OUTCOMES_STACK_DIR}/kafka/libs"
  fi
  STARTED=1
  if ! out="$(stack start --brokers 3 --pg-standby 2>&1)"; then
    show "$out"
    bail "deploy/stack.sh start --brokers 3 --pg-standby failed"
  fi
  ok "stack.sh start --brokers 3 --pg-standby in $((SECONDS - t0)) s"
  out="$(stack env)" || bail "stack.sh env failed"
  eval "$out"
}

check_status() {
  local out rc=0 n
  out="$(stack status 2>&1)" || rc=$?
  show "$out"
  if [[ "$rc" -eq 0 ]]; then
    ok "stack.sh status exits 0"
  else
    not_ok "stack.sh status exits 0 (got ${rc})"
  fi
  for n in 1 2 3; do
    if grep -q "^kafka ${n}: *running, .*lists 3 of 3 brokers" <<<"$out"; then
      ok "status: kafka broker ${n} running, its metadata lists 3 brokers"
    else
      not_ok "status: kafka broker ${n} running, its metadata lists 3 brokers"
    fi
  done
  for n in 1 2 3; do
    if grep -q "^controller ${n}: running, pid [0-9]*, 127\.0\.0\.1:[0-9]*, node id 10${n}\$" <<<"$out"; then
      ok "status: controller ${n} running (node id 10${n})"
    else
      not_ok "status: controller ${n} running (node id 10${n})"
    fi
  done
  if grep -q '^pg standby: *running, .*(synchronous)' <<<"$out"; then
    ok "status: the PostgreSQL standby streams synchronously"
  else
    not_ok "status: the PostgreSQL standby streams synchronously"
  fi
}

check_env() {
  local brokers p1 p2
  IFS=, read -r -a brokers <<<"$OUTCOMES_KAFKA_BROKERS"
  if [[ "${#brokers[@]}" -eq 3 && "$(printf '%s\n' "${brokers[@]}" | sort -u | wc -l)" -eq 3 ]] &&
    [[ "$OUTCOMES_KAFKA_BROKERS" =~ ^127\.0\.0\.1:[0-9]+,127\.0\.0\.1:[0-9]+,127\.0\.0\.1:[0-9]+$ ]]; then
    ok "env: OUTCOMES_KAFKA_BROKERS names 3 brokers (${OUTCOMES_KAFKA_BROKERS})"
  else
    not_ok "env: OUTCOMES_KAFKA_BROKERS names 3 brokers (got '${OUTCOMES_KAFKA_BROKERS}')"
  fi
  p1="$(sed -n 's/.* port=\([0-9]*\) .*/\1/p' <<<"${OUTCOMES_PG_PRIMARY_CONNINFO:-}")"
  p2="$(sed -n 's/.* port=\([0-9]*\) .*/\1/p' <<<"${OUTCOMES_PG_STANDBY_CONNINFO:-}")"
  PG_PRIMARY_PORT="$p1"
  PG_STANDBY_PORT="$p2"
  if [[ -n "$p1" && -n "$p2" && "$OUTCOMES_PG_CONNINFO" == "host=127.0.0.1,127.0.0.1 port=${p1},${p2} dbname=outcomes user=postgres target_session_attrs=read-write" ]]; then
    ok "env: OUTCOMES_PG_CONNINFO names both nodes, read-write ('${OUTCOMES_PG_CONNINFO}')"
  else
    not_ok "env: OUTCOMES_PG_CONNINFO names both nodes (got '${OUTCOMES_PG_CONNINFO}', primary '${OUTCOMES_PG_PRIMARY_CONNINFO:-}', standby '${OUTCOMES_PG_STANDBY_CONNINFO:-}')"
  fi
}

check_topic() {
  local out md
  if ! out="$(stack topic create "$TOPIC" 3 2>&1)"; then
    show "$out"
    bail "stack.sh topic create ${TOPIC} 3 failed"
  fi
  out="$(stack topic describe "$TOPIC" 2>&1)" || true
  if grep -q 'ReplicationFactor: 3' <<<"$out" && grep -q 'min.insync.replicas=2' <<<"$out"; then
    ok "topic ${TOPIC}: replication factor 3, min.insync.replicas=2 (TopicCommand --describe)"
  else
    show "$out"
    not_ok "topic ${TOPIC}: replication factor 3, min.insync.replicas=2"
  fi
  md="$(timeout 20 kcat -L -b "$OUTCOMES_KAFKA_BROKERS" -t "$TOPIC" -m 10 2>&1 | grep '^    partition ' || true)"
  if [[ "$(grep -c 'replicas: [1-3],[1-3],[1-3], isrs: [1-3],[1-3],[1-3]$' <<<"$md")" -eq 3 ]]; then
    ok "kcat: each of the 3 partitions has 3 replicas, all in sync"
  else
    show "$md"
    not_ok "kcat: each of the 3 partitions has 3 replicas, all in sync"
  fi
}

# kill_checked ROLE N WHY: stack.sh kill-ROLE N (broker or controller),
# ok when its pid is gone; that pid in KILLED_PID.
KILLED_PID=""
kill_checked() {
  local role="$1" n="$2" why="$3" out
  KILLED_PID="$(stack "${role}-pid" "$n")" || bail "stack.sh ${role}-pid ${n} failed"
  if out="$(stack "kill-${role}" "$n" 2>&1)" && ! alive "$KILLED_PID"; then
    ok "stack.sh kill-${role} ${n} (${why}): pid ${KILLED_PID} gone"
  else
    show "$out"
    not_ok "stack.sh kill-${role} ${n}: pid ${KILLED_PID} gone"
  fi
}

check_broker_failover() {
  local line leader pid out t0 payload got new_pid isr md
  line="$(partition_line 0)" || bail "no metadata for ${TOPIC} partition 0"
  leader="$(sed -n 's/.*leader \([0-9]*\),.*/\1/p' <<<"$line")"
  [[ "$leader" =~ ^[1-3]$ ]] || bail "no leader in '${line}'"
  kill_checked broker "$leader" "leader of partition 0"
  pid="$KILLED_PID"
  payload="ha-$$-${RANDOM}"
  t0=$SECONDS
  if out="$(printf '%s\n' "$payload" | timeout 60 kcat -P -b "$OUTCOMES_KAFKA_BROKERS" -t "$TOPIC" -p 0 \
    -X acks=all -X message.timeout.ms=45000 2>&1)"; then
    ok "kcat -X acks=all produces to partition 0 with its leader killed ($((SECONDS - t0)) s)"
  else
    show "$out"
    not_ok "kcat -X acks=all produces to partition 0 with its leader killed"
  fi
  line="$(partition_line 0 || true)"
  isr="${line##*isrs: }"
  if [[ "$line" != *"leader ${leader},"* && "$isr" =~ ^[1-3],[1-3]$ && "$isr" != *"$leader"* ]]; then
    ok "partition 0: a new leader, ISR of 2 without broker ${leader} (${line#"${line%%[! ]*}"})"
  else
    not_ok "partition 0: a new leader, ISR of 2 without broker ${leader} (got '${line}')"
  fi
  got="$(timeout 30 kcat -C -b "$OUTCOMES_KAFKA_BROKERS" -t "$TOPIC" -p 0 -o beginning -c 1 -q 2>/dev/null || true)"
  if grep -qx -- "$payload" <<<"$got"; then
    ok "the record is in partition 0"
  else
    not_ok "the record is in partition 0 (read '${got}')"
  fi
  t0=$SECONDS
  if out="$(stack start-broker "$leader" 2>&1)"; then
    ok "stack.sh start-broker ${leader}: back in the cluster in $((SECONDS - t0)) s"
  else
    show "$out"
    not_ok "stack.sh start-broker ${leader}"
  fi
  new_pid="$(stack broker-pid "$leader" 2>/dev/null || true)"
  md="$(timeout 20 kcat -L -b "127.0.0.1:$(cut -d, -f"$leader" <<<"$OUTCOMES_KAFKA_BROKERS" | cut -d: -f2)" -m 10 2>&1 || true)"
  if [[ -n "$new_pid" && "$new_pid" != "$pid" ]] && grep -qx ' 3 brokers:' <<<"$md"; then
    ok "broker ${leader} runs again (pid ${new_pid}), its metadata lists 3 brokers"
  else
    show "$md"
    not_ok "broker ${leader} runs again (pid '${new_pid}'), its metadata lists 3 brokers"
  fi
  # Back in the ISR once it has caught up (a few seconds).
  t0=$SECONDS
  while line="$(partition_line 0 || true)" && [[ ! "${line##*isrs: }" =~ ^[1-3],[1-3],[1-3]$ ]]; do
    [[ $((SECONDS - t0)) -lt 60 ]] || break
    sleep 0.5
  done
  if [[ "${line##*isrs: }" =~ ^[1-3],[1-3],[1-3]$ ]]; then
    ok "partition 0: broker ${leader} back in the ISR ($((SECONDS - t0)) s)"
  else
    not_ok "partition 0: broker ${leader} back in the ISR within 60 s (got '${line}')"
  fi
}

# quorum WHAT: kafka's MetadataQuorumCommand describe --WHAT (status or
# replication) through the brokers.
quorum() {
  timeout 60 java -Xmx256m -Dlog4j.configuration="file:${OUTCOMES_STACK_DIR}/kafka/tools-log4j.properties" \
    -cp "${OUTCOMES_STACK_DIR}/kafka/libs/*" org.apache.kafka.tools.MetadataQuorumCommand \
    --bootstrap-server "$OUTCOMES_KAFKA_BROKERS" describe "--$1"
}

# quorum_lag ID: the lag of controller node ID behind the leader (describe
# --replication); empty when it is not listed.
quorum_lag() {
  quorum replication 2>/dev/null | awk -v id="$1" '$1 == id { print $4 }'
}

check_controller_failover() {
  local out leader n t0 new_leader lag=""
  out="$(quorum status 2>&1)" || true
  leader="$(sed -n 's/^LeaderId: *\([0-9]*\)$/\1/p' <<<"$out")"
  [[ "$leader" =~ ^10[1-3]$ ]] || {
    show "$out"
    bail "no quorum leader among 101-103 in describe --status"
  }
  n=$((leader - 100))
  kill_checked controller "$n" "the active controller, node id ${leader}"
  t0=$SECONDS
  if out="$(stack topic create "${TOPIC}_c" 3 2>&1)"; then
    ok "with the active controller killed, the other two create a topic ($((SECONDS - t0)) s)"
  else
    show "$out"
    not_ok "with the active controller killed, the other two create a topic"
  fi
  out="$(quorum status 2>&1)" || true
  new_leader="$(sed -n 's/^LeaderId: *\([0-9]*\)$/\1/p' <<<"$out")"
  if [[ "$new_leader" =~ ^10[1-3]$ && "$new_leader" != "$leader" ]]; then
    ok "the quorum has a new leader: node id ${new_leader}"
  else
    show "$out"
    not_ok "the quorum has a new leader (got '${new_leader}', killed ${leader})"
  fi
  t0=$SECONDS
  if out="$(stack start-controller "$n" 2>&1)"; then
    ok "stack.sh start-controller ${n}: listening in $((SECONDS - t0)) s"
  else
    show "$out"
    not_ok "stack.sh start-controller ${n}"
  fi
  # Back in the quorum once it has fetched the metadata log (a few seconds).
  t0=$SECONDS
  while lag="$(quorum_lag "$leader")" && [[ "$lag" != 0 ]]; do
    [[ $((SECONDS - t0)) -lt 60 ]] || break
    sleep 1
  done
  if [[ "$lag" == 0 ]]; then
    ok "controller ${n} (node id ${leader}) caught up with the quorum leader, lag 0 ($((SECONDS - t0)) s)"
  else
    show "$(quorum replication 2>&1)"
    not_ok "controller ${n} (node id ${leader}) caught up with the quorum leader within 60 s (lag '${lag}')"
  fi
}

check_pg_sync() {
  local out
  out="$(psql_at "$OUTCOMES_PG_PRIMARY_CONNINFO" \
    "SELECT application_name || ' ' || state || ' ' || sync_state FROM pg_stat_replication" \
    'SHOW synchronous_commit' 2>&1 || true)"
  if [[ "$out" == $'standby1 streaming sync\non' ]]; then
    ok "primary: standby1 streaming, synchronous (synchronous_commit on)"
  else
    show "$out"
    not_ok "primary: standby1 streaming, synchronous (synchronous_commit on)"
  fi
  out="$(psql_at "$OUTCOMES_PG_STANDBY_CONNINFO" 'SELECT pg_is_in_recovery()' \
    "SELECT '[' || current_setting('synchronous_standby_names') || ']'" 2>&1 || true)"
  if [[ "$out" == $'t\n[]' ]]; then
    ok "standby: in recovery, no synchronous_standby_names of its own"
  else
    show "$out"
    not_ok "standby: in recovery, no synchronous_standby_names of its own"
  fi
  # Through the multi-host conninfo: lands on the primary. The first row
  # is committed with remote_apply (the commit returns once the synchronous
  # standby has applied it: visible there at once), the second with the
  # stack's synchronous_commit = on (flushed on the standby: it must
  # survive the primary's death).
  out="$(psql_at "$OUTCOMES_PG_CONNINFO" 'SELECT inet_server_port()' \
    'CREATE TABLE ha_rows (id int PRIMARY KEY, note text)' \
    "SET synchronous_commit = remote_apply" \
    "INSERT INTO ha_rows VALUES (1, 'remote_apply')" \
    "RESET synchronous_commit" \
    "INSERT INTO ha_rows VALUES (2, 'on')" 2>&1 || true)"
  if [[ "$out" == "$PG_PRIMARY_PORT" ]]; then
    ok "OUTCOMES_PG_CONNINFO writes to the primary (port ${PG_PRIMARY_PORT})"
  else
    show "$out"
    not_ok "OUTCOMES_PG_CONNINFO writes to the primary (port ${PG_PRIMARY_PORT})"
  fi
  out="$(psql_at "$OUTCOMES_PG_STANDBY_CONNINFO" "SELECT note FROM ha_rows WHERE id = 1" 2>&1 || true)"
  if [[ "$out" == remote_apply ]]; then
    ok "a row committed on the primary is visible on the standby at once"
  else
    show "$out"
    not_ok "a row committed on the primary is visible on the standby at once"
  fi
}

check_pg_failover() {
  local pid out t0
  pid="$(stack pg-pid primary)" || bail "stack.sh pg-pid primary failed"
  if out="$(stack pg-kill-primary 2>&1)" && ! alive "$pid" &&
    ! stack pg-pid primary >/dev/null 2>&1; then
    ok "stack.sh pg-kill-primary: postmaster ${pid} gone"
  else
    show "$out"
    not_ok "stack.sh pg-kill-primary: postmaster ${pid} gone"
  fi
  # Before the promotion no node takes writes: libpq refuses the standby.
  if out="$(psql_at "$OUTCOMES_PG_CONNINFO" 'SELECT 1' 2>&1)"; then
    not_ok "before pg-promote, OUTCOMES_PG_CONNINFO finds no node taking writes (it connected)"
  else
    ok "before pg-promote, OUTCOMES_PG_CONNINFO finds no node taking writes"
  fi
  t0="$(date +%s%N)"
  if out="$(stack pg-promote 2>&1)"; then
    ok "stack.sh pg-promote: the standby accepts writes after $((($(date +%s%N) - t0) / 1000000)) ms"
  else
    show "$out"
    not_ok "stack.sh pg-promote"
  fi
  out="$(psql_at "$OUTCOMES_PG_CONNINFO" 'CREATE TABLE ha_after (id int)' \
    'INSERT INTO ha_after VALUES (3)' 'SELECT inet_server_port()' 2>&1 || true)"
  if [[ "$out" == "$PG_STANDBY_PORT" ]]; then
    ok "psql \"\$OUTCOMES_PG_CONNINFO\": CREATE TABLE and INSERT on the promoted node (port ${PG_STANDBY_PORT})"
  else
    show "$out"
    not_ok "psql \"\$OUTCOMES_PG_CONNINFO\": CREATE TABLE and INSERT on the promoted node (port ${PG_STANDBY_PORT})"
  fi
  out="$(psql_at "$OUTCOMES_PG_CONNINFO" "SELECT string_agg(id || ':' || note, ',' ORDER BY id) FROM ha_rows" 2>&1 || true)"
  if [[ "$out" == "1:remote_apply,2:on" ]]; then
    ok "the rows committed before the kill are on the promoted node"
  else
    show "$out"
    not_ok "the rows committed before the kill are on the promoted node"
  fi
  if out="$(stack status 2>&1)" && grep -q '^pg standby: *running, .*PROMOTED' <<<"$out"; then
    ok "stack.sh status exits 0 and says the standby was promoted"
  else
    show "$out"
    not_ok "stack.sh status exits 0 and says the standby was promoted"
  fi
}

check_stop() {
  local out pids=() n p left="" t0
  for n in 1 2 3; do
    pids+=("$(stack broker-pid "$n" 2>/dev/null || true)")
    pids+=("$(stack controller-pid "$n" 2>/dev/null || true)")
  done
  pids+=("$(stack pg-pid standby 2>/dev/null || true)")
  t0=$SECONDS
  if out="$(stack stop 2>&1)" && ! grep -q 'SIGKILL' <<<"$out"; then
    STARTED=0
    ok "stack.sh stop, every process ends on SIGTERM ($((SECONDS - t0)) s)"
  else
    show "$out"
    not_ok "stack.sh stop, every process ends on SIGTERM"
  fi
  for p in "${pids[@]}"; do
    if [[ -z "$p" ]] || alive "$p"; then left="${left} '${p}'"; fi
  done
  if [[ -z "$left" ]]; then
    ok "every broker, controller and the promoted PostgreSQL node are gone (pids ${pids[*]})"
  else
    not_ok "every broker, controller and the promoted PostgreSQL node are gone (left or unknown:${left})"
  fi
}

# phase FUNCTION: runs it, and notes its time for the summary.
PHASES=""
phase() {
  local t0=$SECONDS
  "$1"
  PHASES="${PHASES:+${PHASES}, }${1#check_} $((SECONDS - t0)) s"
}

main() {
  preflight
  phase start_stack
  phase check_status
  phase check_env
  phase check_topic
  phase check_broker_failover
  phase check_controller_failover
  phase check_pg_sync
  phase check_pg_failover
  phase check_stop
  printf '1..%d\n' "$CHECKS"
  printf '# %d s in all: %s\n' "$((SECONDS - T_START))" "$PHASES"
  if [[ "$FAILURES" -ne 0 ]]; then
    printf '# %d of %d checks failed\n' "$FAILURES" "$CHECKS"
    exit 1
  fi
}

main "$@"
