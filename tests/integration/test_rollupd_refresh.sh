#!/usr/bin/env bash
# test_rollupd_refresh.sh - the rollup refresh (include/outcomes/refresh.h)
# step by step on hand-made facts, one batch per step: after each, nothing
# is pending, every rollup row equals the aggregate of the standing facts
# recomputed from scratch (an independent query), and chosen rows have the
# values worked out below: restatements inside and at the extremes and the
# last period, retractions, groups emptied, ratio sums. Then the ways a
# refresh can be kept from running:
#   - kill -9 of the daemon between its facts' commits and the refresh
#     (the refresh lock held by another session): the changes stay in the
#     invalidation log, outcomes.rollup_status says so, and the next
#     daemon's refresh makes the rollups exact;
#   - a refresh that fails (a trigger on the rollup table) while batches go
#     on committing: nothing is lost, and once the fault is gone the
#     rollups catch up.
#
# Facts (er_visits, a count; readmission_rate_30d, a ratio), org o1,
# facilities f1 and f2, the week of Monday 2023-01-02:
#   f1: 01-02 = 10, 01-03 = 20, 01-04 = 30; f2: 01-03 = 7; o1 (org level): 01-04 = 3
# shellcheck source=tests/integration/chaos_common.bash
source "$(dirname "$0")/chaos_common.bash"

new_db rollupd_refresh
topic="$(new_topic rollupd_refresh 1)"
group="$(uniq_name g_refresh)"
T=0

# step CSV_ROWS...: publish the rows (observed_at grows with each step, so
# each is a restatement), apply them in one batch, check every row.
step() {
  T=$((T + 1))
  local f="$T_DIR/step$T.csv" row
  echo "$HDR" >"$f"
  for row in "$@"; do
    printf '%s,test,2023-03-%02dT00:00:00Z\n' "$row" "$T" >>"$f"
  done
  produce -t "$topic" "$f" >/dev/null || fail "step $T: produce: exit $?"
  apply_and_check
}

# retract ID_ROWS...: tombstones for org,facility,metric,grain,period rows.
retract() {
  T=$((T + 1))
  local f="$T_DIR/step$T.csv" row
  echo "org_id,facility_id,metric,grain,period_start" >"$f"
  printf '%s\n' "$@" >>"$f"
  produce -t "$topic" --retract "$f" >/dev/null || fail "step $T: retract: exit $?"
  apply_and_check
}

apply_and_check() {
  : >"$T_DIR/daemon.log"
  daemon "$topic" "$group"
  rollups_current || fail "step $T: changes still pending after --exit-at-end"
  local bad
  bad="$(chaos_rollup_mismatches)"
  [[ "$bad" == 0 ]] || fail "step $T: $bad rollup rows differ from the recomputation"
}

# row LEVEL FACILITY GRAIN METRIC: n|sum|min|max|last_period|last_value
row() {
  sql "SELECT concat_ws('|', n, sum_value, min_value, max_value, last_period, last_value)
       FROM outcomes.rollups WHERE metric = '$4' AND level = '$1' AND facility_id = '$2'
       AND org_id = CASE WHEN '$1' = 'all' THEN '' ELSE 'o1' END AND grain = '$3'
       AND fact_grain = 'DAY'"
}

expect() { # expect WHAT GOT WANT
  [[ "$2" == "$3" ]] || fail "step $T: $1: got '$2', want '$3'"
}

E=er_visits
step "o1,f1,$E,DAY,2023-01-02,10,," "o1,f1,$E,DAY,2023-01-03,20,," \
  "o1,f1,$E,DAY,2023-01-04,30,," "o1,f2,$E,DAY,2023-01-03,7,," "o1,,$E,DAY,2023-01-04,3,,"
expect "f1 week" "$(row facility f1 WEEK $E)" "3|60|10|30|2023-01-04|30"
expect "org week" "$(row org '' WEEK $E)" "5|70|3|30|2023-01-04|33"
expect "all year" "$(row all '' YEAR $E)" "5|70|3|30|2023-01-04|33"
expect "org day 01-04 (from the facts)" "$(sql "SELECT concat_ws('|', n, sum_value, min_value,
  max_value) FROM outcomes.rollups WHERE metric = '$E' AND level = 'org' AND grain = 'DAY'
  AND bucket_start = '2023-01-04'")" "2|33|3|30"
