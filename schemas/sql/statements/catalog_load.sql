-- catalog_load: the metric catalog the daemon validates records against.
-- Columns: code, name, unit, kind, direction, min_value, max_value, seed,
-- description, measure_url (seed and measure_url NULL when none), by code
-- in byte order.
SELECT code, name, unit, kind, direction, min_value, max_value, seed, description, measure_url
  FROM outcomes.metric_catalog
 ORDER BY code COLLATE "C";
