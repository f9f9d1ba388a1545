-- catalog_has_measure_url: whether outcomes.metric_catalog has the column
-- measure_url (migration 0008); before it, catalog_upsert_0002.sql writes.
SELECT EXISTS (SELECT 1
                 FROM pg_catalog.pg_attribute
                WHERE attrelid = 'outcomes.metric_catalog'::regclass
                  AND attname = 'measure_url'
                  AND NOT attisdropped);
