-- 0003_views: what analysts read. The analyst role reads these views and
-- nothing else; docs/analysts.md documents them column by column.

-- The statistic each kind calls for (docs/design.md §6.3):
--   ratio          pooled Σnumerator / Σdenominator, across time and facilities
--   count, amount  sum
--   gauge          the level at the latest period of the bucket (summed over
--                  facilities at org and all-orgs level); mean, min, max beside
CREATE OR REPLACE VIEW outcomes.metric_values AS
SELECT r.metric,
       c.name AS metric_name,
       c.unit,
       c.kind,
       c.direction,
       r.fact_grain,
       r.grain,
       r.level,
       NULLIF(r.org_id, '') AS org_id,
       NULLIF(r.facility_id, '') AS facility_id,
       r.bucket_start,
       (CASE r.grain
          WHEN 'DAY' THEN r.bucket_start + 1
          WHEN 'WEEK' THEN r.bucket_start + 7
          WHEN 'MONTH' THEN (r.bucket_start + interval '1 month')::date
          WHEN 'QUARTER' THEN (r.bucket_start + interval '3 months')::date
          ELSE (r.bucket_start + interval '1 year')::date
        END) AS bucket_end,
       (CASE c.kind
          WHEN 'ratio' THEN (r.sum_numerator / NULLIF(r.sum_denominator, 0))::double precision
          WHEN 'gauge' THEN r.last_value::double precision
          ELSE r.sum_value::double precision
        END) AS value,
       r.n AS facts,
       (r.sum_value / r.n)::double precision AS mean_value,
       r.min_value,
       r.max_value,
       r.sum_value::double precision AS sum_value,
       r.sum_numerator::double precision AS sum_numerator,
       r.sum_denominator::double precision AS sum_denominator,
       r.last_period,
       r.last_value::double precision AS last_value,
       r.updated_at
  FROM outcomes.rollups r
  JOIN outcomes.metric_catalog c ON c.code = r.metric;

-- Period-over-period change: each bucket beside the previous bucket of the
-- same grain (prev_*) and the same bucket one year earlier (yoy_*).
CREATE OR REPLACE VIEW outcomes.metric_changes AS
SELECT v.metric, v.metric_name, v.unit, v.kind, v.direction,
       v.fact_grain, v.grain, v.level, v.org_id, v.facility_id,
       v.bucket_start, v.bucket_end, v.value,
       p.value AS prev_value,
       v.value - p.value AS change,
       (v.value - p.value) / NULLIF(p.value, 0) AS change_ratio,
       y.value AS yoy_value,
       v.value - y.value AS yoy_change,
       (v.value - y.value) / NULLIF(y.value, 0) AS yoy_change_ratio,
       (CASE
          WHEN p.value IS NULL OR v.value = p.value THEN NULL
          WHEN (v.value < p.value) = (v.direction = 'lower_is_better') THEN true
          ELSE false
        END) AS improved
  FROM outcomes.metric_values v
  LEFT JOIN outcomes.metric_values p
    ON p.metric = v.metric AND p.fact_grain = v.fact_grain AND p.grain = v.grain
   AND p.level = v.level
   AND p.org_id IS NOT DISTINCT FROM v.org_id
   AND p.facility_id IS NOT DISTINCT FROM v.facility_id
   AND p.bucket_end = v.bucket_start
  LEFT JOIN outcomes.metric_values y
    ON y.metric = v.metric AND y.fact_grain = v.fact_grain AND y.grain = v.grain
   AND y.level = v.level
   AND y.org_id IS NOT DISTINCT FROM v.org_id
   AND y.facility_id IS NOT DISTINCT FROM v.facility_id
   AND y.bucket_start = (v.bucket_start - interval '1 year')::date
   AND v.grain <> 'WEEK';

-- Cross-org benchmark: each org's value among all orgs reporting the metric
-- for the same bucket. percentile is the share of other orgs with a lower
-- value (0 = lowest, 1 = highest); better_than is the share of other orgs it
-- beats given the metric's direction.
CREATE OR REPLACE VIEW outcomes.org_benchmarks AS
SELECT v.metric, v.metric_name, v.unit, v.kind, v.direction,
       v.fact_grain, v.grain, v.bucket_start, v.bucket_end, v.org_id, v.value,
       count(*) OVER w AS orgs,
       rank() OVER (PARTITION BY v.metric, v.fact_grain, v.grain, v.bucket_start
                    ORDER BY (CASE WHEN v.direction = 'lower_is_better' THEN v.value
                                   ELSE -v.value END)) AS rank_best_first,
       percent_rank() OVER (w ORDER BY v.value) AS percentile,
       (CASE WHEN v.direction = 'lower_is_better'
             THEN percent_rank() OVER (w ORDER BY v.value DESC)
             ELSE percent_rank() OVER (w ORDER BY v.value) END) AS better_than,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY m.value) AS median_value
  FROM outcomes.metric_values v
  JOIN outcomes.metric_values m
    ON m.metric = v.metric AND m.fact_grain = v.fact_grain AND m.grain = v.grain
   AND m.bucket_start = v.bucket_start AND m.level = 'org'
 WHERE v.level = 'org' AND v.value IS NOT NULL AND m.value IS NOT NULL
 GROUP BY v.metric, v.metric_name, v.unit, v.kind, v.direction, v.fact_grain, v.grain,
          v.bucket_start, v.bucket_end, v.org_id, v.value
WINDOW w AS (PARTITION BY v.metric, v.fact_grain, v.grain, v.bucket_start);

-- Dead letters without their raw bytes: what failed, where, and why.
CREATE OR REPLACE VIEW outcomes.dead_letter_summary AS
SELECT error_code, topic, count(*) AS records,
       count(*) FILTER (WHERE redriven_at IS NULL) AS pending,
       min(created_at) AS first_seen, max(created_at) AS last_seen
  FROM outcomes.dead_letters
 GROUP BY error_code, topic;

-- The catalog, for joins and labels.
CREATE OR REPLACE VIEW outcomes.metrics AS
SELECT code AS metric, name, unit, kind, direction, min_value, max_value, seed, description
  FROM outcomes.metric_catalog;

GRANT SELECT ON outcomes.metric_values, outcomes.metric_changes, outcomes.org_benchmarks,
  outcomes.dead_letter_summary, outcomes.metrics TO outcomes_analyst;
