-- dlq_purge_bound: outcomes-replay dlq purge's bound, fixed once for all
-- its batches: now() minus the interval as seconds since the epoch (what
-- dlq_purge.sql and dlq_purge_count.sql take, free of DateStyle) and as
-- a timestamp (to report), and whether the interval is positive.
--   $1 interval  --older-than, e.g. 30d or 12h
SELECT extract(epoch FROM now() - $1::interval), now() - $1::interval,
       $1::interval > interval '0';
