-- facts_read: the stored state of a batch's fact identities, before the
-- rule (include/outcomes/fact_rule.h) is folded over the batch. No lock:
-- facts_lock reads again, locked, the rows the batch will change.
--   $1 integer[]  series_id     } one element per identity of the batch
--   $2 date[]     period_start  }
-- One row per identity that has a stored row; ord is its 1-based position
-- in the arrays.
--
-- Each identity is looked up through the primary key (LATERAL ... OFFSET
-- 0 keeps the planner from joining the whole table by hash instead): the
-- work grows with the batch, never with the table.
SELECT k.ord, f.retracted, f.observed_at, f.src_topic, f.src_partition, f.src_offset,
       f.barrier_offset, f.value, f.numerator, f.denominator, f.source
  FROM unnest($1::integer[], $2::date[]) WITH ORDINALITY AS k (series_id, period_start, ord)
 CROSS JOIN LATERAL (
         SELECT *
           FROM outcomes.series_facts f
          WHERE f.series_id = k.series_id AND f.period_start = k.period_start
         OFFSET 0) f;
