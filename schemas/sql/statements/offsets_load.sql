-- offsets_load: where a group resumes each partition.
--   $1 text       group_id
--   $2 text       topic
--   $3 integer[]  partitions
SELECT partition, next_offset
  FROM outcomes.consumer_offsets
 WHERE group_id = $1 AND topic = $2 AND partition = ANY ($3::integer[]);
