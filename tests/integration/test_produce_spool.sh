#!/usr/bin/env bash
# test_produce_spool.sh - outcomes-produce --watch DIR against the real
# broker: files renamed into DIR go to done/ once every record is
# acknowledged; rejected rows are listed in a .errors report; files with
# nothing publishable go to failed/; dot files and *.tmp are ignored;
# kill -9 while a file is in processing/ and a restart still delivers every
# record; with Kafka unreachable the file stays in processing/ (and
# /metrics counts the pending files and the undelivered rows); READY=1 and
# STOPPING=1 reach systemd's notify socket; SIGTERM stops it with exit 0.
source "$(dirname "$0")/produce_common.bash"

SPOOL="$T_DIR/spool"
mkdir -p "$SPOOL"
NOTIFY_LOG="$T_DIR/notify.log"

# A stand-in for systemd's notify socket: every datagram, one per line.
python3 - "$T_DIR/notify.sock" "$NOTIFY_LOG" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        f.write(s.recv(4096).decode().replace("\n", " ") + "\n")
PY
T_PIDS+=($!)
wait_for 10 test -S "$T_DIR/notify.sock" || fail "notify socket"

# start_watcher TOPIC [ARGS...]: sets WATCHER (pid); log in $T_DIR/watch.log.
start_watcher() {
  local topic="$1"
  shift
  NOTIFY_SOCKET="$T_DIR/notify.sock" "$PRODUCE" -b "$BROKERS" --catalog "$CATALOG" \
    --schema-dir "$SCHEMAS" -t "$topic" --watch "$SPOOL" -X watch.rescan.interval=500ms \
    -X watch.retry.backoff.min=200ms -X watch.retry.backoff.max=1s "$@" \
    >>"$T_DIR/watch.log" 2>&1 &
  WATCHER=$!
  T_PIDS+=("$WATCHER")
}

stop_watcher() {
  kill -TERM "$WATCHER"
  set +e
  timeout 40 tail --pid="$WATCHER" -f /dev/null
  wait "$WATCHER"
  local rc=$?
  set -e
  [[ $rc == 0 ]] || fail "watcher exit $rc after SIGTERM: $(tail -5 "$T_DIR/watch.log")"
}

# drop FILE NAME: place FILE into the spool as NAME, by rename.
drop() {
  cp "$1" "$SPOOL/.$2.partial"
  mv "$SPOOL/.$2.partial" "$SPOOL/$2"
}

# --- done/, done/ + .errors, failed/ + .errors, ignored names ---------------
topic="$(new_topic prod_spool)"
start_watcher "$topic"
wait_for 20 grep -q READY=1 "$NOTIFY_LOG" || fail "no READY=1: $(cat "$T_DIR/watch.log")"

gen_csv "$T_DIR/a.csv" 100
drop "$T_DIR/a.csv" a.csv
{
  echo "$HDR"
  echo "p1,,er_visits,MONTH,2024-03-01,5,,,s,"
  echo "p1,,nosuch,MONTH,2024-03-01,5,,,s,"
} >"$T_DIR/mixed.csv"
drop "$T_DIR/mixed.csv" mixed.csv
{
  echo "$HDR"
  echo "p2,,nosuch,MONTH,2024-03-01,5,,,s,"
} >"$T_DIR/allbad.csv"
drop "$T_DIR/allbad.csv" allbad.csv
printf 'org_id,colour\n' >"$T_DIR/header.csv"
drop "$T_DIR/header.csv" header.csv
echo "not a spool file" >"$T_DIR/notes.txt"
drop "$T_DIR/notes.txt" notes.txt
cp "$T_DIR/a.csv" "$SPOOL/.hidden.csv"
cp "$T_DIR/a.csv" "$SPOOL/later.csv.tmp"

wait_for 30 test -f "$SPOOL/done/a.csv" || fail "a.csv not in done/: $(ls -R "$SPOOL")"
wait_for 30 test -f "$SPOOL/done/mixed.csv" || fail "mixed.csv not in done/"
wait_for 30 test -f "$SPOOL/failed/allbad.csv" || fail "allbad.csv not in failed/"
wait_for 30 test -f "$SPOOL/failed/header.csv" || fail "header.csv not in failed/"
wait_for 30 test -f "$SPOOL/failed/notes.txt" || fail "notes.txt not in failed/"
[[ ! -e "$SPOOL/done/a.csv.errors" ]] || fail "a.csv has an error report"
[[ "$(cat "$SPOOL/done/mixed.csv.errors")" == "mixed.csv:3: metric: unknown metric 'nosuch'" ]] ||
  fail "mixed.csv.errors: $(cat "$SPOOL/done/mixed.csv.errors")"
[[ "$(cat "$SPOOL/failed/allbad.csv.errors")" == "allbad.csv:2: metric: unknown metric 'nosuch'" ]] ||
  fail "allbad.csv.errors: $(cat "$SPOOL/failed/allbad.csv.errors")"
[[ "$(cat "$SPOOL/failed/header.csv.errors")" == "header.csv:1: unknown column 'colour'" ]] ||
  fail "header.csv.errors: $(cat "$SPOOL/failed/header.csv.errors")"
