-- offsets_count: what became of a batch's records, per partition, added to
-- the counters of the stored offsets (applied + stale + dead_lettered =
-- next_offset - first_offset + rewound).
--   $1 text       group_id
--   $2 text       topic
--   $3 integer[]  partition      } one element per partition
--   $4 bigint[]   applied        }
--   $5 bigint[]   stale          }
--   $6 bigint[]   dead_lettered  }
UPDATE outcomes.consumer_offsets o
   SET applied = o.applied + u.applied, stale = o.stale + u.stale,
       dead_lettered = o.dead_lettered + u.dead_lettered
  FROM unnest($3::integer[], $4::bigint[], $5::bigint[], $6::bigint[])
       AS u (partition, applied, stale, dead_lettered)
 WHERE o.group_id = $1 AND o.topic = $2 AND o.partition = u.partition;
