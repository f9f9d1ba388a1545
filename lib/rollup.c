/* rollup.c - set-based recomputation of the touched rollup groups; see
 * include/outcomes/rollup.h. oc_rollup_recompute: the locks, then one
 * INSERT ... ON CONFLICT DO UPDATE (with a DELETE of emptied groups in the
 * same statement) per level, from facts. oc_rollup_recompute_incremental
 * (the daemon): per level, the grains without a src first, then QUARTER
 * from MONTH rows and YEAR from QUARTER rows, one statement each, in that
 * order inside the batch's transaction. */
#include "outcomes/rollup.h"

#include <stdbool.h>
#include <stdio.h>

#include "outcomes/pg.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* fact grain → rollup grain, with the date_trunc unit, the period length
 * and src: the rollup grain one step finer that the incremental recompute
 * sums (same fact grain, same level), or NULL where it reads facts. DAY →
 * MONTH reads facts: rollup keys put bucket_start before org_id and
 * facility_id, so a month of DAY rows is ~31 × (facilities of the metric)
 * index entries while a month of facts is 31 (the facts key ends in
 * period_start); QUARTER (3 MONTH rows) and YEAR (4 QUARTER rows) are where
 * the facts cost up to 92 and 366. */
static const char sql_grain_map[] =
    "CREATE TEMP TABLE IF NOT EXISTS oc_grain_map ("
    "  fact_grain text NOT NULL, grain text NOT NULL, unit text NOT NULL,"
    "  step interval NOT NULL, src text, PRIMARY KEY (fact_grain, grain));"
    "INSERT INTO oc_grain_map VALUES"
    " ('DAY', 'DAY', 'day', '1 day', NULL), ('DAY', 'WEEK', 'week', '7 days', NULL),"
    " ('DAY', 'MONTH', 'month', '1 month', NULL),"
    " ('DAY', 'QUARTER', 'quarter', '3 months', 'MONTH'),"
    " ('DAY', 'YEAR', 'year', '1 year', 'QUARTER'),"
    " ('WEEK', 'WEEK', 'week', '7 days', NULL),"
    " ('MONTH', 'MONTH', 'month', '1 month', NULL),"
    " ('MONTH', 'QUARTER', 'quarter', '3 months', 'MONTH'),"
    " ('MONTH', 'YEAR', 'year', '1 year', 'QUARTER'),"
    " ('QUARTER', 'QUARTER', 'quarter', '3 months', NULL),"
    " ('QUARTER', 'YEAR', 'year', '1 year', 'QUARTER'),"
    " ('YEAR', 'YEAR', 'year', '1 year', NULL)"
    " ON CONFLICT DO NOTHING";

/* Sorted, so that two transactions never wait for each other in a cycle. */
static const char sql_lock[] =
    "SELECT pg_advisory_xact_lock(" STR(OC_ROLLUP_LOCK_CLASS) ", h)"
    " FROM (SELECT DISTINCT hashtext(metric) AS h FROM oc_stage"
    "       WHERE visible_changed ORDER BY 1) s";

/* Touched groups: period_start::timestamp keeps date_trunc away from the
 * session time zone. gid numbers the groups so that sorting children by
 * group compares integers, not text keys. */
#define GROUPS(extra_cols, where)                                                     \
  "SELECT d.*, row_number() OVER () AS gid FROM ("                                    \
  "SELECT DISTINCT s.metric, s.grain AS fact_grain, m.grain, m.src,"                  \
  " date_trunc(m.unit, s.period_start::timestamp)::date AS bucket_start,"             \
  " (date_trunc(m.unit, s.period_start::timestamp) + m.step)::date AS bucket_end"     \
  extra_cols " FROM oc_stage s JOIN oc_grain_map m ON m.fact_grain = s.grain"         \
  " WHERE s.visible_changed" where ") d"

