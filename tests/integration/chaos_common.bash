# chaos_common.bash - invariants shared by the chaos scenarios
# (tests/integration/test_chaos_*.sh; sourced, not a test itself).
#
# Every scenario: generate a seeded stream (outcomes-gen), publish it, run
# outcomes-rollupd in the background, inject faults, wait for convergence,
# then check
#   I1 chaos_check_rollups    every rollup row equals the aggregate of the
#                             standing facts recomputed from scratch (one
#                             independent SQL query, all levels and target
#                             grains); no rollup row without facts
#   I2 chaos_check_accounting per partition applied + stale + dead_lettered
#                             = next_offset - first_offset + rewound, and the
#                             group consumed every partition to its end
#   I3 chaos_check_facts      facts = expected_facts.csv (none lost, none
#                             extra); every record the producer reported
#                             delivered is accounted (applied, stale or
#                             dead-lettered) by the consumer offsets
#   I4 chaos_recovered        time from the end of a fault (service back)
#                             to the daemon's next commit (or the end of the
#                             topic): <= CHAOS_RECOVERY_MAX_S (default 30 s:
#                             the daemon's PostgreSQL backoff is capped at 2 s
#                             here; librdkafka's reconnect backoff at 10 s, a
#                             restarted broker needs some seconds for its
#                             group coordinator); then chaos_wait_converged:
#                             the whole topic consumed within 120 s
#   I5 chaos_check_daemon     no sanitizer report in the daemon's log, clean
#                             exit on SIGTERM, peak RSS (VmHWM) <=
#                             CHAOS_RSS_MAX_KB (default 262144 = 256 MiB)
# and print one result line:
#   chaos scenario=NAME faults=N records=N lost=N double_counted=N recovery_s=X peak_rss_kb=N
# recovery_s: the largest chaos_recovered time; in the scenarios without a
# service fault (hostile, skew) the time from the last publish to caught up.
# lost = expected facts missing or different + delivered records the
# offsets do not account for; double_counted = facts not expected + rollup
# rows differing from the recomputation + accounting rows counting more
# than their span. Both must be 0.
#
# CHAOS_LONG=1 selects the long form (more records, more faults).
# shellcheck source=tests/integration/pipeline_common.bash
source "$(dirname "${BASH_SOURCE[0]}")/pipeline_common.bash"

CHAOS_LONG="${CHAOS_LONG:-0}"
CHAOS_RECOVERY_MAX_S="${CHAOS_RECOVERY_MAX_S:-30}"
CHAOS_RSS_MAX_KB="${CHAOS_RSS_MAX_KB:-262144}"
CHAOS_NAME=""
CHAOS_FAULTS=0
CHAOS_RECORDS=0
CHAOS_DELIVERED=0
CHAOS_LOST=0
CHAOS_DOUBLE=0
CHAOS_RECOVERY="0.0"
CHAOS_PEAK_RSS=0
CHAOS_GEN=""
# Daemon pids this file started (also in T_PIDS for the cleanup).
declare -A CHAOS_DLOG=()

chaos_init() {
  CHAOS_NAME="$1"
}

chaos_long() { [[ "$CHAOS_LONG" == 1 ]]; }

now_s() { date +%s.%N; }
elapsed_since() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }

# chaos_gen DIR SEED [GEN ARGS...]: a seeded stream with restatements, late
# versions, duplicates, ties and tombstones (no invalid rows: the producer
# would reject them before Kafka).
chaos_gen() {
  local dir="$1" seed="$2"
  shift 2
  "$GEN" --seed "$seed" --catalog "$CATALOG" -o "$dir" -q --org-level \
    --restatements 0.3 --late 0.1 --duplicates 0.1 --ties 0.05 --tombstones 0.05 "$@" ||
    fail "outcomes-gen: exit $?"
  CHAOS_GEN="$dir"
}

