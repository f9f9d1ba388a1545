-- facts_write: the facts the batch changed, and their rollup
-- invalidations, in the batch's transaction.
--   $1 integer[]      series_id     } one element per changed identity
--   $2 date[]         period_start  }
--   $3 boolean[]      stored: a row exists (locked by facts_lock): update
--                     it; else insert one
--   $4 boolean[]      retracted
--   $5 float8[]       value         } NULL in a retraction marker
--   $6 float8[]       numerator     }
--   $7 float8[]       denominator   }
--   $8 text[]         source        }
--   $9 timestamptz[]  observed_at
--   $10 text[]        src_topic
--   $11 integer[]     src_partition
--   $12 bigint[]      src_offset
--   $13 bigint[]      barrier_offset
--   $14 boolean[]     visible: a version stood before or stands after, so
--                     the rollups over it change
-- Returns the rows updated and inserted. An insert that finds a row
-- (another transaction wrote the identity since facts_read) writes
-- nothing: the caller sees fewer rows than it sent and rolls back.
WITH k AS (
  SELECT *
    FROM unnest($1::integer[], $2::date[], $3::boolean[], $4::boolean[], $5::float8[],
                $6::float8[], $7::float8[], $8::text[], $9::timestamptz[], $10::text[],
                $11::integer[], $12::bigint[], $13::bigint[], $14::boolean[])
         AS k (series_id, period_start, stored, retracted, value, numerator, denominator,
               source, observed_at, src_topic, src_partition, src_offset, barrier_offset,
               visible)
),
-- The stored rows are found through the primary key, one lookup per
-- identity (LATERAL ... OFFSET 0), and updated by their row address: the
-- work grows with the batch, never with the table (a join of k to the
-- table would be made by hash over the whole table).
updated AS (
  UPDATE outcomes.series_facts f
     SET retracted = k.retracted, value = k.value, numerator = k.numerator,
         denominator = k.denominator, source = k.source, observed_at = k.observed_at,
         src_topic = k.src_topic, src_partition = k.src_partition, src_offset = k.src_offset,
         barrier_offset = k.barrier_offset, ingested_at = now()
    FROM k
   CROSS JOIN LATERAL (
           SELECT ctid
             FROM outcomes.series_facts s
            WHERE s.series_id = k.series_id AND s.period_start = k.period_start
           OFFSET 0) s
   WHERE k.stored AND f.ctid = s.ctid
  RETURNING 1
),
inserted AS (
  INSERT INTO outcomes.series_facts (series_id, period_start, retracted, value, numerator,
                                     denominator, source, observed_at, src_topic,
                                     src_partition, src_offset, barrier_offset)
  SELECT series_id, period_start, retracted, value, numerator, denominator, source,
         observed_at, src_topic, src_partition, src_offset, barrier_offset
    FROM k
   WHERE NOT k.stored
   ORDER BY series_id, period_start
  ON CONFLICT (series_id, period_start) DO NOTHING
  RETURNING 1
),
invalidated AS (
  INSERT INTO outcomes.rollup_pending (series_id, period_start)
  SELECT series_id, period_start FROM k WHERE k.visible
)
SELECT (SELECT count(*) FROM updated) AS updated, (SELECT count(*) FROM inserted) AS inserted;
