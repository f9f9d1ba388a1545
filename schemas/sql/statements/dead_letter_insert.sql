-- dead_letter_insert: a record that cannot be applied, with its raw bytes
-- and the reason. A record already dead-lettered by the group (a replay)
-- is kept as it was.
--   $1 text group_id, $2 text topic, $3 integer partition, $4 bigint offset,
--   $5 timestamptz Kafka timestamp (NULL: none), $6 bytea key, $7 bytea value,
--   $8 text[] header names, $9 bytea[] header values,
--   $10 text error code (oc_err_code_name), $11 text message
INSERT INTO outcomes.dead_letters (group_id, topic, partition, kafka_offset, kafka_timestamp,
                                   key, value, header_names, header_values, error_code,
                                   error_message)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (group_id, topic, partition, kafka_offset) DO NOTHING;
