#!/usr/bin/env bash
# test_ha_cluster.sh - HA scenarios 1, 4 and 2 on a stack of their own,
# started by the project's script: `deploy/stack.sh start --brokers 3
# --pg-standby` (three KRaft nodes, topics with 3 replicas and
# min.insync.replicas=2; a synchronous PostgreSQL standby; the daemons given
# the multi-host conninfo with target_session_attrs=read-write). Each
# scenario has its own topic (6 partitions), consumer group and database;
# records flow all along from one outcomes-produce (acks=all, idempotent)
# reading a paced stream, and one outcomes-rollupd applies them:
#
#   1 broker_kill      kill -9 of the broker leading the most partitions of
#                      the topic, started again 10 s later;
#   4 rolling_restart  every broker in turn stopped (SIGTERM: a controlled
#                      shutdown, its leaders moved first) and started again
#                      (stack.sh restart-broker), the next one only once
#                      every partition has its 3 replicas in sync again;
#   2 pg_primary_kill  kill -9 of the PostgreSQL primary, then the standby
#                      promoted (stack.sh pg-promote): every offset the
#                      daemon reported committed (its /metrics) is on the new
#                      primary, and the daemon goes on from there.
#
# While a scenario runs, the high-water marks and the stored offsets of
# every partition are sampled every 0.25 s: the produce stall is the longest
# time a partition's high-water mark stood still, the consumer stall the
# longest time its stored offset did (records arrive at each partition
# several times a second). Each scenario then checks the chaos suite's
# invariants (facts = last writer wins over everything sent, rollups =
# their recomputation, accounting) and that neither client was restarted,
# and prints one line of the table:
#   ha scenario=NAME records=N lost=N double_counted=N produce_stall_s=X
#      consume_stall_s=X recovery_s=X sample_gap_s=X
# (sample_gap_s: the longest time between two samples, the resolution of
# the stalls)
# recovery_s: broker_kill and rolling_restart, from the (last) kill to the
# moment every partition has moved again; pg_primary_kill, from the
# promotion to the daemon's first committed batch.
set -euo pipefail
source "$(dirname "$0")/tap.bash"
: "${OC_SOURCE_DIR:?set by ctest}"
: "${OC_BUILD_DIR:?set by ctest}"

# The stack of this test, stopped and removed on every exit.
HA_STACK="$(mktemp -d /tmp/oc_ha_stack.XXXXXX)"
export OUTCOMES_STACK_DIR="$HA_STACK"
STACK="${OC_SOURCE_DIR}/deploy/stack.sh"
ha_stack_stop() { "$STACK" stop >/dev/null 2>&1 || true; rm -rf "$HA_STACK"; }
trap ha_stack_stop EXIT
OUTCOMES_REGISTRY=off "$STACK" start --brokers 3 --pg-standby >"$HA_STACK.start.log" 2>&1 ||
  fail "stack.sh start --brokers 3 --pg-standby: $(tail -20 "$HA_STACK.start.log")"
rm -f "$HA_STACK.start.log"
eval "$("$STACK" env)"
[[ "$OUTCOMES_KAFKA_BROKERS" == *,*,* ]] || fail "not three brokers: $OUTCOMES_KAFKA_BROKERS"
[[ "$OUTCOMES_PG_CONNINFO" == *target_session_attrs=read-write* ]] ||
  fail "not a multi-host conninfo: $OUTCOMES_PG_CONNINFO"

source "$(dirname "$0")/chaos_common.bash"
T_CLEANUP+=("ha_stack_stop")
trap cleanup EXIT
BASE_DB_CONNINFO="$OUTCOMES_PG_CONNINFO"

# --- the feed and the samples ------------------------------------------------

