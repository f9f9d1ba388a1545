/*
 * replay_internal.h - shared by the replay modules (replay.c: context,
 * parsing, connections, the live-members check, rewind; replay_copy.c:
 * producer and republish; replay_rebuild.c; replay_dlq.c). Not installed.
 */
#ifndef OC_REPLAY_INTERNAL_H
#define OC_REPLAY_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#include "outcomes/kafka.h" /* OC_KPROD_GAVE_UP */
#include "outcomes/replay.h"

struct oc_replay_s {
  const oc_config_t *cfg; /* borrowed */
  oc_replay_out_fn out;
  void *opaque;
  const volatile sig_atomic_t *stop; /* borrowed, may be NULL */
  int timeout_ms;                    /* Kafka requests */
  int64_t flush_timeout_ms;
  PGconn *pg;       /* owned; opened on first use */
  rd_kafka_t *meta; /* owned; a consumer handle without a group, for
                       metadata, watermarks, offsets for times, admin */
};

/* One report line through r->out. */
void oc_replay_printf(oc_replay_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

bool oc_replay_stopping(const oc_replay_t *r);

/* The PostgreSQL connection (borrowed from r), opened on first use. */
int oc_replay_pg(oc_replay_t *r, PGconn **out, oc_err_t *err);

/* Fails with OC_ERR_CONFIG unless outcomes.schema_migrations is at least
 * at version min. */
int oc_replay_check_schema(oc_replay_t *r, int min, oc_err_t *err);

/* A statement of schemas/sql/statements/replay/ (embedded in
 * oc_sql_replay_statements.h) as the sql and what arguments of
 * oc_pg_exec_params_what: OC_REPLAY_SQL(dlq_list). */
#define OC_REPLAY_SQL(name) oc_sql_##name, #name

/* A librdkafka configuration with brokers, our defaults (for a producer,
 * outcomes-produce's: oc_produce_kafka_defaults) and every kafka.* key
 * (the reserved ones refused). Caller frees with rd_kafka_conf_destroy
 * unless handed to rd_kafka_new. */
int oc_replay_kafka_conf(oc_replay_t *r, bool producer, rd_kafka_conf_t **out, oc_err_t *err);

/* The metadata handle (borrowed from r), created on first use. */
int oc_replay_meta(oc_replay_t *r, rd_kafka_t **out, oc_err_t *err);

/* Low and high-water marks of one partition. */
int oc_replay_watermarks(oc_replay_t *r, const char *topic, int32_t partition, int64_t *lo,
                         int64_t *hi, oc_err_t *err);

/* The first offset with a timestamp >= time_ms of each partition in
 * parts[0..n) into out[i] (-1: none, the caller decides). */
int oc_replay_offsets_for_time(oc_replay_t *r, const char *topic, const int32_t *parts, size_t n,
                               int64_t time_ms, int64_t *out, oc_err_t *err);

/* Select partitions: the requested ones, checked against the topic's
 * count, or every partition. *out is malloc'ed (caller frees). */
int oc_replay_select_partitions(oc_replay_t *r, const char *topic, const int32_t *req, size_t n_req,
                                int32_t **out, size_t *n_out, oc_err_t *err);

/* One partition of a span (replay.h), planned at the start. */
typedef struct oc_replay_range_s {
  int32_t partition;
  int64_t lo, hi;     /* watermarks */
  int64_t start, end; /* [start, end), start <= end */
} oc_replay_range_t;

/* The partitions of span on topic and their ranges: *out (malloc'ed,
 * caller frees) gets *n entries. */
int oc_replay_plan_span(oc_replay_t *r, const char *topic, const oc_replay_span_t *span,
                        oc_replay_range_t **out, size_t *n, oc_err_t *err);

/* A consumer of group (never joined: partitions are assigned; offsets
 * committed only by hand) with partition EOF events. */
int oc_replay_consumer(oc_replay_t *r, const char *group, rd_kafka_t **out, oc_err_t *err);

/* ---- an idempotent producer whose every delivery report is counted ----
 * (oc_kprod_t of kafka.h, with per-partition counts and per-flush
 * accounting) */

typedef struct oc_rprod_s oc_rprod_t;

/* n_target_parts: size of the per-partition delivery counts (0: none).
 * Caller frees with oc_rprod_destroy(). */
int oc_rprod_new(oc_replay_t *r, size_t n_target_parts, oc_rprod_t **out, oc_err_t *err);

/* Produce one message. key/value may be NULL (a NULL value is a
 * tombstone); hdrs is taken over in every case (may be NULL); ts_ms 0 =
 * now. status (may be NULL) is set to 1 when delivered, -1 when not, by
 * the delivery report. Waits for room in a full queue, unless the stop
 * flag is set, a fatal error or a failed delivery ends the wait: then
 * OC_KPROD_GAVE_UP, the message not sent (status -1, not counted as a
 * failure: the caller stops, and a failure that ended the wait is reported
 * by the next flush). */
int oc_rprod_send(oc_rprod_t *p, const char *topic, const void *key, size_t key_len,
                  const void *value, size_t value_len, rd_kafka_headers_t *hdrs, int64_t ts_ms,
                  int8_t *status, oc_err_t *err);

/* Wait for every delivery report (bounded by the flush timeout; what is
 * left is purged and counts as failed). Fails with OC_ERR_KAFKA when any
 * message since the last flush was not delivered. */
int oc_rprod_flush(oc_rprod_t *p, oc_err_t *err);

int64_t oc_rprod_delivered(const oc_rprod_t *p, int32_t partition);
void oc_rprod_destroy(oc_rprod_t *p);

/* "{1,2,3}" for a PostgreSQL array parameter into buf; false when it does
 * not fit. */
bool oc_replay_int_array(char *buf, size_t cap, const int64_t *v, size_t n);

#endif
