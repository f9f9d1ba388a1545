-- refresh_level: recompute from their children the rollup rows of
-- oc_refresh_groups of one level and pass, and write them: changed rows
-- updated, new ones inserted, rows left without children deleted.
--   $1 text      level: 'facility', 'org' or 'all'
--   $2 smallint  pass: 1, 2 or 3 (outcomes.rollup_grains)
-- Run for facility passes 1-3, then org 1-3, then all 1-3: each row's
-- children are then current. Returns the rows written and deleted.
--
-- The children of a row of series S at grain G over [bucket_start,
-- bucket_end):
--   pass 1   S's facts in the bucket (facility series; an org's own
--            org-level facts) and the rows at G of the same bucket of the
--            series whose parent is S (an org's facilities; all orgs' orgs)
--   pass 2+  S's rows at the finer source grain inside the bucket
-- Every field composes: n and the numeric sums add, min of the minimums,
-- max of the maximums, and the last period is the latest children's
-- last_period, with the sum of their last_value. Each group also gets an
-- empty child (n = 0), so that a group left without children shows in agg
-- with n = 0 and loses its row. Every child is reached from its group
-- through a primary key (or series_parent_idx), one lookup per group
-- (LATERAL ... OFFSET 0 keeps the planner from joining whole tables by
-- hash instead; a child series' row is looked up for each child, so that
-- the statistics of outcomes.series cannot turn it into a scan of the
-- rollups): the work grows with the groups, never with the tables.
WITH g AS (
  SELECT series_id, grain, bucket_start, bucket_end, source_grain
    FROM oc_refresh_groups
   WHERE level = $1::text AND pass = $2::smallint
),
child AS (
  SELECT g.series_id, g.grain, g.bucket_start, 1::bigint AS n, f.exact AS sum_value,
         f.value AS min_value, f.value AS max_value, f.numerator AS sum_numerator,
         f.denominator AS sum_denominator, f.period_start AS last_period,
         f.exact AS last_value
    FROM g
   CROSS JOIN LATERAL (
           SELECT f.period_start, f.value, f.value::numeric AS exact,
                  f.numerator::numeric AS numerator, f.denominator::numeric AS denominator
             FROM outcomes.series_facts f
            WHERE f.series_id = g.series_id
              AND f.period_start >= g.bucket_start AND f.period_start < g.bucket_end
              AND NOT f.retracted
           OFFSET 0) f
   WHERE g.source_grain IS NULL
  UNION ALL
  SELECT g.series_id, g.grain, g.bucket_start, r.n, r.sum_value, r.min_value, r.max_value,
         r.sum_numerator, r.sum_denominator, r.last_period, r.last_value
    FROM g
   CROSS JOIN LATERAL (
           SELECT r.*
             FROM outcomes.series c
            CROSS JOIN LATERAL (
                    SELECT *
                      FROM outcomes.series_rollups r
                     WHERE r.series_id = c.series_id AND r.grain = g.grain
                       AND r.bucket_start = g.bucket_start
                    OFFSET 0) r
            WHERE c.parent_id = g.series_id
           OFFSET 0) r
   WHERE g.source_grain IS NULL
  UNION ALL
  SELECT g.series_id, g.grain, g.bucket_start, r.n, r.sum_value, r.min_value, r.max_value,
         r.sum_numerator, r.sum_denominator, r.last_period, r.last_value
    FROM g
   CROSS JOIN LATERAL (
           SELECT *
             FROM outcomes.series_rollups r
            WHERE r.series_id = g.series_id AND r.grain = g.source_grain
              AND r.bucket_start >= g.bucket_start AND r.bucket_start < g.bucket_end
           OFFSET 0) r
   WHERE g.source_grain IS NOT NULL
  UNION ALL
  SELECT series_id, grain, bucket_start, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL
    FROM g
),
latest AS (
  SELECT child.*,
         max(last_period) OVER (PARTITION BY series_id, grain, bucket_start) AS group_last
    FROM child
),
agg AS (
  SELECT series_id, grain, bucket_start, sum(n)::bigint AS n,
         trim_scale(sum(sum_value)) AS sum_value, min(min_value) AS min_value,
         max(max_value) AS max_value, trim_scale(sum(sum_numerator)) AS sum_numerator,
         trim_scale(sum(sum_denominator)) AS sum_denominator, max(last_period) AS last_period,
         trim_scale(sum(last_value) FILTER (WHERE last_period = group_last)) AS last_value
    FROM latest
   GROUP BY series_id, grain, bucket_start
),
deleted AS (
  DELETE FROM outcomes.series_rollups r
   USING agg a
   WHERE a.n = 0
     AND r.series_id = a.series_id AND r.grain = a.grain AND r.bucket_start = a.bucket_start
  RETURNING 1
),
written AS (
  INSERT INTO outcomes.series_rollups AS r (series_id, grain, bucket_start, n, sum_value,
                                            min_value, max_value, sum_numerator,
                                            sum_denominator, last_period, last_value)
  SELECT series_id, grain, bucket_start, n, sum_value, min_value, max_value, sum_numerator,
         sum_denominator, last_period, last_value
    FROM agg
   WHERE n > 0
  ON CONFLICT (series_id, grain, bucket_start) DO UPDATE
     SET n = EXCLUDED.n, sum_value = EXCLUDED.sum_value, min_value = EXCLUDED.min_value,
         max_value = EXCLUDED.max_value, sum_numerator = EXCLUDED.sum_numerator,
         sum_denominator = EXCLUDED.sum_denominator, last_period = EXCLUDED.last_period,
         last_value = EXCLUDED.last_value, updated_at = now()
   WHERE (r.n, r.sum_value, r.min_value, r.max_value, r.sum_numerator, r.sum_denominator,
          r.last_period, r.last_value)
         IS DISTINCT FROM
         (EXCLUDED.n, EXCLUDED.sum_value, EXCLUDED.min_value, EXCLUDED.max_value,
          EXCLUDED.sum_numerator, EXCLUDED.sum_denominator, EXCLUDED.last_period,
          EXCLUDED.last_value)
  RETURNING 1
)
SELECT (SELECT count(*) FROM written) AS written, (SELECT count(*) FROM deleted) AS deleted;