# chaos_produce TOPIC [PRODUCE ARGS...] FILE: publish; adds the records the
# producer reported delivered ("published N") to CHAOS_DELIVERED.
chaos_produce() {
  local topic="$1" out rc published
  shift
  set +e
  out="$("$PRODUCE" -b "$BROKERS" --catalog "$CATALOG" --schema-dir "$SCHEMAS" -q \
    -t "$topic" "$@" 2>&1)"
  rc=$?
  set -e
  published="$(grep -Eo 'published [0-9]+' <<<"$out" | tail -1 | awk '{print $2}')"
  [[ -n "$published" ]] || fail "produce: exit $rc, no summary: $out"
  [[ $rc == 0 || $rc == 65 ]] || fail "produce: exit $rc: $out"
  CHAOS_DELIVERED=$((CHAOS_DELIVERED + published))
  CHAOS_RECORDS=$((CHAOS_RECORDS + published))
}

# chaos_produce_gen TOPIC: the generated stream, then its tombstones.
chaos_produce_gen() {
  chaos_produce "$1" "$CHAOS_GEN/stream.csv"
  if [[ -s "$CHAOS_GEN/retract.csv" ]] && (($(wc -l <"$CHAOS_GEN/retract.csv") > 1)); then
    chaos_produce "$1" --retract "$CHAOS_GEN/retract.csv"
  fi
}

# chaos_daemon_start VAR TOPIC GROUP [ARGS...]: outcomes-rollupd in the
# background (no --exit-at-end); its pid into VAR, its log a file in T_DIR
# (chaos_daemon_log PID).
# The locals carry a __cd_ prefix: printf -v assigns the innermost variable
# of that name, so a local named like the caller's VAR ("pid", "log") would
# swallow the result.
chaos_daemon_start() {
  local __cd_var="$1" __cd_topic="$2" __cd_group="$3" __cd_pid __cd_log
  shift 3
  __cd_log="$(mktemp "$T_DIR/rollupd.XXXXXX")"
  "$DAEMON" -X "topic=$__cd_topic" -X "group.id=$__cd_group" -X "schema.dir=$SCHEMAS" \
    -X batch.max.records=50 -X retry.backoff.max=2s -X stats.interval=5s "$@" \
    >"$__cd_log" 2>&1 &
  __cd_pid=$!
  T_PIDS+=("$__cd_pid")
  CHAOS_DLOG[$__cd_pid]="$__cd_log"
  printf -v "$__cd_var" '%s' "$__cd_pid"
}

chaos_daemon_log() { echo "${CHAOS_DLOG[$1]}"; }

# chaos_rss_sample PID: fold the process's VmHWM into CHAOS_PEAK_RSS.
chaos_rss_sample() {
  local hwm
  hwm="$(awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || true)"
  if [[ -n "$hwm" ]] && ((hwm > CHAOS_PEAK_RSS)); then CHAOS_PEAK_RSS=$hwm; fi
  return 0
}

# chaos_check_daemon PID: I5. The daemon is alive (no crash), its peak RSS is
# bounded; SIGTERM makes it exit 0; its log has no sanitizer report.
chaos_check_daemon() {
  local pid="$1" log rc
  log="$(chaos_daemon_log "$pid")"
  kill -0 "$pid" 2>/dev/null || {
    set +e
    wait "$pid"
    rc=$?
    set -e
    fail "I5: daemon $pid died (exit $rc): $(tail -5 "$log")"
  }
  chaos_rss_sample "$pid"
  kill -TERM "$pid"
  set +e
  wait "$pid"
  rc=$?
  set -e
  [[ $rc == 0 ]] || fail "I5: daemon exit $rc after SIGTERM: $(tail -5 "$log")"
  if grep -Eq 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$log"; then
    fail "I5: sanitizer report: $(grep -E -m3 'AddressSanitizer|runtime error:|LeakSanitizer' "$log")"
  fi
  ((CHAOS_PEAK_RSS <= CHAOS_RSS_MAX_KB)) ||
    fail "I5: peak RSS ${CHAOS_PEAK_RSS} kB > ${CHAOS_RSS_MAX_KB} kB"
}

