-- 0006_series: facts and rollups keyed by integer series ids, and rollups
-- refreshed from an invalidation log apart from the facts transaction
-- (docs/design.md §6 and §8).
--
-- A series is one metric reported at one grain for one facility, one org
-- (facility_id '') or all orgs (both ''). Facts are keyed by (series_id,
-- period_start); the rollup rows a series materialises are keyed by
-- (series_id, grain, bucket_start). Every change to a fact that stands or
-- stood is logged in rollup_pending in the same transaction as the fact,
-- and the refresh (schemas/sql/statements/refresh_*.sql) recomputes the
-- rollup rows over it from their children, bottom up. What is not
-- materialised is served from the facts by the views: the facts' own grain
-- at every level.
--
-- The tables of 0002 named facts and rollups become views with the same
-- columns over the new tables, so that queries written for them (and the
-- analyst views of 0003) keep working. Existing facts are carried over and
-- queued for the refresh, which rebuilds every rollup row at the first run
-- of outcomes-rollupd or outcomes-replay rebuild.

-- ---- the grain ladder, defined once ---------------------------------------

CREATE TABLE IF NOT EXISTS outcomes.grains (
  grain   text COLLATE "C" PRIMARY KEY,
  rank    smallint NOT NULL UNIQUE,      -- finer grains first
  unit    text NOT NULL,                 -- the date_trunc field of a period
  length  interval NOT NULL              -- bucket_end = bucket_start + length
);
INSERT INTO outcomes.grains (grain, rank, unit, length) VALUES
  ('DAY', 1, 'day', '1 day'),
  ('WEEK', 2, 'week', '7 days'),           -- ISO weeks: date_trunc starts them on Monday
  ('MONTH', 3, 'month', '1 month'),
  ('QUARTER', 4, 'quarter', '3 months'),
  ('YEAR', 5, 'year', '1 year')
ON CONFLICT (grain) DO NOTHING;

