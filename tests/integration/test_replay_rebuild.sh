#!/usr/bin/env bash
# test_replay_rebuild.sh - outcomes-replay rebuild against the real
# PostgreSQL: after materialised rollup rows are corrupted (values changed,
# rows deleted, spurious rows added, at the facility, org and all-orgs
# levels), rebuild gives back exactly the rollups the daemon's refresh left
# (table checksum before the corruption); --dry-run changes nothing; a
# second rebuild writes nothing; --metric and --from/--to limit the work;
# it runs beside the daemon applying new data.
source "$(dirname "$0")/pipeline_common.bash"

new_db replay_rebuild
topic="$(new_topic replay_rebuild 3)"
group="$(uniq_name g_rebuild)"
"$GEN" --seed 21 --orgs 4 --facilities 2 --org-level \
  --metrics er_visits,readmission_rate_30d,supply_cost --grains day,week,month --periods 30 \
  --restatements 0.2 --late 0.1 --tombstones 0.1 --catalog "$CATALOG" -o "$T_DIR/gen" -q
produce -t "$topic" "$T_DIR/gen/stream.csv" >/dev/null || fail "produce: exit $?"
produce -t "$topic" --retract "$T_DIR/gen/retract.csv" >/dev/null || fail "retract: exit $?"
daemon "$topic" "$group"
good="$(table_md5 rollups)"
n_rows="$(sql "SELECT count(*) FROM outcomes.rollups")"
((n_rows > 100)) || fail "too few rollup rows: $n_rows"

corrupt() {
  sql "UPDATE outcomes.series_rollups SET sum_value = sum_value + 1, n = n + 1
       WHERE ctid IN (SELECT ctid FROM outcomes.series_rollups
                      ORDER BY md5(series_id || grain || bucket_start) LIMIT 25);
       DELETE FROM outcomes.series_rollups WHERE ctid IN (SELECT ctid FROM outcomes.series_rollups
       ORDER BY md5(bucket_start || grain || series_id) LIMIT 15);
       UPDATE outcomes.series_rollups r SET min_value = -1, last_value = 0
         FROM outcomes.series s WHERE s.series_id = r.series_id AND s.level = 'all'
          AND r.grain = 'YEAR';
       SELECT count(*) FROM outcomes.series_ids(ARRAY['er_visits'], ARRAY['ghost-org'],
         ARRAY['ghost-fac'], ARRAY['MONTH']);
       INSERT INTO outcomes.series_rollups (series_id, grain, bucket_start, n, sum_value,
         min_value, max_value, last_period, last_value)
       SELECT series_id, 'QUARTER', date '2023-01-01', 1, 5, 5, 5, date '2023-02-01', 5
         FROM outcomes.series WHERE org_id = 'ghost-org' AND facility_id = 'ghost-fac'
       UNION ALL
       SELECT series_id, 'YEAR', date '1999-01-01', 1, 5, 5, 5, date '1999-01-01', 5
         FROM outcomes.series WHERE metric = 'er_visits' AND level = 'all' AND grain = 'MONTH'
       ON CONFLICT DO NOTHING" >/dev/null
}
corrupt
bad="$(table_md5 rollups)"
[[ "$bad" != "$good" ]] || fail "corruption changed nothing"

# --- --dry-run ---------------------------------------------------------------
out="$(replay --dry-run rebuild)" || fail "dry run: exit $?"
grep -q "would be written and [0-9]* deleted (dry run: rolled back)" <<<"$out" ||
  fail "dry run: $out"
grep -Eq " [1-9][0-9]* rollup row\(s\) would be written and [1-9][0-9]* deleted" <<<"$out" ||
  fail "dry run reports no fix: $out"
[[ "$(table_md5 rollups)" == "$bad" ]] || fail "dry run changed the rollups"
pass "--dry-run reports the rows it would write and changes nothing"

# --- rebuild equals incremental ----------------------------------------------
out="$(replay rebuild --batch 1000)" || fail "rebuild: exit $? $out"
[[ "$(table_md5 rollups)" == "$good" ]] || fail "rebuild differs from incremental: $out"
out="$(replay rebuild)" || fail "second rebuild: exit $?"
grep -Eq " [1-9][0-9]* rollup row|, [1-9][0-9]* deleted" <<<"$out" &&
  fail "second rebuild wrote rows: $out"
