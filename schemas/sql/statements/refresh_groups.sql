-- refresh_groups: the rollup rows over the claimed fact changes, into
-- oc_refresh_groups: for each changed fact, its series and the series'
-- ancestors (its org's series, the all-orgs series), at every grain the
-- facts roll up to (outcomes.rollup_grains), the bucket that holds the
-- fact's period. Weeks start on Monday (date_trunc); period_start is a
-- calendar date, so no time zone applies.
INSERT INTO oc_refresh_groups (series_id, level, grain, pass, source_grain, bucket_start,
                               bucket_end)
SELECT DISTINCT a.series_id, a.level, rg.grain, rg.pass, rg.source_grain,
       date_trunc(g.unit, d.period_start::timestamp)::date,
       (date_trunc(g.unit, d.period_start::timestamp) + g.length)::date
  FROM (SELECT DISTINCT series_id, period_start FROM oc_refresh_facts) d
  JOIN outcomes.series s ON s.series_id = d.series_id
  LEFT JOIN outcomes.series p ON p.series_id = s.parent_id
  LEFT JOIN outcomes.series gp ON gp.series_id = p.parent_id
 CROSS JOIN LATERAL (VALUES (s.series_id, s.level), (p.series_id, p.level),
                            (gp.series_id, gp.level)) AS a (series_id, level)
  JOIN outcomes.rollup_grains rg ON rg.fact_grain = s.grain
  JOIN outcomes.grains g ON g.grain = rg.grain
 WHERE a.series_id IS NOT NULL;
