/* rollup.c - set-based maintenance of the touched rollup groups; see
 * include/outcomes/rollup.h. oc_rollup_recompute: the locks, then one
 * INSERT ... ON CONFLICT DO UPDATE (with a DELETE of emptied groups in the
 * same statement) per level, from children. oc_rollup_update (the daemon):
 * per level, one statement applies the batch's differences and lists the
 * groups it cannot update in place in oc_regroup; those are recomputed from
 * children, the grains without a src first, then QUARTER from MONTH rows and
 * YEAR from QUARTER rows, inside the batch's transaction. */
#include "outcomes/rollup.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "outcomes/pg.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* fact grain → rollup grain, with the date_trunc unit, the period length
 * and src: the rollup grain one step finer that the recomputation of a
 * regrouped group sums (same fact grain, same level), or NULL where it
 * reads facts. DAY →
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
    " ON CONFLICT DO NOTHING;"
    /* The groups the deltas of a batch could not update in place. */
    "CREATE TEMP TABLE IF NOT EXISTS oc_regroup ("
    "  level text NOT NULL, metric text NOT NULL, fact_grain text NOT NULL,"
    "  grain text NOT NULL, src text, bucket_start date NOT NULL, bucket_end date NOT NULL,"
    "  org_id text NOT NULL, facility_id text NOT NULL) ON COMMIT DELETE ROWS";

/* Sorted, so that two transactions never wait for each other in a cycle. */
static const char sql_lock[] =
    "SELECT pg_advisory_xact_lock(" STR(OC_ROLLUP_LOCK_CLASS) ", h)"
    " FROM (SELECT DISTINCT hashtext(metric) AS h FROM oc_stage"
    "       WHERE visible_changed ORDER BY 1) s";

/* Touched groups, from the staged batch: period_start::timestamp keeps
 * date_trunc away from the session time zone. */
#define GROUPS(extra_cols, where)                                                     \
  "SELECT DISTINCT s.metric, s.grain AS fact_grain, m.grain, m.src,"                  \
  " date_trunc(m.unit, s.period_start::timestamp)::date AS bucket_start,"             \
  " (date_trunc(m.unit, s.period_start::timestamp) + m.step)::date AS bucket_end"     \
  extra_cols " FROM oc_stage s JOIN oc_grain_map m ON m.fact_grain = s.grain"         \
  " WHERE s.visible_changed" where

/* The groups of one level the deltas could not update (oc_regroup). */
#define REGROUPS(level, where)                                                        \
  "SELECT metric, fact_grain, grain, src, bucket_start, bucket_end, org_id,"          \
  " facility_id FROM oc_regroup WHERE level = '" level "'" where

/* gid numbers the groups so that sorting children by group compares
 * integers, not text keys. */
#define NUMBERED(groups) "SELECT d.*, row_number() OVER () AS gid FROM (" groups ") d"

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

/* Each level: the groups g, their children j joined on a primary-key
 * prefix (plus one sentinel row per group, so that a group left empty shows
 * up with n = 0), the latest period per group, the aggregate, then the
 * empty groups deleted and the others upserted. */
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
  "  min(facility_id) AS facility_id, sum(n)::bigint AS n,"                           \
  "  trim_scale(sum(sum_value)) AS sum_value,"                                        \
  "  min(min_value) AS min_value, max(max_value) AS max_value,"                       \
  "  trim_scale(sum(sum_numerator)) AS sum_numerator,"                                \
  "  trim_scale(sum(sum_denominator)) AS sum_denominator, max(p) AS last_period,"     \
  "  trim_scale(sum(lv) FILTER (WHERE p = grp_last)) AS last_value"                   \
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

#define J_COLS                                                                        \
  " j (gid, " KEYS ", n, sum_value, min_value, max_value, sum_numerator, sum_denominator, p, lv)" \
  " AS (SELECT g.gid, g.metric, g.fact_grain, g.grain, g.bucket_start, g.org_id, g.facility_id,"

