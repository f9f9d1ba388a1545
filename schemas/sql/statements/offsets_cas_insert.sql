-- offsets_cas_insert: the first stored offsets of partitions the group has
-- never committed. A row that exists already (another instance got there
-- first) is not inserted: the caller compares the rows inserted with the
-- partitions sent and rolls back.
--   $1 text       group_id
--   $2 text       topic
--   $3 integer[]  partition     } one element per partition
--   $4 bigint[]   next_offset   }
--   $5 bigint[]   first_offset  }
INSERT INTO outcomes.consumer_offsets (group_id, topic, partition, next_offset, first_offset)
SELECT $1, $2, u.partition, u.next_offset, u.first_offset
  FROM unnest($3::integer[], $4::bigint[], $5::bigint[]) AS u (partition, next_offset, first_offset)
 ORDER BY u.partition
ON CONFLICT DO NOTHING;
