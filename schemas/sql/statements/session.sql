-- session: the set-up of a connection that applies batches or refreshes
-- rollups, run once per connection before the other statements of this
-- directory are prepared (also by hand, to run or EXPLAIN them).

-- JIT compilation costs more than these short statements ever save.
SET jit = off;

-- Plans are made at each execution, for the tables as they are then: a
-- plan cached while a table was young (the first batches of a new
-- database) would scan it whole, once per row, once it has grown.
SET plan_cache_mode = force_custom_plan;

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
