#!/usr/bin/env bash
# test_sql_plans.sh - the statements of schemas/sql/statements/ that touch
# the big tables reach them through their keys, however large the tables
# have grown since the daemon connected: the work of a batch or a refresh
# grows with the batch, never with the table. Two ways to get this wrong:
# a plan cached while the tables were young (a new database's first
# batches) that scans them whole once they have grown, and a join that the
# planner makes by hash over the whole facts table, cheaper in its model
# than a few thousand index lookups while the table holds a few hundred
# thousand rows.
#
# In one session, as the daemon's: session.sql, the statements prepared
# and each run once on the empty tables; then the tables grow to those of a
# deployment (1,000 series, 100,000 facts in arrival order, their
# rollups), and the statements are EXPLAINed with a batch of 5,000
# identities and a refresh of 5,000 fact changes. In every plan, each scan
# of series_facts or series_rollups is an index scan whose condition fixes
# series_id, the leading column of their primary keys, or a scan by row
# address: no sequential scan, no index scanned whole.
# shellcheck source=tests/integration/pipeline_common.bash
source "$(dirname "$0")/pipeline_common.bash"

new_db sql_plans
STMT="${OC_SOURCE_DIR}/schemas/sql/statements"

{
  echo '\set ON_ERROR_STOP 1'
  echo "\\i $STMT/session.sql"
  for s in facts_read facts_lock facts_write refresh_groups refresh_level; do
    echo "PREPARE $s AS"
    cat "$STMT/$s.sql"
  done
  # Each run on the empty tables, as in a new database's first batch; the
  # tables then grow with no ANALYZE between, as before autovacuum's first.
  cat <<'EOF'
ALTER TABLE outcomes.series_facts SET (autovacuum_enabled = false);
ALTER TABLE outcomes.series_rollups SET (autovacuum_enabled = false);
BEGIN;
EXECUTE facts_read('{}', '{}');
EXECUTE facts_lock('{}', '{}');
EXECUTE facts_write('{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}',
                    '{}', '{}');
EXECUTE refresh_groups;
EXECUTE refresh_level('facility', 1);
ROLLBACK;
-- The tables of a deployment: 20 orgs of 50 facilities, one DAY series
-- each, 100 days of facts; the WEEK and MONTH rollups of the facilities.
SELECT count(*)
  FROM outcomes.series_ids(
         array_fill('er_visits'::text, ARRAY[1000]),
         (SELECT array_agg('o' || (i / 50)) FROM generate_series(0, 999) i),
         (SELECT array_agg('f' || i) FROM generate_series(0, 999) i),
         array_fill('DAY'::text, ARRAY[1000]));
INSERT INTO outcomes.series_facts (series_id, period_start, value, source, observed_at,
                                   src_topic, src_partition, src_offset)
SELECT s.series_id, date '2026-01-01' + d, d % 17, 'ehr', timestamptz '2026-06-01', 't', 0,
       s.series_id * 100 + d
  FROM outcomes.series s, generate_series(0, 99) d
 WHERE s.level = 'facility'
 ORDER BY hashint4(s.series_id * 100 + d);  -- in arrival order, not in key order
INSERT INTO outcomes.series_rollups (series_id, grain, bucket_start, n, sum_value, min_value,
                                     max_value, last_period, last_value)
SELECT series_id, g.grain, date_trunc(g.unit, period_start::timestamp)::date, count(*),
       sum(value), min(value), max(value), max(period_start), 0
  FROM outcomes.series_facts, outcomes.grains g
 WHERE g.grain IN ('WEEK', 'MONTH')
 GROUP BY 1, 2, 3
 ORDER BY hashint4(series_id);
-- The small series table is analyzed, as autovacuum does within a
-- minute (its statistics once made the planner scan the rollups whole).
ANALYZE outcomes.series;
SELECT count(*) = 100000 AS grown FROM outcomes.series_facts \gset
\if :grown
\else
  \echo the facts did not grow to 100,000
  \quit
\endif
-- A batch: one fact in 20 (5,000), spread over the table, half of them
-- stored (updated), half new (a day after the last).
SELECT array_agg(series_id ORDER BY k) AS ids, array_agg(period_start ORDER BY k) AS periods,
       array_agg(k % 2 = 0 ORDER BY k) AS stored, array_agg(false) AS retracted,
       array_agg(1.5::float8) AS value, array_agg(NULL::float8) AS num,
       array_agg('ehr'::text) AS source, array_agg(timestamptz '2026-07-01') AS observed,
       array_agg('t'::text) AS topic, array_agg(0) AS part, array_agg(k::bigint) AS offs,
       array_agg(-1::bigint) AS barrier, array_agg(true) AS visible
  FROM (SELECT series_id,
               CASE WHEN n % 2 = 0 THEN period_start ELSE period_start + 100 END AS period_start,
               n AS k
          FROM (SELECT *, row_number() OVER (ORDER BY series_id, period_start) AS n
                  FROM outcomes.series_facts) f
         WHERE n % 20 = 0) b \gset
\echo == facts_read
EXPLAIN (FORMAT JSON) EXECUTE facts_read(:'ids', :'periods');
BEGIN;
\echo == facts_lock
EXPLAIN (FORMAT JSON) EXECUTE facts_lock(:'ids', :'periods');
\echo == facts_write
EXPLAIN (FORMAT JSON) EXECUTE facts_write(:'ids', :'periods', :'stored', :'retracted', :'value',
  :'num', :'num', :'source', :'observed', :'topic', :'part', :'offs', :'barrier', :'visible');
INSERT INTO oc_refresh_facts (series_id, period_start, queued_at)
SELECT series_id, period_start, now()
  FROM unnest(:'ids'::integer[], :'periods'::date[]) AS k (series_id, period_start);
\echo == refresh_groups
EXPLAIN (FORMAT JSON) EXECUTE refresh_groups;
EXECUTE refresh_groups;
\echo == refresh_level facility 1
EXPLAIN (FORMAT JSON) EXECUTE refresh_level('facility', 1);
\echo == refresh_level org 1
EXPLAIN (FORMAT JSON) EXECUTE refresh_level('org', 1);
\echo == refresh_level all 1
EXPLAIN (FORMAT JSON) EXECUTE refresh_level('all', 1);
\echo == refresh_level facility 2
EXPLAIN (FORMAT JSON) EXECUTE refresh_level('facility', 2);
ROLLBACK;
EOF
} >"$T_DIR/explain.sql"
psql "$OUTCOMES_PG_CONNINFO" -qAtX -f "$T_DIR/explain.sql" >"$T_DIR/plans.txt" 2>&1 ||
  fail "EXPLAIN: $(tail -5 "$T_DIR/plans.txt")"