# The sum of the high-water marks of TOPIC's partitions (empty if the broker
# cannot be asked).
topic_end() {
  kcat -Q -b "$BROKERS" -m 5 -t "$1:0:-1" >/dev/null 2>&1 || return 0
  local parts p sum=0 hw
  parts="$(kcat -L -b "$BROKERS" -m 5 -t "$1" 2>/dev/null | grep -c 'partition [0-9]*,' || true)"
  for ((p = 0; p < parts; p++)); do
    hw="$(kcat -Q -b "$BROKERS" -m 5 -t "$1:$p:-1" 2>/dev/null | awk '{print $NF}')"
    [[ "$hw" =~ ^[0-9]+$ ]] || return 0
    sum=$((sum + hw))
  done
  echo "$sum"
}

# chaos_caught_up TOPIC GROUP: the stored offsets reach the topic's end.
chaos_caught_up() {
  local end got
  end="$(topic_end "$1")"
  [[ -n "$end" ]] || return 1
  got="$(psql "$OUTCOMES_PG_CONNINFO" -qAtX -c "SELECT coalesce(sum(next_offset), 0)
         FROM outcomes.consumer_offsets WHERE group_id = '$2' AND topic = '$1'" 2>/dev/null)" ||
    return 1
  [[ "$got" == "$end" ]]
}

# chaos_progress GROUP: the sum of the group's stored next offsets ("" if
# PostgreSQL cannot be asked).
chaos_progress() {
  psql "$OUTCOMES_PG_CONNINFO" -qAtX -c "SELECT coalesce(sum(next_offset), 0)
    FROM outcomes.consumer_offsets WHERE group_id = '$1'" 2>/dev/null || true
}

# chaos_recovered GROUP PIDS...: I4 after one fault. The fault has just
# ended; wait for the daemon's next commit (progress past what was stored
# at the end of the fault) or for the end of the topic, whichever first.
# The time taken is the recovery time; the largest over the faults is
# CHAOS_RECOVERY, bounded by CHAOS_RECOVERY_MAX_S. CHAOS_RECOVER_TO_END=1:
# only the end of the topic counts (when the daemon may still be committing
# records it fetched before the fault).
chaos_recovered() {
  local group="$1" topic="$2" t0 base p r
  shift 2
  t0="${CHAOS_RECOVERY_T0:-$(now_s)}"
  base="$(chaos_progress "$group")"
  local deadline=$((SECONDS + CHAOS_RECOVERY_MAX_S + 5))
  while :; do
    p="$(chaos_progress "$group")"
    [[ "${CHAOS_RECOVER_TO_END:-0}" == 0 && -n "$p" && -n "$base" && "$p" -gt "$base" ]] && break
    [[ -z "$base" ]] && base="$p"
    chaos_caught_up "$topic" "$group" && break
    for r in "$@"; do chaos_rss_sample "$r"; done
    ((SECONDS < deadline)) || fail "I4: no progress ${CHAOS_RECOVERY_MAX_S} s after the fault"
    sleep 0.1
  done
  r="$(elapsed_since "$t0")"
  echo "recovered in $r s"
  awk -v r="$r" -v m="$CHAOS_RECOVERY" 'BEGIN { exit !(r > m) }' && CHAOS_RECOVERY="$r"
  awk -v r="$r" -v m="$CHAOS_RECOVERY_MAX_S" 'BEGIN { exit !(r <= m) }' ||
    fail "I4: recovery $r s > bound ${CHAOS_RECOVERY_MAX_S} s"
}

