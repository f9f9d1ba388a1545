-- offsets_rewind_lock: outcomes-replay rewind, the stored offsets of the
-- group's partitions, locked until the rewind commits: partition,
-- next_offset, first_offset. A partition without a row has none stored.
--   $1 text       group_id
--   $2 text       topic
--   $3 integer[]  partitions
SELECT partition, next_offset, first_offset
  FROM outcomes.consumer_offsets
 WHERE group_id = $1 AND topic = $2 AND partition = ANY ($3::integer[])
   FOR UPDATE;
