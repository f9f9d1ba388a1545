/* rollupd_refresh.h - outcomes-rollupd's refresher: a thread with its own
 * PostgreSQL connection that runs the rollup refresh (refresh.h) beside
 * the batches, so that PostgreSQL recomputes rollups on one core while it
 * applies facts on the other. Not installed. */
#ifndef OC_ROLLUPD_REFRESH_H
#define OC_ROLLUPD_REFRESH_H

#include <stdbool.h>
#include <stdint.h>

#include "outcomes/config.h"
#include "outcomes/err.h"
#include "rollupd_metrics.h"

typedef struct oc_refresher_s oc_refresher_t;

/* Start the thread. It connects with cfg's conninfo (borrowed, read-only
 * while it runs) and refreshes whenever changes are pending: again at once
 * after a refresh that claimed some, else after interval_ms or a nudge.
 * Each refresh claims at most max_facts changes. Failures are logged once
 * per distinct error and retried with backoff (up to backoff_max_ms);
 * metrics (may be NULL) counts the refreshes and the waits. */
int oc_refresher_start(const oc_config_t *cfg, oc_rmetrics_t *metrics, int64_t interval_ms,
                       int64_t max_facts, int64_t backoff_max_ms, oc_refresher_t **out,
                       oc_err_t *err);

/* A batch committed: changes may be pending. Never blocks long. */
void oc_refresher_nudge(oc_refresher_t *r);

/* Stop and join the thread, then free it (NULL is accepted). A refresh in
 * flight is cancelled: it rolls back and its changes stay pending for the
 * next refresh, so that a stop never waits for a large one. */
void oc_refresher_stop(oc_refresher_t *r);

#endif
