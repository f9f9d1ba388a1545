/*
 * refresh.h - the rollups brought up to date from the invalidation log
 * (docs/design.md §6.4).
 *
 * The transaction that applies a batch logs every fact whose standing
 * version changed in outcomes.rollup_pending. A refresh, in a transaction
 * of its own, claims pending changes (deleting them), derives the rollup
 * rows over them (the fact's series and its ancestors, at every grain the
 * facts roll up to) and recomputes each from its children, bottom up:
 * schemas/sql/statements/refresh_*.sql. Recomputing from children makes a
 * refresh idempotent, so a crash on either side of the facts' commit loses
 * nothing and a change refreshed twice is harmless. One refresh runs at a
 * time per database (an advisory lock, refresh_lock.sql), whoever runs it:
 * every outcomes-rollupd instance and outcomes-replay rebuild.
 *
 * After quiescence (nothing pending, no refresh running) every rollup row
 * equals the aggregate of the standing facts it covers.
 */
#ifndef OUTCOMES_REFRESH_H
#define OUTCOMES_REFRESH_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "outcomes/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What one or more refreshes did. */
typedef struct oc_refresh_result_s {
  bool busy;       /* another refresh held the lock: nothing was done */
  int64_t facts;   /* fact changes claimed from the log */
  int64_t groups;  /* rollup rows recomputed */
  int64_t written; /* of them inserted or changed */
  int64_t deleted; /* of them deleted (no fact left under them) */
  int64_t runs;    /* refresh transactions committed */
} oc_refresh_result_t;

typedef struct oc_refresh_hooks_s {
  /* Called for each distinct wait of the claimed changes, from their
   * facts' commit to the refresh (seconds, how many changes); may be NULL. */
  void (*waited)(double seconds, int64_t facts, void *arg);
  /* Called by oc_refresh_drain while another refresh holds the lock: wait
   * ms milliseconds (serving the watchdog); false stops the drain. NULL:
   * sleep. */
  bool (*pause)(int64_t ms, void *arg);
  /* Called before each statement of a refresh: true gives up (OC_ERR_IO;
   * the transaction rolls back, the changes stay pending). May be NULL. */
  bool (*stop)(void *arg);
  void *arg;
} oc_refresh_hooks_t;

/* One refresh inside the caller's open transaction, which must hold the
 * refresh lock (outcomes-replay rebuild --dry-run rolls it back): claims
 * at most max_facts pending changes and recomputes the rows over them.
 * Adds to *res. */
int oc_refresh_step(PGconn *conn, int64_t max_facts, const oc_refresh_hooks_t *hooks,
                    oc_refresh_result_t *res, oc_err_t *err);

/* Take the refresh lock in the caller's open transaction: *got false when
 * another refresh holds it. */
int oc_refresh_lock(PGconn *conn, bool *got, oc_err_t *err);

/* One refresh transaction on conn (idle, prepared by oc_stmt_prepare):
 * BEGIN, the lock (if another refresh holds it: ROLLBACK and res->busy),
 * oc_refresh_step, COMMIT. res is reset first. */
int oc_refresh_run(PGconn *conn, int64_t max_facts, const oc_refresh_hooks_t *hooks,
                   oc_refresh_result_t *res, oc_err_t *err);

/* Refresh until nothing is pending that was committed before the call:
 * runs until one claims fewer than max_facts changes, waiting (hooks->pause,
 * every 100 ms) while another refresh holds the lock. res (reset first)
 * sums the runs. OC_ERR_IO when the pause hook asks to stop. */
int oc_refresh_drain(PGconn *conn, int64_t max_facts, const oc_refresh_hooks_t *hooks,
                     oc_refresh_result_t *res, oc_err_t *err);

#ifdef __cplusplus
}
#endif
#endif
