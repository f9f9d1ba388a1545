-- 0004_replay: accounting of offsets moved by outcomes-replay rewind.
--
-- A rewind moves a group's next_offset back (or, with explicit offsets,
-- forward) without touching first_offset or the counters, so that the
-- history of what was consumed is kept. The records handed back for
-- consumption again (old next_offset - new next_offset, summed over every
-- move; negative when a move skipped records) are kept in `rewound`, and
-- the accounting invariant of docs/design.md §7.3 reads, per row:
--
--   applied + stale + dead_lettered = next_offset - first_offset + rewound
--
-- rewound_at is the time of the last move (NULL: never moved).
ALTER TABLE outcomes.consumer_offsets
  ADD COLUMN IF NOT EXISTS rewound bigint NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS rewound_at timestamptz;

COMMENT ON COLUMN outcomes.consumer_offsets.rewound IS
  'records handed back by outcomes-replay rewind: sum of (old - new next_offset); '
  'applied + stale + dead_lettered = next_offset - first_offset + rewound';
COMMENT ON COLUMN outcomes.consumer_offsets.rewound_at IS
  'time of the last move by outcomes-replay rewind, NULL if never';
