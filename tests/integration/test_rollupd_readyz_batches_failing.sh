#!/usr/bin/env bash
# outcomes-rollupd while PostgreSQL rejects every batch on a live
# connection (here: a trigger on outcomes.series_facts raising SQLSTATE 53100
# "could not extend file", as a full disk does):
#   - the daemon keeps retrying and neither exits nor skips a record;
#   - /readyz turns 503 "not ready: batches failing: SQLSTATE 53100 for N s,
#     M attempts" once ready.max.failures (default 3) batches in a row
#     failed, while /healthz stays 200 (the loop turns); it names the
#     SQLSTATE only, never the server's text, which may quote values (the
#     endpoint has no authentication);
#   - outcomes_batch_consecutive_failures counts them, and
#     outcomes_batches_total{result="failed"} agrees;
#   - batch_failed is logged once, and batch_still_failing keeps leaving a
#     warning (with the error) at most once per stats.interval, though the
#     attempts come several times faster;
#   - outcomes_ready says what /readyz says: 0, then 1;
#   - once the fault is gone the next commit makes /readyz 200 again, the
#     gauge drops to 0, batch_recovered is logged, and every record of the
#     topic is accounted: applied + stale + dead_lettered = the offsets span
#     = the high-water marks.
source "$(dirname "$0")/pipeline_common.bash"

RECORDS=1149 # deploy/demo/observations.csv
new_db readyz
TOPIC="$(new_topic readyz 3)"
GROUP="$(uniq_name readyz)"
produce -t "$TOPIC" "${OC_SOURCE_DIR}/deploy/demo/observations.csv" || fail "produce"

# The fault, before the daemon's first batch.
sql "CREATE FUNCTION outcomes.test_disk_full() RETURNS trigger LANGUAGE plpgsql AS \$\$
     BEGIN
       RAISE EXCEPTION 'could not extend file \"base/1/2\": No space left on device'
         USING ERRCODE = '53100', DETAIL = 'row data that /readyz must not show';
     END \$\$;
     CREATE TRIGGER test_disk_full BEFORE INSERT OR UPDATE ON outcomes.series_facts
       FOR EACH STATEMENT EXECUTE FUNCTION outcomes.test_disk_full();" ||
  fail "cannot create the failing trigger"

DLOG="$T_DIR/daemon.log"
# Retries far more often than stats.interval, so that the rate limit of
# batch_still_failing shows; timestamps in the log (not the journal's form).
STATS_S=2
env -u JOURNAL_STREAM "$DAEMON" -X "topic=$TOPIC" -X "group.id=$GROUP" -X "schema.dir=$SCHEMAS" \
  -X batch.max.records=50 -X batch.max.wait=50ms -X retry.backoff.max=100ms \
  -X stats.interval=${STATS_S}s -X metrics.listen=127.0.0.1:0 >"$DLOG" 2>&1 &
pid=$!
T_PIDS+=("$pid")
wait_for 30 grep -q "metrics_listening port=" "$DLOG" || fail "no metrics_listening line: $(tail -5 "$DLOG")"
port="$(sed -n 's/.*metrics_listening port=\([0-9]*\).*/\1/p' "$DLOG" | head -1)"

get() { # get PATH: prints "STATUS BODY"
  python3 - "$port" "$1" <<'PY'
import sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}{sys.argv[2]}", timeout=5)
    print(r.status, r.read().decode(), end="")
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode(), end="")
PY
}
scrape() {
  get /metrics >"$T_DIR/scrape.raw"
  [[ "$(head -c 3 "$T_DIR/scrape.raw")" == 200 ]] || fail "/metrics: $(head -2 "$T_DIR/scrape.raw")"
  sed '1s/^200 //' "$T_DIR/scrape.raw" >"$T_DIR/scrape"
}
metric() { awk -v k="$1" '$1 == k {print $2}' "$T_DIR/scrape"; }
alive() { kill -0 "$pid" 2>/dev/null || fail "the daemon exited: $(tail -5 "$DLOG")"; }
consumed() { sql "SELECT coalesce(sum(applied + stale + dead_lettered), 0) FROM outcomes.consumer_offsets"; }

# 1. Not ready while batches fail, with the reason.
not_ready() {
  alive
  READY="$(get /readyz)"
  [[ "$READY" == "503 not ready: batches failing: SQLSTATE 53100"* ]]
}
wait_for 60 not_ready || fail "/readyz while every batch fails: '$READY', want 503 batches failing"
[[ "$READY" =~ ^"503 not ready: batches failing: SQLSTATE 53100 for "[0-9]+" s, "[0-9]+" attempts"$ ]] ||
  fail "/readyz reason: '$READY'"
[[ "$READY" != *"row data"* && "$READY" != *"dbname"* ]] || fail "/readyz shows the detail or the conninfo: '$READY'"
[[ "$(get /healthz)" == "200 ok"* ]] || fail "/healthz while batches fail: $(get /healthz)"
pass "/readyz 503 while batches fail: ${READY#503 }"