#define UPSERT(level)                                                                 \
  "INSERT INTO outcomes.rollups AS r (metric, fact_grain, grain, level, bucket_start," \
  " org_id, facility_id, n, sum_value, min_value, max_value, sum_numerator,"         \
  " sum_denominator, last_period, last_value)"                                        \
  " SELECT metric, fact_grain, grain, '" level "', bucket_start, org_id, facility_id," \
  " n, sum_value, min_value, max_value, sum_numerator, sum_denominator, last_period,"  \
  " last_value FROM agg WHERE n > 0"                                                  \
  " ON CONFLICT (metric, fact_grain, grain, level, bucket_start, org_id, facility_id)" \
  " DO UPDATE SET n = EXCLUDED.n, sum_value = EXCLUDED.sum_value,"                    \
  " min_value = EXCLUDED.min_value, max_value = EXCLUDED.max_value,"                  \
  " sum_numerator = EXCLUDED.sum_numerator, sum_denominator = EXCLUDED.sum_denominator," \
  " last_period = EXCLUDED.last_period, last_value = EXCLUDED.last_value,"            \
  " updated_at = now()"                                                               \
  " WHERE (r.n, r.sum_value, r.min_value, r.max_value, r.sum_numerator,"              \
  " r.sum_denominator, r.last_period, r.last_value) IS DISTINCT FROM"                 \
  " (EXCLUDED.n, EXCLUDED.sum_value, EXCLUDED.min_value, EXCLUDED.max_value,"         \
  " EXCLUDED.sum_numerator, EXCLUDED.sum_denominator, EXCLUDED.last_period,"          \
  " EXCLUDED.last_value)"

/* Each level: the touched groups g, their children j joined on a
 * primary-key prefix (plus one sentinel row per group, so that a group left
 * empty shows up with n = 0), the latest period per group, the aggregate,
 * then the empty groups deleted and the others upserted. */
#define KEYS "metric, fact_grain, grain, bucket_start, org_id, facility_id"

#define DELETE_EMPTY(level)                                                           \
  " del AS (DELETE FROM outcomes.rollups r USING agg"                                 \
  "  WHERE agg.n = 0 AND r.metric = agg.metric AND r.fact_grain = agg.fact_grain"     \
  "  AND r.grain = agg.grain AND r.level = '" level "'"                               \
  "  AND r.bucket_start = agg.bucket_start AND r.org_id = agg.org_id"                 \
  "  AND r.facility_id = agg.facility_id)"

/* j has gid, KEYS, n, sum_value, min_value, max_value, sum_numerator,
 * sum_denominator, p (last period) and lv (last value) per child. Grouped
 * by gid alone (the keys are the same within a group: min() picks them),
 * so that no sort compares text. */
#define COMBINE                                                                       \
  " w AS (SELECT j.*, max(p) OVER (PARTITION BY gid) AS grp_last FROM j),"            \
  " agg AS (SELECT min(metric) AS metric, min(fact_grain) AS fact_grain,"             \
  "  min(grain) AS grain, min(bucket_start) AS bucket_start, min(org_id) AS org_id,"  \
  "  min(facility_id) AS facility_id, sum(n)::bigint AS n, sum(sum_value) AS sum_value," \
  "  min(min_value) AS min_value, max(max_value) AS max_value,"                       \
  "  sum(sum_numerator) AS sum_numerator, sum(sum_denominator) AS sum_denominator,"   \
  "  max(p) AS last_period, sum(lv) FILTER (WHERE p = grp_last) AS last_value"        \
  "  FROM w GROUP BY gid),"

#define SENTINEL                                                                      \
  " UNION ALL SELECT gid, " KEYS ", 0, NULL::numeric, NULL::float8, NULL::float8,"         \
  "  NULL::numeric, NULL::numeric, NULL::date, NULL::numeric FROM g"

/* A fact as a child: one value. */
#define FACT_CHILD                                                                    \
  " 1, f.value::numeric, f.value, f.value, f.numerator::numeric,"                     \
  " f.denominator::numeric, f.period_start, f.value::numeric"

#define FACTS_IN_BUCKET(facility)                                                     \
  " FROM g JOIN outcomes.facts f ON f.metric = g.metric AND f.org_id = g.org_id"      \
  "  AND f.facility_id = " facility " AND f.grain = g.fact_grain"                     \
  "  AND f.period_start >= g.bucket_start AND f.period_start < g.bucket_end"          \
  "  AND NOT f.retracted"

