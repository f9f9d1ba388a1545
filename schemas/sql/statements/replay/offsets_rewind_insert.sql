-- offsets_rewind_insert: the stored offset of a partition that had none,
-- where the rewind says the group resumes.
--   $1 text     group_id
--   $2 text     topic
--   $3 integer  partition
--   $4 bigint   next_offset (and first_offset)
INSERT INTO outcomes.consumer_offsets (group_id, topic, partition, next_offset, first_offset,
                                       rewound_at)
VALUES ($1, $2, $3, $4, $4, now());
