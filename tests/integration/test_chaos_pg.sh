#!/usr/bin/env bash
# test_chaos_pg.sh - PostgreSQL stopped with `pg_ctl stop -m immediate` while
# outcomes-rollupd commits (5 times short, 20 with CHAOS_LONG=1), restarted
# with deploy/stack.sh start; then the daemon's connections are killed from
# the server side (pg_terminate_backend) while the rest of the stream
# arrives. The daemon rides through (it retries
# with backoff, capped at 2 s here) and converges: I1-I5 (chaos_common.bash).
# Stops the SHARED stack's cluster: runs alone (ctest label exclusive,
# tests/CMakeLists.txt); the EXIT trap always starts the stack again.
# shellcheck source=tests/integration/chaos_common.bash
source "$(dirname "$0")/chaos_common.bash"
trap 'stack_start || echo "WARNING: deploy/stack.sh start failed" >&2; cleanup' EXIT

chaos_init pg
# The short form streams 20 periods (about 2,200 records; on 40 the test
# took 55-90 s under ASan on two busy cores), the long one 40.
stops=5 orgs=2 periods=20
if chaos_long; then stops=20 orgs=12 periods=40; fi

new_db chaos_pg
topic="$(new_topic chaos_pg 3)"
group="$(uniq_name g_chaos_pg)"
chaos_gen "$T_DIR/gen" 72 --orgs "$orgs" --facilities 3 --grains day,month --periods "$periods" \
  --metrics er_visits,readmission_rate_30d,supply_cost,ar_balance
split_stream "$CHAOS_GEN/stream.csv" "$T_DIR/part1.csv" "$T_DIR/part2.csv" 80
chaos_produce "$topic" "$T_DIR/part1.csv"
total="$CHAOS_RECORDS"
dpid=""
chaos_daemon_start dpid "$topic" "$group" -X batch.max.records=10 -X batch.max.wait=20ms

progress_at_least() {
  local p
  p="$(chaos_progress "$group")"
  [[ -n "$p" ]] && ((p >= $1))
}

for ((k = 1; k <= stops; k++)); do
  want=$((total * k / (stops + 3)))
  wait_for 60 progress_at_least "$want" || fail "no progress to $want"
  pg_immediate_stop || fail "pg_ctl stop -m immediate"
  CHAOS_FAULTS=$((CHAOS_FAULTS + 1))
  sleep 1
  chaos_rss_sample "$dpid"
  kill -0 "$dpid" || fail "daemon died while PostgreSQL was down: $(tail -5 "$(chaos_daemon_log "$dpid")")"
  stack_start || fail "deploy/stack.sh start: $(tail -5 "$T_DIR/stack_start.log")"
  echo "stop $k: PostgreSQL stopped (immediate) past offset sum $want of $total, restarted"
  chaos_recovered "$group" "$topic" "$dpid"
done

# The connections killed from the server side (the batches' and the
# refresher's) while part 2 arrives. After the last restart each connects
# again when it has work, on its own backoff: wait until both are there.
daemon_conns() {
  [[ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
             AND application_name IN ('outcomes-rollupd', 'outcomes-rollupd-refresh')")" -ge 2 ]]
}
chaos_trickle "$topic" "$T_DIR/part2.csv" 20 0.3
wait_for 5 daemon_conns ||
  fail "the daemon's connections while part 2 arrives: $(sql "SELECT application_name, state
        FROM pg_stat_activity WHERE datname = current_database()")"
kill -0 "$TRICKLE_PID" 2>/dev/null || fail "part 2 was published before pg_terminate_backend"
p="$(chaos_progress "$group")"
n="$(sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()")"
((n >= 2)) || fail "$n daemon connection(s) to terminate, want the batches' and the refresher's"
CHAOS_FAULTS=$((CHAOS_FAULTS + 1))
echo "pg_terminate_backend: $n connection(s) killed at offset sum $p while records arrive"
chaos_recovered "$group" "$topic" "$dpid"
chaos_trickle_wait

chaos_produce "$topic" --retract "$CHAOS_GEN/retract.csv"
chaos_wait_converged "$topic" "$group" "$dpid"
chaos_check_all "$group" "$topic"
chaos_check_daemon "$dpid"
chaos_result
