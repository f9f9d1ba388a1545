#!/usr/bin/env bash
# test_rollupd_deltas.sh - the two ways the daemon keeps a rollup row exact
# (include/outcomes/rollup.h), step by step on hand-made facts, one batch per
# step: after each, every rollup row equals the aggregate of the standing
# facts recomputed from scratch (an independent query), chosen rows have
# the values worked out below, and the daemon's batch line reports how many
# groups it recomputed from children instead of updating by differences
# (regrouped=N), so that each step proves which way it went.
#
# Facts (er_visits, a count; readmission_rate_30d, a ratio), org o1,
# facilities f1 and f2, the week of Monday 2023-01-02:
#   f1: 01-02 = 10, 01-03 = 20, 01-04 = 30; f2: 01-03 = 7; o1 (org level): 01-04 = 3
# shellcheck source=tests/integration/chaos_common.bash
source "$(dirname "$0")/chaos_common.bash"

new_db rollupd_deltas
topic="$(new_topic rollupd_deltas 1)"
group="$(uniq_name g_deltas)"
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
  daemon "$topic" "$group" -X log.level=debug
  local bad
  bad="$(chaos_rollup_mismatches)"
  [[ "$bad" == 0 ]] || fail "step $T: $bad rollup rows differ from the recomputation"
  REGROUPED="$(grep -o 'batch_applied .*regrouped=[0-9]*' "$T_DIR/daemon.log" |
    sed 's/.*regrouped=//' | awk '{ n += $1 } END { print n + 0 }')"
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
expect "regrouped (new groups are inserted)" "$REGROUPED" 0
pass "new facts: every group inserted or added to, none recomputed"

# 20 → 25 on 01-03: inside every coarse group's extremes and before its last
# period, so only the one-fact DAY rows (facility; org and all, where 20 was
# the day's maximum) are recomputed.
step "o1,f1,$E,DAY,2023-01-03,25,,"
expect "f1 week" "$(row facility f1 WEEK $E)" "3|65|10|30|2023-01-04|30"
expect "org month" "$(row org '' MONTH $E)" "5|75|3|30|2023-01-04|33"
expect "regrouped" "$REGROUPED" 3
pass "a restatement inside the extremes: the week, month, quarter and year rows by differences"

# 10 → 12 on 01-02: f1's minimum leaves, so f1's coarse rows (4) and its DAY
# row are recomputed; at org and all level 3 stays the minimum (delta), and
# their 01-02 DAY rows held 10 alone (recomputed).
step "o1,f1,$E,DAY,2023-01-02,12,,"
expect "f1 week" "$(row facility f1 WEEK $E)" "3|67|12|30|2023-01-04|30"
expect "org year" "$(row org '' YEAR $E)" "5|77|3|30|2023-01-04|33"
expect "regrouped" "$REGROUPED" 7
pass "a removed minimum: recomputed from the children"

# 30 → 28 on 01-04, the last period: every row holding it is recomputed:
# f1 DAY, WEEK, MONTH, QUARTER, YEAR (5), org and all DAY..YEAR (10).
step "o1,f1,$E,DAY,2023-01-04,28,,"
expect "f1 week" "$(row facility f1 WEEK $E)" "3|65|12|28|2023-01-04|28"
expect "all week" "$(row all '' WEEK $E)" "5|75|3|28|2023-01-04|31"
expect "regrouped" "$REGROUPED" 15
pass "a restated last period: recomputed from the children"

# Retract f1 01-03 (25): inside f1's extremes (12..28) and before 01-04, so
# f1's coarse rows by differences; its DAY row empties (recomputed: deleted);
# org and all DAY 01-03 rows lose their maximum (recomputed), their coarse
# rows keep min 3 and max 28 (differences).
retract "o1,f1,$E,DAY,2023-01-03"
expect "f1 week" "$(row facility f1 WEEK $E)" "2|40|12|28|2023-01-04|28"
expect "org week" "$(row org '' WEEK $E)" "4|50|3|28|2023-01-04|31"
expect "f1 day rows" "$(sql "SELECT count(*) FROM outcomes.rollups WHERE facility_id = 'f1'
  AND grain = 'DAY' AND metric = '$E'")" 2
expect "regrouped" "$REGROUPED" 3
pass "a retraction inside the extremes: differences; an emptied group loses its row"

# Ratio: numerator and denominator sums by differences and recomputed.
R=readmission_rate_30d
step "o1,f1,$R,DAY,2023-01-02,0.05,5,100" "o1,f1,$R,DAY,2023-01-03,0.06,6,100" \
  "o1,f1,$R,DAY,2023-01-04,0.08,8,100"
step "o1,f1,$R,DAY,2023-01-03,0.07,7,100"
expect "ratio f1 week sums" "$(sql "SELECT concat_ws('|', n, sum_numerator, sum_denominator,
  sum_value) FROM outcomes.rollups WHERE metric = '$R' AND level = 'facility'
  AND grain = 'WEEK'")" "3|20|300|0.2"
expect "regrouped" "$REGROUPED" 3
pass "ratio sums by differences are exact"

# Everything retracted: every row goes.
retract "o1,f1,$E,DAY,2023-01-02" "o1,f1,$E,DAY,2023-01-04" "o1,f2,$E,DAY,2023-01-03" \
  "o1,,$E,DAY,2023-01-04" "o1,f1,$R,DAY,2023-01-02" "o1,f1,$R,DAY,2023-01-03" \
  "o1,f1,$R,DAY,2023-01-04"
expect "rollup rows left" "$(sql "SELECT count(*) FROM outcomes.rollups")" 0
pass "retracting every fact leaves no rollup row"
check_accounting
pass "accounting"
