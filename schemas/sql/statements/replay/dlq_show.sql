-- dlq_show: outcomes-replay dlq show, one dead letter: id, group_id,
-- topic, partition, kafka_offset, kafka_timestamp ('-' when none),
-- error_code, error_message, created_at, redriven_at ('-' when not
-- redriven), key, value (bytea, NULL when the record had none). Its
-- headers are dlq_show_headers.sql.
--   $1 bigint  id
SELECT id, group_id, topic, partition, kafka_offset,
       coalesce(kafka_timestamp::text, '-'), error_code, error_message, created_at,
       coalesce(redriven_at::text, '-'), key, value
  FROM outcomes.dead_letters
 WHERE id = $1;
