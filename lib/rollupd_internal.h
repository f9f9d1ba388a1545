/* rollupd_internal.h - outcomes-rollupd's state, shared by its modules:
 * rollupd.c (the loop: collect, apply, recover), rollupd_assign.c
 * (partition assignment and the Kafka side), rollupd_health.c (readiness,
 * failure accounting and the stats line), rollupd_refresh.c (the
 * refresher thread) and rollupd_catalog.c (the catalog reloaded). Not
 * installed. */
#ifndef OC_ROLLUPD_INTERNAL_H
#define OC_ROLLUPD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>
#include <libpq-fe.h>

#include "outcomes/apply.h"
#include "outcomes/catalog.h"
#include "outcomes/clock.h"
#include "outcomes/obs_codec.h"
#include "outcomes/progress.h"
#include "outcomes/schema_ids.h"
#include "outcomes/rollupd.h"
#include "outcomes/series.h"
#include "rollupd_metrics.h"
#include "rollupd_refresh.h"

#define OC_ROLLUPD_POLL_SLICE_MS 100   /* every loop wakes at least this often */
#define OC_ROLLUPD_FAIL_REASON_MAX 160 /* the error as shown by /readyz */

typedef struct oc_rd_part_s {
  int32_t partition;
  int64_t stored; /* next_offset stored in PostgreSQL, -1 none */
  int64_t pos;    /* next offset accepted into a batch, -1 any */
  bool known;     /* stored was read since the partition was assigned */
} oc_rd_part_t;

typedef struct oc_rd_hw_s {
  int32_t partition;
  int64_t low, high; /* high-water mark when first assigned; high -1 unknown */
} oc_rd_hw_t;

typedef struct oc_rd_s {
  const oc_config_t *cfg;
  const oc_rollupd_opts_t *opts;
  const volatile sig_atomic_t *signals;
  const char *topic, *group;
  int64_t max_wait_ms, stats_ms, ready_max_failures;

  rd_kafka_t *rk;
  PGconn *pg;
  oc_catalog_t *cat;
  const char *cat_pending; /* a reload to try again (its trigger), NULL none */
  int64_t cat_retry_at;    /* not before this oc_clock_ms() */
  oc_obs_codec_t *codec;
  oc_schema_ids_t *ids; /* NULL without schema.registry.url */
  oc_batch_t *batch;
  oc_series_cache_t *series;
  oc_refresher_t *refresher;

  oc_rd_part_t *parts; /* the current assignment */
  size_t n_parts, cap_parts;
  oc_rd_hw_t *hws; /* for --exit-at-end, kept across rebalances */
  size_t n_hws, cap_hws;
  bool assigned_once;
  bool need_recover; /* seek every assigned partition back to its stored offset */
  int fatal;         /* an error no retry fixes: stop with it */
  oc_err_t fatal_err;

  bool pg_up, kafka_up;
  int last_kafka_err;
  oc_backoff_t backoff;
  int64_t failures;                             /* consecutive failed batches */
  char last_failure[OC_ERR_MSG_MAX];            /* logged once until it changes */
  int64_t t_fail_first;                         /* when the current run of failures began */
  int64_t t_fail_log;                           /* last batch_still_failing line, 0 none yet */
  char fail_reason[OC_ROLLUPD_FAIL_REASON_MAX]; /* the last failure, short, for /readyz */

  /* counters since start, for the stats line */
  int64_t n_batches, n_consumed, n_applied, n_stale, n_dead, n_conflicts, n_retries;
  int64_t dead_by_code[64];
  int64_t t_start, t_stats;
  oc_progress_t progress; /* --exit-at-end: the progress line */
  oc_rmetrics_t *metrics; /* owned; NULL-safe */
} oc_rd_t;

/* ---- rollupd.c --------------------------------------------------------- */

int oc_rd_stop_level(const oc_rd_t *d);
/* Sleep ms in slices, serving Kafka callbacks and the watchdog and
 * dropping messages (the caller seeks afterwards); false once asked to
 * stop. */
bool oc_rd_idle_poll(oc_rd_t *d, int64_t ms);

/* ---- rollupd_assign.c -------------------------------------------------- */

oc_rd_part_t *oc_rd_part_find(oc_rd_t *d, int32_t partition);
/* Create the consumer (callbacks below) and subscribe. */
int oc_rd_kafka_open(oc_rd_t *d, oc_err_t *err);
/* Read the stored offsets of every assigned partition. */
int oc_rd_load_offsets(oc_rd_t *d, oc_err_t *err);
/* Seek every assigned partition to its stored offset (or the beginning),
 * and resume it. */
int oc_rd_seek_stored(oc_rd_t *d, oc_err_t *err);
void oc_rd_pause_all(oc_rd_t *d);
/* The committed batch's offsets, copied to Kafka for lag tools. */
void oc_rd_copy_offsets_to_kafka(oc_rd_t *d);
/* --exit-at-end: every assigned partition is at the high-water mark seen
 * when first assigned, by the positions taken into batches (by_pos) or by
 * the stored offsets. */
bool oc_rd_caught_up(oc_rd_t *d, bool by_pos);
/* --exit-at-end: the stored offsets of the assigned partitions (the low-water
 * mark where none is stored), summed, and the records from them to the
 * high-water marks; false while one of them is not known yet. */
bool oc_rd_position(oc_rd_t *d, int64_t *position, int64_t *lag);

/* ---- rollupd_catalog.c ------------------------------------------------- */

/* LISTEN on conn to the catalog's channel (catalog_listen.sql). */
int oc_rd_catalog_listen(PGconn *conn, oc_err_t *err);
/* The catalog of conn's outcomes.metric_catalog; an empty one is
 * OC_ERR_CONFIG. Caller frees *out. */
int oc_rd_catalog_load(PGconn *conn, oc_catalog_t **out, oc_err_t *err);
/* Take cat (owned from now) as the catalog: the batch validates with it.
 * With trigger (sighup, notify, reconnect) and a catalog before, log what
 * changed ("catalog_reloaded added=... removed=... changed=..."). */
void oc_rd_catalog_adopt(oc_rd_t *d, oc_catalog_t *cat, const char *trigger);
/* Between batches (the batch empty): reload the catalog when SIGHUP asked,
 * a notification came, or a failed reload is due again. A catalog that
 * fails to load is logged ("catalog_reload_failed reason=...") and the one
 * in use kept. */
void oc_rd_catalog_poll(oc_rd_t *d);

/* ---- rollupd_health.c -------------------------------------------------- */

/* /readyz from what the loop knows. */
void oc_rd_publish_ready(oc_rd_t *d);
void oc_rd_pg_state(oc_rd_t *d, bool up, const oc_err_t *err);
void oc_rd_kafka_state(oc_rd_t *d, bool up, int code, const char *reason);
void oc_rd_log_stats(oc_rd_t *d, const char *event);
/* The progress line of --exit-at-end when it is due (every
 * log.progress.interval), or now when last (caught up). */
void oc_rd_log_progress(oc_rd_t *d, bool last);
/* A batch committed: counters, metrics, the end of a run of failures. */
void oc_rd_batch_committed(oc_rd_t *d, size_t count, int64_t ms);
/* A batch rolled back: the run of failures, the backoff, /readyz, the
 * log (once per distinct error). */
void oc_rd_batch_failed(oc_rd_t *d, size_t count, int rc, const oc_err_t *err);
/* The run of failed batches ends without a commit: their partitions were
 * revoked (why), the batches dropped; /readyz is ready again unless
 * PostgreSQL is away. The backoff is kept. */
void oc_rd_failures_forget(oc_rd_t *d, const char *why);

#endif
