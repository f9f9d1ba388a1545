/*
 * rollupd.h - the consumer daemon outcomes-rollupd as a library: consumer
 * group member that applies batches of observations to PostgreSQL exactly
 * once (apply.h), owns its partitions through offsets stored in PostgreSQL,
 * retries what is retriable, and stops on request.
 *
 * Life cycle: connect to PostgreSQL (retrying with backoff), optionally
 * migrate, load the metric catalog from outcomes.metric_catalog (and LISTEN
 * on outcomes_catalog: between batches a change of the table, or
 * opts->reload, reloads it; rollupd_catalog.c), subscribe,
 * sd_notify READY=1, then loop: poll one message at a time (never the batch
 * consume calls of librdkafka 2.0.2) into a batch bounded by
 * batch.max.records / batch.max.bytes / batch.max.wait, apply it in one
 * transaction, then copy the offsets to Kafka asynchronously.
 *
 * Partition ownership (eager rebalancing): on assignment the stored
 * offsets are read from PostgreSQL and assigned (the beginning where none is
 * stored); on revocation the batch in flight, not yet written, is dropped
 * (its messages are polled again by the next owner from the stored
 * offsets). A compare-and-set failure or any PostgreSQL failure rolls back,
 * re-reads the stored offsets and seeks every assigned partition back to
 * them; PostgreSQL outages are retried with exponential backoff while the
 * partitions are paused.
 */
#ifndef OUTCOMES_ROLLUPD_H
#define OUTCOMES_ROLLUPD_H

#include <signal.h>
#include <stdbool.h>

#include "outcomes/config.h"
#include "outcomes/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The daemon's configuration table (borrowed, static). */
const oc_conf_def_t *oc_rollupd_conf_defs(void);

/* Properties of librdkafka that the daemon sets itself and refuses from
 * kafka.* keys (NULL-terminated, static). */
const char *const *oc_rollupd_reserved_kafka_keys(void);

typedef struct oc_rollupd_opts_s {
  bool migrate;     /* apply the SQL migrations and sync the catalog first */
  bool exit_at_end; /* stop once caught up with the high-water marks seen
                       when each partition was first assigned */
  /* Set to 1 (SIGHUP) to reload the catalog from outcomes.metric_catalog
   * between batches; reset to 0 by the daemon. NULL: only the
   * notifications of the channel outcomes_catalog reload it. */
  volatile sig_atomic_t *reload;
} oc_rollupd_opts_t;

/* Run the daemon until *signals becomes non-zero (the count of SIGTERM /
 * SIGINT received, set by main's handler): at 1 the batch in flight is
 * finished (or rolled back) and the consumer leaves its group; at 2 or more
 * it stops at once without leaving the group. With opts->exit_at_end it
 * also returns once caught up. cfg and signals are borrowed. Returns 0 on a
 * requested stop; an error that no retry can fix (bad configuration, schema
 * not migrated, fatal Kafka error) otherwise. */
int oc_rollupd_run(const oc_config_t *cfg, const oc_rollupd_opts_t *opts,
                   const volatile sig_atomic_t *signals, oc_err_t *err);

#ifdef __cplusplus
}
#endif
#endif
