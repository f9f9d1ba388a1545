-- dlq_redrive_select: outcomes-replay dlq redrive, the next batch of dead
-- letters not redriven yet that match the filters, by id, locked until
-- the batch's transaction ends (rows another redrive holds are skipped):
-- id, topic, partition, kafka_offset, error_code, key, value.
--   $1 bigint[]  ids (NULL: any)
--   $2 text      error_code (NULL: any)
--   $3 text      group_id (NULL: any)
--   $4 bigint    at most this many rows (redrive.batch)
--   $5 bigint    the greatest id of the batches before (0 at first)
SELECT id, topic, partition, kafka_offset, error_code, key, value
  FROM outcomes.dead_letters
 WHERE redriven_at IS NULL AND id > $5
   AND ($1::bigint[] IS NULL OR id = ANY ($1::bigint[]))
   AND ($2::text IS NULL OR error_code = $2) AND ($3::text IS NULL OR group_id = $3)
 ORDER BY id
 LIMIT $4
   FOR UPDATE SKIP LOCKED;