# chaos_wait_converged TOPIC GROUP [PIDS...]: wait until the group has
# consumed the topic to its end and the rollups are refreshed (at most
# CHAOS_CONVERGE_MAX_S, default 120 s), sampling the daemons' RSS.
chaos_wait_converged() {
  local topic="$1" group="$2" p
  shift 2
  local deadline=$((SECONDS + ${CHAOS_CONVERGE_MAX_S:-120}))
  until chaos_caught_up "$topic" "$group" && rollups_current; do
    for p in "$@"; do chaos_rss_sample "$p"; done
    ((SECONDS < deadline)) ||
      fail "not caught up with $topic (and its rollups refreshed) within ${CHAOS_CONVERGE_MAX_S:-120} s"
    sleep 0.2
  done
}

# I1: rollup rows that differ from the recomputation from scratch (either
# way: missing, wrong, or without standing facts).
chaos_rollup_mismatches() {
  psql "$OUTCOMES_PG_CONNINFO" -qAtX -v ON_ERROR_STOP=1 \
    -f "${OC_SOURCE_DIR}/tests/integration/rollup_oracle.sql"
}

chaos_check_rollups() {
  local bad
  bad="$(chaos_rollup_mismatches)"
  CHAOS_DOUBLE=$((CHAOS_DOUBLE + bad))
  [[ "$bad" == 0 ]] || echo "I1: $bad rollup rows differ from the recomputation" >&2
  local rows
  rows="$(sql "SELECT count(*) FROM outcomes.rollups")"
  (($(sql "SELECT count(*) FROM outcomes.facts WHERE NOT retracted") == 0 || rows > 0)) ||
    fail "I1: facts but no rollups"
}

# I2 for GROUP/TOPIC: the accounting identity on every partition row.
chaos_check_accounting() {
  local group="$1" topic="$2" over under
  over="$(sql "SELECT count(*) FROM outcomes.consumer_offsets WHERE group_id = '$group'
               AND topic = '$topic'
               AND applied + stale + dead_lettered > next_offset - first_offset + rewound")"
  under="$(sql "SELECT count(*) FROM outcomes.consumer_offsets WHERE group_id = '$group'
               AND topic = '$topic'
               AND applied + stale + dead_lettered < next_offset - first_offset + rewound")"
  CHAOS_DOUBLE=$((CHAOS_DOUBLE + over))
  CHAOS_LOST=$((CHAOS_LOST + under))
  if ((over + under > 0)); then
    echo "I2: accounting broken: $(sql "SELECT * FROM outcomes.consumer_offsets
         WHERE group_id = '$group'")" >&2
  fi
}