/* Facility rows of the groups from facts. */
#define FACILITY_FROM_FACTS(groups)                                                   \
  "WITH g AS (" NUMBERED(groups) ")," J_COLS FACT_CHILD FACTS_IN_BUCKET("g.facility_id") \
  SENTINEL ")," COMBINE DELETE_EMPTY("facility") UPSERT("facility")

/* Org rows from the facility rows of the bucket and the org-level facts. */
#define ORG_FROM_FACILITIES(groups)                                                   \
  "WITH g AS (" NUMBERED(groups) ")," J_COLS ROLLUP_CHILD                             \
  " FROM g JOIN outcomes.rollups r ON r.metric = g.metric AND r.fact_grain = g.fact_grain" \
  "  AND r.grain = g.grain AND r.level = 'facility' AND r.bucket_start = g.bucket_start" \
  "  AND r.org_id = g.org_id"                                                         \
  " UNION ALL SELECT g.gid, g.metric, g.fact_grain, g.grain, g.bucket_start, g.org_id," \
  "  g.facility_id," FACT_CHILD FACTS_IN_BUCKET("''") SENTINEL "),"                    \
  COMBINE DELETE_EMPTY("org") UPSERT("org")

/* All-orgs rows from the org rows of the bucket. */
#define ALL_FROM_ORGS(groups)                                                         \
  "WITH g AS (" NUMBERED(groups) ")," J_COLS ROLLUP_CHILD                             \
  " FROM g JOIN outcomes.rollups r ON r.metric = g.metric AND r.fact_grain = g.fact_grain" \
  "  AND r.grain = g.grain AND r.level = 'org' AND r.bucket_start = g.bucket_start"   \
  SENTINEL ")," COMBINE DELETE_EMPTY("all") UPSERT("all")

/* Rows of one level at grain $1 from the same level's rows at the grain
 * src one step finer, already current: the buckets of src inside the
 * bucket (they nest: MONTH in QUARTER in YEAR). Exact, as every field
 * composes: n, sums and Σnum/Σden add (numeric), min of mins, max of
 * maxes, and last_period/last_value combine as they do across facilities. */
#define FROM_FINER(level, match)                                                      \
  "WITH g AS (" NUMBERED(REGROUPS(level, " AND grain = $1 AND src IS NOT NULL")) "),"  \
  J_COLS ROLLUP_CHILD                                                                 \
  " FROM g JOIN outcomes.rollups r ON r.metric = g.metric AND r.fact_grain = g.fact_grain" \
  "  AND r.grain = g.src AND r.level = '" level "' AND r.bucket_start >= g.bucket_start" \
  "  AND r.bucket_start < g.bucket_end" match SENTINEL "),"                            \
  COMBINE DELETE_EMPTY(level) UPSERT(level)

/* The full recomputation (oc_rollup_recompute): every touched group from
 * its children, levels in order. */
static const char sql_facility[] =
    FACILITY_FROM_FACTS(GROUPS(", s.org_id, s.facility_id", " AND s.facility_id <> ''"));
static const char sql_org[] = ORG_FROM_FACILITIES(GROUPS(", s.org_id, ''::text AS facility_id", ""));
static const char sql_all[] =
    ALL_FROM_ORGS(GROUPS(", ''::text AS org_id, ''::text AS facility_id", ""));

/* ---- deltas -------------------------------------------------------------
 *
 * One statement per level. c: each changed fact once per target grain, with
 * its version before the batch (o*: old_standing, old_value, ...) and after
 * it (n*: standing again, value, ...), and the latest period of the
 * group's new versions (a window: the last value needs it). d: per group,
 * the counts and numeric sums of what leaves and what arrives, the extremes
 * of both and the new last. j: d with the group's row (a nested loop over
 * the primary key) and ok: the row can be updated in place, because
 *   - it exists, and its numerator and denominator sums are NULL exactly
 *     when the group carries none (ratio metrics carry both, others none),
 *   - and nothing leaves, or everything that leaves is known, lies strictly
 *     between the row's min and max and before its last_period: then min,
 *     max and last are unchanged by what leaves, and combine with what
 *     arrives as they do across children.
 * Then in one statement: ok rows updated (n, sums by difference, exact in
 * numeric; min/max/last combined), groups without a row and nothing
 * leaving inserted, and every other group written to oc_regroup for the
 * recomputation from its children. Returns the number of those. */
