-- session: the set-up of a connection that applies batches or refreshes
-- rollups, run once per connection before the other statements of this
-- directory are prepared (also by hand, to run or EXPLAIN them).

-- JIT compilation costs more than these short statements ever save.
SET jit = off;

-- The batch statements take their rows as arrays: planned for the arrays of
-- one execution, a few thousand keys look like a reason to hash a whole
-- table. The generic plan follows the primary keys from the batch's rows,
-- so its work grows with the batch, never with the table.
SET plan_cache_mode = force_generic_plan;

-- Every statement here reaches the tables through their primary keys,
-- from the batch's rows or the refresh's groups. A plan made while a table
-- was young (statistics of an empty table: "a sequential scan is cheaper")
-- would scan the grown table once per row; and a few rows per key are
-- cheaper to fetch with an index scan than through a bitmap built for each.
SET enable_seqscan = off;
SET enable_bitmapscan = off;

-- A refresh sorts its children per rollup row (tens of thousands of rows
-- per refresh); 4MB, the default, sends them to disk.
SET work_mem = '64MB';

-- The refresh's work tables, emptied at every commit: the fact changes it
-- claimed, and the rollup rows over them.
CREATE TEMP TABLE IF NOT EXISTS oc_refresh_facts (
  series_id     integer NOT NULL,
  period_start  date NOT NULL,
  queued_at     timestamptz NOT NULL
) ON COMMIT DELETE ROWS;

CREATE TEMP TABLE IF NOT EXISTS oc_refresh_groups (
  series_id     integer NOT NULL,
  level         text NOT NULL,
  grain         text COLLATE "C" NOT NULL,
  pass          smallint NOT NULL,
  source_grain  text COLLATE "C",
  bucket_start  date NOT NULL,
  bucket_end    date NOT NULL
) ON COMMIT DELETE ROWS;