# I3: facts equal DIR/expected_facts.csv (CHAOS_GEN by default); EXTRA_SQL
# optionally adds rows (a SELECT of the expected table's columns) expected
# besides the generator's. Then the delivered records are all accounted:
# sum over partitions of (applied + stale + dead_lettered) counts every
# record on the topic, which is what the producer delivered.
chaos_check_facts() {
  local group="$1" topic="$2" missing extra accounted
  psql "$OUTCOMES_PG_CONNINFO" -qAtX -v ON_ERROR_STOP=1 >/dev/null <<EOF || fail "load expected"
SET client_min_messages = warning;
DROP TABLE IF EXISTS public.chaos_expected;
CREATE TABLE public.chaos_expected (org_id text, facility_id text, metric text, grain text,
  period_start date, value double precision, numerator double precision,
  denominator double precision, source text, observed_at timestamptz);
\copy public.chaos_expected FROM '${CHAOS_GEN}/expected_facts.csv' WITH (FORMAT csv, HEADER true)
${CHAOS_EXTRA_EXPECTED:-}
EOF
  local e="SELECT org_id, coalesce(facility_id, ''), metric, grain, period_start, value,
             numerator, denominator, source, observed_at FROM public.chaos_expected"
  local f="SELECT org_id, facility_id, metric, grain, period_start, value, numerator,
             denominator, source, observed_at FROM outcomes.facts WHERE NOT retracted"
  missing="$(sql "SELECT count(*) FROM ($e EXCEPT $f) a")"
  extra="$(sql "SELECT count(*) FROM ($f EXCEPT $e) a")"
  CHAOS_LOST=$((CHAOS_LOST + missing))
  CHAOS_DOUBLE=$((CHAOS_DOUBLE + extra))
  if ((missing + extra > 0)); then
    echo "I3: $missing expected facts missing or different, $extra unexpected:" >&2
    sql "($e EXCEPT $f) LIMIT 5" >&2
    sql "($f EXCEPT $e) LIMIT 5" >&2
  fi
  accounted="$(sql "SELECT coalesce(sum(applied + stale + dead_lettered), 0)
                    FROM outcomes.consumer_offsets WHERE group_id = '$group'
                    AND topic = '$topic'")"
  if ((accounted < CHAOS_DELIVERED)); then
    echo "I3: producer delivered $CHAOS_DELIVERED, consumer accounts $accounted" >&2
    CHAOS_LOST=$((CHAOS_LOST + CHAOS_DELIVERED - accounted))
  elif ((accounted > CHAOS_DELIVERED + ${CHAOS_RAW_RECORDS:-0})); then
    echo "I3: consumer accounts $accounted > delivered $CHAOS_DELIVERED" >&2
    CHAOS_DOUBLE=$((CHAOS_DOUBLE + accounted - CHAOS_DELIVERED - ${CHAOS_RAW_RECORDS:-0}))
  fi
}

# chaos_check_all GROUP TOPIC: I1-I3.
chaos_check_all() {
  chaos_check_rollups
  chaos_check_accounting "$1" "$2"
  chaos_check_facts "$1" "$2"
}

# chaos_result: the result line; fails if anything was lost or counted twice.
chaos_result() {
  echo "chaos scenario=$CHAOS_NAME faults=$CHAOS_FAULTS records=$CHAOS_RECORDS" \
    "lost=$CHAOS_LOST double_counted=$CHAOS_DOUBLE recovery_s=$CHAOS_RECOVERY" \
    "peak_rss_kb=$CHAOS_PEAK_RSS"
  ((CHAOS_LOST == 0)) || fail "$CHAOS_LOST lost"
  ((CHAOS_DOUBLE == 0)) || fail "$CHAOS_DOUBLE double counted"
}

# The shared stack's services (for the scenarios that stop them).
: "${OUTCOMES_STACK_DIR:?set by deploy/stack.sh env}"
STACK="${OC_SOURCE_DIR}/deploy/stack.sh"
PG_DATA="${OUTCOMES_STACK_DIR}/pg/data"

# stack_start: deploy/stack.sh start (no-op when both run); retried once.
stack_start() {
  "$STACK" start >"$T_DIR/stack_start.log" 2>&1 ||
    "$STACK" start >>"$T_DIR/stack_start.log" 2>&1
}

broker_pid() { cat "${OUTCOMES_STACK_DIR}/kafka/kafka.pid" 2>/dev/null; }

