-- catalog_read: the catalog as outcomes-migrate compares it with the file:
-- code, name, unit, kind, direction, min_value, max_value, seed,
-- description, measure_url, by code in byte order. measure_url is read
-- through to_jsonb so that a dry run (--dry-run, --status, --check) works
-- on a database that migration 0008 has not reached: NULL there.
SELECT c.code, c.name, c.unit, c.kind, c.direction, c.min_value, c.max_value, c.seed,
       c.description, pg_catalog.to_jsonb(c) ->> 'measure_url' AS measure_url
  FROM outcomes.metric_catalog c
 ORDER BY c.code COLLATE "C";