# sampler_start TOPIC GROUP: every 0.25 s one line "t hw0..hw5 | off0..off5"
# into T_DIR/samples (a field is - when it could not be read).
sampler_start() {
  local topic="$1" group="$2"
  (
    while :; do
      t="$(date +%s.%N)"
      hws="$(timeout 2 kcat -Q -b "$BROKERS" -m 2 -t "$topic:0:-1" -t "$topic:1:-1" -t "$topic:2:-1" \
        -t "$topic:3:-1" -t "$topic:4:-1" -t "$topic:5:-1" 2>/dev/null |
        awk '{ split($0, a, " "); p = a[2]; sub(/\]/, "", p); sub(/\[/, "", p); hw[p] = $NF }
             END { for (i = 0; i < 6; i++) printf "%s ", (i in hw ? hw[i] : "-") }')" || true
      offs="$(timeout 2 psql "$OUTCOMES_PG_CONNINFO" -qAtX -c "SELECT string_agg(coalesce(o.next_offset::text, '-'), ' ' ORDER BY p)
              FROM generate_series(0, 5) p LEFT JOIN outcomes.consumer_offsets o
              ON o.partition = p AND o.group_id = '$group' AND o.topic = '$topic'" 2>/dev/null)" ||
        offs="- - - - - -"
      echo "$t ${hws:-- - - - - - }| ${offs:-- - - - - -}"
      sleep 0.25
    done
  ) >"$T_DIR/samples" 2>/dev/null &
  SAMPLER=$!
  T_PIDS+=("$SAMPLER")
}