pg_immediate_stop() {
  local pgctl
  local c
  pgctl="$(command -v pg_ctl || true)"
  for c in /usr/lib/postgresql/*/bin/pg_ctl; do [[ -x "$c" ]] && pgctl="$c"; done
  if [[ "$(id -u)" == 0 ]]; then
    runuser -u "$(stat -c %U "$PG_DATA")" -- "$pgctl" -D "$PG_DATA" -m immediate -w stop >/dev/null
  else
    "$pgctl" -D "$PG_DATA" -m immediate -w stop >/dev/null
  fi
}

# split_stream IN OUT1 OUT2 [PERCENT]: the first PERCENT (default 70) of the
# rows of a CSV into OUT1, the rest into OUT2, both with the header.
split_stream() {
  local n k
  n=$(($(wc -l <"$1") - 1))
  k=$((n * ${4:-70} / 100))
  head -n $((k + 1)) "$1" >"$2"
  { head -n 1 "$1"; tail -n +$((k + 2)) "$1"; } >"$3"
}

# chaos_trickle TOPIC CSV CHUNKS PAUSE: in the background, publish CSV in
# CHUNKS pieces (file order), PAUSE seconds apart; its pid in TRICKLE_PID.
# chaos_trickle_wait adds what the producer reported delivered.
chaos_trickle() {
  local topic="$1" csv="$2" chunks="$3" pause="$4" i
  chaos_chunks "$csv" "$chunks"
  (
    for ((i = 0; i < chunks; i++)); do
      "$PRODUCE" -b "$BROKERS" --catalog "$CATALOG" --schema-dir "$SCHEMAS" -q \
        -t "$topic" "$T_DIR/chunk.$i.csv" >>"$T_DIR/trickle.out" 2>&1 ||
        echo "trickle: chunk $i exit $?" >>"$T_DIR/trickle.out"
      sleep "$pause"
    done
  ) &
  TRICKLE_PID=$!
  T_PIDS+=("$TRICKLE_PID")
}

# chaos_feed_start TOPIC FILE RATE: in the background, one outcomes-produce
# reading FILE (JSON Lines: each line read as it arrives) at RATE lines per
# second; its pid in FEED. chaos_feed_wait: it ended by itself, exit 0, with
# every record delivered; CHAOS_DELIVERED from its summary.
chaos_feed_start() {
  python3 - "$2" "$3" <<'PY' |
import sys, time
rate = float(sys.argv[2])
with open(sys.argv[1]) as f:
    t0 = time.monotonic()
    for i, line in enumerate(f):
        wait = t0 + i / rate - time.monotonic()
        if wait > 0:
            sys.stdout.flush()
            time.sleep(wait)
        sys.stdout.write(line)
PY
    "$PRODUCE" -b "$BROKERS" --catalog "$CATALOG" --schema-dir "$SCHEMAS" -q -t "$1" \
      --format jsonl -X kafka.linger.ms=5 - >"$T_DIR/feed.out" 2>&1 &
  FEED=$!
  FEED_FILE="$2"
  T_PIDS+=("$FEED")
}

chaos_feed_wait() {
  wait "$FEED" || fail "outcomes-produce (the feed): exit $?: $(tail -3 "$T_DIR/feed.out")"
  CHAOS_DELIVERED="$(grep -Eo 'published [0-9]+' "$T_DIR/feed.out" | awk '{s += $2} END {print s + 0}')"
  ((CHAOS_DELIVERED == $(wc -l <"$FEED_FILE"))) ||
    fail "the feed delivered $CHAOS_DELIVERED of $(wc -l <"$FEED_FILE"): $(tail -3 "$T_DIR/feed.out")"
}

# chaos_chunks CSV N: CSV cut in N consecutive pieces T_DIR/chunk.I.csv.
chaos_chunks() {
  local csv="$1" chunks="$2" n per i
  n=$(($(wc -l <"$csv") - 1))
  per=$(((n + chunks - 1) / chunks))
  for ((i = 0; i < chunks; i++)); do
    { head -n 1 "$csv"; tail -n +2 "$csv" | sed -n "$((i * per + 1)),$(((i + 1) * per))p"; } \
      >"$T_DIR/chunk.$i.csv"
  done
}

chaos_trickle_wait() {
  wait "$TRICKLE_PID" || fail "trickle producer: exit $?"
  ! grep -q '^trickle: chunk' "$T_DIR/trickle.out" || fail "$(grep '^trickle' "$T_DIR/trickle.out")"
  local p
  p="$(grep -Eo 'published [0-9]+' "$T_DIR/trickle.out" | awk '{s += $2} END {print s + 0}')"
  CHAOS_DELIVERED=$((CHAOS_DELIVERED + p))
  CHAOS_RECORDS=$((CHAOS_RECORDS + p))
}
