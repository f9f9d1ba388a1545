-- facts_lock: lock the stored rows the batch will change, in key order (so
-- that two transactions never wait for each other in a cycle), and read
-- them again: a row another transaction changed since facts_read is folded
-- again from what it holds now. Parameters and columns as facts_read.
--
-- The identities are sorted, then each row is looked up through the
-- primary key and locked as it is reached (a subquery with a locking
-- clause is never merged into the outer query): the locks are taken in
-- key order, and the work grows with the batch, never with the table.
SELECT k.ord, f.retracted, f.observed_at, f.src_topic, f.src_partition, f.src_offset,
       f.barrier_offset, f.value, f.numerator, f.denominator, f.source
  FROM (SELECT *
          FROM unnest($1::integer[], $2::date[]) WITH ORDINALITY
               AS k (series_id, period_start, ord)
         ORDER BY series_id, period_start) k
 CROSS JOIN LATERAL (
         SELECT *
           FROM outcomes.series_facts f
          WHERE f.series_id = k.series_id AND f.period_start = k.period_start
            FOR UPDATE) f;
