#!/usr/bin/env bash
# The daemons' HTTP endpoints during a run. outcomes-rollupd: the demo file
# (1149 records) plus three undecodable messages; once the daemon has caught
# up, /metrics counts exactly what the input holds and what consumer_offsets
# says, /healthz and /readyz answer 200, and SIGTERM exits 0.
# outcomes-produce --watch: a file of four valid rows and one bad row ends
# in done/, and /metrics counts one file done, four published, one rejected,
# none pending, none failed to publish.
# Each daemon's /metrics serves exactly the series docs/metrics.md lists for
# it: none missing from the doc, none in the doc that the daemon lacks.
source "$(dirname "$0")/pipeline_common.bash"

# doc_series SECTION: the series names of the table under "## SECTION".
doc_series() {
  awk -v sec="## $1" '/^## / { on = ($0 == sec) } on && /^\| `outcomes_/ { split($0, c, "`"); print c[2] }' \
    "${OC_SOURCE_DIR}/docs/metrics.md" | sort -u
}
# same_series NAME SECTION SCRAPE: the families of SCRAPE (its # TYPE lines)
# are those of the section, both ways.
same_series() {
  local doc served missing extra
  doc="$(doc_series "$2")"
  served="$(sed -n 's/^# TYPE \([a-z_:]*\) .*/\1/p' "$3" | sort -u)"
  [[ -n "$doc" ]] || fail "docs/metrics.md has no table under '## $2'"
  missing="$(comm -13 <(printf '%s\n' "$doc") <(printf '%s\n' "$served") | tr '\n' ' ')"
  extra="$(comm -23 <(printf '%s\n' "$doc") <(printf '%s\n' "$served") | tr '\n' ' ')"
  [[ -z "${missing// /}" ]] || fail "$1 serves series docs/metrics.md does not list: ${missing}"
  [[ -z "${extra// /}" ]] || fail "docs/metrics.md lists series $1 does not serve: ${extra}"
  pass "$1 serves exactly the $(grep -c . <<<"$served") series docs/metrics.md lists"
}

new_db metrics
TOPIC="$(new_topic metrics 3)"
GROUP="$(uniq_name metrics)"
produce -t "$TOPIC" "${OC_SOURCE_DIR}/deploy/demo/observations.csv" || fail "produce"
printf 'k1\tnot avro\nk2\t\xc3\x01short\nk3\tgarbage\n' |
  kcat -P -b "$BROKERS" -t "$TOPIC" -K '\t' || fail "kcat -P"

"$DAEMON" -X "topic=$TOPIC" -X "group.id=$GROUP" -X "schema.dir=$SCHEMAS" \
  -X metrics.listen=127.0.0.1:0 >"$T_DIR/daemon.log" 2>&1 &
pid=$!
T_PIDS+=("$pid")
port=""
wait_for 30 grep -q "metrics_listening port=" "$T_DIR/daemon.log" || fail "no metrics_listening line"
port="$(sed -n 's/.*metrics_listening port=\([0-9]*\).*/\1/p' "$T_DIR/daemon.log" | head -1)"

consumed() { sql "SELECT coalesce(sum(applied + stale + dead_lettered), 0) FROM outcomes.consumer_offsets"; }
caught_up() { [[ "$(consumed)" == 1152 ]]; }
wait_for 120 caught_up || fail "daemon consumed $(consumed) of 1152"

get() { # get PATH: prints "STATUS BODY"
  python3 - "$port" "$1" <<'PY'
import sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}{sys.argv[2]}", timeout=5)
    print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
PY
}
metric() { # metric NAME{LABELS}: its value in the last scrape
  awk -v k="$1" '$1 == k {print $2}' "$T_DIR/scrape"
}
get /metrics >"$T_DIR/scrape.raw"
[[ "$(head -c 3 "$T_DIR/scrape.raw")" == 200 ]] || fail "/metrics: $(head -2 "$T_DIR/scrape.raw")"
sed '1s/^200 //' "$T_DIR/scrape.raw" >"$T_DIR/scrape"

applied="$(sql "SELECT sum(applied) FROM outcomes.consumer_offsets")"
stale="$(sql "SELECT sum(stale) FROM outcomes.consumer_offsets")"
t="topic=\"$TOPIC\""
[[ "$(metric "outcomes_records_consumed_total{$t}")" == 1152 ]] ||
  fail "consumed: $(metric "outcomes_records_consumed_total{$t}"), want 1152"
[[ "$(metric "outcomes_records_applied_total{$t}")" == "$applied" ]] ||
  fail "applied: $(metric "outcomes_records_applied_total{$t}"), want $applied"
