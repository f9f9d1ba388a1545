/*
 * rollup.h - the rollups of the groups a batch touched, kept exact
 * (DESIGN.md §4: each row equals the aggregate of the standing facts it
 * covers, at every grain and level, restatements and retractions
 * corrected, min and max included; work grows with the batch and the
 * groups it touches, never with the table).
 *
 * Input: the session's temporary table oc_stage (created by
 * oc_apply_prepare), one row per fact identity the batch changed, with the
 * column visible_changed true when a version stood before or after, and
 * the version that stood before the batch (old_standing, old_value,
 * old_numerator, old_denominator). For each such fact, target grains by
 * its grain:
 *
 *   DAY → DAY, WEEK, MONTH, QUARTER, YEAR     WEEK → WEEK
 *   MONTH → MONTH, QUARTER, YEAR              QUARTER → QUARTER, YEAR
 *   YEAR → YEAR
 *
 * with bucket_start = the start of the target period containing
 * period_start (a calendar date: no time zone applies; WEEK = ISO Monday),
 * at three levels: facility (the facility's facts), org (all the org's
 * facts: its facilities' and its org-level ones, facility_id '') and all
 * (every org's facts).
 *
 * Per row: n, sum_value (numeric: Σ value::numeric, exact), min, max,
 * sum_numerator, sum_denominator (numeric; NULL for non-ratio metrics),
 * last_period (latest period_start in the bucket) and last_value (Σ value
 * at last_period). Numeric values are stored without trailing zeros
 * (trim_scale), so that both ways below write the same text as well as the
 * same numbers. Retracted facts count for nothing; a group left empty loses
 * its row.
 *
 * Two ways to the same rows:
 *
 *   oc_rollup_recompute   every touched group from its children, levels in
 *                         order: facility from facts, org from the org's
 *                         facility rows and org-level facts, all from the
 *                         org rows (outcomes-replay rebuild: the repair path,
 *                         it trusts nothing but facts and the levels it has
 *                         just recomputed).
 *   oc_rollup_update      the daemon's batches: the difference between the
 *                         old and the new versions applied to each group's
 *                         row (counts and numeric sums add exactly; min, max
 *                         and last combine) wherever what leaves cannot have
 *                         been an extreme or the last period; the other
 *                         groups (a removed minimum, a restated last period,
 *                         a group emptied) recomputed from their children as
 *                         above, QUARTER and YEAR rows from the same level's
 *                         MONTH and QUARTER rows. Exact while the rows are
 *                         (the invariant every committed batch keeps).
 *
 * Concurrency: org and all rows are shared by every partition and instance.
 * Before writing, the transaction takes pg_advisory_xact_lock(
 * OC_ROLLUP_LOCK_CLASS, hashtext(metric)) for each touched metric in sorted
 * order, so that no two transactions update one group from stale rows.
 */
#ifndef OUTCOMES_ROLLUP_H
#define OUTCOMES_ROLLUP_H

#include <stdint.h>

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
 * touched by the rows of oc_stage with visible_changed, from children. */
int oc_rollup_recompute(PGconn *conn, oc_err_t *err);

/* The same rows by differences, inside the caller's transaction (see
 * above). *regrouped (may be NULL): how many groups were recomputed from
 * their children instead. */
int oc_rollup_update(PGconn *conn, int64_t *regrouped, oc_err_t *err);

#ifdef __cplusplus
}
#endif
#endif
