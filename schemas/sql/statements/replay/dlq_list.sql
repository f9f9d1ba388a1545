-- dlq_list: outcomes-replay dlq list, the dead letters that match the
-- filters, by id: id, created_at, group_id, topic, partition,
-- kafka_offset, error_code, redriven_at ('-' when not redriven), the
-- value's length in bytes (-1 when NULL), error_message.
--   $1 text     error_code (NULL: any)
--   $2 text     group_id (NULL: any)
--   $3 boolean  only those not redriven yet
--   $4 bigint   at most this many rows
SELECT id, created_at, group_id, topic, partition, kafka_offset, error_code,
       coalesce(redriven_at::text, '-'), coalesce(octet_length(value), -1), error_message
  FROM outcomes.dead_letters
 WHERE ($1::text IS NULL OR error_code = $1) AND ($2::text IS NULL OR group_id = $2)
   AND (NOT $3::boolean OR redriven_at IS NULL)
 ORDER BY id
 LIMIT $4;
