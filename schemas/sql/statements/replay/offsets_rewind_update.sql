-- offsets_rewind_update: move one partition's stored offset to the
-- rewind's target, compare-and-set on next_offset like the daemon's own
-- updates (no row updated: it moved meanwhile), and count the records
-- handed back (negative when skipped forward) in rewound.
--   $1 text     group_id
--   $2 text     topic
--   $3 integer  partition
--   $4 bigint   the new next_offset
--   $5 bigint   the next_offset offsets_rewind_lock.sql read
UPDATE outcomes.consumer_offsets
   SET next_offset = $4, rewound = rewound + (next_offset - $4), rewound_at = now(),
       updated_at = now()
 WHERE group_id = $1 AND topic = $2 AND partition = $3 AND next_offset = $5;
