/* replay_rebuild.c - rollups recomputed from facts, online, by the
 * daemon's own refresh (refresh.h); see include/outcomes/replay.h.
 *
 * Each metric's facts in the period, and its rollup rows there (so that
 * rows whose facts are gone are deleted), are queued in the invalidation
 * log (rebuild_enqueue.sql); the refresh then recomputes every row over
 * them from its children, in transactions of at most --batch changes. The
 * period is widened to whole years so that every bucket of every grain
 * except ISO weeks that straddle a new year lies wholly inside it; such a
 * week is recomputed too whenever one of its facts lies inside. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "outcomes/apply.h"
#include "outcomes/clock.h"
#include "outcomes/pg.h"
#include "outcomes/progress.h"
#include "outcomes/record.h"
#include "outcomes/refresh.h"
#include "outcomes/stmt.h"
#include "replay_internal.h"

/* Queue a metric's facts and rows; *queued: how many. */
static int enqueue(PGconn *pg, const char *metric, const char *from, const char *to,
                   int64_t *queued, oc_err_t *err) {
  const char *v[3] = {metric, from, to};
  PGresult *res = NULL;
  int rc = oc_stmt_exec(pg, OC_STMT_REBUILD_ENQUEUE, 3, v, NULL, NULL, 0, &res, err);
  if (rc == 0)
    *queued = strtoll(PQcmdTuples(res), NULL, 10);
  PQclear(res);
  return rc;
}

static bool pause_unless_stopping(int64_t ms, void *arg) {
  oc_replay_t *r = arg;
  for (int64_t waited = 0; waited < ms && !oc_replay_stopping(r); waited += 10)
    nanosleep(&(struct timespec){0, 10 * 1000000L}, NULL);
  return !oc_replay_stopping(r);
}

/* A rebuild under way, for its progress line. The unit is the change
 * (a fact or rollup row queued): position counts those refreshed; lag those
 * queued and not refreshed yet, and for each metric not queued yet the mean
 * of the metrics queued so far (an estimate). */
typedef struct rb_run_s {
  oc_replay_t *r;
  oc_progress_t prog;
  const char *metric;        /* the one being refreshed */
  size_t n_queued, n;        /* metrics queued so far, of n */
  int64_t queued, refreshed; /* changes */
} rb_run_t;

static void rb_progress(rb_run_t *run, bool last) {
  int64_t t = oc_clock_ms();
  char extra[160];
  if (!oc_progress_wanted(&run->prog, t, last) || run->n_queued == 0)
    return;
  int64_t lag = run->queued > run->refreshed ? run->queued - run->refreshed : 0;
  lag += (int64_t)(run->n - run->n_queued) * (run->queued / (int64_t)run->n_queued);
  snprintf(extra, sizeof(extra), "metric=%s metrics_queued=%zu metrics=%zu", run->metric,
           run->n_queued, run->n);
  oc_progress_report(&run->prog, t, run->refreshed, lag, last, extra);
}

/* The refresh's hooks: each refresh's changes count as refreshed; between
 * its statements and while it waits for the lock, the progress line. */
static void rb_waited(double seconds, int64_t facts, void *arg) {
  (void)seconds;
  ((rb_run_t *)arg)->refreshed += facts;
}

static bool rb_pause(int64_t ms, void *arg) {
  rb_run_t *run = arg;
  rb_progress(run, false);
  return pause_unless_stopping(ms, run->r);
}

static bool rb_stop(void *arg) {
  rb_run_t *run = arg;
  rb_progress(run, false);
  return oc_replay_stopping(run->r);
}

/* --dry-run: every metric queued and refreshed in one transaction, rolled
 * back. */
static int dry_run(oc_replay_t *r, PGconn *pg, const char *const *metrics, size_t n,
                   const char *from, const char *to, int64_t batch, oc_err_t *err) {
  oc_refresh_result_t res;
  int64_t queued = 0, q;
  bool got = false;
  int rc;

  memset(&res, 0, sizeof(res));
  if ((rc = oc_pg_exec_what(pg, "BEGIN", "begin", err)) != 0)
    return rc;
  while ((rc = oc_refresh_lock(pg, &got, err)) == 0 && !got)
    if (!pause_unless_stopping(100, r)) {
      rc = oc_err_set(err, OC_ERR_IO, "stopped on request while waiting for a refresh");
      break;
    }
  for (size_t i = 0; rc == 0 && i < n; i++) {
    if ((rc = enqueue(pg, metrics[i], from, to, &q, err)) == 0)
      queued += q;
  }
  for (int64_t before = -1; rc == 0 && res.facts != before;) {
    before = res.facts;
    rc = oc_refresh_step(pg, batch, NULL, &res, err);
  }
  oc_pg_rollback(pg);
  if (rc == 0)
    oc_replay_printf(r,
                     "%zu metric(s): %" PRId64 " fact(s) and row(s) queued; %" PRId64
                     " rollup row(s) would be written and %" PRId64
                     " deleted (dry run: rolled back)",
                     n, queued, res.written, res.deleted);
  return rc;
}