[[ "$(table_md5 rollups)" == "$good" ]] || fail "second rebuild changed rollups"
pass "rebuild (1,000 changes per transaction) equals the refresh's rollups; again writes nothing"

# --- --metric and a period ------------------------------------------------------
damage() { # damage METRIC SET-CLAUSE
  sql "UPDATE outcomes.series_rollups r SET $2 FROM outcomes.series s
       WHERE s.series_id = r.series_id AND s.metric = '$1'" >/dev/null
}
damage supply_cost "sum_value = r.sum_value * 2"
damage er_visits "max_value = r.max_value + 1"
er_rows() {
  sql "SELECT md5(string_agg(r::text, E'\n' ORDER BY r::text))
         FROM outcomes.rollups r WHERE metric = 'er_visits'"
}
er_before="$(er_rows)"
replay rebuild --metric supply_cost >/dev/null || fail "rebuild --metric: exit $?"
[[ "$(er_rows)" == "$er_before" ]] || fail "--metric supply_cost touched er_visits"
replay rebuild --metric er_visits --metric readmission_rate_30d >/dev/null ||
  fail "rebuild two metrics: exit $?"
[[ "$(table_md5 rollups)" == "$good" ]] || fail "--metric rebuilds differ"
first_year="$(sql "SELECT min(extract(year FROM bucket_start))::int FROM outcomes.rollups")"
sql "UPDATE outcomes.series_rollups SET n = n + 7
     WHERE extract(year FROM bucket_start) = $first_year AND grain <> 'WEEK'" >/dev/null
out="$(replay rebuild --from "$first_year-03-01" --to "$first_year-04-30")" ||
  fail "rebuild period: exit $?"
grep -q "period $first_year-01-01 .. $first_year-12-31 (widened to whole years)" <<<"$out" ||
  fail "period: $out"
[[ "$(table_md5 rollups)" == "$good" ]] || fail "period rebuild differs"
run_rc rc replay rebuild --metric no_such_metric
[[ "$rc" == 64 ]] || fail "unknown metric: exit $rc ($OUT)"
pass "--metric and --from/--to limit the rebuild; unknown metric is 64"

# --- online: beside the daemon applying new data ----------------------------------
"$GEN" --seed 22 --orgs 4 --facilities 2 --org-level \
  --metrics er_visits,readmission_rate_30d,supply_cost --grains day,week,month --periods 30 \
  --restatements 0.5 --catalog "$CATALOG" -o "$T_DIR/gen2" -q
produce -t "$topic" "$T_DIR/gen2/stream.csv" >/dev/null || fail "produce 2: exit $?"
corrupt
"$DAEMON" -X "topic=$topic" -X "group.id=$group" -X "schema.dir=$SCHEMAS" \
  -X batch.max.records=20 --exit-at-end >>"$T_DIR/daemon.log" 2>&1 &
dpid=$!
T_PIDS+=($dpid)
replay rebuild --batch 1000 >/dev/null || fail "online rebuild: exit $?"
wait "$dpid" || fail "daemon exit $?"
# The daemon's groups are right by construction; the corrupted groups it did
# not touch were fixed by the rebuild. A rebuild now must find nothing.
out="$(replay rebuild)" || fail "check rebuild: exit $?"
grep -Eq " [1-9][0-9]* rollup row|, [1-9][0-9]* deleted" <<<"$out" &&
  fail "online rebuild left wrong rows: $out"
# And the result equals incremental maintenance from scratch: rebuild in a
# copy where rollups are dropped entirely.
online="$(table_md5 rollups)"
sql "DELETE FROM outcomes.series_rollups" >/dev/null
replay rebuild >/dev/null || fail "rebuild from nothing: exit $?"
[[ "$(table_md5 rollups)" == "$online" ]] || fail "rebuild from nothing differs"
pass "rebuild runs beside the daemon; the result equals a rebuild from nothing"
