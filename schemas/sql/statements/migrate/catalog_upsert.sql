-- catalog_upsert: one metric of the file into the catalog, inserted or
-- updated. $1 code, $2 name, $3 unit, $4 kind, $5 direction, $6 min, $7 max
-- (text of double precision), $8 seed, $9 description, $10 measure_url;
-- an empty seed or measure_url is stored as NULL.
INSERT INTO outcomes.metric_catalog (code, name, unit, kind, direction, min_value, max_value,
                                     seed, description, measure_url, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, NULLIF($8, ''), $9, NULLIF($10, ''), now())
ON CONFLICT (code) DO UPDATE
   SET name = EXCLUDED.name, unit = EXCLUDED.unit, kind = EXCLUDED.kind,
       direction = EXCLUDED.direction, min_value = EXCLUDED.min_value,
       max_value = EXCLUDED.max_value, seed = EXCLUDED.seed,
       description = EXCLUDED.description, measure_url = EXCLUDED.measure_url,
       updated_at = now();
