-- catalog_upsert_0002: catalog_upsert.sql for a table migration 0008 has
-- not reached (a migrations directory that stops before it): no
-- measure_url, and seed NOT NULL ('' when none). $1..$9 as there.
INSERT INTO outcomes.metric_catalog (code, name, unit, kind, direction, min_value, max_value,
                                     seed, description, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())
ON CONFLICT (code) DO UPDATE
   SET name = EXCLUDED.name, unit = EXCLUDED.unit, kind = EXCLUDED.kind,
       direction = EXCLUDED.direction, min_value = EXCLUDED.min_value,
       max_value = EXCLUDED.max_value, seed = EXCLUDED.seed,
       description = EXCLUDED.description, updated_at = now();
