-- 0007_comments: the provenance view fact_sources, and the documentation of
-- the views and of the tables analysts and operators read, as comments, so
-- that \d+ in psql and the data dictionaries of BI tools show it.
--
-- The comments of the analyst views and their columns are the text of
-- docs/analysts.md (without its Markdown): tests/integration/
-- test_sql_comments.sh checks that every view and every column of a view
-- has one, and that each is found under the view's heading of the guide.
-- A migration that adds a view or a column comments it; one that changes
-- the meaning of a column changes its comment and the guide together.

-- ---- where a number came from ---------------------------------------------

-- The standing facts (retraction markers left out), with the Kafka record
-- each was applied from; the names and NULLs of metric_values.
CREATE OR REPLACE VIEW outcomes.fact_sources AS
SELECT s.org_id,
       NULLIF(s.facility_id, '') AS facility_id,
       s.metric,
       s.grain COLLATE "default" AS grain,
       f.period_start,
       f.value,
       f.numerator,
       f.denominator,
       f.source,
       f.observed_at,
       f.ingested_at,
       f.src_topic AS topic,
       f.src_partition AS partition,
       f.src_offset AS kafka_offset
  FROM outcomes.series_facts f
  JOIN outcomes.series s ON s.series_id = f.series_id
 WHERE NOT f.retracted;

GRANT SELECT ON outcomes.fact_sources TO outcomes_analyst;

COMMENT ON VIEW outcomes.fact_sources IS
  'Where a number came from: one row per standing fact (retracted facts are left out), with '
  'the system that reported it, when it was observed and the Kafka record it was applied '
  'from.';
COMMENT ON COLUMN outcomes.fact_sources.org_id IS 'the org';
COMMENT ON COLUMN outcomes.fact_sources.facility_id IS
  'the facility; NULL for an org-level figure';
COMMENT ON COLUMN outcomes.fact_sources.metric IS 'metric code, from the catalog';
COMMENT ON COLUMN outcomes.fact_sources.grain IS
  'grain the fact was reported at (fact_grain in metric_values)';
COMMENT ON COLUMN outcomes.fact_sources.period_start IS
  'first day of the period the fact covers';
COMMENT ON COLUMN outcomes.fact_sources.value IS 'the value of the standing version';
COMMENT ON COLUMN outcomes.fact_sources.numerator IS
  'the numerator reported with the value (ratio metrics; NULL otherwise)';
COMMENT ON COLUMN outcomes.fact_sources.denominator IS
  'the denominator reported with the value (ratio metrics; NULL otherwise)';
COMMENT ON COLUMN outcomes.fact_sources.source IS
  'the system that reported the standing version, e.g. allscripts-sunrise';
COMMENT ON COLUMN outcomes.fact_sources.observed_at IS
  'when the source observed it: of several versions, the latest observed stands';
COMMENT ON COLUMN outcomes.fact_sources.ingested_at IS 'when the pipeline applied it';
COMMENT ON COLUMN outcomes.fact_sources.topic IS
  'Kafka topic of the record the standing version was applied from';
COMMENT ON COLUMN outcomes.fact_sources.partition IS 'Kafka partition of that record';
COMMENT ON COLUMN outcomes.fact_sources.kafka_offset IS 'offset of that record in its partition';

-- ---- the analyst views (docs/analysts.md) ---------------------------------

COMMENT ON VIEW outcomes.metrics IS
  'The metric catalog: one row per metric, with its name, unit, kind, direction and valid '
  'range.';
COMMENT ON COLUMN outcomes.metrics.metric IS 'metric code, e.g. readmission_rate_30d';
COMMENT ON COLUMN outcomes.metrics.name IS 'human name';
COMMENT ON COLUMN outcomes.metrics.unit IS 'UCUM code of the unit';
COMMENT ON COLUMN outcomes.metrics.kind IS 'ratio, count, amount or gauge';
COMMENT ON COLUMN outcomes.metrics.direction IS 'lower_is_better or higher_is_better';
COMMENT ON COLUMN outcomes.metrics.min_value IS 'the valid range of a fact''s value';
COMMENT ON COLUMN outcomes.metrics.max_value IS 'the valid range of a fact''s value';
COMMENT ON COLUMN outcomes.metrics.seed IS 'the published figure this metric was defined for';
COMMENT ON COLUMN outcomes.metrics.description IS
  'what is measured, and for ratios what numerator and denominator are';

