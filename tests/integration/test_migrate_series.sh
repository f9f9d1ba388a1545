#!/usr/bin/env bash
# test_migrate_series.sh - a database of the release before series ids
# (migrations 0001-0005: facts and rollups as tables, the catalog's units by
# name) upgrades in place:
# migration 0006 carries the facts over and queues them, and one drain of
# the refresh (outcomes-replay rebuild) gives back, byte for byte, the
# rollup rows the old tables held; the facts, read through the view of the
# same name, are the same rows; the analyst views answer as before.
# shellcheck source=tests/integration/pipeline_common.bash
source "$(dirname "$0")/pipeline_common.bash"

T_DB="$(uniq_name migrate_series)"
psql "$BASE_CONNINFO" -qAtc "CREATE DATABASE \"$T_DB\"" >/dev/null || fail "create db"
export OUTCOMES_PG_CONNINFO="$BASE_CONNINFO dbname=$T_DB"
mkdir -p "$T_DIR/sql5"
cp "$SQL_DIR"/000[1-5]_*.sql "$T_DIR/sql5/"
# The catalog as that release had it: units by name, no measure_url.
awk -F'\t' -v OFS='\t' '/^#/ { next }
  { u = $3
    if ($1 != "code")
      u = u == "d" ? "days" : u == "1" ? "ratio" : u == "{count}" ? "count" : u == "[USD]" ? "usd" : u == "{FTE}" ? "fte" : u
    print $1, $2, u, $4, $5, $6, $7, $8, $9 }' "$CATALOG" >"$T_DIR/catalog5.tsv"
"$MIGRATE" --sql-dir "$T_DIR/sql5" --catalog "$T_DIR/catalog5.tsv" >"$T_DIR/migrate5.log" 2>&1 ||
  fail "migrate to 0005: $(cat "$T_DIR/migrate5.log")"

# Facts as the old daemon left them (retraction markers included), and the
# old rollups table filled with the aggregate of the standing facts.
sql "INSERT INTO outcomes.facts (metric, org_id, facility_id, grain, period_start, retracted,
       value, numerator, denominator, source, observed_at, src_topic, src_partition,
       src_offset)
     SELECT m.metric, 'org-' || o, CASE WHEN fa = 0 THEN '' ELSE 'fac-' || fa END, gr.grain,
            p.period_start, (o + fa + p.k) % 11 = 0,
            CASE WHEN (o + fa + p.k) % 11 = 0 THEN NULL
                 WHEN m.metric = 'readmission_rate_30d' THEN (10 + p.k % 7) / 100.0
                 ELSE 100 + o * 10 + fa + p.k % 13 + 0.25 END,
            CASE WHEN m.metric = 'readmission_rate_30d' AND (o + fa + p.k) % 11 <> 0
                 THEN 10 + p.k % 7 END,
            CASE WHEN m.metric = 'readmission_rate_30d' AND (o + fa + p.k) % 11 <> 0
                 THEN 100 END,
            CASE WHEN (o + fa + p.k) % 11 = 0 THEN NULL ELSE 'old' END,
            CASE WHEN (o + fa + p.k) % 11 = 0 THEN NULL
                 ELSE timestamptz '2024-01-01' + p.k * interval '1 hour' END,
            'old-topic', 0, p.k
       FROM (VALUES ('er_visits'), ('readmission_rate_30d'), ('ar_balance')) m (metric),
            generate_series(1, 3) o, generate_series(0, 2) fa,
            (VALUES ('DAY', interval '1 day', 60), ('MONTH', interval '1 month', 30)) gr (grain, step, n),
            LATERAL (SELECT k, (date '2023-01-01' + k * gr.step)::date AS period_start
                       FROM generate_series(0, gr.n - 1) k) p" >/dev/null
# The oracle's CTEs up to its aggregate "expect", to fill the old table.
sed -n '/^WITH map/,/GROUP BY metric, fact_grain, grain, level, bucket_start, o, fa),$/p' \
  "${OC_SOURCE_DIR}/tests/integration/rollup_oracle.sql" | sed '$ s/),$/)/' >"$T_DIR/expect.sql"
