/* rollupd_metrics.h - outcomes-rollupd's counters and its HTTP endpoint
 * (/metrics, /healthz, /readyz), named as docs/metrics.md says. Not
 * installed. Every update is cheap and allocation-free once a child exists;
 * every function accepts NULL (metrics off). */
#ifndef OC_ROLLUPD_METRICS_H
#define OC_ROLLUPD_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "outcomes/err.h"
#include "outcomes/refresh.h"
#include "outcomes/schema_ids.h"

typedef struct oc_rmetrics_s oc_rmetrics_t;

/* The registry, and the endpoint on listen ("host:port"; NULL or "" for
 * none). Caller frees with oc_rmetrics_destroy(). */
int oc_rmetrics_new(const char *listen, const char *topic, oc_rmetrics_t **out, oc_err_t *err);

/* A committed batch: its counts and how long apply + commit took. */
void oc_rmetrics_batch(oc_rmetrics_t *m, int64_t consumed, int64_t applied, int64_t stale,
                       double seconds);
/* Transactions of a committed batch run again because another writer
 * changed one of its facts first. */
void oc_rmetrics_batch_retries(oc_rmetrics_t *m, int64_t n);
/* A rollup refresh: committed (res, how long it took) or failed. */
void oc_rmetrics_refresh(oc_rmetrics_t *m, const oc_refresh_result_t *res, double seconds,
                         bool committed);
/* The registry lookups so far (cumulative; the counters take the
 * difference). */
void oc_rmetrics_schema_ids(oc_rmetrics_t *m, const oc_schema_ids_stats_t *now);
/* facts changes waited seconds from their facts' commit to the refresh. */
void oc_rmetrics_refresh_waited(oc_rmetrics_t *m, double seconds, int64_t facts);
/* A batch rolled back: fenced when the offsets compare-and-set was lost. */
void oc_rmetrics_batch_failed(oc_rmetrics_t *m, bool fenced);
/* Batches failed in a row since the last commit (0 after a commit). */
void oc_rmetrics_consecutive_failures(oc_rmetrics_t *m, int64_t n);
void oc_rmetrics_dead(oc_rmetrics_t *m, const char *reason, int64_t n);
/* A partition's stored offset and lag (high < 0: unknown), or revoked. */
void oc_rmetrics_partition(oc_rmetrics_t *m, int32_t partition, int64_t next, int64_t high,
                           bool assigned);
void oc_rmetrics_state(oc_rmetrics_t *m, bool pg_up, bool kafka_up);
/* /readyz: ready while connected and batches commit; reason when not. */
void oc_rmetrics_ready(oc_rmetrics_t *m, bool ready, const char *reason);
/* The main loop is alive (/healthz). */
void oc_rmetrics_tick(oc_rmetrics_t *m);
/* The bound port (0 without an endpoint). */
uint16_t oc_rmetrics_port(const oc_rmetrics_t *m);
void oc_rmetrics_destroy(oc_rmetrics_t *m);

#endif