[[ "$(metric "outcomes_records_stale_total{$t}")" == "$stale" ]] ||
  fail "stale: $(metric "outcomes_records_stale_total{$t}"), want $stale"
[[ "$(metric "outcomes_dead_letters_total{$t,reason=\"undecodable\"}")" == 3 ]] ||
  fail "dead letters: $(grep dead_letters "$T_DIR/scrape")"
[[ "$((applied + stale + 3))" == 1152 ]] || fail "applied $applied + stale $stale + 3 != 1152"
[[ "$(metric outcomes_pg_connected)" == 1 ]] || fail "pg_connected"
lag=0
for p in 0 1 2; do
  l="$(metric "outcomes_consumer_lag{$t,partition=\"$p\"}")"
  [[ -n "$l" ]] || fail "no lag for partition $p"
  lag=$((lag + l))
done
[[ "$lag" == 0 ]] || fail "lag $lag after catching up"
grep -q '^outcomes_batches_total{result="committed"} [1-9]' "$T_DIR/scrape" || fail "batches"
pass "/metrics: consumed 1152 = applied $applied + stale $stale + 3 undecodable; lag 0"
same_series outcomes-rollupd outcomes-rollupd "$T_DIR/scrape"

[[ "$(get /healthz)" == "200 ok" ]] || fail "/healthz: $(get /healthz)"
[[ "$(get /readyz)" == "200 ready" ]] || fail "/readyz: $(get /readyz)"
[[ "$(get /nope | cut -c1-3)" == 404 ]] || fail "/nope"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[[ "$rc" == 0 ]] || fail "exit $rc after SIGTERM"
pass "/healthz and /readyz 200; SIGTERM exits 0"

# The spool watcher.
mkdir -p "$T_DIR/spool"
"$PRODUCE" -b "$BROKERS" --catalog "$CATALOG" --schema-dir "$SCHEMAS" -t "$TOPIC" \
  -X metrics.listen=127.0.0.1:0 --watch "$T_DIR/spool" >"$T_DIR/watch.log" 2>&1 &
wpid=$!
T_PIDS+=("$wpid")
wait_for 30 grep -q "metrics_listening port=" "$T_DIR/watch.log" || fail "watcher: no metrics_listening"
port="$(sed -n 's/.*metrics_listening port=\([0-9]*\).*/\1/p' "$T_DIR/watch.log" | head -1)"
{
  echo "$HDR"
  for m in 01 02 03 04; do
    echo "org-w,fac-1,er_visits,MONTH,2024-$m-01,$m,,,test,2024-06-01T00:00:00Z"
  done
  echo "org-w,fac-1,er_visits,MONTH,2024-05-07,5,,,test,2024-06-01T00:00:00Z"
} >"$T_DIR/.batch.csv"
mv "$T_DIR/.batch.csv" "$T_DIR/spool/batch.csv"
wait_for 60 test -f "$T_DIR/spool/done/batch.csv" || fail "watcher: file not in done/"
sleep 0.2
get /metrics >"$T_DIR/scrape.raw"
sed '1s/^200 //' "$T_DIR/scrape.raw" >"$T_DIR/scrape"
[[ "$(metric 'outcomes_spool_files_total{result="done"}')" == 1 ]] ||
  fail "watcher files: $(grep spool_files "$T_DIR/scrape")"
[[ "$(metric "outcomes_records_published_total{$t}")" == 4 ]] ||
  fail "watcher published: $(grep published "$T_DIR/scrape")"
[[ "$(metric outcomes_records_rejected_total)" == 1 ]] ||
  fail "watcher rejected: $(grep rejected "$T_DIR/scrape")"
[[ "$(metric outcomes_spool_files_pending)" == 0 ]] ||
  fail "watcher pending: $(grep spool_files_pending "$T_DIR/scrape")"
[[ "$(metric "outcomes_records_publish_failed_total{$t}")" == 0 ]] ||
  fail "watcher publish failed: $(grep publish_failed "$T_DIR/scrape")"
same_series "outcomes-produce --watch" "outcomes-produce --watch" "$T_DIR/scrape"
[[ "$(get /readyz)" == "200 ready" ]] || fail "watcher /readyz: $(get /readyz)"
[[ "$(get /healthz)" == "200 ok" ]] || fail "watcher /healthz: $(get /healthz)"
kill -TERM "$wpid"
rc=0
wait "$wpid" || rc=$?
[[ "$rc" == 0 ]] || fail "watcher exit $rc after SIGTERM"
pass "outcomes-produce --watch /metrics: 1 file done, 4 published, 1 rejected, 0 pending; SIGTERM exits 0"