pass "new facts: every level and grain"

# 20 → 25 on 01-03: inside every coarse group's extremes and before its
# last period.
step "o1,f1,$E,DAY,2023-01-03,25,,"
expect "f1 week" "$(row facility f1 WEEK $E)" "3|65|10|30|2023-01-04|30"
expect "org month" "$(row org '' MONTH $E)" "5|75|3|30|2023-01-04|33"
pass "a restatement inside the extremes"

# 10 → 12 on 01-02: f1's minimum leaves; at org and all level 3 stays the
# minimum.
step "o1,f1,$E,DAY,2023-01-02,12,,"
expect "f1 week" "$(row facility f1 WEEK $E)" "3|67|12|30|2023-01-04|30"
expect "org year" "$(row org '' YEAR $E)" "5|77|3|30|2023-01-04|33"
pass "a removed minimum"

# 30 → 28 on 01-04, the last period of every row holding it.
step "o1,f1,$E,DAY,2023-01-04,28,,"
expect "f1 week" "$(row facility f1 WEEK $E)" "3|65|12|28|2023-01-04|28"
expect "all week" "$(row all '' WEEK $E)" "5|75|3|28|2023-01-04|31"
pass "a restated last period"

# Retract f1 01-03 (25): f1's DAY row for it goes; the org and all rows of
# 01-03 lose their maximum; the coarse rows keep min 3 and max 28.
retract "o1,f1,$E,DAY,2023-01-03"
expect "f1 week" "$(row facility f1 WEEK $E)" "2|40|12|28|2023-01-04|28"
expect "org week" "$(row org '' WEEK $E)" "4|50|3|28|2023-01-04|31"
expect "f1 day rows" "$(sql "SELECT count(*) FROM outcomes.rollups WHERE facility_id = 'f1'
  AND grain = 'DAY' AND metric = '$E'")" 2
pass "a retraction; an emptied group loses its row"

# Ratio: numerator and denominator sums.
R=readmission_rate_30d
step "o1,f1,$R,DAY,2023-01-02,0.05,5,100" "o1,f1,$R,DAY,2023-01-03,0.06,6,100" \
  "o1,f1,$R,DAY,2023-01-04,0.08,8,100"
step "o1,f1,$R,DAY,2023-01-03,0.07,7,100"
expect "ratio f1 week sums" "$(sql "SELECT concat_ws('|', n, sum_numerator, sum_denominator,
  sum_value) FROM outcomes.rollups WHERE metric = '$R' AND level = 'facility'
  AND grain = 'WEEK'")" "3|20|300|0.2"
pass "ratio sums are exact"

# Everything retracted: every row goes.
retract "o1,f1,$E,DAY,2023-01-02" "o1,f1,$E,DAY,2023-01-04" "o1,f2,$E,DAY,2023-01-03" \
  "o1,,$E,DAY,2023-01-04" "o1,f1,$R,DAY,2023-01-02" "o1,f1,$R,DAY,2023-01-03" \
  "o1,f1,$R,DAY,2023-01-04"
expect "rollup rows left" "$(sql "SELECT count(*) FROM outcomes.rollups")" 0
pass "retracting every fact leaves no rollup row"
check_accounting
pass "accounting"

# ---- kill -9 between the facts' commits and the refresh -------------------
# Another session holds the refresh lock (refresh_lock.sql's key), so the
# daemon commits batches but cannot refresh; it is killed meanwhile.
LOCK_KEY="1868788326, 1"
PGAPPNAME=test_refresh_lock_holder psql "$OUTCOMES_PG_CONNINFO" -qAtX \
  -c "SELECT pg_advisory_lock($LOCK_KEY); SELECT pg_sleep(600)" >/dev/null 2>&1 &
holder=$!
T_PIDS+=("$holder")
# The server does not notice a client gone while it sleeps: end the session.
release_lock() {
  sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
       WHERE application_name = 'test_refresh_lock_holder'" >/dev/null
  wait "$holder" 2>/dev/null || true
}
wait_for 10 bash -c "[[ \$(psql '$OUTCOMES_PG_CONNINFO' -qAtX -c \"SELECT count(*) FROM pg_locks
  WHERE locktype = 'advisory' AND classid = 1868788326 AND objid = 1 AND granted\") == 1 ]]" ||
  fail "the refresh lock was not taken"
