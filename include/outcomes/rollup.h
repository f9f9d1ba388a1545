/*
 * rollup.h - rollups recomputed, not incremented, for the groups a batch
 * touched (DESIGN.md §4: exact at every grain and level, restatements and
 * retractions corrected, min and max included; work grows with the batch
 * and the groups it touches, never with the table).
 *
 * Input: the session's temporary table oc_stage (created by
 * oc_apply_prepare), one row per fact identity the batch changed, with the
 * column visible_changed true when a version stood before or after. For
 * each such fact, target grains by its grain:
 *
 *   DAY → DAY, WEEK, MONTH, QUARTER, YEAR     WEEK → WEEK
 *   MONTH → MONTH, QUARTER, YEAR              QUARTER → QUARTER, YEAR
 *   YEAR → YEAR
 *
 * with bucket_start = the start of the target period containing
 * period_start (a calendar date: no time zone applies; WEEK = ISO Monday).
 * Then, in this order (each level reads the one below, already updated):
 *
 *   facility  from the facts of that facility in the bucket
 *   org       from the org's facility rows in the bucket and its org-level
 *             facts (facility_id '') in the bucket
 *   all       from the org rows of the bucket
 *
 * oc_rollup_recompute does exactly that (outcomes-replay rebuild uses it: it
 * reads only facts). The daemon's oc_rollup_recompute_incremental computes
 * QUARTER rows from the MONTH rows and YEAR rows from the QUARTER rows of the
 * same level and fact grain instead, once those are current in the same
 * transaction; every field composes exactly, so the result is the same.
 *
 * Per row: n, sum_value (numeric: Σ value::numeric, exact), min, max,
 * sum_numerator, sum_denominator (numeric; NULL for non-ratio metrics),
 * last_period (latest period_start in the bucket) and last_value (Σ value
 * at last_period; a parent sums the last_value of the children whose
 * last_period is the latest). Retracted facts count for nothing; a group
 * left empty loses its row.
 *
 * Concurrency: org and all rows are shared by every partition and instance.
 * Before recomputing, the transaction takes pg_advisory_xact_lock(
 * OC_ROLLUP_LOCK_CLASS, hashtext(metric)) for each touched metric in sorted
 * order, so that no two transactions recompute one parent from stale
 * children.
 */
#ifndef OUTCOMES_ROLLUP_H
#define OUTCOMES_ROLLUP_H

#include <libpq-fe.h>

#include "outcomes/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Advisory lock class of the rollup locks ("ocrl" in ASCII). */
#define OC_ROLLUP_LOCK_CLASS 1868788332

/* Create the session's grain map (temporary, kept for the session). Called
 * by oc_apply_prepare. */
int oc_rollup_prepare(PGconn *conn, oc_err_t *err);

/* Recompute, inside the caller's transaction, the rollups of every group
 * touched by the rows of oc_stage with visible_changed. */
int oc_rollup_recompute(PGconn *conn, oc_err_t *err);

/* The same result, for the daemon's batches: QUARTER and YEAR rows of the
 * facility and org levels are summed from the same level's rows one grain
 * finer (MONTH, then QUARTER; recomputed first in the same call) instead of
 * from every fact of the bucket. Exact only while the finer rows are (the
 * invariant every committed batch keeps); oc_rollup_recompute, which reads
 * facts, is the repair path (outcomes-replay rebuild). */
int oc_rollup_recompute_incremental(PGconn *conn, oc_err_t *err);

#ifdef __cplusplus
}
#endif
#endif