scrape
failing="$(metric outcomes_batch_consecutive_failures)"
failed="$(metric 'outcomes_batches_total{result="failed"}')"
((${failing:-0} >= 3)) || fail "outcomes_batch_consecutive_failures '$failing', want >= 3"
((${failed:-0} >= ${failing:-0})) || fail "batches failed '$failed' < consecutive '$failing'"
[[ "$(metric outcomes_pg_connected)" == 1 ]] || fail "pg_connected should stay 1 (a live connection)"
[[ "$(metric outcomes_ready)" == 0 ]] || fail "outcomes_ready '$(metric outcomes_ready)' while /readyz is 503"
[[ "$(metric "outcomes_records_consumed_total{topic=\"$TOPIC\"}")" == 0 ]] ||
  fail "records counted while nothing committed"
pass "outcomes_batch_consecutive_failures $failing, batches failed $failed, pg_connected 1, ready 0"

# 2. A long stall keeps leaving a bounded trace in the log.
still() { grep -c 'batch_still_failing attempts=' "$DLOG" || true; }
still_4() { alive; (($(still) >= 4)); }
wait_for 60 still_4 || fail "batch_still_failing lines: $(still), want >= 4"
alive
n_failed="$(grep -c 'batch_failed .*SQLSTATE 53100: could not extend file' "$DLOG" || true)"
[[ "$n_failed" == 1 ]] || fail "batch_failed logged $n_failed times, want once per distinct error"
grep 'batch_still_failing' "$DLOG" | tail -1 | grep -q 'error=".*SQLSTATE 53100: could not extend file' ||
  fail "batch_still_failing without the error: $(grep -m1 batch_still_failing "$DLOG")"
# At most one line per stats.interval (the log's wall-clock stamps; 0.2 s
# of slack), while the attempts run several times faster.
grep 'batch_still_failing' "$DLOG" >"$T_DIR/still.log"
rate="$(python3 - "$T_DIR/still.log" "$STATS_S" <<'PY'
import re, sys
from datetime import datetime
stamps, attempts = [], []
for line in open(sys.argv[1]):
    stamps.append(datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp())
    attempts.append(int(re.search(r"attempts=(\d+)", line).group(1)))
gaps = [b - a for a, b in zip(stamps, stamps[1:])]
print("min_gap=%.2f attempts=%d..%d lines=%d %s" % (min(gaps), attempts[0], attempts[-1], len(stamps),
      "ok" if min(gaps) >= float(sys.argv[2]) - 0.2 and attempts == sorted(attempts) else "bad"))
PY
)"
[[ "$rate" == *" ok" ]] || fail "batch_still_failing not rate-limited: $rate"
[[ "$(consumed)" == 0 ]] || fail "records accounted while every batch fails: $(consumed)"
pass "batch_failed once; batch_still_failing $rate; nothing committed"

# 3. The fault goes: ready again at the next commit, every record applied.
sql "DROP TRIGGER test_disk_full ON outcomes.series_facts" || fail "drop trigger"
caught_up() { alive; [[ "$(consumed)" == "$RECORDS" ]]; }
wait_for 120 caught_up || fail "consumed $(consumed) of $RECORDS after the fault"
ready() { [[ "$(get /readyz)" == "200 ready"* ]]; }
wait_for 10 ready || fail "/readyz after recovery: $(get /readyz)"
scrape
[[ "$(metric outcomes_batch_consecutive_failures)" == 0 ]] ||
  fail "outcomes_batch_consecutive_failures $(metric outcomes_batch_consecutive_failures) after recovery"
[[ "$(metric outcomes_ready)" == 1 ]] || fail "outcomes_ready '$(metric outcomes_ready)' after recovery"
[[ "$(metric "outcomes_records_consumed_total{topic=\"$TOPIC\"}")" == "$RECORDS" ]] ||
  fail "consumed_total $(metric "outcomes_records_consumed_total{topic=\"$TOPIC\"}"), want $RECORDS"
grep -q 'batch_recovered after_failures=[0-9]' "$DLOG" || fail "no batch_recovered line"
check_accounting
span="$(sql "SELECT sum(next_offset - first_offset + rewound) FROM outcomes.consumer_offsets")"
[[ "$span" == "$RECORDS" ]] || fail "offsets span $span, want $RECORDS"
for p in 0 1 2; do
  hw="$(high_watermark "$TOPIC" "$p")"
  next="$(sql "SELECT coalesce(max(next_offset), 0) FROM outcomes.consumer_offsets
               WHERE group_id = '$GROUP' AND topic = '$TOPIC' AND partition = $p")"
  [[ "$next" == "$hw" ]] || fail "partition $p: next_offset $next, high-water mark $hw"
done
pass "after the fault: /readyz 200, gauge 0, $RECORDS records = applied + stale + dead_lettered = span"

kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[[ "$rc" == 0 ]] || fail "exit $rc after SIGTERM: $(tail -5 "$DLOG")"
! grep -q 'runtime error\|AddressSanitizer\|LeakSanitizer' "$DLOG" || fail "sanitizer report in the log"
pass "SIGTERM exits 0"
