#!/usr/bin/env bash
# test_rollupd_concurrent_groups.sh - several writers into one database at
# once: six consumer groups apply the same topic concurrently, in small
# batches (100 records), so that their transactions interleave on the same
# fact identities, each group's refresher racing the others'. Last writer
# wins must hold in the database whatever the interleaving:
#   - the facts equal the generator's expected facts (restatements, late
#     versions, ties, duplicates and tombstones included);
#   - every rollup row equals the recomputation from the facts (I1);
#   - each group accounts for every record (I2);
#   - no transaction deadlocked (SQLSTATE 40P01 in no log): every
#     transaction takes its row locks in key order.
# shellcheck source=tests/integration/chaos_common.bash
source "$(dirname "$0")/chaos_common.bash"

chaos_init concurrent_groups
GROUPS_N=6

new_db concurrent
topic="$(new_topic concurrent 3)"
chaos_gen "$T_DIR/gen" 12 --orgs 4 --facilities 2 --grains day,month --periods 40 \
  --metrics er_visits,supply_cost,readmission_rate_30d,ar_balance
chaos_produce_gen "$topic"

pids=()
for ((g = 1; g <= GROUPS_N; g++)); do
  "$DAEMON" -X "topic=$topic" -X "group.id=g$g" -X "schema.dir=$SCHEMAS" \
    -X batch.max.records=100 -X refresh.interval=20ms -X retry.backoff.max=1s \
    --exit-at-end >"$T_DIR/g$g.log" 2>&1 &
  pids+=("$!")
  T_PIDS+=("$!")
done
for ((g = 1; g <= GROUPS_N; g++)); do
  rc=0
  wait "${pids[g - 1]}" || rc=$?
  ((rc == 0)) || fail "group g$g: exit $rc: $(tail -5 "$T_DIR/g$g.log")"
done

deadlocks="$(cat "$T_DIR"/g*.log | grep -c '40P01' || true)"
retries="$(awk '/ stopped / { for (i = 1; i <= NF; i++) if ($i ~ /^retries=/) { split($i, kv, "="); s += kv[2] } }
               END { print s + 0 }' "$T_DIR"/g*.log)"
rollups_current || fail "rollups not refreshed after every group exited"

chaos_check_rollups
for ((g = 1; g <= GROUPS_N; g++)); do
  chaos_check_accounting "g$g" "$topic"
  chaos_check_facts "g$g" "$topic"
done
echo "groups=$GROUPS_N records=$CHAOS_RECORDS facts=$(sql "SELECT count(*) FROM outcomes.facts")" \
  "rollup_rows=$(sql "SELECT count(*) FROM outcomes.rollups") retries=$retries" \
  "deadlocks=$deadlocks"
chaos_result
((deadlocks == 0)) || fail "$deadlocks deadlocks: $(grep -h 40P01 "$T_DIR"/g*.log | head -3)"
pass "six groups concurrently: facts last-writer-wins, rollups exact, no deadlock"