-- The coarser grains the facts of a grain roll up to, and how each is
-- computed: from its base (source_grain NULL: the facts in the bucket and
-- the child series' rows of the same bucket) or from the same series' rows
-- at the finer source_grain inside the bucket (they nest: MONTH in QUARTER
-- in YEAR; weeks do not nest in months). pass orders the refresh: a pass
-- reads only rows of earlier passes.
CREATE TABLE IF NOT EXISTS outcomes.rollup_grains (
  fact_grain    text COLLATE "C" NOT NULL REFERENCES outcomes.grains (grain),
  grain         text COLLATE "C" NOT NULL REFERENCES outcomes.grains (grain),
  source_grain  text COLLATE "C" REFERENCES outcomes.grains (grain),
  pass          smallint NOT NULL CHECK (pass BETWEEN 1 AND 3),
  PRIMARY KEY (fact_grain, grain),
  CHECK (grain <> fact_grain),
  CHECK ((source_grain IS NULL) = (pass = 1))
);
INSERT INTO outcomes.rollup_grains (fact_grain, grain, source_grain, pass) VALUES
  ('DAY', 'WEEK', NULL, 1),
  ('DAY', 'MONTH', NULL, 1),
  ('DAY', 'QUARTER', 'MONTH', 2),
  ('DAY', 'YEAR', 'QUARTER', 3),
  ('MONTH', 'QUARTER', NULL, 1),
  ('MONTH', 'YEAR', 'QUARTER', 2),
  ('QUARTER', 'YEAR', NULL, 1)
ON CONFLICT (fact_grain, grain) DO NOTHING;

-- ---- series ----------------------------------------------------------------

CREATE TABLE IF NOT EXISTS outcomes.series (
  series_id    integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  metric       text NOT NULL REFERENCES outcomes.metric_catalog (code),
  org_id       text NOT NULL CHECK (octet_length(org_id) <= 256),
  facility_id  text NOT NULL CHECK (octet_length(facility_id) <= 256),
  grain        text COLLATE "C" NOT NULL REFERENCES outcomes.grains (grain),
  level        text GENERATED ALWAYS AS (CASE WHEN facility_id <> '' THEN 'facility'
                                              WHEN org_id <> '' THEN 'org'
                                              ELSE 'all' END) STORED,
  -- facility → its org's series; org → the all-orgs series; all → NULL
  parent_id    integer REFERENCES outcomes.series (series_id),
  UNIQUE (metric, org_id, facility_id, grain),
  CHECK (facility_id = '' OR org_id <> ''),
  CHECK ((parent_id IS NULL) = (org_id = ''))
);
CREATE INDEX IF NOT EXISTS series_parent_idx ON outcomes.series (parent_id);

-- The series ids of the keys (metric[i], org_id[i], facility_id[i],
-- grain[i]), created with their parents where missing; one row per key,
-- ord = i. Inserts go in key order so that concurrent callers never wait
-- for each other in a cycle. Each statement sees what the ones before it
-- inserted, including rows committed meanwhile by another caller.
CREATE OR REPLACE FUNCTION outcomes.series_ids(p_metric text[], p_org text[],
                                               p_facility text[], p_grain text[])
RETURNS TABLE (ord integer, series_id integer)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  INSERT INTO outcomes.series (metric, org_id, facility_id, grain, parent_id)
  SELECT DISTINCT k.metric, '', '', k.grain, NULL::integer
    FROM unnest(p_metric, p_grain) AS k (metric, grain)
   ORDER BY 1, 4
  ON CONFLICT (metric, org_id, facility_id, grain) DO NOTHING;

  INSERT INTO outcomes.series (metric, org_id, facility_id, grain, parent_id)
  SELECT DISTINCT k.metric, k.org_id, '', k.grain, a.series_id
    FROM unnest(p_metric, p_org, p_grain) AS k (metric, org_id, grain)
    JOIN outcomes.series a
      ON a.metric = k.metric AND a.org_id = '' AND a.facility_id = '' AND a.grain = k.grain
   ORDER BY 1, 2, 4
  ON CONFLICT (metric, org_id, facility_id, grain) DO NOTHING;

  INSERT INTO outcomes.series (metric, org_id, facility_id, grain, parent_id)
  SELECT DISTINCT k.metric, k.org_id, k.facility_id, k.grain, o.series_id
    FROM unnest(p_metric, p_org, p_facility, p_grain) AS k (metric, org_id, facility_id, grain)
    JOIN outcomes.series o
      ON o.metric = k.metric AND o.org_id = k.org_id AND o.facility_id = '' AND o.grain = k.grain
   WHERE k.facility_id <> ''
   ORDER BY 1, 2, 3, 4
  ON CONFLICT (metric, org_id, facility_id, grain) DO NOTHING;

  RETURN QUERY
  SELECT k.ord::integer, s.series_id
    FROM unnest(p_metric, p_org, p_facility, p_grain)
         WITH ORDINALITY AS k (metric, org_id, facility_id, grain, ord)
    JOIN outcomes.series s
      ON s.metric = k.metric AND s.org_id = k.org_id AND s.facility_id = k.facility_id
     AND s.grain = k.grain;
END
$$;

-- ---- facts -----------------------------------------------------------------

-- One row per fact identity, as outcomes.facts was (0002): the version that
-- stands, or a retraction marker. No foreign key to series: the writer
-- takes ids only from outcomes.series_ids, and the check would cost a
-- quarter of the facts path.
CREATE TABLE IF NOT EXISTS outcomes.series_facts (
  series_id       integer NOT NULL,
  period_start    date NOT NULL,
  retracted       boolean NOT NULL DEFAULT false,
  value           double precision,
  numerator       double precision,
  denominator     double precision,
  source          text,
  observed_at     timestamptz,
  src_topic       text NOT NULL,
  src_partition   integer NOT NULL,
  src_offset      bigint NOT NULL,
  barrier_offset  bigint NOT NULL DEFAULT -1,
  ingested_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (series_id, period_start),
  CHECK (retracted OR (value IS NOT NULL AND observed_at IS NOT NULL AND source IS NOT NULL))
);

-- ---- rollups ---------------------------------------------------------------

-- The materialised rollup rows: a series (of any level) at a grain coarser
-- than its facts'. Sums are numeric, exact whatever the order of addition,
-- and stored without trailing zeros (trim_scale) so that every way of
-- computing a row writes the same text.
CREATE TABLE IF NOT EXISTS outcomes.series_rollups (
  series_id        integer NOT NULL,
  grain            text COLLATE "C" NOT NULL,
  bucket_start     date NOT NULL,
  n                bigint NOT NULL CHECK (n > 0),
  sum_value        numeric NOT NULL,
  min_value        double precision NOT NULL,
  max_value        double precision NOT NULL,
  sum_numerator    numeric,
  sum_denominator  numeric,
  last_period      date NOT NULL,
  last_value       numeric NOT NULL,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (series_id, grain, bucket_start)
);

-- The invalidation log: a fact whose standing version changed, written in
-- the facts' transaction. The refresh deletes what it claims and
-- recomputes the rollup rows over it, in one transaction: a crash on
-- either side loses nothing.
CREATE TABLE IF NOT EXISTS outcomes.rollup_pending (
  series_id     integer NOT NULL,
  period_start  date NOT NULL,
  queued_at     timestamptz NOT NULL DEFAULT statement_timestamp()
);

-- The last refresh that committed.
CREATE TABLE IF NOT EXISTS outcomes.rollup_refresh (
  id            boolean PRIMARY KEY DEFAULT true CHECK (id),
  refreshed_at  timestamptz,
  facts         bigint NOT NULL DEFAULT 0,   -- pending rows it claimed
  groups        bigint NOT NULL DEFAULT 0    -- rollup rows it recomputed
);
INSERT INTO outcomes.rollup_refresh (id) VALUES (true) ON CONFLICT (id) DO NOTHING;

-- ---- carry over 0002's facts ------------------------------------------------

SELECT count(*)
  FROM (SELECT array_agg(metric) AS m, array_agg(org_id) AS o, array_agg(facility_id) AS f,
               array_agg(grain) AS g
          FROM (SELECT DISTINCT metric, org_id, facility_id, grain FROM outcomes.facts) k) a,
       outcomes.series_ids(a.m, a.o, a.f, a.g);

INSERT INTO outcomes.series_facts (series_id, period_start, retracted, value, numerator,
                                   denominator, source, observed_at, src_topic, src_partition,
                                   src_offset, barrier_offset, ingested_at)
SELECT s.series_id, f.period_start, f.retracted, f.value, f.numerator, f.denominator, f.source,
       f.observed_at, f.src_topic, f.src_partition, f.src_offset, f.barrier_offset,
       f.ingested_at
  FROM outcomes.facts f
  JOIN outcomes.series s
    ON s.metric = f.metric AND s.org_id = f.org_id AND s.facility_id = f.facility_id
   AND s.grain = f.grain
ON CONFLICT (series_id, period_start) DO NOTHING;

-- Every standing fact queued: the first refresh rebuilds every rollup row.
INSERT INTO outcomes.rollup_pending (series_id, period_start)
SELECT series_id, period_start FROM outcomes.series_facts WHERE NOT retracted;

-- ---- views -------------------------------------------------------------------

-- 0002's rollups, with the same columns: the materialised rows, and the
-- facts' own grain computed from the standing facts at each level.
CREATE VIEW outcomes.rollups_new AS
SELECT s.metric, s.grain AS fact_grain, r.grain::text AS grain, s.level, s.org_id,
       s.facility_id, r.bucket_start, r.n, r.sum_value, r.min_value, r.max_value,
       r.sum_numerator, r.sum_denominator, r.last_period, r.last_value, r.updated_at
  FROM outcomes.series_rollups r
  JOIN outcomes.series s ON s.series_id = r.series_id
UNION ALL
-- a facility's fact is its own row at the fact's grain
SELECT s.metric, s.grain, s.grain, 'facility', s.org_id, s.facility_id, f.period_start,
       1::bigint, f.value::numeric, f.value, f.value, f.numerator::numeric,
       f.denominator::numeric, f.period_start, f.value::numeric, f.ingested_at
  FROM outcomes.series_facts f
  JOIN outcomes.series s ON s.series_id = f.series_id
 WHERE s.level = 'facility' AND NOT f.retracted
UNION ALL
-- an org's row at the fact's grain: its facilities' facts and its own
SELECT o.metric, o.grain, o.grain, 'org', o.org_id, '', f.period_start, count(*),
       trim_scale(sum(f.value::numeric)), min(f.value), max(f.value),
       trim_scale(sum(f.numerator::numeric)), trim_scale(sum(f.denominator::numeric)),
       f.period_start, trim_scale(sum(f.value::numeric)), max(f.ingested_at)
  FROM outcomes.series_facts f
  JOIN outcomes.series s ON s.series_id = f.series_id
  JOIN outcomes.series o ON o.series_id = (CASE WHEN s.level = 'facility' THEN s.parent_id
                                                ELSE s.series_id END)
 WHERE NOT f.retracted
 GROUP BY o.series_id, o.metric, o.grain, o.org_id, f.period_start
UNION ALL
-- all orgs at the fact's grain
SELECT s.metric, s.grain, s.grain, 'all', '', '', f.period_start, count(*),
       trim_scale(sum(f.value::numeric)), min(f.value), max(f.value),
       trim_scale(sum(f.numerator::numeric)), trim_scale(sum(f.denominator::numeric)),
       f.period_start, trim_scale(sum(f.value::numeric)), max(f.ingested_at)
  FROM outcomes.series_facts f
  JOIN outcomes.series s ON s.series_id = f.series_id
 WHERE NOT f.retracted
 GROUP BY s.metric, s.grain, f.period_start;

-- metric_values reads the new view (and bucket_end the grain ladder), with
-- the same columns: metric_changes and org_benchmarks, built on it, stay as
-- 0003 made them.
CREATE OR REPLACE VIEW outcomes.metric_values AS
SELECT r.metric,
       c.name AS metric_name,
       c.unit,
       c.kind,
       c.direction,
       r.fact_grain COLLATE "default" AS fact_grain,
       r.grain COLLATE "default" AS grain,
       r.level,
       NULLIF(r.org_id, '') AS org_id,
       NULLIF(r.facility_id, '') AS facility_id,
       r.bucket_start,
       (r.bucket_start + g.length)::date AS bucket_end,
       (CASE c.kind
          WHEN 'ratio' THEN (r.sum_numerator / NULLIF(r.sum_denominator, 0))::double precision
          WHEN 'gauge' THEN r.last_value::double precision
          ELSE r.sum_value::double precision
        END) AS value,
       r.n AS facts,
       (r.sum_value / r.n)::double precision AS mean_value,
       r.min_value,
       r.max_value,
       r.sum_value::double precision AS sum_value,
       r.sum_numerator::double precision AS sum_numerator,
       r.sum_denominator::double precision AS sum_denominator,
       r.last_period,
       r.last_value::double precision AS last_value,
       r.updated_at
  FROM outcomes.rollups_new r
  JOIN outcomes.metric_catalog c ON c.code = r.metric
  JOIN outcomes.grains g ON g.grain = r.grain;

DROP TABLE outcomes.rollups;
ALTER VIEW outcomes.rollups_new RENAME TO rollups;

DROP TABLE outcomes.facts;
-- 0002's facts, with the same columns (and the series id).
CREATE VIEW outcomes.facts AS
SELECT s.metric, s.org_id, s.facility_id, s.grain, f.period_start, f.retracted, f.value,
       f.numerator, f.denominator, f.source, f.observed_at, f.src_topic, f.src_partition,
       f.src_offset, f.barrier_offset, f.ingested_at, f.series_id
  FROM outcomes.series_facts f
  JOIN outcomes.series s ON s.series_id = f.series_id;

-- How current the rollups are: every change to the facts committed before
-- current_through is in them; pending_facts changes wait for the refresh.
CREATE OR REPLACE VIEW outcomes.rollup_status AS
SELECT p.pending_facts,
       p.oldest_pending_at,
       coalesce(p.oldest_pending_at, now()) AS current_through,
       r.refreshed_at AS last_refresh_at
  FROM (SELECT count(*) AS pending_facts, min(queued_at) AS oldest_pending_at
          FROM outcomes.rollup_pending) p
 CROSS JOIN outcomes.rollup_refresh r;

-- ---- privileges --------------------------------------------------------------

GRANT SELECT ON outcomes.grains, outcomes.rollup_grains, outcomes.facts, outcomes.rollups,
  outcomes.rollup_status TO outcomes_writer;
GRANT SELECT, INSERT ON outcomes.series TO outcomes_writer;
GRANT SELECT, INSERT, UPDATE ON outcomes.series_facts TO outcomes_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON outcomes.series_rollups TO outcomes_writer;
GRANT SELECT, INSERT, DELETE ON outcomes.rollup_pending TO outcomes_writer;
GRANT SELECT, UPDATE ON outcomes.rollup_refresh TO outcomes_writer;
GRANT EXECUTE ON FUNCTION outcomes.series_ids(text[], text[], text[], text[]) TO outcomes_writer;
GRANT SELECT ON outcomes.rollup_status TO outcomes_analyst;
