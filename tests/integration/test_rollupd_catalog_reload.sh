#!/usr/bin/env bash
# test_rollupd_catalog_reload.sh - a running outcomes-rollupd keeps its
# catalog current without a restart:
#   - a record of a metric the database's catalog lacks is dead-lettered;
#     outcomes-migrate with the catalog that has it announces the change
#     (NOTIFY outcomes_catalog), the daemon logs "catalog_reloaded
#     added=hie_users ...", and the dead letter redriven at once is applied;
#   - a change made without a notification (the trigger disabled) is not
#     seen until SIGHUP, which reloads it ("changed=er_visits");
#   - a table that does not make a catalog (a unit the parser refuses) is
#     logged as catalog_reload_failed, the catalog in use is kept (records
#     of its metrics are still applied), and the repair is reloaded.
source "$(dirname "$0")/pipeline_common.bash"

grep -vP '^hie_users\t' "$CATALOG" >"$T_DIR/catalog-old.tsv"
new_db catalog_reload "$T_DIR/catalog-old.tsv"
TOPIC="$(new_topic catalog_reload 1)"
GROUP="$(uniq_name g_catalog_reload)"
LOG="$T_DIR/daemon.log"
fail_details() { echo "--- daemon log:"; tail -20 "$LOG"; }

"$DAEMON" -X "topic=$TOPIC" -X "group.id=$GROUP" -X "schema.dir=$SCHEMAS" \
  -X batch.max.wait=50ms -X retry.backoff.max=200ms >"$LOG" 2>&1 &
DPID=$!
T_PIDS+=("$DPID")
wait_for 30 grep -q "partitions_assigned .*count=1" "$LOG" || fail "the daemon took no partition"
n=0
# send METRIC VALUE: one record of org-1's January.
send() {
  n=$((n + 1))
  printf '%s\norg-1,fac-1,%s,MONTH,2024-01-01,%s,,,test,2024-02-%02dT00:00:00Z\n' \
    "$HDR" "$1" "$2" "$n" >"$T_DIR/obs.csv"
  produce -t "$TOPIC" "$T_DIR/obs.csv" >/dev/null 2>&1 || fail "produce $1: exit $?"
}
fact_is() {
  [[ "$(sql "SELECT value FROM outcomes.facts WHERE metric = '$1' AND org_id = 'org-1'")" == "$2" ]]
}
log_has() { grep -qF -- "$1" "$LOG"; }

# --- an unknown metric, the catalog fixed, the dead letter redriven ------------
send hie_users 4200
dead() { [[ "$(sql "SELECT count(*) FROM outcomes.dead_letters WHERE error_code = 'unknown_metric'")" == 1 ]]; }
wait_for 30 dead || fail "the hie_users record was not dead-lettered"
migrate "$CATALOG"
wait_for 15 log_has "catalog_reloaded added=hie_users removed= changed= metrics=19 trigger=notify" ||
  fail "no catalog_reloaded line after outcomes-migrate"
out="$(replay dlq redrive --code unknown_metric)" || fail "redrive: exit $? $out"
[[ "$out" == "redriven id 1"$'\n'"redriven 1 dead letter(s), 0 not delivered" ]] ||
  fail "redrive: $out"
wait_for 30 fact_is hie_users 4200 ||
  fail "the redriven record was not applied: $(sql "SELECT metric, value FROM outcomes.facts")"
[[ "$(sql "SELECT count(*) FROM outcomes.dead_letters")" == 1 ]] ||
  fail "the redriven record was dead-lettered again"
pass "outcomes-migrate's change reloads the catalog (notify); the redriven record is applied"

# --- a change without a notification, then SIGHUP -------------------------------
sql "ALTER TABLE outcomes.metric_catalog DISABLE TRIGGER metric_catalog_changed;
     UPDATE outcomes.metric_catalog SET name = 'ER visits' WHERE code = 'er_visits';
     ALTER TABLE outcomes.metric_catalog ENABLE TRIGGER metric_catalog_changed" >/dev/null
sleep 1
[[ "$(grep -c catalog_reloaded "$LOG")" == 1 ]] || fail "reloaded without a notification or SIGHUP"
kill -HUP "$DPID"
wait_for 15 log_has "catalog_reloaded added= removed= changed=er_visits metrics=19 trigger=sighup" ||
  fail "no catalog_reloaded line after SIGHUP"
kill -0 "$DPID" || fail "the daemon died of SIGHUP"
pass "SIGHUP reloads the catalog (a change made without a notification)"

# --- a table that does not make a catalog ---------------------------------------
sql "UPDATE outcomes.metric_catalog SET unit = '[a' WHERE code = 'er_visits'" >/dev/null
wait_for 15 log_has "catalog_reload_failed reason=\"outcomes.metric_catalog: metric 'er_visits': unit: not a UCUM code '[a'" ||
  fail "no catalog_reload_failed line"
grep -F "catalog_reload_failed" "$LOG" | grep -qF "trigger=notify retry=0 metrics=19: the catalog in use is kept" ||
  fail "catalog_reload_failed: $(grep -F catalog_reload_failed "$LOG")"
send er_visits 17
wait_for 30 fact_is er_visits 17 || fail "er_visits not applied with the catalog kept"
send hie_users 4300
wait_for 30 fact_is hie_users 4300 || fail "hie_users not applied with the catalog kept"
kill -HUP "$DPID"
wait_for 15 grep -qF 'trigger=sighup retry=0 metrics=19: the catalog in use is kept' "$LOG" ||
  fail "SIGHUP with the bad table: no catalog_reload_failed line"
sql "UPDATE outcomes.metric_catalog SET unit = '{count}', name = 'Emergency room visits'
     WHERE code = 'er_visits'" >/dev/null
wait_for 15 log_has "catalog_reloaded added= removed= changed=er_visits metrics=19 trigger=notify" ||
  fail "the repaired table was not reloaded"
[[ "$(sql "SELECT count(*) FROM outcomes.dead_letters")" == 1 ]] ||
  fail "dead letters: $(sql "SELECT error_code, error_message FROM outcomes.dead_letters")"
pass "a table that does not load keeps the catalog in use (records applied); its repair is reloaded"

kill -TERM "$DPID"
wait "$DPID" || fail "the daemon exited $?"
check_accounting
pass "clean stop"
