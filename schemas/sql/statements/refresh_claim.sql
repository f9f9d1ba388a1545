-- refresh_claim: take at most $1 (integer) fact changes from the
-- invalidation log into oc_refresh_facts. They are deleted from the log in
-- the refresh's transaction: if it rolls back, they are pending again.
WITH claimed AS (
  DELETE FROM outcomes.rollup_pending
   WHERE ctid = ANY (ARRAY(SELECT ctid FROM outcomes.rollup_pending LIMIT $1::integer))
  RETURNING series_id, period_start, queued_at
)
INSERT INTO oc_refresh_facts (series_id, period_start, queued_at)
SELECT series_id, period_start, queued_at FROM claimed;
