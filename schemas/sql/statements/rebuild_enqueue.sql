-- rebuild_enqueue: queue for the refresh every fact of a metric in a
-- period, and every rollup row of it (so that rows whose facts are gone
-- are deleted): outcomes-replay rebuild, then the refresh recomputes them
-- all from the facts.
--   $1 text  metric
--   $2 date  first period_start / bucket_start (NULL: no bound)
--   $3 date  last (NULL: no bound)
INSERT INTO outcomes.rollup_pending (series_id, period_start)
SELECT f.series_id, f.period_start
  FROM outcomes.series_facts f
  JOIN outcomes.series s ON s.series_id = f.series_id
 WHERE s.metric = $1::text
   AND ($2::date IS NULL OR f.period_start >= $2::date)
   AND ($3::date IS NULL OR f.period_start <= $3::date)
UNION
SELECT r.series_id, r.bucket_start
  FROM outcomes.series_rollups r
  JOIN outcomes.series s ON s.series_id = r.series_id
 WHERE s.metric = $1::text
   AND ($2::date IS NULL OR r.bucket_start >= $2::date)
   AND ($3::date IS NULL OR r.bucket_start <= $3::date);