grep -q "cannot tell the format" "$SPOOL/failed/notes.txt.errors" || fail "notes.txt.errors"
sleep 1.5 # three rescans
[[ -f "$SPOOL/.hidden.csv" && -f "$SPOOL/later.csv.tmp" ]] || fail "ignored names were taken"
[[ -z "$(ls -A "$SPOOL/processing")" ]] || fail "processing/ not empty: $(ls -A "$SPOOL/processing")"
[[ "$(topic_count "$topic")" == 101 ]] || fail "$(topic_count "$topic") records, want 101"
stop_watcher
grep -q STOPPING=1 "$NOTIFY_LOG" || fail "no STOPPING=1"
rm -f "$SPOOL/.hidden.csv" "$SPOOL/later.csv.tmp"
pass "done/, .errors reports, failed/, ignored names, READY=1/STOPPING=1, SIGTERM exit 0"

# --- kill -9 while a file is in processing/, then restart ------------------
topic="$(new_topic prod_spool_kill)"
ROWS=1000000
gen_csv "$T_DIR/big.csv" "$ROWS"
start_watcher "$topic"
drop "$T_DIR/big.csv" big.csv
wait_for 30 test -f "$SPOOL/processing/big.csv" || fail "big.csv never in processing/"
sleep 1
kill -9 "$WATCHER"
wait "$WATCHER" 2>/dev/null || true
[[ -f "$SPOOL/processing/big.csv" ]] || fail "big.csv left processing/ before the kill"
[[ ! -e "$SPOOL/done/big.csv" ]] || fail "big.csv reached done/ before the kill: make it bigger"
before="$(topic_count "$topic")"
echo "killed with $before records on the topic"
start_watcher "$topic"
wait_for 180 test -f "$SPOOL/done/big.csv" || fail "big.csv not in done/ after restart"
stop_watcher
n="$(topic_count "$topic")"
((n >= ROWS)) || fail "$n records on the topic, want >= $ROWS"
diff <(topic_dump "$topic" | cut -f1 | sort -u) <(keys_of_csv "$T_DIR/big.csv") >/dev/null ||
  fail "some keys missing on the topic"
pass "kill -9 in processing/: after restart all $ROWS keys on the topic ($n records)"

# --- Kafka unreachable: the file stays in processing/ ------------------------
# /metrics meanwhile: down.csv in processing/ and wait.csv in the spool are
# pending; every attempt counts one retried file and its undelivered rows.
BROKERS=127.0.0.1:1
: >"$T_DIR/watch.log"
down_topic="$(new_topic prod_spool_down)"
start_watcher "$down_topic" -X message.timeout.ms=500 -X metrics.listen=127.0.0.1:0
drop "$T_DIR/a.csv" down.csv
wait_for 20 test -f "$SPOOL/processing/down.csv" || fail "down.csv never in processing/"
drop "$T_DIR/a.csv" wait.csv
sleep 3 # several failed attempts
[[ -f "$SPOOL/processing/down.csv" && ! -e "$SPOOL/done/down.csv" ]] ||
  fail "down.csv left processing/ without acknowledgement"
[[ -f "$SPOOL/wait.csv" ]] || fail "wait.csv was taken while down.csv waits"
grep -q 'file_retry file="down.csv"' "$T_DIR/watch.log" || fail "no retry logged"
port="$(sed -n 's/.*metrics_listening port=\([0-9]*\).*/\1/p' "$T_DIR/watch.log" | head -1)"
[[ -n "$port" ]] || fail "no metrics_listening line"
scrape="$(curl -sf "http://127.0.0.1:${port}/metrics")" || fail "GET /metrics"
# The attempts and their undelivered rows as logged (read after the scrape:
# each attempt is logged before it is counted). An attempt adds its rows,
# then counts itself: a scrape between the two sees the rows of one attempt
# more than it counts.
metric() { awk -v k="$1" '$1 == k { print $2 }' <<<"$scrape"; }
retried="$(metric 'outcomes_spool_files_total{result="retried"}')"
failed="$(metric "outcomes_records_publish_failed_total{topic=\"$down_topic\"}")"
logged="$(sed -n 's/.*file_retry file="down.csv" not_delivered=\([0-9]*\).*/\1/p' "$T_DIR/watch.log")"
sum_first() { head -n "$1" <<<"$logged" | paste -sd+ | bc; }
[[ "$(metric outcomes_spool_files_pending)" == 2 ]] ||
  fail "pending: $(grep spool_files_pending <<<"$scrape"), want 2 (down.csv, wait.csv)"
((retried >= 1 && retried <= $(grep -c . <<<"$logged"))) ||
  fail "retried ${retried}, $(grep -c . <<<"$logged") file_retry lines"
[[ "$failed" -gt 0 && ("$failed" == "$(sum_first "$retried")" ||
  "$failed" == "$(sum_first $((retried + 1)))") ]] ||
  fail "publish failed ${failed}: the first ${retried} file_retry lines say $(sum_first "$retried")"
stop_watcher
[[ -f "$SPOOL/processing/down.csv" ]] || fail "down.csv moved at stop"
rm -f "$SPOOL/wait.csv"
pass "Kafka unreachable: the file stays in processing/ and is retried; 2 pending, ${retried} retries, ${failed} rows not delivered"
