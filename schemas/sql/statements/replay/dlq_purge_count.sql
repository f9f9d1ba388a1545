-- dlq_purge_count: outcomes-replay dlq purge --dry-run, how many dead
-- letters dlq_purge.sql would delete.
--   $1 float8  created before this time, seconds since the epoch
--   $2 text    error_code (NULL: any)
--   $3 text    group_id (NULL: any)
SELECT count(*)
  FROM outcomes.dead_letters
 WHERE created_at < to_timestamp($1::float8)
   AND ($2::text IS NULL OR error_code = $2) AND ($3::text IS NULL OR group_id = $3);
