#!/usr/bin/env bash
# test_chaos_zombie.sh - two outcomes-rollupd instances in one group; one is
# paused (SIGSTOP) past its session timeout (kafka.session.timeout.ms=6000)
# while records flow, so the other takes its partitions; then resumed
# (SIGCONT). Its late batch must be rejected by the offset compare-and-set
# (the "offsets_conflict" event in its log) and nothing is applied twice:
# I1-I5 (chaos_common.bash). 1 pause short, 3 with CHAOS_LONG=1.
# shellcheck source=tests/integration/chaos_common.bash
source "$(dirname "$0")/chaos_common.bash"

chaos_init zombie
pauses=1 orgs=3
if chaos_long; then pauses=3 orgs=8; fi

new_db chaos_zombie
topic="$(new_topic chaos_zombie 6)"
group="$(uniq_name g_chaos_zombie)"
chaos_gen "$T_DIR/gen" 73 --orgs "$orgs" --facilities 3 --grains day,month --periods 30 \
  --metrics er_visits,readmission_rate_30d,supply_cost,ar_balance
opts=(-X kafka.session.timeout.ms=6000 -X kafka.heartbeat.interval.ms=500
  -X batch.max.records=200 -X batch.max.wait=300ms)
a="" b=""
chaos_daemon_start a "$topic" "$group" "${opts[@]}" -X pg.application_name=chaos_zombie_a
chaos_daemon_start b "$topic" "$group" "${opts[@]}" -X pg.application_name=chaos_zombie_b
# Records flow through every pause: each takes a minute or more on a loaded
# machine, and step (2) needs A to be applying a batch.
chunks=$((pauses * 60 + 20))
if chaos_long; then chunks=$((pauses * 120 + 20)); fi
chaos_trickle "$topic" "$CHAOS_GEN/stream.csv" "$chunks" 0.4
sleep 4
log_a="$(chaos_daemon_log "$a")"
log_b="$(chaos_daemon_log "$b")"

# A's backend waiting for the lock on outcomes.series_facts that the test
# holds (its transaction open, past the CAS). Only that lock: waiting on
# one of B's row locks instead, A may already hold facts row locks, and the
# LOCK TABLE below would then queue behind a stopped A for ever.
a_waiting() {
  [[ "$(sql "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE a.application_name = 'chaos_zombie_a' AND NOT l.granted
             AND l.locktype = 'relation' AND l.relation = 'outcomes.series_facts'::regclass")" -ge 1 ]]
}

for ((k = 1; k <= pauses; k++)); do
  # (1) A paused between batches past its session timeout, while records
  # flow: on SIGCONT librdkafka reports the lost session first and A drops
  # its batch on the revocation (batch_dropped) - or, if A flushes first,
  # the CAS rejects it (offsets_conflict).
  kill -STOP "$a"
  CHAOS_FAULTS=$((CHAOS_FAULTS + 1))
  sleep 10
  kill -CONT "$a"
  echo "pause $k: instance A stopped 10 s between batches (session timeout 6 s), resumed"
  chaos_recovered "$group" "$topic" "$a" "$b"
  sleep 3

  # (2) A paused inside its transaction: the CAS on its offsets done, the
  # facts write waiting on a lock the test holds for 4 s. B takes A's
  # partitions after the session timeout, consumes them from the offsets A
  # has not committed yet, and its CAS waits on A's row locks; on SIGCONT A
  # commits and B's CAS finds the offsets moved: offsets_conflict, B's
  # overlapping batch rolled back, nothing applied twice.
  conflicts_before="$(cat "$log_a" "$log_b" | grep -c offsets_conflict || true)"
  psql "$OUTCOMES_PG_CONNINFO" -qAtX -c "BEGIN" -c "LOCK TABLE outcomes.series_facts IN EXCLUSIVE MODE" \
    -c "SELECT pg_sleep(4)" -c "COMMIT" >/dev/null 2>&1 &
  locker=$!
  T_PIDS+=("$locker")
  if ! wait_for 4 a_waiting; then
    sql "SELECT application_name, state, wait_event_type, wait_event, left(query, 60)
         FROM pg_stat_activity WHERE datname = current_database()" >&2
    tail -5 "$log_a" >&2; echo "progress $(chaos_progress "$group") end $(topic_end "$topic")" >&2; cat "$T_DIR/trickle.out" >&2; sql "SELECT * FROM pg_locks WHERE relation = 'outcomes.series_facts'::regclass" >&2
    wait "$locker" || true
    fail "instance A did not reach the facts write within 4 s"
  fi
  kill -STOP "$a"
  CHAOS_FAULTS=$((CHAOS_FAULTS + 1))
  wait "$locker" || fail "lock holder failed"
  sleep 10
  kill -CONT "$a"
  echo "pause $k: instance A stopped 10 s inside its transaction, resumed"
  chaos_recovered "$group" "$topic" "$a" "$b"
  sleep 3
  conflicts="$(cat "$log_a" "$log_b" | grep -c offsets_conflict || true)"
  ((conflicts > conflicts_before)) || {
    grep -h 'offsets_conflict\|batch_dropped\|revoke\|assign' "$log_a" "$log_b" | cut -c1-200 >&2
    fail "pause $k: no offsets_conflict event: the overlapping batch was not rejected by the CAS"
  }
done
chaos_trickle_wait
chaos_produce "$topic" --retract "$CHAOS_GEN/retract.csv"
chaos_wait_converged "$topic" "$group" "$a" "$b"
echo "A: $(grep -c batch_dropped "$log_a" || true) batch_dropped," \
  "$(grep -c offsets_conflict "$log_a" || true) offsets_conflict;" \
  "B: $(grep -c batch_dropped "$log_b" || true) batch_dropped," \
  "$(grep -c offsets_conflict "$log_b" || true) offsets_conflict"
chaos_check_all "$group" "$topic"
chaos_check_daemon "$a"
chaos_check_daemon "$b"
chaos_result