sampler_stop() { kill "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true; }

# stalls FROM_T: "produce_stall consume_stall recovery" over the samples
# from FROM_T on: the longest time a partition's value stood still (a value
# that could not be read does not count as a move), and the time from
# FROM_T until every partition's stored offset had moved past its value at
# FROM_T.
stalls() {
  python3 - "$T_DIR/samples" "$1" <<'PY'
import sys
t0 = float(sys.argv[2])
rows = []
for line in open(sys.argv[1]):
    left, _, right = line.partition("|")
    f = left.split()
    if len(f) != 7 or len(right.split()) != 6:
        continue
    rows.append((float(f[0]), f[1:], right.split()))
def longest(idx):
    worst = 0.0
    for p in range(6):
        last_v, last_t = None, None
        for t, hw, off in rows:
            v = (hw, off)[idx][p]
            if v == "-":
                continue
            if last_v is None or v != last_v:
                if last_t is not None and t >= t0:
                    worst = max(worst, t - max(last_t, t0))
                last_v, last_t = v, t
    return worst
base = None
recovery = None
for t, hw, off in rows:
    if t < t0:
        continue
    if base is None:
        if "-" in off:
            continue
        base = [int(x) for x in off]
        continue
    if "-" not in off and all(int(x) > b for x, b in zip(off, base)):
        recovery = t - t0
        break
gap = max((b[0] - a[0] for a, b in zip(rows, rows[1:]) if b[0] >= t0), default=0.0)
print("%.1f %.1f %s %.1f" % (longest(0), longest(1),
                             "%.1f" % recovery if recovery is not None else "-", gap))
PY
}

# scenario_begin NAME SEED: a database, a topic (RF 3), a group, a stream
# paced to last FEED_S seconds; the feed, the daemon and the sampler run.
scenario_begin() {
  CHAOS_NAME="$1"
  CHAOS_LOST=0
  CHAOS_DOUBLE=0
  CHAOS_PEAK_RSS=0
  export OUTCOMES_PG_CONNINFO="$BASE_DB_CONNINFO"
  BASE_CONNINFO="$BASE_DB_CONNINFO"
  new_db "ha_$1"
  TOPIC="ha_${1}_$$"
  "$STACK" topic create "$TOPIC" 6 >"$T_DIR/topic.log" 2>&1 || fail "topic create: $(cat "$T_DIR/topic.log")"
  GROUP="$(uniq_name "g_ha_$1")"
  rm -rf "$T_DIR/gen"
  chaos_gen "$T_DIR/gen" "$2" --orgs 2 --metrics er_visits,supply_cost,readmission_rate_30d \
    --grains day --periods "$((FEED_S * 100 / 27 + 1))" --tombstones 0 --format jsonl
  CHAOS_RECORDS="$(wc -l <"$T_DIR/gen/stream.jsonl")"
  chaos_feed_start "$TOPIC" "$T_DIR/gen/stream.jsonl" "$((CHAOS_RECORDS / FEED_S + 1))"
  chaos_daemon_start DPID "$TOPIC" "$GROUP" -X metrics.listen=127.0.0.1:0
  sampler_start "$TOPIC" "$GROUP"
  wait_for 60 chaos_progress_any || fail "$1: the daemon committed nothing: $(tail -5 "$(chaos_daemon_log "$DPID")")"
}
chaos_progress_any() { [[ "$(chaos_progress "$GROUP")" =~ ^[1-9] ]]; }

# scenario_end RECOVERY_FROM_T: the feed ends, the daemon catches up, the
# invariants; one line of the table.
scenario_end() {
  local from="$1" s
  chaos_feed_wait
  chaos_wait_converged "$TOPIC" "$GROUP" "$DPID"
  sampler_stop
  s="$(stalls "$from")"
  read -r PRODUCE_STALL CONSUME_STALL RECOVERY SAMPLE_GAP <<<"$s"
  [[ "${HA_KEEP_SAMPLES:-}" ]] && cp "$T_DIR/samples" "${HA_KEEP_SAMPLES}.$CHAOS_NAME"
  if [[ -n "${SCENARIO_RECOVERY:-}" ]]; then RECOVERY="$SCENARIO_RECOVERY"; fi
  chaos_check_all "$GROUP" "$TOPIC"
  chaos_check_daemon "$DPID"
  TABLE+=("ha scenario=$CHAOS_NAME records=$CHAOS_DELIVERED lost=$CHAOS_LOST double_counted=$CHAOS_DOUBLE produce_stall_s=$PRODUCE_STALL consume_stall_s=$CONSUME_STALL recovery_s=$RECOVERY sample_gap_s=$SAMPLE_GAP")
  echo "${TABLE[-1]}"
  ((CHAOS_LOST == 0 && CHAOS_DOUBLE == 0)) || fail "$CHAOS_NAME: lost=$CHAOS_LOST double_counted=$CHAOS_DOUBLE"
  [[ "$RECOVERY" != "-" ]] || fail "$CHAOS_NAME: the daemon never moved on every partition"
  SCENARIO_RECOVERY=""
}

# leaders TOPIC: "node count" lines, the partitions each broker leads.
leaders() {
  kcat -L -b "$BROKERS" -t "$1" 2>/dev/null |
    sed -n 's/.*partition [0-9]*, leader \([0-9]*\),.*/\1/p' | sort | uniq -c | sort -rn
}
# in_sync TOPIC: every partition has its 3 replicas in sync.
in_sync() {
  local bad
  bad="$(kcat -L -b "$BROKERS" -t "$1" 2>/dev/null |
    awk '/partition [0-9]+, leader/ { n++; if ($0 !~ /isrs: [0-9]+,[0-9]+,[0-9]+/) b++ } END { print (n == 6 ? b + 0 : 1) }')"
  [[ "$bad" == 0 ]]
}

TABLE=()
FEED_S=45

# --- 1. a broker dies under load ---------------------------------------------
scenario_begin broker_kill 41
sleep 5
read -r _ victim <<<"$(leaders "$TOPIC" | head -1)"
[[ "$victim" =~ ^[1-3]$ ]] || fail "no leader found: $(kcat -L -b "$BROKERS" -t "$TOPIC")"
t_kill="$(date +%s.%N)"
"$STACK" kill-broker "$victim" >/dev/null
sleep 10
"$STACK" start-broker "$victim" >"$T_DIR/start-broker.log" 2>&1 || fail "start-broker $victim: $(cat "$T_DIR/start-broker.log")"
scenario_end "$t_kill"
pass "broker $victim (the busiest leader) killed and restarted under load: nothing lost or counted twice"