python3 - "$T_DIR/plans.txt" <<'PY' || fail "a statement scans a big table whole (above)"
import json, sys
BIG = {"series_facts", "series_rollups"}
blocks, name = {}, None
for line in open(sys.argv[1]).read().split("\n"):
    if line.startswith("== "):
        name = line[3:]
        blocks[name] = ""
    elif name is not None:
        blocks[name] += line + "\n"
def walk(node):
    yield node
    for child in node.get("Plans", []):
        yield from walk(child)
# The condition fixes the leading column of the primary key: an index scan
# on (grain, bucket_start) alone reads the whole index.
def keyed(node):
    return "(series_id = " in node.get("Index Cond", "")
bad, scans = [], 0
for name, text in blocks.items():
    for node in walk(json.loads(text)[0]["Plan"]):
        rel, kind = node.get("Relation Name"), node["Node Type"]
        if rel not in BIG or kind == "ModifyTable":
            continue
        scans += 1
        if kind == "Tid Scan" or (kind in ("Index Scan", "Index Only Scan")
                                  and keyed(node)):
            continue
        if kind == "Bitmap Heap Scan" and all(keyed(c) for c in node["Plans"]):
            continue
        bad.append(f"{name}: {kind} on {rel}")
print(f"{len(blocks)} plans, {scans} scans of the big tables")
for b in bad:
    print("WHOLE:", b)
sys.exit(1 if bad or len(blocks) != 8 or scans < 8 else 0)
PY
pass "facts_read, facts_lock, facts_write, refresh_groups and refresh_level reach series_facts and series_rollups through their keys"
