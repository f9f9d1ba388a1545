#!/usr/bin/env bash
# test_replay_rewind.sh - outcomes-replay rewind against the real broker and
# PostgreSQL: --dry-run changes nothing; rewind to the beginning and replay
# leaves every table identical and the accounting invariant true; a second
# rewind is a no-op; --to-time moves to the broker's offsets for the time;
# --to-offset moves exactly there and refuses offsets outside the log; a
# group with a live member is refused (75) unless --force.
source "$(dirname "$0")/pipeline_common.bash"

new_db replay_rewind
topic="$(new_topic replay_rewind 3)"
group="$(uniq_name g_rewind)"

"$GEN" --seed 11 --orgs 3 --facilities 2 --org-level \
  --metrics er_visits,readmission_rate_30d,supply_cost --grains day,month --periods 15 \
  --restatements 0.2 --duplicates 0.1 --late 0.1 --ties 0.05 --tombstones 0.1 \
  --catalog "$CATALOG" -o "$T_DIR/gen" -q
produce -t "$topic" "$T_DIR/gen/stream.csv" || fail "produce stream: exit $?"
sleep 1.2
t_mid_ms=$(($(date +%s%3N)))
sleep 1.2
produce -t "$topic" --retract "$T_DIR/gen/retract.csv" || fail "produce retractions: exit $?"
daemon "$topic" "$group"
before="$(tables_md5)"
offsets_before="$(sql "SELECT partition, next_offset FROM outcomes.consumer_offsets
                       WHERE group_id = '$group' ORDER BY 1")"
[[ "$(sql "SELECT count(*) FROM outcomes.facts")" -gt 100 ]] || fail "too few facts"
check_accounting
pass "daemon applied the topic ($(sql "SELECT count(*) FROM outcomes.facts") facts)"

# --- --dry-run changes nothing ---------------------------------------------
out="$(replay --dry-run rewind --group "$group" --topic "$topic" --to-beginning)" ||
  fail "dry run: exit $?"
grep -q "would move: next_offset" <<<"$out" || fail "dry run output: $out"
grep -q "dry run: nothing changed" <<<"$out" || fail "dry run output: $out"
[[ "$(sql "SELECT partition, next_offset FROM outcomes.consumer_offsets
           WHERE group_id = '$group' ORDER BY 1")" == "$offsets_before" ]] ||
  fail "dry run moved offsets"
[[ "$(sql "SELECT count(*) FROM outcomes.consumer_offsets WHERE rewound_at IS NOT NULL")" == 0 ]] ||
  fail "dry run wrote rewound_at"
pass "--dry-run prints the moves and changes nothing"

# --- rewind to the beginning, replay: identical tables --------------------
replay rewind --group "$group" --topic "$topic" --to-beginning >"$T_DIR/out" ||
  fail "rewind: exit $? $(cat "$T_DIR/out")"
[[ "$(sql "SELECT string_agg(next_offset::text, ',' ORDER BY partition)
           FROM outcomes.consumer_offsets WHERE group_id = '$group'")" == "0,0,0" ]] ||
  fail "not at the beginning: $(sql "TABLE outcomes.consumer_offsets")"
check_accounting
out="$(replay rewind --group "$group" --topic "$topic" --to-beginning)"
[[ "$(grep -c unchanged <<<"$out")" == 3 ]] || fail "second rewind not a no-op: $out"
pass "rewind --to-beginning moves every partition to 0; again is a no-op"

daemon "$topic" "$group"
after="$(tables_md5)"
[[ "$before" == "$after" ]] || fail "replay changed the tables:
before $before
after  $after"
[[ "$(sql "SELECT partition, next_offset FROM outcomes.consumer_offsets
           WHERE group_id = '$group' ORDER BY 1")" == "$offsets_before" ]] ||
  fail "replay did not end where it started"
check_accounting
pass "replay from the beginning leaves facts, rollups and dead letters identical"

# --- --to-time: the broker's offsets for the time --------------------------
replay rewind --group "$group" --topic "$topic" --to-time "@$t_mid_ms" >"$T_DIR/out" ||
  fail "rewind --to-time: exit $? $(cat "$T_DIR/out")"
for p in 0 1 2; do
  want="$(kcat -Q -b "$BROKERS" -t "$topic:$p:$t_mid_ms" 2>/dev/null | awk '{print $NF}')"
  if [[ "$want" == -1 ]]; then want="$(high_watermark "$topic" "$p")"; fi
  got="$(sql "SELECT next_offset FROM outcomes.consumer_offsets
              WHERE group_id = '$group' AND partition = $p")"
  [[ "$got" == "$want" ]] || fail "partition $p: next_offset $got, broker says $want"
  hw="$(high_watermark "$topic" "$p")"
  ((got > 0 && got <= hw)) || fail "partition $p: $got not inside the log (hw $hw)"