# --- 4. a rolling restart of every broker --------------------------------------
scenario_begin rolling_restart 43
sleep 3
t_first=""
for n in 1 2 3; do
  wait_for 60 in_sync "$TOPIC" || fail "partitions not in sync before broker $n: $(kcat -L -b "$BROKERS" -t "$TOPIC")"
  [[ -n "$t_first" ]] || t_first="$(date +%s.%N)"
  "$STACK" restart-broker "$n" >"$T_DIR/restart-broker.log" 2>&1 ||
    fail "restart-broker $n: $(cat "$T_DIR/restart-broker.log")"
done
scenario_end "$t_first"
pass "rolling restart of brokers 1, 2, 3 (controlled shutdowns) under load: nothing lost or counted twice, no client restarted"

# --- 2. the PostgreSQL primary dies ----------------------------------------------
scenario_begin pg_primary_kill 47
sleep 5
port="$(sed -n 's/.*metrics_listening port=\([0-9]*\).*/\1/p' "$(chaos_daemon_log "$DPID")" | head -1)"
"$STACK" pg-kill-primary >/dev/null
t_kill="$(date +%s.%N)"
# What the daemon saw committed, once it knows the primary is gone.
sleep 2
curl -s "http://127.0.0.1:$port/metrics" >"$T_DIR/seen.metrics" || fail "metrics of the daemon"
"$STACK" pg-promote >"$T_DIR/promote.log" 2>&1 || fail "pg-promote: $(cat "$T_DIR/promote.log")"
t_promoted="$(date +%s.%N)"
# Per partition: what the daemon's /metrics said it had committed, and what
# the promoted node stores; the second may not be behind the first.
sed -n "s/^outcomes_consumer_committed_offset{.*partition=\"\([0-9]*\)\".*} \([0-9]*\)$/\1 \2/p" \
  "$T_DIR/seen.metrics" | sort -n >"$T_DIR/seen.txt"
sql "SELECT partition, next_offset FROM outcomes.consumer_offsets WHERE group_id = '$GROUP'
     ORDER BY partition" | tr '|' ' ' >"$T_DIR/stored.txt"
[[ "$(wc -l <"$T_DIR/seen.txt")" == 6 ]] || fail "the daemon's /metrics name $(wc -l <"$T_DIR/seen.txt") partitions: $(grep committed_offset "$T_DIR/seen.metrics")"
behind="$(join "$T_DIR/seen.txt" "$T_DIR/stored.txt" | awk '$3 < $2' | wc -l)"
missing="$(join -v1 "$T_DIR/seen.txt" "$T_DIR/stored.txt" | wc -l)"
((behind == 0 && missing == 0)) ||
  fail "the promoted node is behind what the daemon saw committed: seen $(paste -sd, "$T_DIR/seen.txt"), stored $(paste -sd, "$T_DIR/stored.txt")"
seen_sum="$(awk '{ s += $2 } END { print s + 0 }' "$T_DIR/seen.txt")"
((seen_sum > 0)) || fail "the daemon reported no committed offset before the kill"
base="$(chaos_progress "$GROUP")"
committed_after() { (($(chaos_progress "$GROUP") > base)); }
wait_for 60 committed_after || fail "no batch committed on the promoted node: $(tail -5 "$(chaos_daemon_log "$DPID")")"
SCENARIO_RECOVERY="$(elapsed_since "$t_promoted")"
after="$SCENARIO_RECOVERY"
scenario_end "$t_kill"
pass "primary killed, standby promoted: every offset the daemon saw committed is on the new primary (6 partitions, $seen_sum records); the daemon committed again $after s after the promotion"

echo "--- the table ---"
printf '%s\n' "${TABLE[@]}"