COMMENT ON VIEW outcomes.metric_values IS
  'One row per metric, reporting grain, grain, level, org, facility and period, with the '
  'statistic the metric''s kind calls for.';
COMMENT ON COLUMN outcomes.metric_values.metric IS 'metric code, from the catalog';
COMMENT ON COLUMN outcomes.metric_values.metric_name IS 'the metric''s name, from the catalog';
COMMENT ON COLUMN outcomes.metric_values.unit IS 'UCUM code of the unit, from the catalog';
COMMENT ON COLUMN outcomes.metric_values.kind IS
  'ratio, count, amount or gauge, from the catalog';
COMMENT ON COLUMN outcomes.metric_values.direction IS
  'lower_is_better or higher_is_better, from the catalog';
COMMENT ON COLUMN outcomes.metric_values.fact_grain IS 'grain the facts were reported at';
COMMENT ON COLUMN outcomes.metric_values.grain IS 'grain of this row''s period';
COMMENT ON COLUMN outcomes.metric_values.level IS 'facility, org or all';
COMMENT ON COLUMN outcomes.metric_values.org_id IS 'the org; NULL at level all';
COMMENT ON COLUMN outcomes.metric_values.facility_id IS
  'the facility; NULL at levels org and all';
COMMENT ON COLUMN outcomes.metric_values.bucket_start IS 'the period [bucket_start, bucket_end)';
COMMENT ON COLUMN outcomes.metric_values.bucket_end IS 'the period [bucket_start, bucket_end)';
COMMENT ON COLUMN outcomes.metric_values.value IS
  'the statistic the kind calls for: pooled Σnumerator / Σdenominator for a ratio, the sum '
  'for a count or amount, the level at the latest period of the bucket (summed over '
  'facilities) for a gauge; NULL for a ratio whose Σdenominator is 0';
COMMENT ON COLUMN outcomes.metric_values.facts IS 'how many current facts the row covers';
COMMENT ON COLUMN outcomes.metric_values.mean_value IS 'mean of the facts'' values';
COMMENT ON COLUMN outcomes.metric_values.min_value IS 'smallest and largest fact value';
COMMENT ON COLUMN outcomes.metric_values.max_value IS 'smallest and largest fact value';
COMMENT ON COLUMN outcomes.metric_values.sum_value IS
  'Σ of the facts'' values (exact in the table, shown as double)';
COMMENT ON COLUMN outcomes.metric_values.sum_numerator IS
  'Σnumerator and Σdenominator (ratio metrics; NULL otherwise)';
COMMENT ON COLUMN outcomes.metric_values.sum_denominator IS
  'Σnumerator and Σdenominator (ratio metrics; NULL otherwise)';
COMMENT ON COLUMN outcomes.metric_values.last_period IS 'latest period_start among the facts';
COMMENT ON COLUMN outcomes.metric_values.last_value IS
  'Σ of the values reported for last_period';
COMMENT ON COLUMN outcomes.metric_values.updated_at IS 'when the row last changed';

COMMENT ON VIEW outcomes.metric_changes IS
  'Each row of metric_values beside the previous period of the same grain and the same '
  'period one year earlier.';
COMMENT ON COLUMN outcomes.metric_changes.metric IS 'metric code, from the catalog';
COMMENT ON COLUMN outcomes.metric_changes.metric_name IS 'the metric''s name, from the catalog';
COMMENT ON COLUMN outcomes.metric_changes.unit IS 'UCUM code of the unit, from the catalog';
COMMENT ON COLUMN outcomes.metric_changes.kind IS
  'ratio, count, amount or gauge, from the catalog';
COMMENT ON COLUMN outcomes.metric_changes.direction IS
  'lower_is_better or higher_is_better, from the catalog';
COMMENT ON COLUMN outcomes.metric_changes.fact_grain IS 'grain the facts were reported at';
COMMENT ON COLUMN outcomes.metric_changes.grain IS 'grain of this row''s period';
COMMENT ON COLUMN outcomes.metric_changes.level IS 'facility, org or all';
COMMENT ON COLUMN outcomes.metric_changes.org_id IS 'the org; NULL at level all';
COMMENT ON COLUMN outcomes.metric_changes.facility_id IS
  'the facility; NULL at levels org and all';