#define DELTA(level, org, facility, where)                                             \
  "WITH c0 AS MATERIALIZED (SELECT s.metric, s.grain AS fact_grain, m.grain, m.src,"              \
  "  date_trunc(m.unit, s.period_start::timestamp)::date AS bucket_start,"             \
  "  (date_trunc(m.unit, s.period_start::timestamp) + m.step)::date AS bucket_end,"    \
  "  " org " AS org_id, " facility " AS facility_id, s.period_start AS p,"             \
  "  NOT s.retracted AS nw, s.value AS nv, s.numerator AS nnum, s.denominator AS nden," \
  "  s.old_standing AS ow, s.old_value AS ov, s.old_numerator AS onum,"               \
  "  s.old_denominator AS oden"                                                       \
  "  FROM oc_stage s JOIN oc_grain_map m ON m.fact_grain = s.grain"                   \
  "  WHERE s.visible_changed" where "),"                                              \
  " c AS (SELECT c0.*, max(p) FILTER (WHERE nw) OVER (PARTITION BY " KEYS ") AS last_new" \
  "  FROM c0),"                                                                       \
  " d AS (SELECT " KEYS ", min(src) AS src, min(bucket_end) AS bucket_end,"           \
  "  count(*) FILTER (WHERE nw) AS n_new, count(*) FILTER (WHERE ow) AS n_old,"       \
  "  coalesce(sum(nv::numeric) FILTER (WHERE nw), 0) AS s_new,"                       \
  "  coalesce(sum(ov::numeric) FILTER (WHERE ow), 0) AS s_old,"                       \
  "  sum(nnum::numeric) FILTER (WHERE nw) AS num_new,"                                \
  "  coalesce(sum(onum::numeric) FILTER (WHERE ow), 0) AS num_old,"                   \
  "  sum(nden::numeric) FILTER (WHERE nw) AS den_new,"                                \
  "  coalesce(sum(oden::numeric) FILTER (WHERE ow), 0) AS den_old,"                   \
  "  coalesce(bool_or((nw AND nnum IS NOT NULL) OR (ow AND onum IS NOT NULL)), false) AS has_num," \
  "  coalesce(bool_or((nw AND nden IS NOT NULL) OR (ow AND oden IS NOT NULL)), false) AS has_den," \
  "  coalesce(bool_or(ow AND ov IS NULL), false) AS old_unknown,"                     \
  "  min(nv) FILTER (WHERE nw) AS min_new, max(nv) FILTER (WHERE nw) AS max_new,"     \
  "  min(ov) FILTER (WHERE ow) AS min_old, max(ov) FILTER (WHERE ow) AS max_old,"     \
  "  max(last_new) AS last_new, max(p) FILTER (WHERE ow) AS last_old,"                \
  "  sum(nv::numeric) FILTER (WHERE nw AND p = last_new) AS lv_new"                   \
  "  FROM c GROUP BY " KEYS "),"                                                      \
  " j AS (SELECT d.*, r.n AS r_n, r.sum_value AS r_sum, r.min_value AS r_min,"        \
  "  r.max_value AS r_max, r.sum_numerator AS r_num, r.sum_denominator AS r_den,"     \
  "  r.last_period AS r_last, r.last_value AS r_lv,"                                  \
  "  (r.n IS NOT NULL AND d.has_num = (r.sum_numerator IS NOT NULL)"                  \
  "   AND d.has_den = (r.sum_denominator IS NOT NULL)"                                \
  "   AND (d.n_old = 0 OR (NOT d.old_unknown AND d.min_old > r.min_value"             \
  "        AND d.max_old < r.max_value AND d.last_old < r.last_period))) AS ok"       \
  "  FROM d LEFT JOIN outcomes.rollups r ON r.metric = d.metric"                      \
  "  AND r.fact_grain = d.fact_grain AND r.grain = d.grain AND r.level = '" level "'" \
  "  AND r.bucket_start = d.bucket_start AND r.org_id = d.org_id"                     \
  "  AND r.facility_id = d.facility_id),"                                             \
  " u AS (SELECT " KEYS ", r_n + n_new - n_old AS n,"                                 \
  "  trim_scale(r_sum + s_new - s_old) AS sum_value,"                                 \
  "  least(r_min, min_new) AS min_value, greatest(r_max, max_new) AS max_value,"      \
  "  trim_scale(r_num + (coalesce(num_new, 0) - num_old)) AS sum_numerator,"          \
  "  trim_scale(r_den + (coalesce(den_new, 0) - den_old)) AS sum_denominator,"        \
  "  CASE WHEN last_new > r_last THEN last_new ELSE r_last END AS last_period,"       \
  "  trim_scale(CASE WHEN last_new > r_last THEN lv_new"                              \
  "   WHEN last_new = r_last THEN r_lv + lv_new ELSE r_lv END) AS last_value,"        \
  "  (r_n, r_sum, r_min, r_max, r_num, r_den, r_last, r_lv) AS before"                \
  "  FROM j WHERE ok),"                                                               \
  " upd AS (UPDATE outcomes.rollups r SET n = u.n, sum_value = u.sum_value,"          \
  "  min_value = u.min_value, max_value = u.max_value, sum_numerator = u.sum_numerator," \
  "  sum_denominator = u.sum_denominator, last_period = u.last_period,"               \
  "  last_value = u.last_value, updated_at = now() FROM u"                            \
  "  WHERE r.metric = u.metric AND r.fact_grain = u.fact_grain AND r.grain = u.grain" \
  "  AND r.level = '" level "' AND r.bucket_start = u.bucket_start"                   \
  "  AND r.org_id = u.org_id AND r.facility_id = u.facility_id"                       \
  "  AND u.before IS DISTINCT FROM (u.n, u.sum_value, u.min_value, u.max_value,"      \
  "   u.sum_numerator, u.sum_denominator, u.last_period, u.last_value)),"             \
  " ins AS (INSERT INTO outcomes.rollups (metric, fact_grain, grain, level,"          \
  "  bucket_start, org_id, facility_id, n, sum_value, min_value, max_value,"          \
  "  sum_numerator, sum_denominator, last_period, last_value)"                        \
  "  SELECT metric, fact_grain, grain, '" level "', bucket_start, org_id, facility_id," \
  "  n_new, trim_scale(s_new), min_new, max_new, trim_scale(num_new),"               \
  "  trim_scale(den_new), last_new, trim_scale(lv_new)"                               \
  "  FROM j WHERE r_n IS NULL AND n_old = 0),"                                        \
  " fb AS (INSERT INTO oc_regroup (level, metric, fact_grain, grain, src,"            \
  "  bucket_start, bucket_end, org_id, facility_id)"                                  \
  "  SELECT '" level "', metric, fact_grain, grain, src, bucket_start, bucket_end,"   \
  "  org_id, facility_id FROM j WHERE NOT ok AND (r_n IS NOT NULL OR n_old > 0)"      \
  "  RETURNING 1)"                                                                    \
  " SELECT count(*) FROM fb"

