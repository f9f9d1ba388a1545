#!/usr/bin/env bash
# test_chaos_broker.sh - the broker is killed with -9 while outcomes-rollupd
# consumes (1 time short, 3 times with CHAOS_LONG=1): the daemon holds a
# batch that the test keeps from committing (a lock on the facts) and more
# records in its queue; the lock goes, the daemon goes on with the broker
# down, and the broker is restarted with deploy/stack.sh start; the daemon
# keeps running and converges: I1-I5 (see chaos_common.bash). Restarts the SHARED stack's broker: runs alone (ctest
# label exclusive, tests/CMakeLists.txt); the EXIT trap always starts the
# stack again.
# A restarted broker: librdkafka reconnects with a backoff of up to 10 s, the
# broker needs some seconds for its group coordinator and the group rejoins.
CHAOS_RECOVERY_MAX_S="${CHAOS_RECOVERY_MAX_S:-45}"
# shellcheck source=tests/integration/chaos_common.bash
source "$(dirname "$0")/chaos_common.bash"
trap 'stack_start || echo "WARNING: deploy/stack.sh start failed" >&2; cleanup' EXIT

chaos_init broker
# The recovery time runs to the end of the topic: the rest of the backlog
# and the probe piece applied. On 40 periods (about 3,600 records left after
# the kill) that took 8-40 s under ASan on two busy cores, against the
# 45 s bound; the short form streams 20, the long one 40.
kills=1 orgs=3 periods=20
if chaos_long; then kills=3 orgs=12 periods=40; fi

new_db chaos_broker
topic="$(new_topic chaos_broker 3)"
group="$(uniq_name g_chaos_broker)"
chaos_gen "$T_DIR/gen" 71 --orgs "$orgs" --facilities 3 --grains day,month --periods "$periods" \
  --metrics er_visits,readmission_rate_30d,supply_cost,ar_balance
# The stream in 2 x kills + 1 consecutive pieces (file order kept, so the
# expected facts hold): before kill k its backlog piece, after the restart
# a probe piece, at the end the rest and the tombstones.
chaos_chunks "$CHAOS_GEN/stream.csv" $((2 * kills + 1))
dpid=""
chaos_daemon_start dpid "$topic" "$group" -X batch.max.records=20 -X batch.max.wait=50ms \
  -X pg.application_name=chaos_broker_daemon

progress() { chaos_progress "$group"; }
# The daemon stalled inside a batch (the test holds a lock on the facts its
# batch must write), so that the broker dies while the daemon has records
# in flight whatever its speed; it goes on as soon as the lock is gone,
# with the broker still down.
locked_waiting() {
  [[ "$(sql "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE a.application_name = 'chaos_broker_daemon' AND NOT l.granted
             AND l.locktype = 'relation' AND l.relation = 'outcomes.series_facts'::regclass")" -ge 1 ]]
}
for ((k = 1; k <= kills; k++)); do
  base="$(progress)"
  PGAPPNAME=chaos_broker_locker psql "$OUTCOMES_PG_CONNINFO" -qAtX -c "BEGIN" \
    -c "LOCK TABLE outcomes.series_facts IN EXCLUSIVE MODE" -c "SELECT pg_sleep(600)" \
    >/dev/null 2>&1 &
  locker=$!
  T_PIDS+=("$locker")
  wait_for 10 bash -c "[[ \$(psql '$OUTCOMES_PG_CONNINFO' -qAtX -c \"SELECT count(*) FROM pg_locks l
    JOIN pg_stat_activity a ON a.pid = l.pid WHERE a.application_name = 'chaos_broker_locker'
    AND l.granted AND l.relation = 'outcomes.series_facts'::regclass\") == 1 ]]" ||
    fail "the test could not lock outcomes.series_facts"
  chaos_produce "$topic" "$T_DIR/chunk.$((2 * k - 2)).csv"
  wait_for 30 locked_waiting || fail "the daemon did not reach the facts write"
  done_before="$(progress)"
  end="$(topic_end "$topic")"
  ((done_before < end)) || fail "consumed everything before the kill"
  bpid="$(broker_pid)"
  kill -9 "$bpid"
  CHAOS_FAULTS=$((CHAOS_FAULTS + 1))
  while kill -0 "$bpid" 2>/dev/null; do sleep 0.1; done
  sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
       WHERE application_name = 'chaos_broker_locker'" >/dev/null
  wait "$locker" 2>/dev/null || true
  sleep 3
  chaos_rss_sample "$dpid"
  kill -0 "$dpid" || fail "daemon died while the broker was down: $(tail -5 "$(chaos_daemon_log "$dpid")")"
  stack_start || fail "deploy/stack.sh start: $(tail -5 "$T_DIR/stack_start.log")"
  echo "kill $k: broker killed at offset sum $done_before of $end, restarted"
  # The daemon may still be applying what it fetched before the kill: the
  # recovery is measured up to the consumption of a probe piece published
  # after the restart.
  t_restart="$(now_s)"
  chaos_produce "$topic" "$T_DIR/chunk.$((2 * k - 1)).csv"
  CHAOS_RECOVERY_T0="$t_restart" CHAOS_RECOVER_TO_END=1 chaos_recovered "$group" "$topic" "$dpid"
done

# The rest of the stream, then the tombstones.
chaos_produce "$topic" "$T_DIR/chunk.$((2 * kills)).csv"
chaos_produce "$topic" --retract "$CHAOS_GEN/retract.csv"
chaos_wait_converged "$topic" "$group" "$dpid"
chaos_check_all "$group" "$topic"
chaos_check_daemon "$dpid"
chaos_result
