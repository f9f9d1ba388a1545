#!/usr/bin/env bash
# test_ha_daemon_failover.sh - HA scenario 3: an active and a standby
# outcomes-rollupd in one consumer group on a 6-partition topic while
# records flow. HA_TRIALS times (default 20): kill -9 one instance; measure
# the seconds from the kill to the moment every partition's stored offset
# has moved past where it stood at the kill (the survivor has taken the
# dead instance's partitions over and committed a batch on each); start the
# killed instance again with the same group.instance.id and wait until it
# holds partitions again. Then the invariants of the chaos suite: the facts
# equal last-writer-wins over everything sent, every rollup row equals its
# recomputation, the accounting balances.
#
# The group settings are the ones docs/operations.md ("HA deployment")
# recommends: static membership (kafka.group.instance.id, one per
# instance), kafka.session.timeout.ms=6000 (the broker's smallest allowed,
# group.min.session.timeout.ms; HA_SESSION_TIMEOUT_MS sets another, e.g.
# librdkafka's default 45000 for comparison) and
# kafka.heartbeat.interval.ms=1000. A
# member killed without leaving is noticed after the session timeout; the
# rest is the rebalance and the survivor's first batch. The test prints one
# line per trial and the median and maximum; it fails only when a takeover
# never happens (HA_TAKEOVER_MAX_S, default 60) or an invariant breaks.
source "$(dirname "$0")/chaos_common.bash"

TRIALS="${HA_TRIALS:-20}"
TAKEOVER_MAX_S="${HA_TAKEOVER_MAX_S:-60}"
SESSION_MS="${HA_SESSION_TIMEOUT_MS:-6000}"
chaos_init ha_daemon_failover
new_db ha_failover
topic="$(new_topic ha_failover 6)"
group="$(uniq_name g_ha_failover)"
GROUP_SETTINGS=(-X "kafka.session.timeout.ms=$SESSION_MS" -X kafka.heartbeat.interval.ms=1000)

# The feed lasts as long as the trials take (the session timeout and about
# 6 s each) and some, at
# about 120 records/s: 2 orgs x 3 series x 3 metrics x PERIODS days, with
# the generator's restatements, late versions, duplicates and ties.
FEED_S=$((TRIALS * (SESSION_MS / 1000 + 6) + 20))
chaos_gen "$T_DIR/gen" 31 --orgs 2 --metrics er_visits,supply_cost,readmission_rate_30d \
  --grains day --periods "$((FEED_S * 120 / 27 + 1))" --tombstones 0 --format jsonl
CHAOS_RECORDS="$(wc -l <"$T_DIR/gen/stream.jsonl")"
RATE=$((CHAOS_RECORDS / FEED_S + 1))

chaos_feed_start "$topic" "$T_DIR/gen/stream.jsonl" "$RATE"

declare -A PID=()
start() { # start NAME
  chaos_daemon_start "PID[$1]" "$topic" "$group" -X "kafka.group.instance.id=ha-$1-$group" \
    "${GROUP_SETTINGS[@]}"
}
assigned() { # assigned NAME: its last assignment holds partitions
  grep 'partitions_assigned' "$(chaos_daemon_log "${PID[$1]}")" | tail -1 | grep -vq 'count=0'
}
offsets() { sql "SELECT string_agg(next_offset::text, ' ' ORDER BY partition) FROM outcomes.consumer_offsets
                 WHERE group_id = '$group'"; }
# all_past BASE...: every partition's stored offset is past BASE's.
all_past() {
  local -a now
  read -r -a now <<<"$(offsets)"
  ((${#now[@]} == 6)) || return 1
  for i in 0 1 2 3 4 5; do ((now[i] > $1)) || return 1; shift; done
}

start A
start B
wait_for 60 assigned A || fail "A holds no partition: $(grep partitions_ "$(chaos_daemon_log "${PID[A]}")")"
wait_for 60 assigned B || fail "B holds no partition: $(grep partitions_ "$(chaos_daemon_log "${PID[B]}")")"
wait_for 60 all_past -1 -1 -1 -1 -1 -1 || fail "not every partition committed: $(offsets)"

times=()
victim=A
for ((t = 1; t <= TRIALS; t++)); do
  survivor=$([[ $victim == A ]] && echo B || echo A)
  kill -0 "$FEED" 2>/dev/null || fail "the feed ended before trial $t: $(tail -3 "$T_DIR/feed.out")"
  read -r -a base <<<"$(offsets)"
  t0="$(now_s)"
  kill -9 "${PID[$victim]}"
  wait "${PID[$victim]}" 2>/dev/null || true
  deadline=$((SECONDS + TAKEOVER_MAX_S))
  until all_past "${base[@]}"; do
    ((SECONDS < deadline)) || fail "trial $t: no takeover within ${TAKEOVER_MAX_S} s: $(offsets)"
    sleep 0.1
  done
  s="$(elapsed_since "$t0")"
  times+=("$s")
  echo "trial $t: killed $victim; $survivor committed on every partition after $s s"
  start "$victim"
  wait_for 60 assigned "$victim" || fail "trial $t: $victim got no partition back"
  wait_for 60 assigned "$survivor" || fail "trial $t: $survivor kept no partition"
  victim=$survivor
done

chaos_feed_wait
chaos_wait_converged "$topic" "$group" "${PID[A]}" "${PID[B]}"
chaos_check_all "$group" "$topic"
chaos_check_daemon "${PID[A]}"
chaos_check_daemon "${PID[B]}"
CHAOS_FAULTS=$TRIALS
stats="$(printf '%s\n' "${times[@]}" | sort -n | awk '{ v[NR] = $1 } END {
  m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
  printf "median %.1f s, max %.1f s, min %.1f s", m, v[NR], v[1] }')"
CHAOS_RECOVERY="$(printf '%s\n' "${times[@]}" | sort -n | tail -1)"
echo "ha scenario=daemon_failover trials=$TRIALS takeover: $stats" \
  "(session.timeout.ms=$SESSION_MS heartbeat.interval.ms=1000 static membership, $RATE records/s)"
chaos_result
pass "$TRIALS takeovers ($stats), nothing lost or counted twice over $CHAOS_DELIVERED records"