step_rows=()
for d in 02 03 04 05 06 07 08; do step_rows+=("o1,f1,$E,DAY,2023-01-$d,$((100 + 10#$d)),,"); done
T=$((T + 1))
f="$T_DIR/step$T.csv"
{ echo "$HDR"; for r in "${step_rows[@]}"; do printf '%s,test,2023-03-%02dT00:00:00Z\n' "$r" "$T"; done; } >"$f"
produce -t "$topic" "$f" >/dev/null || fail "produce"
dpid=""
chaos_daemon_start dpid "$topic" "$group"
wait_for 30 chaos_caught_up "$topic" "$group" || fail "the daemon did not commit the batch"
pending="$(sql "SELECT pending_facts FROM outcomes.rollup_status")"
((pending == 7)) || fail "pending changes: $pending, want 7"
[[ "$(sql "SELECT current_through < now() FROM outcomes.rollup_status")" == t ]] ||
  fail "rollup_status: current_through should lie before now while changes wait"
bad="$(chaos_rollup_mismatches)"
((bad > 0)) || fail "the rollups should be stale while the refresh cannot run"
kill -9 "$dpid"
wait "$dpid" 2>/dev/null || true
[[ "$(sql "SELECT pending_facts FROM outcomes.rollup_status")" == 7 ]] ||
  fail "the invalidations did not survive kill -9"
release_lock
pass "kill -9 between the facts' commit and the refresh: 7 changes still pending, rollups stale"
daemon "$topic" "$group"
rollups_current || fail "changes still pending after the restart"
bad="$(chaos_rollup_mismatches)"
[[ "$bad" == 0 ]] || fail "after the restart: $bad rollup rows differ from the recomputation"
expect "f1 week" "$(row facility f1 WEEK $E)" "7|735|102|108|2023-01-08|108"
pass "the next daemon's refresh makes the rollups exact"

# ---- a refresh that fails while batches commit ------------------------------
sql "CREATE FUNCTION outcomes.test_refresh_fails() RETURNS trigger LANGUAGE plpgsql AS \$\$
     BEGIN RAISE EXCEPTION 'refresh blocked by the test' USING ERRCODE = '53100'; END \$\$;
     CREATE TRIGGER test_refresh_fails BEFORE INSERT OR UPDATE OR DELETE
       ON outcomes.series_rollups FOR EACH STATEMENT EXECUTE FUNCTION outcomes.test_refresh_fails();"
dpid=""
chaos_daemon_start dpid "$topic" "$group" -X refresh.interval=50ms
T=$((T + 1))
f="$T_DIR/step$T.csv"
{ echo "$HDR"; printf 'o1,f2,%s,DAY,2023-01-0%d,%d,,,test,2023-03-%02dT00:00:00Z\n' \
  "$E" 5 50 "$T" "$E" 6 60 "$T"; } >"$f"
produce -t "$topic" "$f" >/dev/null || fail "produce"
wait_for 30 chaos_caught_up "$topic" "$group" || fail "batches stopped while the refresh fails"
wait_for 30 grep -q 'refresh_failed' "$(chaos_daemon_log "$dpid")" ||
  fail "no refresh_failed line: $(tail -3 "$(chaos_daemon_log "$dpid")")"
((pending = $(sql "SELECT pending_facts FROM outcomes.rollup_status"), pending == 2)) ||
  fail "pending while the refresh fails: $pending, want 2"
sql "DROP TRIGGER test_refresh_fails ON outcomes.series_rollups"
wait_for 30 rollups_current || fail "the refresh did not catch up once the fault was gone"
grep -q 'refresh_recovered' "$(chaos_daemon_log "$dpid")" || fail "no refresh_recovered line"
kill -TERM "$dpid"
wait "$dpid" || fail "the daemon exited $? on SIGTERM"
bad="$(chaos_rollup_mismatches)"
[[ "$bad" == 0 ]] || fail "after the fault: $bad rollup rows differ from the recomputation"
check_accounting
pass "a failing refresh: batches go on, the changes wait, and the rollups catch up"
