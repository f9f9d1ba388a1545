-- offsets_cas_update: move the stored offsets of a batch's partitions
-- from the value the batch continues from to the next one
-- (compare-and-set). A row another instance moved on does not match: the
-- caller compares the rows updated with the partitions sent and rolls
-- back. The rows stay locked until the batch commits.
--   $1 text       group_id
--   $2 text       topic
--   $3 integer[]  partition    } one element per partition, in
--   $4 bigint[]   expected     } ascending partition order
--   $5 bigint[]   next_offset  }
UPDATE outcomes.consumer_offsets o
   SET next_offset = u.next_offset, updated_at = now()
  FROM unnest($3::integer[], $4::bigint[], $5::bigint[]) AS u (partition, expected, next_offset)
 WHERE o.group_id = $1 AND o.topic = $2 AND o.partition = u.partition
   AND o.next_offset = u.expected;
