-- rollup_oracle.sql - the tests' independent check of the rollups: the
-- number of rollup rows (outcomes.rollups, every level and grain) that
-- differ from an aggregate computed from scratch over the standing facts,
-- either way (a row missing, wrong, or without facts under it). 0 means
-- exact. Written without the daemon's grain table or its level-by-level
-- computation: every grain from the facts directly.
WITH map (fact_grain, grain, unit) AS (VALUES
       ('DAY', 'DAY', 'day'), ('DAY', 'WEEK', 'week'), ('DAY', 'MONTH', 'month'),
       ('DAY', 'QUARTER', 'quarter'), ('DAY', 'YEAR', 'year'), ('WEEK', 'WEEK', 'week'),
       ('MONTH', 'MONTH', 'month'), ('MONTH', 'QUARTER', 'quarter'), ('MONTH', 'YEAR', 'year'),
       ('QUARTER', 'QUARTER', 'quarter'), ('QUARTER', 'YEAR', 'year'), ('YEAR', 'YEAR', 'year')),
     x AS (SELECT f.metric, f.grain AS fact_grain, m.grain,
                  date_trunc(m.unit, f.period_start::timestamp)::date AS bucket_start,
                  f.org_id, f.facility_id, f.period_start, f.value, f.numerator, f.denominator
             FROM outcomes.facts f JOIN map m ON m.fact_grain = f.grain
            WHERE NOT f.retracted),
     lv AS (SELECT 'facility' AS level, org_id AS o, facility_id AS fa, x.* FROM x
             WHERE facility_id <> ''
            UNION ALL SELECT 'org', org_id, '', x.* FROM x
            UNION ALL SELECT 'all', '', '', x.* FROM x),
     w AS (SELECT lv.*, max(period_start) OVER (PARTITION BY level, metric, fact_grain, grain,
                                                             bucket_start, o, fa) AS lp
             FROM lv),
     expect AS (SELECT metric, fact_grain, grain, level, bucket_start, o AS org_id,
                       fa AS facility_id, count(*) AS n, sum(value::numeric) AS sum_value,
                       min(value) AS min_value, max(value) AS max_value,
                       sum(numerator::numeric) AS sum_numerator,
                       sum(denominator::numeric) AS sum_denominator,
                       max(period_start) AS last_period,
                       sum(value::numeric) FILTER (WHERE period_start = lp) AS last_value
                  FROM w
                 GROUP BY metric, fact_grain, grain, level, bucket_start, o, fa),
     got AS (SELECT metric, fact_grain, grain, level, bucket_start, org_id, facility_id, n,
                    sum_value, min_value, max_value, sum_numerator, sum_denominator,
                    last_period, last_value
               FROM outcomes.rollups)
SELECT (SELECT count(*) FROM (SELECT * FROM expect EXCEPT SELECT * FROM got) a)
     + (SELECT count(*) FROM (SELECT * FROM got EXCEPT SELECT * FROM expect) b);
