/*
 * series.h - the integer ids of series, cached.
 *
 * A series is one metric at one grain for one facility, one org
 * (facility_id "") or all orgs (outcomes.series, docs/design.md §8.1). Facts
 * are keyed by (series id, period_start). The daemon resolves the series
 * of a batch's facts through this cache; misses go to PostgreSQL in one
 * statement per batch (series_ids.sql), which creates missing series and
 * their parents in a transaction of its own, so that every cached id is
 * committed. Ids never change, so entries never go stale; when the cache
 * holds max_entries it is emptied and fills again.
 */
#ifndef OUTCOMES_SERIES_H
#define OUTCOMES_SERIES_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "outcomes/err.h"
#include "outcomes/record.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct oc_series_cache_s oc_series_cache_t;

/* A cache of at most max_entries series (at least 16). NULL on allocation
 * failure. Caller frees with oc_series_cache_destroy(). */
oc_series_cache_t *oc_series_cache_new(size_t max_entries);
void oc_series_cache_destroy(oc_series_cache_t *c); /* NULL is accepted */

/* The cached id of id's series (id->period_start is ignored), or -1. */
int32_t oc_series_cache_get(const oc_series_cache_t *c, const oc_fact_id_t *id);

/* Entries held. */
size_t oc_series_cache_count(const oc_series_cache_t *c);

/* Resolve ids[0..n) (borrowed) into out[0..n): from the cache, and the
 * misses from PostgreSQL on conn (idle: this runs its own transaction,
 * statement series_ids prepared by oc_stmt_prepare), then cached. The ids
 * may repeat. OC_ERR_PG (retriable as libpq says) or OC_ERR_NOMEM. */
int oc_series_resolve(oc_series_cache_t *c, PGconn *conn, const oc_fact_id_t *const *ids, size_t n,
                      int32_t *out, oc_err_t *err);

#ifdef __cplusplus
}
#endif
#endif
