-- dlq_purge: outcomes-replay dlq purge, delete one batch of the dead
-- letters created before the bound that match the filters, oldest id
-- first (rows another transaction holds are skipped); run until it
-- deletes none.
--   $1 float8  created before this time, seconds since the epoch
--   $2 text    error_code (NULL: any)
--   $3 text    group_id (NULL: any)
--   $4 bigint  at most this many rows (redrive.batch)
DELETE FROM outcomes.dead_letters
 WHERE id IN (SELECT id
                FROM outcomes.dead_letters
               WHERE created_at < to_timestamp($1::float8)
                 AND ($2::text IS NULL OR error_code = $2) AND ($3::text IS NULL OR group_id = $3)
               ORDER BY id
               LIMIT $4
                 FOR UPDATE SKIP LOCKED);