grep -q '^ *expect AS' "$T_DIR/expect.sql" || fail "rollup_oracle.sql changed its shape"
sql "INSERT INTO outcomes.rollups (metric, fact_grain, grain, level, bucket_start, org_id,
       facility_id, n, sum_value, min_value, max_value, sum_numerator, sum_denominator,
       last_period, last_value)
     $(cat "$T_DIR/expect.sql")
       SELECT metric, fact_grain, grain, level, bucket_start, org_id, facility_id, n,
              trim_scale(sum_value), min_value, max_value, trim_scale(sum_numerator),
              trim_scale(sum_denominator), last_period, trim_scale(last_value)
         FROM expect" >/dev/null
rollups_md5() {
  sql "SELECT count(*) || ' ' || md5(string_agg(t::text, E'\n' ORDER BY t::text))
       FROM (SELECT metric, fact_grain, grain, level, bucket_start, org_id, facility_id, n,
                    sum_value, min_value, max_value, sum_numerator, sum_denominator,
                    last_period, last_value FROM outcomes.rollups) t"
}
facts_md5() {
  sql "SELECT count(*) || ' ' || md5(string_agg(t::text, E'\n' ORDER BY t::text))
       FROM (SELECT metric, org_id, facility_id, grain, period_start, retracted, value,
                    numerator, denominator, source, observed_at, src_topic, src_partition,
                    src_offset, barrier_offset FROM outcomes.facts) t"
}
# The analyst view but its unit, which 0008 renames (days to d, ...).
values_md5() {
  sql "SELECT md5(string_agg(r::text, E'\n' ORDER BY r::text))
       FROM (SELECT to_jsonb(t) - 'unit' AS r
               FROM (SELECT * FROM outcomes.metric_changes WHERE level <> 'facility') t) v"
}
before_rollups="$(rollups_md5)" before_facts="$(facts_md5)" before_values="$(values_md5)"
standing="$(sql "SELECT count(*) FROM outcomes.facts WHERE NOT retracted")"
((${before_rollups%% *} > 1000)) || fail "too few rollup rows before: $before_rollups"
pass "a 0005 database: $standing standing facts, ${before_rollups%% *} rollup rows"

migrate "$CATALOG"
# Up to the last migration of the tree (they are numbered 1..n, no gaps).
latest="$(find "$SQL_DIR" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]_*.sql' | wc -l)"
((latest >= 6)) || fail "only $latest migrations in $SQL_DIR"
[[ "$(sql "SELECT max(version) FROM outcomes.schema_migrations")" == "$latest" ]] ||
  fail "not at the latest migration, $latest"
[[ "$(sql "SELECT pending_facts FROM outcomes.rollup_status")" == "$standing" ]] ||
  fail "pending after the migration: $(sql "SELECT pending_facts FROM outcomes.rollup_status"), want $standing"
[[ "$(facts_md5)" == "$before_facts" ]] || fail "the facts differ after the migration"
pass "0006: the facts carried over unchanged, every standing one queued for the refresh"

replay rebuild >"$T_DIR/rebuild.out" 2>&1 || fail "rebuild: exit $?: $(cat "$T_DIR/rebuild.out")"
rollups_current || fail "changes still pending after the rebuild"
[[ "$(rollups_md5)" == "$before_rollups" ]] ||
  fail "rollups after the refresh ($(rollups_md5)) differ from before ($before_rollups)"
[[ "$(values_md5)" == "$before_values" ]] || fail "metric_changes differ after the upgrade"
[[ "$(sql "SELECT string_agg(DISTINCT unit, ',' ORDER BY unit) FROM outcomes.metric_changes")" == "1,[USD],{count}" ]] ||
  fail "units after the upgrade: $(sql "SELECT DISTINCT unit FROM outcomes.metric_changes")"
[[ "$(psql "$OUTCOMES_PG_CONNINFO" -qAtX -f "${OC_SOURCE_DIR}/tests/integration/rollup_oracle.sql")" == 0 ]] ||
  fail "rollups differ from the recomputation"
pass "after one refresh the rollups are byte for byte the old table's; the analyst views agree (units renamed to UCUM by 0008)"