static const char sql_facility_delta[] =
    DELTA("facility", "s.org_id", "s.facility_id", " AND s.facility_id <> ''");
static const char sql_org_delta[] = DELTA("org", "s.org_id", "''::text", "");
static const char sql_all_delta[] = DELTA("all", "''::text", "''::text", "");

/* The recomputation of the groups the deltas left: per level, the grains
 * without a src from children, then QUARTER from MONTH rows and YEAR from
 * QUARTER rows of the same level. */
static const char sql_facility_leaf[] =
    FACILITY_FROM_FACTS(REGROUPS("facility", " AND src IS NULL"));
static const char sql_facility_finer[] =
    FROM_FINER("facility", " AND r.org_id = g.org_id AND r.facility_id = g.facility_id");
static const char sql_org_leaf[] = ORG_FROM_FACILITIES(REGROUPS("org", " AND src IS NULL"));
static const char sql_org_finer[] =
    FROM_FINER("org", " AND r.org_id = g.org_id AND r.facility_id = ''");
static const char sql_all_regroups[] = ALL_FROM_ORGS(REGROUPS("all", ""));

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

static int plan_and_lock(PGconn *conn, oc_err_t *err) {
  int rc;
  if ((rc = oc_pg_exec_what(conn, sql_plan, "rollup planner settings", err)) != 0)
    return rc;
  if ((rc = oc_pg_exec_params(conn, sql_lock, 0, NULL, NULL, err)) != 0)
    return oc_err_prefix(err, "rollup locks: ");
  return 0;
}

