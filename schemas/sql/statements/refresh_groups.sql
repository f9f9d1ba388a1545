-- refresh_groups: the rollup rows over the claimed fact changes, into
-- oc_refresh_groups: for each changed fact, the bucket that holds its
-- period at every grain its facts roll up to (outcomes.rollup_grains),
-- for its series and the series' ancestors (its org's series, the
-- all-orgs series). The buckets are found per series first, so that the
-- changes of one bucket count once before they meet the ancestors. Weeks
-- start on Monday (date_trunc); period_start is a calendar date, so no
-- time zone applies.
WITH buckets AS (
  SELECT DISTINCT f.series_id, rg.grain,
         date_trunc(g.unit, f.period_start::timestamp)::date AS bucket_start
    FROM oc_refresh_facts f
    JOIN outcomes.series s ON s.series_id = f.series_id
    JOIN outcomes.rollup_grains rg ON rg.fact_grain = s.grain
    JOIN outcomes.grains g ON g.grain = rg.grain
)
INSERT INTO oc_refresh_groups (series_id, level, grain, pass, source_grain, bucket_start,
                               bucket_end)
SELECT DISTINCT a.series_id, a.level, b.grain, rg.pass, rg.source_grain, b.bucket_start,
       (b.bucket_start + g.length)::date
  FROM buckets b
  JOIN outcomes.series s ON s.series_id = b.series_id
  JOIN outcomes.rollup_grains rg ON rg.fact_grain = s.grain AND rg.grain = b.grain
  JOIN outcomes.grains g ON g.grain = b.grain
  LEFT JOIN outcomes.series p ON p.series_id = s.parent_id
  LEFT JOIN outcomes.series gp ON gp.series_id = p.parent_id
 CROSS JOIN LATERAL (VALUES (s.series_id, s.level), (p.series_id, p.level),
                            (gp.series_id, gp.level)) AS a (series_id, level)
 WHERE a.series_id IS NOT NULL
 ORDER BY 1, 3, 6;  -- in key order: the lookups of refresh_level walk the indexes in order
