/*
 * replay.h - the operations behind outcomes-replay(8): rewind a consumer
 * group's stored offsets, republish a range of a topic, rebuild rollups from
 * facts, and list, show and redrive dead letters (docs/design.md §4, §6,
 * §7).
 *
 * Every operation has a dry run that reports exactly what it would do and
 * changes nothing, and every operation is idempotent: run twice, the second
 * run changes nothing (rewind to the same place, republish from the copy's
 * checkpoint, rebuild of correct rollups, redrive of rows already redriven).
 *
 * Nothing here prints: each line of the report goes to the caller's
 * function (oc_replay_out_fn); main() prints it. Diagnostics go to oc_log.
 *
 * Accounting on rewind (migration 0004_replay.sql): consumer_offsets keeps
 * first_offset and its counters; the records handed back for consumption
 * again (old next_offset - new next_offset, negative for a move forward that
 * skips records) are added to the column `rewound`, and `rewound_at` is set.
 * The invariant of docs/design.md §7.3 then reads, per row:
 *   applied + stale + dead_lettered = next_offset - first_offset + rewound
 * A partition with no stored row gets one with first_offset = next_offset.
 */
#ifndef OUTCOMES_REPLAY_H
#define OUTCOMES_REPLAY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "outcomes/config.h"
#include "outcomes/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Schema version (outcomes.schema_migrations) that rewind needs. */
#define OC_REPLAY_SCHEMA_VERSION 4

/* Prefix of the consumer group whose committed offsets on the source topic
 * are republish's checkpoint: "<prefix><to-topic>". */
#define OC_REPLAY_CHECKPOINT_GROUP_PREFIX "outcomes-replay.republish."

/* The configuration table of outcomes-replay (static, borrowed). */
const oc_conf_def_t *oc_replay_conf_defs(void);

/* librdkafka properties the tool sets itself (NULL-terminated, static). */
const char *const *oc_replay_reserved_kafka_keys(void);

/* One line of report, without its newline (borrowed for the call). */
typedef void (*oc_replay_out_fn)(void *opaque, const char *line);

typedef struct oc_replay_s oc_replay_t;

/* A context over cfg (borrowed; must outlive it). Connections are opened
 * on first use. stop (borrowed, may be NULL) is set by main's signal
 * handler: non-zero asks long operations to stop at the next safe point
 * (after a flush and a checkpoint, or between transactions). Caller frees
 * *out with oc_replay_destroy(). Errors: OC_ERR_NOMEM, OC_ERR_CONFIG. */
int oc_replay_new(const oc_config_t *cfg, oc_replay_out_fn out, void *opaque,
                  const volatile sig_atomic_t *stop, oc_replay_t **out_r, oc_err_t *err);

/* Closes the connections. Accepts NULL. */
void oc_replay_destroy(oc_replay_t *r);

/* A partition and an offset, as parsed from "P:O[,P:O...]". */
typedef struct oc_part_offset_s {
  int32_t partition;
  int64_t offset;
} oc_part_offset_t;

/* Parse "P:O[,P:O...]" (partitions >= 0, offsets >= 0, no partition twice)
 * into *out (caller frees with free()). OC_ERR_USAGE on bad text. */
int oc_replay_parse_offsets(const char *s, oc_part_offset_t **out, size_t *n_out, oc_err_t *err);

/* Parse "0,1,5" into *out (caller frees with free()). OC_ERR_USAGE. */
int oc_replay_parse_partitions(const char *s, int32_t **out, size_t *n_out, oc_err_t *err);

/* Parse a time: RFC 3339 ("2024-04-02T06:00:00Z") or milliseconds since the
 * epoch ("@1712037600000"). OC_ERR_USAGE. */
int oc_replay_parse_time(const char *s, int64_t *ms_out, oc_err_t *err);

/* ---- the live-members check -------------------------------------------- */

/* Describe group through the Admin API (DescribeConsumerGroups): *members
 * gets its member count (0 for an unknown or empty group), desc (capacity
 * cap, may be NULL) its state and members as "client_id@host,...". */
int oc_replay_group_members(oc_replay_t *r, const char *group, size_t *members, char *desc,
                            size_t cap, oc_err_t *err);

/* ---- rewind ------------------------------------------------------------ */