#define ROLLUP_CHILD                                                                  \
  " r.n, r.sum_value, r.min_value, r.max_value, r.sum_numerator, r.sum_denominator,"  \
  " r.last_period, r.last_value"

/* Facility rows from facts; where: which target grains. */
#define FACILITY_FROM_FACTS(where)                                                    \
  "WITH g AS (" GROUPS(", s.org_id, s.facility_id", " AND s.facility_id <> ''" where) "),"  \
  " j (gid, " KEYS ", n, sum_value, min_value, max_value, sum_numerator, sum_denominator, p, lv)" \
  " AS (SELECT g.gid, g.metric, g.fact_grain, g.grain, g.bucket_start, g.org_id, g.facility_id," \
  FACT_CHILD FACTS_IN_BUCKET("g.facility_id") SENTINEL "),"                            \
  COMBINE DELETE_EMPTY("facility") UPSERT("facility")

/* Org rows from the facility rows of the bucket and the org-level facts. */
#define ORG_FROM_FACILITIES(where)                                                    \
  "WITH g AS (" GROUPS(", s.org_id, ''::text AS facility_id", where) "),"              \
  " j (gid, " KEYS ", n, sum_value, min_value, max_value, sum_numerator, sum_denominator, p, lv)" \
  " AS (SELECT g.gid, g.metric, g.fact_grain, g.grain, g.bucket_start, g.org_id, g.facility_id," \
  ROLLUP_CHILD                                                                        \
  " FROM g JOIN outcomes.rollups r ON r.metric = g.metric AND r.fact_grain = g.fact_grain" \
  "  AND r.grain = g.grain AND r.level = 'facility' AND r.bucket_start = g.bucket_start" \
  "  AND r.org_id = g.org_id"                                                         \
  " UNION ALL SELECT g.gid, g.metric, g.fact_grain, g.grain, g.bucket_start, g.org_id," \
  "  g.facility_id," FACT_CHILD FACTS_IN_BUCKET("''") SENTINEL "),"                    \
  COMBINE DELETE_EMPTY("org") UPSERT("org")

/* Rows of one level at grain $1 from the same level's rows at the grain
 * src one step finer, already recomputed: the buckets of src inside the
 * bucket (they nest: MONTH in QUARTER in YEAR). Exact, as every field
 * composes: n, sums and Σnum/Σden add (numeric), min of mins, max of
 * maxes, and last_period/last_value combine as they do across facilities. */
#define FROM_FINER(level, extra_cols, where, match)                                   \
  "WITH g AS (" GROUPS(extra_cols, where " AND m.grain = $1 AND m.src IS NOT NULL") "),"  \
  " j (gid, " KEYS ", n, sum_value, min_value, max_value, sum_numerator, sum_denominator, p, lv)" \
  " AS (SELECT g.gid, g.metric, g.fact_grain, g.grain, g.bucket_start, g.org_id, g.facility_id," \
  ROLLUP_CHILD                                                                        \
  " FROM g JOIN outcomes.rollups r ON r.metric = g.metric AND r.fact_grain = g.fact_grain" \
  "  AND r.grain = g.src AND r.level = '" level "' AND r.bucket_start >= g.bucket_start" \
  "  AND r.bucket_start < g.bucket_end" match SENTINEL "),"                            \
  COMBINE DELETE_EMPTY(level) UPSERT(level)

static const char sql_facility[] = FACILITY_FROM_FACTS("");
static const char sql_facility_leaf[] = FACILITY_FROM_FACTS(" AND m.src IS NULL");
static const char sql_facility_finer[] =
    FROM_FINER("facility", ", s.org_id, s.facility_id", " AND s.facility_id <> ''",
               " AND r.org_id = g.org_id AND r.facility_id = g.facility_id");

static const char sql_org[] = ORG_FROM_FACILITIES("");
static const char sql_org_leaf[] = ORG_FROM_FACILITIES(" AND m.src IS NULL");
static const char sql_org_finer[] =
    FROM_FINER("org", ", s.org_id, ''::text AS facility_id", "",
               " AND r.org_id = g.org_id AND r.facility_id = ''");