/* Widen d ("YYYY-MM-DD") to the first or last day of its year into out. */
static int widen(const char *d, bool end, char out[11], oc_err_t *err) {
  oc_date_t date;
  int y, m, dd;
  oc_err_t e;
  if (oc_date_parse(d, &date, &e) != 0)
    return oc_err_set(err, OC_ERR_USAGE, "'%s': %s", d, e.msg);
  oc_date_to_ymd(date, &y, &m, &dd);
  if (oc_date_from_ymd(y, end ? 12 : 1, end ? 31 : 1, &date, &e) != 0)
    return oc_err_set(err, OC_ERR_USAGE, "'%s': %s", d, e.msg);
  oc_date_format(date, out);
  return 0;
}

/* The metrics to rebuild: the chosen ones, checked against the catalog, or
 * all of it. *out borrows from *cat or o. */
static int pick_metrics(PGconn *pg, const oc_rebuild_opts_t *o, oc_catalog_t **cat,
                        const char ***out, size_t *n, oc_err_t *err) {
  int rc;
  if ((rc = oc_catalog_load_pg(pg, cat, err)) != 0)
    return rc;
  *n = o->n_metrics ? o->n_metrics : oc_catalog_count(*cat);
  if (!(*out = calloc(*n ? *n : 1, sizeof(**out))))
    return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < *n; i++) {
    if (!o->n_metrics) {
      (*out)[i] = oc_catalog_at(*cat, i)->code;
      continue;
    }
    if (!oc_catalog_find(*cat, o->metrics[i]))
      return oc_err_set(err, OC_ERR_USAGE, "unknown metric '%s' (not in outcomes.metric_catalog)",
                        o->metrics[i]);
    (*out)[i] = o->metrics[i];
  }
  return 0;
}

int oc_replay_rebuild(oc_replay_t *r, const oc_rebuild_opts_t *o, oc_err_t *err) {
  rb_run_t run = {.r = r};
  oc_refresh_hooks_t hooks = {rb_waited, rb_pause, rb_stop, &run};
  PGconn *pg;
  oc_catalog_t *cat = NULL;
  const char **metrics = NULL;
  size_t n = 0;
  char from[11] = "", to[11] = "";
  int64_t batch =
      o->batch_changes > 0 ? o->batch_changes : oc_config_get_int(r->cfg, "rebuild.batch.changes");
  int rc;

  if ((o->has_from && (rc = widen(o->from, false, from, err)) != 0) ||
      (o->has_to && (rc = widen(o->to, true, to, err)) != 0))
    return rc;
  if (o->has_from && o->has_to && strcmp(from, to) > 0)
    return oc_err_set(err, OC_ERR_USAGE, "--from %s is after --to %s", o->from, o->to);
  if ((rc = oc_replay_check_schema(r, OC_STMT_SCHEMA_MIN, err)) != 0 ||
      (rc = oc_replay_pg(r, &pg, err)) != 0 || (rc = oc_apply_prepare(pg, err)) != 0)
    return rc;
  if (o->has_from || o->has_to)
    oc_replay_printf(r, "period %s .. %s (widened to whole years)", o->has_from ? from : "-",
                     o->has_to ? to : "-");
  if ((rc = pick_metrics(pg, o, &cat, &metrics, &n, err)) != 0)
    goto out;
  const char *f = o->has_from ? from : NULL, *t = o->has_to ? to : NULL;
  if (o->dry_run) {
    rc = dry_run(r, pg, metrics, n, f, t, batch, err);
    goto out;
  }
  oc_progress_init(&run.prog, oc_config_get_int(r->cfg, "log.progress.interval"));
  run.n = n;
  for (size_t i = 0; i < n && !oc_replay_stopping(r); i++) {
    oc_refresh_result_t done;
    int64_t queued = 0;
    if ((rc = enqueue(pg, metrics[i], f, t, &queued, err)) == 0) {
      run.metric = metrics[i];
      run.n_queued++;
      run.queued += queued;
      rc = oc_refresh_drain(pg, batch, &hooks, &done, err);
    }
    if (rc != 0) {
      oc_err_prefix(err, "rebuild %s: ", metrics[i]);
      goto out;
    }
    if (queued == 0 && o->n_metrics == 0)
      continue;
    oc_replay_printf(r,
                     "metric %s: %" PRId64 " fact(s) and row(s) queued, %" PRId64
                     " refresh(es): %" PRId64 " rollup row(s) written (inserted or corrected), "
                     "%" PRId64 " deleted",
                     metrics[i], queued, done.runs, done.written, done.deleted);
  }
  rb_progress(&run, true);
out:
  if (rc == 0 && oc_replay_stopping(r))
    rc = oc_err_set(err, OC_ERR_IO,
                    "stopped on request: what is queued stays queued for the daemons' refresh");
  free((void *)metrics);
  oc_catalog_destroy(cat);
  return rc;
}