done
check_accounting
ts_iso="$(date -u -d "@$((t_mid_ms / 1000))" +%Y-%m-%dT%H:%M:%SZ)"
out="$(replay --dry-run rewind --group "$group" --topic "$topic" --to-time "$ts_iso")" ||
  fail "rewind --to-time RFC 3339: exit $?"
daemon "$topic" "$group"
[[ "$(tables_md5)" == "$before" ]] || fail "replay from the time changed the tables"
check_accounting
pass "rewind --to-time moves to the broker's offsets for the time; replay changes nothing"

# --- --to-offset -----------------------------------------------------------
replay rewind --group "$group" --topic "$topic" --to-offset 0:5,2:7 >"$T_DIR/out" ||
  fail "rewind --to-offset: exit $?"
[[ "$(sql "SELECT string_agg(partition || ':' || next_offset, ',' ORDER BY partition)
           FROM outcomes.consumer_offsets WHERE group_id = '$group'")" == \
   "0:5,1:$(high_watermark "$topic" 1),2:7" ]] ||
  fail "--to-offset: $(sql "TABLE outcomes.consumer_offsets")"
run_rc rc replay rewind --group "$group" --topic "$topic" --to-offset "1:999999999"
[[ "$rc" == 64 ]] || fail "offset past the log: exit $rc ($OUT)"
run_rc rc replay rewind --group "$group" --topic "$topic" --to-offset 9:0
[[ "$rc" == 64 ]] || fail "unknown partition: exit $rc ($OUT)"
run_rc rc replay rewind --group "$group" --topic "$topic"
[[ "$rc" == 64 ]] || fail "no target: exit $rc ($OUT)"
# A group with nothing stored gets new rows with first_offset = next_offset.
replay rewind --group "$group-new" --topic "$topic" --to-offset 1:3 >/dev/null ||
  fail "new group: exit $?"
[[ "$(sql "SELECT next_offset || ':' || first_offset || ':' || rewound
           FROM outcomes.consumer_offsets WHERE group_id = '$group-new'")" == "3:3:0" ]] ||
  fail "new row: $(sql "TABLE outcomes.consumer_offsets")"
daemon "$topic" "$group"
[[ "$(tables_md5)" == "$before" ]] || fail "replay from offsets changed the tables"
check_accounting
pass "rewind --to-offset, offsets outside the log refused (64), new rows for new groups"

# --- a live member: refused unless --force ---------------------------------
"$DAEMON" -X "topic=$topic" -X "group.id=$group" -X "schema.dir=$SCHEMAS" \
  >>"$T_DIR/daemon-live.log" 2>&1 &
T_PIDS+=($!)
live_pid=$!
has_member() {
  set +e
  replay --dry-run rewind --group "$group" --topic "$topic" --to-beginning >/dev/null 2>&1
  local rc=$?
  set -e
  [[ $rc == 75 ]]
}
wait_for 60 has_member || fail "the daemon never showed up as a member"
offsets_live="$(sql "SELECT partition, next_offset FROM outcomes.consumer_offsets
                     WHERE group_id = '$group' ORDER BY 1")"
run_rc rc replay rewind --group "$group" --topic "$topic" --to-beginning
[[ "$rc" == 75 ]] || fail "live member: exit $rc, want 75 ($OUT)"
grep -q "live member" <<<"$OUT" || fail "refusal message: $OUT"
[[ "$(sql "SELECT partition, next_offset FROM outcomes.consumer_offsets
           WHERE group_id = '$group' ORDER BY 1")" == "$offsets_live" ]] ||
  fail "refused rewind moved offsets"
pass "refused with exit 75 while a daemon is in the group"

replay --force rewind --group "$group" --topic "$topic" --to-beginning >"$T_DIR/out" 2>&1 ||
  fail "--force: exit $? $(cat "$T_DIR/out")"
grep -q "going on (--force)" "$T_DIR/out" || fail "--force output: $(cat "$T_DIR/out")"
kill -TERM "$live_pid"
wait "$live_pid" || fail "live daemon exit $?"
# The daemon may have moved on after the forced rewind (its compare-and-set
# re-reads the stored offsets); either way a run to the end converges.
daemon "$topic" "$group"
[[ "$(tables_md5)" == "$before" ]] || fail "forced rewind and replay changed the tables"
check_accounting
pass "--force rewinds beside a live member; the replay converges to the same tables"