typedef enum oc_rewind_to_e {
  OC_REWIND_BEGINNING = 0, /* each partition's low-water mark */
  OC_REWIND_TIME,          /* the broker's offset for a time (offsets_for_times) */
  OC_REWIND_OFFSETS,       /* explicit offsets */
} oc_rewind_to_t;

typedef struct oc_rewind_opts_s {
  const char *group; /* borrowed */
  const char *topic; /* borrowed */
  oc_rewind_to_t to;
  int64_t time_ms;                 /* OC_REWIND_TIME */
  const oc_part_offset_t *offsets; /* OC_REWIND_OFFSETS: the partitions moved */
  size_t n_offsets;
  const int32_t *partitions; /* BEGINNING/TIME: the partitions; NULL = all */
  size_t n_partitions;
  bool dry_run;
  bool force; /* act even when the group has live members */
} oc_rewind_opts_t;

/* Move the group's stored offsets in PostgreSQL (outcomes.consumer_offsets)
 * in one transaction, rows locked, accounting as at the top of this file.
 * For a time with no record at or after it, the partition moves to its
 * high-water mark. Reports one line per partition. Errors: OC_ERR_CONFLICT
 * (live members and not force), OC_ERR_USAGE (an offset outside the
 * partition's [low, high], an unknown partition), OC_ERR_NOT_FOUND (topic),
 * OC_ERR_CONFIG (schema not at OC_REPLAY_SCHEMA_VERSION), OC_ERR_KAFKA,
 * OC_ERR_PG. */
int oc_replay_rewind(oc_replay_t *r, const oc_rewind_opts_t *o, oc_err_t *err);

/* ---- republish --------------------------------------------------------- */

/* A range of a topic, per partition [start, end): from the low-water mark
 * (or the first offset at from_time, or from_offsets) to the high-water
 * mark seen at the start (or the first offset at to_time, or to_offsets). */
typedef struct oc_replay_span_s {
  bool has_from_time, has_to_time;
  int64_t from_time_ms, to_time_ms;     /* [from, to): by record timestamp */
  const oc_part_offset_t *from_offsets; /* per partition start (inclusive) */
  size_t n_from_offsets;
  const oc_part_offset_t *to_offsets; /* per partition end (exclusive) */
  size_t n_to_offsets;
  const int32_t *partitions; /* NULL = all */
  size_t n_partitions;
} oc_replay_span_t;

typedef struct oc_republish_opts_s {
  const char *from_topic, *to_topic; /* borrowed; must differ */
  oc_replay_span_t span;             /* of from_topic */
  bool keep_timestamps;              /* copy each record's timestamp (default: now) */
  bool restart;                      /* ignore the checkpoint */
  bool dry_run;
} oc_republish_opts_t;

/* Copy each source partition's range [start, end) - end bounded by the
 * high-water mark seen at start - to to_topic, keys, values (null
 * tombstones included) and headers as they are, partitioned by key as
 * outcomes-produce does (murmur2, the Java client's), through an idempotent producer
 * (acks=all) whose every delivery report is checked. Progress is committed
 * as the offsets of group OC_REPLAY_CHECKPOINT_GROUP_PREFIX<to_topic> on the
 * source partitions after each flushed chunk; a run starts at the
 * checkpoint when it is past the range's start (unless restart), so a
 * second run copies nothing. Reports per-partition counts. Errors:
 * OC_ERR_NOT_FOUND (a topic), OC_ERR_USAGE, OC_ERR_KAFKA (not delivered:
 * nothing after the last checkpoint counts as copied). */
int oc_replay_republish(oc_replay_t *r, const oc_republish_opts_t *o, oc_err_t *err);

/* ---- cat --------------------------------------------------------------- */

typedef struct oc_cat_opts_s {
  const char *topic; /* borrowed */
  oc_replay_span_t span;
  int64_t max_records; /* 0: the whole span */
} oc_cat_opts_t;

