#!/usr/bin/env bash
# test_produce_fault.sh - the broker stops (SIGSTOP of its JVM) in the middle
# of a large publish and comes back. For a pause shorter than
# message.timeout.ms every record is delivered (exit 0, all on the topic);
# for a longer one the run exits 69 saying exactly how many were not
# delivered, and what the topic holds is what the producer says it
# delivered (plus at most the records it reports as "possibly persisted":
# failed while in flight). Never a silent loss. A pause that misses the
# publish fails the test.
#
# Pauses the stack's broker for a few seconds, and what it checks depends on
# how long: runs alone (ctest label exclusive, tests/CMakeLists.txt).
source "$(dirname "$0")/produce_common.bash"

: "${OUTCOMES_STACK_DIR:?set by deploy/stack.sh env}"
BROKER_PID="$(cat "${OUTCOMES_STACK_DIR}/kafka/kafka.pid")"
kill -0 "$BROKER_PID" || fail "broker pid $BROKER_PID not running"
resume_broker() { kill -CONT "$BROKER_PID" 2>/dev/null || true; }
trap 'resume_broker; cleanup' EXIT

ROWS=1000000
gen_csv "$T_DIR/big.csv" "$ROWS"

# run_with_pause TOPIC PAUSE_S EXTRA_ARGS...: publish big.csv, pausing the
# broker for PAUSE_S seconds once the producer has been running 1 s.
# Sets RC and OUT.
run_with_pause() {
  local topic="$1" pause="$2"
  shift 2
  "$PRODUCE" -b "$BROKERS" --catalog "$CATALOG" --schema-dir "$SCHEMAS" -t "$topic" "$@" \
    "$T_DIR/big.csv" >"$T_DIR/out" 2>&1 &
  local pid=$!
  T_PIDS+=("$pid")
  sleep 1
  kill -STOP "$BROKER_PID"
  # The pause must fall inside the publish, or this run checks nothing.
  if ! kill -0 "$pid" 2>/dev/null; then
    resume_broker
    fail "the producer ended before the broker was paused: $(tail -3 "$T_DIR/out")"
  fi
  sleep "$pause"
  resume_broker
  set +e
  wait "$pid"
  RC=$?
  set -e
  OUT="$(grep -v kafka_log "$T_DIR/out" || true)"
}

# --- a pause shorter than the message timeout: everything arrives --------
topic="$(new_topic prod_fault_ok 3)"
run_with_pause "$topic" 4
[[ $RC == 0 ]] || fail "short pause: exit $RC ($OUT)"
grep -q "^rows read $ROWS, published $ROWS, rejected 0$" <<<"$OUT" || fail "short pause: $OUT"
n="$(topic_count "$topic")"
[[ "$n" == "$ROWS" ]] || fail "short pause: $n records on the topic, want $ROWS (no loss, no duplicate)"
pass "broker paused 4 s: all $ROWS delivered exactly once"

# --- a pause longer than the message timeout: exit 69 with the count ------
topic="$(new_topic prod_fault_fail 3)"
run_with_pause "$topic" 8 -X message.timeout.ms=3000
echo "$OUT"
n="$(topic_count "$topic")"
# Paused for longer than message.timeout.ms while records were in flight:
# they cannot all have been delivered, so exit 0 would be a lie.
[[ $RC == 69 ]] || fail "long pause: exit $RC, want 69 ($n records on the topic)"
read_n="$(summary_field "$OUT" "rows read")"
published="$(summary_field "$OUT" "published")"
not_delivered="$(summary_field "$OUT" "not delivered")"
possibly="$(grep -Eo '\(([0-9]+) of them possibly persisted\)' <<<"$OUT" | grep -Eo '[0-9]+' || echo 0)"
[[ -n "$published" && -n "$not_delivered" ]] || fail "no counts in: $OUT"
grep -q "$not_delivered records\? not delivered" <<<"$OUT" || fail "no 'N records not delivered' message"
((published + not_delivered == read_n)) ||
  fail "published $published + not delivered $not_delivered != read $read_n"
((n >= published && n <= published + possibly)) ||
  fail "topic has $n records; producer said delivered $published (possibly persisted $possibly)"
# Every record on the topic is a distinct fact: the idempotent producer
# wrote none twice.
dups="$(topic_dump "$topic" | cut -f1 | sort | uniq -d | wc -l)"
[[ "$dups" == 0 ]] || fail "$dups duplicated keys on the topic"
pass "broker paused 8 s: exit 69, $not_delivered not delivered, topic holds $n = delivered $published (+$possibly possibly persisted)"

# --- SIGTERM while the broker is stopped: flush within --flush-timeout -----
topic="$(new_topic prod_fault_term 3)"
# Not through the produce() function: the signal must reach the program.
"$PRODUCE" -b "$BROKERS" --catalog "$CATALOG" --schema-dir "$SCHEMAS" -t "$topic" \
  --flush-timeout 2s "$T_DIR/big.csv" >"$T_DIR/out" 2>&1 &
pid=$!
T_PIDS+=("$pid")
sleep 1
kill -STOP "$BROKER_PID"
sleep 0.5
kill -TERM "$pid"
start=$SECONDS
set +e
wait "$pid"
RC=$?
set -e
took=$((SECONDS - start))
resume_broker
OUT="$(grep -v kafka_log "$T_DIR/out" || true)"
echo "$OUT"
((took <= 6)) || fail "SIGTERM: took ${took} s with --flush-timeout 2s"
[[ $RC == 69 || $RC == 75 ]] || fail "SIGTERM: exit $RC, want 69 (records purged) or 75"
published="$(summary_field "$OUT" "published")"
possibly="$(grep -Eo '\(([0-9]+) of them possibly persisted\)' <<<"$OUT" | grep -Eo '[0-9]+' || echo 0)"
sleep 1
n="$(topic_count "$topic")"
((n >= published && n <= published + possibly)) ||
  fail "SIGTERM: topic has $n records; producer said delivered $published (+$possibly possibly)"
pass "SIGTERM with the broker stopped: exit $RC in ${took} s, topic holds $n = delivered $published (+$possibly possibly persisted)"
