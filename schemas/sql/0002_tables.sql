-- 0002_tables: catalog, facts, rollups, consumer offsets and dead letters.
-- See docs/design.md §4-§8 for the semantics these tables carry.

-- The metric catalog, loaded from schemas/catalog.tsv by outcomes-migrate.
CREATE TABLE IF NOT EXISTS outcomes.metric_catalog (
  code         text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{0,63}$'),
  name         text NOT NULL,
  unit         text NOT NULL CHECK (unit IN ('days', 'ratio', 'count', 'usd', 'fte')),
  kind         text NOT NULL CHECK (kind IN ('ratio', 'count', 'amount', 'gauge')),
  direction    text NOT NULL CHECK (direction IN ('lower_is_better', 'higher_is_better')),
  min_value    double precision NOT NULL,
  max_value    double precision NOT NULL,
  seed         text NOT NULL DEFAULT '',
  description  text NOT NULL DEFAULT '',
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CHECK (min_value <= max_value)
);

-- One row per fact identity: the version that stands (last writer wins by
-- observed_at, then Kafka offset), or a retraction marker left by a
-- tombstone. facility_id '' is an org-level figure.
CREATE TABLE IF NOT EXISTS outcomes.facts (
  metric          text NOT NULL REFERENCES outcomes.metric_catalog (code),
  org_id          text NOT NULL CHECK (octet_length(org_id) BETWEEN 1 AND 256),
  facility_id     text NOT NULL DEFAULT '' CHECK (octet_length(facility_id) <= 256),
  grain           text NOT NULL CHECK (grain IN ('DAY', 'WEEK', 'MONTH', 'QUARTER', 'YEAR')),
  period_start    date NOT NULL,
  retracted       boolean NOT NULL DEFAULT false,
  value           double precision,
  numerator       double precision,
  denominator     double precision,
  source          text,
  observed_at     timestamptz,
  -- Where the standing version (or the tombstone) came from.
  src_topic       text NOT NULL,
  src_partition   integer NOT NULL,
  src_offset      bigint NOT NULL,
  -- Offset of the last tombstone applied in src_topic/src_partition, -1 if
  -- none: a replayed record at or before it is stale.
  barrier_offset  bigint NOT NULL DEFAULT -1,
  ingested_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (metric, org_id, facility_id, grain, period_start),
  CHECK (retracted OR (value IS NOT NULL AND observed_at IS NOT NULL AND source IS NOT NULL))
);

-- Aggregates of the standing facts, per metric, reporting grain of the
-- facts (fact_grain), rollup grain and bucket, at three levels: facility,
-- org (org_id set, facility_id '') and all orgs (both ''). Sums are numeric
-- so that they are exact whatever order facts are added or retracted in.
-- last_period/last_value: the latest period_start in the bucket and the sum
-- of the values reported for it (the "last" of a gauge).
CREATE TABLE IF NOT EXISTS outcomes.rollups (
  metric        text NOT NULL REFERENCES outcomes.metric_catalog (code),
  fact_grain    text NOT NULL CHECK (fact_grain IN ('DAY', 'WEEK', 'MONTH', 'QUARTER', 'YEAR')),
  grain         text NOT NULL CHECK (grain IN ('DAY', 'WEEK', 'MONTH', 'QUARTER', 'YEAR')),
  level         text NOT NULL CHECK (level IN ('facility', 'org', 'all')),
  org_id        text NOT NULL,
  facility_id   text NOT NULL,
  bucket_start  date NOT NULL,
  n             bigint NOT NULL CHECK (n > 0),
  sum_value     numeric NOT NULL,
  min_value     double precision NOT NULL,
  max_value     double precision NOT NULL,
  sum_numerator   numeric,
  sum_denominator numeric,
  last_period   date NOT NULL,
  last_value    numeric NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  -- Key order lets an org row be recomputed from its facility rows in one
  -- bucket, and an all-orgs row from the org rows of one bucket.
  PRIMARY KEY (metric, fact_grain, grain, level, bucket_start, org_id, facility_id),
  CHECK ((level = 'facility' AND org_id <> '' AND facility_id <> '')
      OR (level = 'org' AND org_id <> '' AND facility_id = '')
      OR (level = 'all' AND org_id = '' AND facility_id = ''))
);

-- Kafka positions: the source of truth for where each group resumes, written
-- in the same transaction as the facts and rollups they produced. Kafka's own
-- group offsets are only a copy for lag tools. The counters account for every
-- consumed record: applied + stale + dead_lettered = records consumed since
-- first_offset.
CREATE TABLE IF NOT EXISTS outcomes.consumer_offsets (
  group_id       text NOT NULL,
  topic          text NOT NULL,
  partition      integer NOT NULL CHECK (partition >= 0),
  next_offset    bigint NOT NULL CHECK (next_offset >= 0),
  first_offset   bigint NOT NULL CHECK (first_offset >= 0),
  applied        bigint NOT NULL DEFAULT 0,
  stale          bigint NOT NULL DEFAULT 0,
  dead_lettered  bigint NOT NULL DEFAULT 0,
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, topic, partition)
);

-- Records that could not be applied, with the raw bytes to redrive them.
CREATE TABLE IF NOT EXISTS outcomes.dead_letters (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  group_id         text NOT NULL,
  topic            text NOT NULL,
  partition        integer NOT NULL,
  kafka_offset     bigint NOT NULL,
  kafka_timestamp  timestamptz,
  key              bytea,
  value            bytea,
  header_names     text[] NOT NULL DEFAULT '{}',
  header_values    bytea[] NOT NULL DEFAULT '{}',
  error_code       text NOT NULL,
  error_message    text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  redriven_at      timestamptz,
  UNIQUE (group_id, topic, partition, kafka_offset)
);
CREATE INDEX IF NOT EXISTS dead_letters_code_idx ON outcomes.dead_letters (error_code, created_at);

GRANT SELECT ON outcomes.metric_catalog TO outcomes_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON outcomes.facts, outcomes.rollups,
  outcomes.consumer_offsets TO outcomes_writer;
GRANT SELECT, INSERT, UPDATE ON outcomes.dead_letters TO outcomes_writer;