static int exec_level(PGconn *conn, const char *sql, const char *what, oc_err_t *err) {
  if (oc_pg_exec_params(conn, sql, 0, NULL, NULL, err) != 0)
    return oc_err_prefix(err, "rollup %s: ", what);
  return 0;
}

int oc_rollup_recompute(PGconn *conn, oc_err_t *err) {
  int rc;
  if ((rc = plan_and_lock(conn, err)) != 0 ||
      (rc = exec_level(conn, sql_facility, "facility level", err)) != 0 ||
      (rc = exec_level(conn, sql_org, "org level", err)) != 0)
    return rc;
  return exec_level(conn, sql_all, "all-orgs level", err);
}

/* One level: the deltas, then the recomputation of what they left. */
typedef struct level_s {
  const char *name;
  const char *delta, *leaf, *finer; /* finer: NULL where leaf does every grain */
} level_t;

static const level_t levels[] = {
    {"facility level", sql_facility_delta, sql_facility_leaf, sql_facility_finer},
    {"org level", sql_org_delta, sql_org_leaf, sql_org_finer},
    {"all-orgs level", sql_all_delta, sql_all_regroups, NULL},
};

/* The grains that have a src, finest first: each pass reads the one before. */
static const char *const finer_passes[] = {"QUARTER", "YEAR"};

static int update_level(PGconn *conn, const level_t *l, int64_t *regrouped, oc_err_t *err) {
  PGresult *res = NULL;
  int rc;

  if ((rc = oc_pg_exec_params(conn, l->delta, 0, NULL, &res, err)) != 0)
    return oc_err_prefix(err, "rollup %s deltas: ", l->name);
  int64_t n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
  PQclear(res);
  *regrouped += n;
  if (n == 0)
    return 0;
  if ((rc = exec_level(conn, l->leaf, l->name, err)) != 0)
    return rc;
  for (size_t i = 0; l->finer && i < sizeof(finer_passes) / sizeof(finer_passes[0]); i++) {
    const char *v[1] = {finer_passes[i]};
    if ((rc = oc_pg_exec_params(conn, l->finer, 1, v, NULL, err)) != 0)
      return oc_err_prefix(err, "rollup %s %s: ", l->name, finer_passes[i]);
  }
  return 0;
}

int oc_rollup_update(PGconn *conn, int64_t *regrouped, oc_err_t *err) {
  int64_t n = 0;
  int rc;

  if ((rc = plan_and_lock(conn, err)) != 0)
    return rc;
  for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
    if ((rc = update_level(conn, &levels[i], &n, err)) != 0)
      return rc;
  if (regrouped)
    *regrouped = n;
  return 0;
}
