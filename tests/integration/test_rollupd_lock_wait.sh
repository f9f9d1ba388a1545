#!/usr/bin/env bash
# test_rollupd_lock_wait.sh - a lock held elsewhere (here an ACCESS
# EXCLUSIVE lock on outcomes.series_facts for 20 s, as a long maintenance
# command would take) must not stall outcomes-rollupd's main loop past the
# systemd watchdog: each wait is bounded by lock.timeout, the batch is
# rolled back and retried after the backoff, and the loop keeps sending
# WATCHDOG=1 meanwhile. Once the lock is gone the batch commits, every
# record applied once. Its connections carry TCP keepalives.
source "$(dirname "$0")/pipeline_common.bash"

LISTENER="${OC_SOURCE_DIR}/tests/integration/notify_listener.py"
HOLD_S=20

new_db lock_wait
topic="$(new_topic lock_wait 1)"
group="$(uniq_name g_lock_wait)"
rows() {
  local i
  echo "$HDR"
  for ((i = $1; i < $2; i++)); do
    echo "org-$i,,er_visits,DAY,2024-01-01,$i,,,test,2024-02-01T00:00:00Z"
  done
}
facts_are() { [[ "$(sql "SELECT count(*) FROM outcomes.facts")" == "$1" ]]; }
lock_held() {
  [[ "$(sql "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
             WHERE c.relname = 'series_facts' AND l.mode = 'AccessExclusiveLock'
               AND l.granted")" == 1 ]]
}
rows 0 5 >"$T_DIR/a.csv"
rows 5 10 >"$T_DIR/b.csv"
produce -t "$topic" "$T_DIR/a.csv" >/dev/null || fail "produce a"

python3 "$LISTENER" listen "$T_DIR/notify.sock" "$T_DIR/notify.out" \
  --ready-file "$T_DIR/listening" --timeout 300 &
T_PIDS+=("$!")
wait_for 10 test -f "$T_DIR/listening" || fail "notify listener"
# Kicks every 2 s at most (half the interval) while the loop turns.
NOTIFY_SOCKET="$T_DIR/notify.sock" WATCHDOG_USEC=4000000 \
  "$DAEMON" -X "topic=$topic" -X "group.id=$group" -X "schema.dir=$SCHEMAS" \
  -X lock.timeout=1s -X retry.backoff.max=2s >"$T_DIR/daemon.log" 2>&1 &
pid=$!
T_PIDS+=("$pid")
python3 "$LISTENER" wait "$T_DIR/notify.out" READY=1 --timeout 60 || fail "no READY=1"
wait_for 30 facts_are 5 ||
  fail "first rows not applied: $(tail -3 "$T_DIR/daemon.log")"

# Its connections to PostgreSQL and to the broker carry TCP keepalives.
pg_port="$(sql "SHOW port")"
kafka_port="${BROKERS##*:}"
conns="$(ss -tnpo state established "( dport = :$pg_port or dport = :$kafka_port )" |
  grep "pid=$pid," || true)"
grep "$pg_port" <<<"$conns" | grep -q "timer:(keepalive" ||
  fail "no keepalive on the PostgreSQL connections: $conns"
grep "$kafka_port" <<<"$conns" | grep -q "timer:(keepalive" ||
  fail "no keepalive on the broker connections: $conns"

psql "$OUTCOMES_PG_CONNINFO" -qAtX -c "BEGIN" \
  -c "LOCK TABLE outcomes.series_facts IN ACCESS EXCLUSIVE MODE" \
  -c "SELECT pg_sleep($HOLD_S)" -c "COMMIT" >/dev/null 2>&1 &
holder=$!
T_PIDS+=("$holder")
wait_for 10 lock_held || fail "the lock was not taken"
before="$(python3 "$LISTENER" count "$T_DIR/notify.out" WATCHDOG=1 | awk '{print $1}')"
produce -t "$topic" "$T_DIR/b.csv" >/dev/null || fail "produce b"
wait "$holder" || true
after="$(python3 "$LISTENER" count "$T_DIR/notify.out" WATCHDOG=1 | awk '{print $1}')"
kicks=$((after - before))
((kicks >= HOLD_S / 4)) ||
  fail "$kicks WATCHDOG=1 while the lock was held ${HOLD_S} s: the main loop stalled"
grep -q "lock timeout" "$T_DIR/daemon.log" || fail "no batch failed on the lock: $(tail -5 "$T_DIR/daemon.log")"
wait_for 30 facts_are 10 ||
  fail "rows after the lock: $(sql "SELECT count(*) FROM outcomes.facts")"
check_accounting
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[[ "$rc" == 0 ]] || fail "exit $rc after SIGTERM"
pass "a lock held ${HOLD_S} s: $kicks WATCHDOG=1 meanwhile, batches retried, 10 facts once"