COMMENT ON COLUMN outcomes.metric_changes.bucket_start IS
  'the period [bucket_start, bucket_end)';
COMMENT ON COLUMN outcomes.metric_changes.bucket_end IS 'the period [bucket_start, bucket_end)';
COMMENT ON COLUMN outcomes.metric_changes.value IS
  'the statistic the kind calls for: pooled Σnumerator / Σdenominator for a ratio, the sum '
  'for a count or amount, the level at the latest period of the bucket (summed over '
  'facilities) for a gauge; NULL for a ratio whose Σdenominator is 0';
COMMENT ON COLUMN outcomes.metric_changes.prev_value IS
  'value of the previous period of the same grain (NULL when absent)';
COMMENT ON COLUMN outcomes.metric_changes.change IS 'value - prev_value';
COMMENT ON COLUMN outcomes.metric_changes.change_ratio IS
  'change / prev_value (−0.12 = down 12%)';
COMMENT ON COLUMN outcomes.metric_changes.yoy_value IS
  'value of the same period one year earlier (not for WEEK)';
COMMENT ON COLUMN outcomes.metric_changes.yoy_change IS 'value - yoy_value';
COMMENT ON COLUMN outcomes.metric_changes.yoy_change_ratio IS 'yoy_change / yoy_value';
COMMENT ON COLUMN outcomes.metric_changes.improved IS
  'whether value moved from prev_value in the metric''s better direction; NULL when '
  'unchanged or no previous period';

COMMENT ON VIEW outcomes.org_benchmarks IS
  'One row per org-level value, compared with every org reporting the same metric at the '
  'same reporting grain, grain and period.';
COMMENT ON COLUMN outcomes.org_benchmarks.metric IS 'metric code, from the catalog';
COMMENT ON COLUMN outcomes.org_benchmarks.metric_name IS 'the metric''s name, from the catalog';
COMMENT ON COLUMN outcomes.org_benchmarks.unit IS 'UCUM code of the unit, from the catalog';
COMMENT ON COLUMN outcomes.org_benchmarks.kind IS
  'ratio, count, amount or gauge, from the catalog';
COMMENT ON COLUMN outcomes.org_benchmarks.direction IS
  'lower_is_better or higher_is_better, from the catalog';
COMMENT ON COLUMN outcomes.org_benchmarks.fact_grain IS 'grain the facts were reported at';
COMMENT ON COLUMN outcomes.org_benchmarks.grain IS 'grain of this row''s period';
COMMENT ON COLUMN outcomes.org_benchmarks.bucket_start IS
  'the period [bucket_start, bucket_end)';
COMMENT ON COLUMN outcomes.org_benchmarks.bucket_end IS 'the period [bucket_start, bucket_end)';
COMMENT ON COLUMN outcomes.org_benchmarks.org_id IS 'the org';
COMMENT ON COLUMN outcomes.org_benchmarks.value IS 'the org''s value';
COMMENT ON COLUMN outcomes.org_benchmarks.orgs IS
  'how many orgs report the metric for the period';
COMMENT ON COLUMN outcomes.org_benchmarks.rank_best_first IS
  '1 = best, by the metric''s direction';
COMMENT ON COLUMN outcomes.org_benchmarks.percentile IS
  'share of the other orgs with a lower value (0 lowest, 1 highest)';
COMMENT ON COLUMN outcomes.org_benchmarks.better_than IS
  'share of the other orgs it beats, given the direction';
COMMENT ON COLUMN outcomes.org_benchmarks.median_value IS 'median value among the orgs';

COMMENT ON VIEW outcomes.dead_letter_summary IS
  'Records the pipeline could not apply (undecodable bytes, unknown metric, value out of '
  'range, misaligned period, ...), counted by error code and topic, without their raw bytes.';
COMMENT ON COLUMN outcomes.dead_letter_summary.error_code IS
  'why: undecodable, unknown_fingerprint, bad_key, bad_field, unknown_metric, out_of_range, '
  'misaligned_period, ratio_missing, ratio_inconsistent, too_many_headers';
