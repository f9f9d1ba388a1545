-- series_ids: the series id of each key of a batch, created with its
-- parents where missing (the function is in 0006_series.sql). Run outside
-- the batch's transaction, so that the ids a daemon caches are committed.
--   $1 text[]  metric        } one element per key
--   $2 text[]  org_id        }
--   $3 text[]  facility_id   } ('' for an org-level figure)
--   $4 text[]  grain         }
-- One row per key: ord is its 1-based position in the arrays.
SELECT ord, series_id
  FROM outcomes.series_ids($1::text[], $2::text[], $3::text[], $4::text[]);
