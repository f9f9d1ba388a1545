-- refresh_done: record the refresh in outcomes.rollup_refresh and return
-- how long each claimed change waited, from its facts' commit to now (the
-- refresh commits right after): one row per distinct wait.
--   $1 bigint  fact changes claimed
--   $2 bigint  rollup rows recomputed
WITH done AS (
  UPDATE outcomes.rollup_refresh
     SET refreshed_at = clock_timestamp(), facts = $1::bigint, groups = $2::bigint
  RETURNING refreshed_at
)
SELECT extract(epoch FROM done.refreshed_at - f.queued_at)::float8 AS waited_s, count(*)
  FROM oc_refresh_facts f CROSS JOIN done
 GROUP BY 1;