COMMENT ON COLUMN outcomes.dead_letter_summary.topic IS 'the Kafka topic';
COMMENT ON COLUMN outcomes.dead_letter_summary.records IS 'how many records';
COMMENT ON COLUMN outcomes.dead_letter_summary.pending IS 'how many have not been redriven';
COMMENT ON COLUMN outcomes.dead_letter_summary.first_seen IS
  'when the first and last arrived';
COMMENT ON COLUMN outcomes.dead_letter_summary.last_seen IS 'when the first and last arrived';

COMMENT ON VIEW outcomes.rollup_status IS 'One row: how current the rollups are.';
COMMENT ON COLUMN outcomes.rollup_status.pending_facts IS
  'fact changes committed but not yet in the coarser rollups (0: every rollup is current)';
COMMENT ON COLUMN outcomes.rollup_status.oldest_pending_at IS
  'when the oldest of them was committed; NULL when none waits';
COMMENT ON COLUMN outcomes.rollup_status.current_through IS
  'every change committed before this time is in every rollup (now() when none waits)';
COMMENT ON COLUMN outcomes.rollup_status.last_refresh_at IS 'when the last refresh committed';

-- ---- what operators read (docs/design.md §8) --------------------------------

COMMENT ON VIEW outcomes.facts IS
  'One row per fact identity: the version that stands (last writer wins by observed_at, '
  'then Kafka offset), or a retraction marker left by a tombstone. series_facts with the '
  'metric, org_id, facility_id and grain of its series.';
COMMENT ON COLUMN outcomes.facts.metric IS 'metric code';
COMMENT ON COLUMN outcomes.facts.org_id IS 'the org';
COMMENT ON COLUMN outcomes.facts.facility_id IS 'the facility; empty for an org-level figure';
COMMENT ON COLUMN outcomes.facts.grain IS 'grain the fact was reported at';
COMMENT ON COLUMN outcomes.facts.period_start IS 'first day of the period the fact covers';
COMMENT ON COLUMN outcomes.facts.retracted IS
  'true: a tombstone retracted the fact, and the row is its marker';
COMMENT ON COLUMN outcomes.facts.value IS 'the standing value; NULL when retracted';
COMMENT ON COLUMN outcomes.facts.numerator IS 'numerator of a ratio metric''s value';
COMMENT ON COLUMN outcomes.facts.denominator IS 'denominator of a ratio metric''s value';
COMMENT ON COLUMN outcomes.facts.source IS 'the system that reported the standing version';
COMMENT ON COLUMN outcomes.facts.observed_at IS 'when the source observed the standing version';
COMMENT ON COLUMN outcomes.facts.src_topic IS
  'Kafka topic of the record the standing version (or the tombstone) came from';
COMMENT ON COLUMN outcomes.facts.src_partition IS 'Kafka partition of that record';
COMMENT ON COLUMN outcomes.facts.src_offset IS 'offset of that record in its partition';
COMMENT ON COLUMN outcomes.facts.barrier_offset IS
  'offset of the last tombstone applied in src_topic/src_partition, -1 if none: a replayed '
  'record at or before it is stale';
COMMENT ON COLUMN outcomes.facts.ingested_at IS
  'when the pipeline applied the standing version or the tombstone';
COMMENT ON COLUMN outcomes.facts.series_id IS 'the fact''s series (outcomes.series)';

COMMENT ON VIEW outcomes.rollups IS
  'Aggregates of the standing facts per metric, reporting grain (fact_grain), grain and '
  'bucket, at levels facility, org and all: the rows of series_rollups, and the facts'' own '
  'grain computed from the facts. metric_values reads them.';