/* Decode the span of topic, either framing (a Confluent schema id through
 * schema.registry.url), and give one JSON object per record, as one report
 * line, in the order received (per partition, by offset):
 *   {"topic","partition","offset","timestamp" (ms, or null),
 *    "key": {org_id, facility_id, metric, grain, period_start} or
 *           {"hex": "..."} when it is not a fact identity,
 *    "format": "confluent" | "single-object",
 *    "schema_id" (confluent) | "fingerprint" (single-object, hex),
 *    "value": {org_id, facility_id, metric, grain, period_start, value,
 *              numerator, denominator, source, observed_at} or null (a
 *              tombstone),
 *    "error": "..." (a value that does not decode: "value" is absent)}
 * Absent optional fields are null; dates are YYYY-MM-DD, observed_at is
 * RFC 3339 with microseconds. Reports the count of records and of errors
 * through the log. Errors: OC_ERR_NOT_FOUND (the topic), OC_ERR_USAGE,
 * OC_ERR_KAFKA, the registry's (OC_ERR_IO, OC_ERR_CONFIG: nothing more is
 * printed), OC_ERR_IO (stopped by a signal). */
int oc_replay_cat(oc_replay_t *r, const oc_cat_opts_t *o, oc_err_t *err);

/* ---- rebuild ----------------------------------------------------------- */

typedef struct oc_rebuild_opts_s {
  const char *const *metrics; /* borrowed; NULL or n_metrics 0 = every metric */
  size_t n_metrics;
  bool has_from, has_to;
  char from[11], to[11]; /* YYYY-MM-DD; widened to whole years */
  int64_t batch_changes; /* fact changes per refresh transaction (0: the config's) */
  bool dry_run;          /* everything in one transaction, rolled back */
} oc_rebuild_opts_t;

/* Recompute rollups from facts with the daemon's own refresh (refresh.h),
 * online: every fact of the chosen metrics in the widened period, and every
 * rollup row there, is queued in the invalidation log, then refreshed in
 * transactions of at most batch_changes changes, each taking the refresh
 * lock only for its own length (a daemon's refresher waits meanwhile).
 * Every rollup row over those facts is recomputed from its children and
 * rows with no facts left are deleted. The refreshes also take the changes
 * the daemons left pending. Reports per metric the changes queued and the
 * rows written (inserted or corrected) and deleted. Errors: OC_ERR_USAGE
 * (unknown metric), OC_ERR_PG, OC_ERR_IO (stopped by a signal: what is
 * queued stays queued, and the daemons' refreshers finish it). */
int oc_replay_rebuild(oc_replay_t *r, const oc_rebuild_opts_t *o, oc_err_t *err);

/* ---- dead letters ------------------------------------------------------ */

typedef struct oc_dlq_filter_s {
  const char *code;   /* error_code, or NULL */
  const char *group;  /* group_id, or NULL */
  const int64_t *ids; /* explicit ids, or NULL */
  size_t n_ids;
  bool all;          /* redrive: no filter needed */
  bool pending_only; /* list: only rows not redriven */
  int64_t limit;     /* list: rows at most (0: 100) */
} oc_dlq_filter_t;

/* One line per dead letter, oldest first. */
int oc_replay_dlq_list(oc_replay_t *r, const oc_dlq_filter_t *f, oc_err_t *err);

/* Every column of one dead letter, with hex dumps of key, value and header
 * values. OC_ERR_NOT_FOUND when there is no such id. */
int oc_replay_dlq_show(oc_replay_t *r, int64_t id, oc_err_t *err);

/* Re-publish the raw key, value and headers of the dead letters selected
 * (only rows with redriven_at IS NULL) to topic (NULL: each row's own),
 * in batches: rows locked (FOR UPDATE SKIP LOCKED), produced, flushed, and
 * only the rows whose delivery was acknowledged marked redriven_at = now()
 * in the same transaction. A filter selecting nothing is OC_ERR_USAGE
 * unless f->all or ids or code is set. Errors: OC_ERR_KAFKA (some rows not
 * delivered: they stay pending), OC_ERR_PG. */
int oc_replay_dlq_redrive(oc_replay_t *r, const oc_dlq_filter_t *f, const char *topic, bool dry_run,
                          oc_err_t *err);

/* Delete the dead letters created more than older_than ago (a PostgreSQL
 * interval: "30d", "90 days", "12h"), of f->code and f->group when set,
 * redriven or not, in transactions of redrive.batch rows; the counters of
 * consumer_offsets keep counting them. Needs DELETE on dead_letters (the
 * owner role: outcomes_writer has none). OC_ERR_USAGE for a bound that is
 * not a positive interval. */
int oc_replay_dlq_purge(oc_replay_t *r, const oc_dlq_filter_t *f, const char *older_than,
                        bool dry_run, oc_err_t *err);

#ifdef __cplusplus
}
#endif
#endif