static const char sql_all[] =
    "WITH g AS (" GROUPS(", ''::text AS org_id, ''::text AS facility_id", "") "),"
    " j (gid, " KEYS ", n, sum_value, min_value, max_value, sum_numerator, sum_denominator, p, lv)"
    " AS (SELECT g.gid, g.metric, g.fact_grain, g.grain, g.bucket_start, g.org_id, g.facility_id,"
    ROLLUP_CHILD
    " FROM g JOIN outcomes.rollups r ON r.metric = g.metric AND r.fact_grain = g.fact_grain"
    "  AND r.grain = g.grain AND r.level = 'org' AND r.bucket_start = g.bucket_start"
    SENTINEL "),"
    COMBINE DELETE_EMPTY("all") UPSERT("all");

/* The grains that have a src, finest first: each pass reads the one before. */
static const char *const finer_passes[] = {"QUARTER", "YEAR"};

/* The staged batch is small next to the tables, but temporary tables have
 * no statistics, and young tables have none either: left to itself the
 * planner may hash or merge-join whole tables, or scan (or materialize) a
 * whole level of them once per group (seen: 28 s for a 5000-record batch
 * while autovacuum had not yet analyzed a young rollups table).
 * Nested loops over the primary keys keep the work proportional to the
 * touched groups whatever the statistics say. Local to the transaction. */
static const char sql_plan[] = "SET LOCAL enable_hashjoin = off;"
                               " SET LOCAL enable_mergejoin = off;"
                               " SET LOCAL enable_seqscan = off;"
                               " SET LOCAL enable_bitmapscan = off;"
                               " SET LOCAL enable_material = off;"
                               /* DISTINCT and GROUP BY by hashing, not by
                                * sorting text keys (the row estimates of a
                                * temporary table would pick the sort). */
                               " SET LOCAL enable_sort = off;"
                               " SET LOCAL jit = off"; /* the costs above would trigger it */

int oc_rollup_prepare(PGconn *conn, oc_err_t *err) {
  return oc_pg_exec_what(conn, sql_grain_map, "rollup grain map", err);
}

static int finer(PGconn *conn, const char *sql, const char *what, oc_err_t *err) {
  for (size_t i = 0; i < sizeof(finer_passes) / sizeof(finer_passes[0]); i++) {
    const char *v[1] = {finer_passes[i]};
    if (oc_pg_exec_params(conn, sql, 1, v, NULL, err) != 0)
      return oc_err_prefix(err, "%s %s: ", what, finer_passes[i]);
  }
  return 0;
}

static int recompute(PGconn *conn, bool incremental, oc_err_t *err) {
  int rc;
  if ((rc = oc_pg_exec_what(conn, sql_plan, "rollup planner settings", err)) != 0)
    return rc;
  if ((rc = oc_pg_exec_params(conn, sql_lock, 0, NULL, NULL, err)) != 0)
    return oc_err_prefix(err, "rollup locks: ");
  if ((rc = oc_pg_exec_params(conn, incremental ? sql_facility_leaf : sql_facility, 0, NULL,
                              NULL, err)) != 0)
    return oc_err_prefix(err, "rollup facility level: ");
  if (incremental && (rc = finer(conn, sql_facility_finer, "rollup facility level", err)) != 0)
    return rc;
  if ((rc = oc_pg_exec_params(conn, incremental ? sql_org_leaf : sql_org, 0, NULL, NULL,
                              err)) != 0)
    return oc_err_prefix(err, "rollup org level: ");
  if (incremental && (rc = finer(conn, sql_org_finer, "rollup org level", err)) != 0)
    return rc;
  if ((rc = oc_pg_exec_params(conn, sql_all, 0, NULL, NULL, err)) != 0)
    return oc_err_prefix(err, "rollup all-orgs level: ");
  return 0;
}

int oc_rollup_recompute(PGconn *conn, oc_err_t *err) {
  return recompute(conn, false, err);
}

int oc_rollup_recompute_incremental(PGconn *conn, oc_err_t *err) {
  return recompute(conn, true, err);
}
