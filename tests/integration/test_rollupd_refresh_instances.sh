#!/usr/bin/env bash
# test_rollupd_refresh_instances.sh - three outcomes-rollupd instances in one
# group on six partitions, each with its refresher, while records arrive,
# outcomes-replay rebuild refreshes the same rollups from another process,
# and one instance is killed (kill -9) and restarted. Refreshes take turns
# (one at a time per database); whichever runs, once the pipeline is quiet:
#   - nothing is pending and every rollup row equals the recomputation from
#     the facts (I1);
#   - the facts are last writer wins and every record is accounted (I2, I3);
#   - no refresh failed, and the survivors exit 0 on SIGTERM.
# shellcheck source=tests/integration/chaos_common.bash
source "$(dirname "$0")/chaos_common.bash"

chaos_init refresh_instances
new_db refresh_instances
topic="$(new_topic refresh_instances 6)"
group="$(uniq_name g_refresh_instances)"
chaos_gen "$T_DIR/gen" 41 --orgs 3 --facilities 2 --grains day,month --periods 30 \
  --metrics er_visits,readmission_rate_30d,ar_balance
opts=(-X batch.max.records=100 -X batch.max.wait=50ms -X refresh.interval=20ms
  -X kafka.session.timeout.ms=6000 -X kafka.heartbeat.interval.ms=500)
a="" b="" c=""
chaos_daemon_start a "$topic" "$group" "${opts[@]}"
chaos_daemon_start b "$topic" "$group" "${opts[@]}"
chaos_daemon_start c "$topic" "$group" "${opts[@]}"
chaos_trickle "$topic" "$CHAOS_GEN/stream.csv" 20 0.3

rebuilds=0
for k in 1 2 3; do
  sleep 1.5
  replay rebuild --metric er_visits --batch 1000 >"$T_DIR/rebuild.$k.out" 2>&1 ||
    fail "rebuild $k: exit $?: $(cat "$T_DIR/rebuild.$k.out")"
  rebuilds=$((rebuilds + 1))
  if ((k == 2)); then
    kill -9 "$b"
    wait "$b" 2>/dev/null || true
    CHAOS_FAULTS=$((CHAOS_FAULTS + 1))
    chaos_daemon_start b "$topic" "$group" "${opts[@]}"
    echo "instance B killed (kill -9) and restarted"
  fi
done
kill -0 "$TRICKLE_PID" 2>/dev/null || echo "note: the stream was all published before the last rebuild"
chaos_trickle_wait
chaos_produce "$topic" --retract "$CHAOS_GEN/retract.csv"
chaos_wait_converged "$topic" "$group" "$a" "$b" "$c"
failed="$(cat "$(chaos_daemon_log "$a")" "$(chaos_daemon_log "$b")" "$(chaos_daemon_log "$c")" |
  grep -c refresh_failed || true)"
((failed == 0)) || fail "$failed refresh_failed lines"
chaos_check_all "$group" "$topic"
for p in "$a" "$b" "$c"; do chaos_check_daemon "$p"; done
echo "rebuilds=$rebuilds beside three instances"
chaos_result
pass "three instances and a rebuild refreshing one database: rollups exact"