COMMENT ON COLUMN outcomes.rollups.metric IS 'metric code';
COMMENT ON COLUMN outcomes.rollups.fact_grain IS 'grain the facts were reported at';
COMMENT ON COLUMN outcomes.rollups.grain IS 'grain of the bucket';
COMMENT ON COLUMN outcomes.rollups.level IS 'facility, org or all';
COMMENT ON COLUMN outcomes.rollups.org_id IS 'the org; empty at level all';
COMMENT ON COLUMN outcomes.rollups.facility_id IS 'the facility; empty at levels org and all';
COMMENT ON COLUMN outcomes.rollups.bucket_start IS 'first day of the bucket';
COMMENT ON COLUMN outcomes.rollups.n IS 'how many standing facts the bucket covers';
COMMENT ON COLUMN outcomes.rollups.sum_value IS 'Σ of the facts'' values, exact';
COMMENT ON COLUMN outcomes.rollups.min_value IS 'smallest fact value';
COMMENT ON COLUMN outcomes.rollups.max_value IS 'largest fact value';
COMMENT ON COLUMN outcomes.rollups.sum_numerator IS
  'Σ of the facts'' numerators, exact (ratio metrics; NULL otherwise)';
COMMENT ON COLUMN outcomes.rollups.sum_denominator IS
  'Σ of the facts'' denominators, exact (ratio metrics; NULL otherwise)';
COMMENT ON COLUMN outcomes.rollups.last_period IS 'latest period_start in the bucket';
COMMENT ON COLUMN outcomes.rollups.last_value IS
  'Σ of the values reported for last_period (the level of a gauge)';
COMMENT ON COLUMN outcomes.rollups.updated_at IS 'when the row last changed';

COMMENT ON TABLE outcomes.metric_catalog IS
  'The metric catalog, synced from catalog.tsv by outcomes-migrate; analysts read it as '
  'the view metrics.';
COMMENT ON COLUMN outcomes.metric_catalog.code IS 'metric code';
COMMENT ON COLUMN outcomes.metric_catalog.name IS 'human name';
COMMENT ON COLUMN outcomes.metric_catalog.unit IS 'UCUM code of the unit';
COMMENT ON COLUMN outcomes.metric_catalog.kind IS
  'ratio, count, amount or gauge: the statistic the rollups serve';
COMMENT ON COLUMN outcomes.metric_catalog.direction IS 'lower_is_better or higher_is_better';
COMMENT ON COLUMN outcomes.metric_catalog.min_value IS 'smallest valid value of a fact';
COMMENT ON COLUMN outcomes.metric_catalog.max_value IS 'largest valid value of a fact';
COMMENT ON COLUMN outcomes.metric_catalog.seed IS
  'the published figure this metric was defined for';
COMMENT ON COLUMN outcomes.metric_catalog.description IS
  'what is measured, and for ratios what numerator and denominator are';
COMMENT ON COLUMN outcomes.metric_catalog.updated_at IS
  'when outcomes-migrate last inserted or changed the row';

COMMENT ON TABLE outcomes.dead_letters IS
  'Records that could not be applied, one row per consumer group and Kafka record, with the '
  'raw bytes to redrive them (outcomes-replay dlq).';
COMMENT ON COLUMN outcomes.dead_letters.id IS 'the id outcomes-replay dlq show and redrive take';
COMMENT ON COLUMN outcomes.dead_letters.group_id IS 'consumer group that consumed the record';
COMMENT ON COLUMN outcomes.dead_letters.topic IS 'Kafka topic of the record';
COMMENT ON COLUMN outcomes.dead_letters.partition IS 'Kafka partition of the record';
COMMENT ON COLUMN outcomes.dead_letters.kafka_offset IS 'offset of the record in its partition';
COMMENT ON COLUMN outcomes.dead_letters.kafka_timestamp IS 'the record''s Kafka timestamp';
COMMENT ON COLUMN outcomes.dead_letters.key IS 'the record''s key, raw';
COMMENT ON COLUMN outcomes.dead_letters.value IS 'the record''s value, raw; NULL for a tombstone';
COMMENT ON COLUMN outcomes.dead_letters.header_names IS 'names of the record''s headers';
COMMENT ON COLUMN outcomes.dead_letters.header_values IS
  'values of the record''s headers, in the order of header_names';
COMMENT ON COLUMN outcomes.dead_letters.error_code IS
  'why it could not be applied (the codes of dead_letter_summary.error_code)';
COMMENT ON COLUMN outcomes.dead_letters.error_message IS 'the error, in words';
COMMENT ON COLUMN outcomes.dead_letters.created_at IS 'when the record was dead-lettered';
COMMENT ON COLUMN outcomes.dead_letters.redriven_at IS
  'when outcomes-replay dlq redrive republished it; NULL if never';
