/*
 * apply.h - one batch of Kafka messages (batch.h) applied to PostgreSQL in
 * one transaction (docs/design.md §4 and §7): the stored offsets moved by
 * compare-and-set (offsets.h), the facts by the per-fact rule
 * (fact_rule.h), their rollup invalidations logged for the refresh
 * (refresh.h), the dead letters and the accounting counters.
 *
 * The statements are schemas/sql/statements/: series_ids, then in
 * the transaction offsets_cas_*, facts_read, facts_lock, facts_write,
 * dead_letter_insert and offsets_count.
 *
 * Last writer wins holds in the database whatever other transactions do
 * (other instances, other consumer groups, outcomes-replay): the rows the
 * batch changes are locked in key order and read again before they are
 * written, and a row it inserts must not exist. When another writer got
 * there first, the transaction is rolled back and run again from the
 * stored state (oc_batch_retries counts it).
 */
#ifndef OUTCOMES_APPLY_H
#define OUTCOMES_APPLY_H

#include <libpq-fe.h>

#include "outcomes/batch.h"
#include "outcomes/err.h"
#include "outcomes/series.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Prepare conn for oc_batch_apply and the refresh: the session set-up and
 * every statement (oc_stmt_prepare). Call once per connection, outside a
 * transaction, after the schema is migrated. */
int oc_apply_prepare(PGconn *conn, oc_err_t *err);

/* Apply the batch on conn (prepared, idle): series ids resolved through
 * series (misses committed in a transaction of their own), then one
 * transaction: offsets compare-and-set, fact states read, the rule folded in
 * offset order, the changed facts locked, checked and written with their
 * rollup invalidations, dead letters inserted, counters added, COMMIT. The
 * per-partition counters of the batch are filled. On failure the
 * transaction is rolled back (if the connection lives) and nothing was
 * applied, except that a failed COMMIT may or may not have applied: the
 * caller re-reads the stored offsets in every failure case. Errors:
 * OC_ERR_CONFLICT (an expected offset did not match: another instance moved
 * on), OC_ERR_PG (retriable/fatal as set by oc_pg_result_err), OC_ERR_NOMEM. */
int oc_batch_apply(oc_batch_t *b, PGconn *conn, oc_series_cache_t *series, const char *group_id,
                   oc_err_t *err);

#ifdef __cplusplus
}
#endif
#endif
