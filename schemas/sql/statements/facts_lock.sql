-- facts_lock: lock the stored rows the batch will change, in key order (so
-- that two transactions never wait for each other in a cycle), and read
-- them again: a row another transaction changed since facts_read is folded
-- again from what it holds now. Parameters and columns as facts_read.
SELECT k.ord, f.retracted, f.observed_at, f.src_topic, f.src_partition, f.src_offset,
       f.barrier_offset, f.value, f.numerator, f.denominator, f.source
  FROM unnest($1::integer[], $2::date[]) WITH ORDINALITY AS k (series_id, period_start, ord)
  JOIN outcomes.series_facts f
    ON f.series_id = k.series_id AND f.period_start = k.period_start
 ORDER BY f.series_id, f.period_start
   FOR UPDATE OF f;
