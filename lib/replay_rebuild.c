/* replay_rebuild.c - rollups recomputed from facts, online, with the
 * daemon's own recomputation (rollup.h); see include/outcomes/replay.h.
 *
 * The daemon recomputes the groups touched by the fact identities staged in
 * its session table oc_stage. Rebuild stages, per batch of organisations of
 * one metric, every fact identity in the period and the key of every rollup
 * row in the period (facility and org rows as (org, facility, fact grain,
 * bucket start); all-orgs rows under the organisation ''), so that groups
 * that lost their facts are recomputed too, i.e. deleted. The facility
 * level is computed from facts, the org level from the facility rows and
 * the all level from the org rows, in that order in every batch: the last
 * batch that touches a parent recomputes it from children that are all
 * rebuilt, hence the result is the one incremental maintenance gives.
 * The period is widened to whole years so that every bucket of every grain
 * except ISO weeks that straddle a new year lies wholly inside it: such a
 * week is recomputed from its facts at the facility level and from its
 * facility rows as they stand at the levels above. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes/apply.h"
#include "outcomes/pg.h"
#include "outcomes/record.h"
#include "outcomes/rollup.h"
#include "replay_internal.h"

/* $1 metric, $2 from, $3 to (dates or NULL). '' (the all-orgs rows) last. */
static const char sql_orgs[] =
    "SELECT org_id FROM ("
    " SELECT DISTINCT org_id FROM outcomes.facts WHERE metric = $1"
    "  AND ($2::date IS NULL OR period_start >= $2::date)"
    "  AND ($3::date IS NULL OR period_start <= $3::date)"
    " UNION"
    " SELECT DISTINCT org_id FROM outcomes.rollups WHERE metric = $1"
    "  AND ($2::date IS NULL OR bucket_start >= $2::date)"
    "  AND ($3::date IS NULL OR bucket_start <= $3::date)"
    ") u ORDER BY org_id = '', org_id";

/* $4 the batch's organisations. */
static const char sql_stage[] =
    "INSERT INTO oc_stage (metric, org_id, facility_id, grain, period_start, retracted,"
    " src_topic, src_partition, src_offset, barrier_offset, visible_changed)"
    " SELECT DISTINCT metric, org_id, facility_id, grain, period_start, false, '', 0, 0, -1, true"
    " FROM ("
    "  SELECT metric, org_id, facility_id, grain, period_start FROM outcomes.facts"
    "  WHERE metric = $1 AND org_id = ANY ($4::text[])"
    "   AND ($2::date IS NULL OR period_start >= $2::date)"
    "   AND ($3::date IS NULL OR period_start <= $3::date)"
    "  UNION ALL"
    "  SELECT metric, org_id, facility_id, fact_grain, bucket_start FROM outcomes.rollups"
    "  WHERE metric = $1 AND org_id = ANY ($4::text[])"
    "   AND ($2::date IS NULL OR bucket_start >= $2::date)"
    "   AND ($3::date IS NULL OR bucket_start <= $3::date)"
    " ) s";

/* Rows this transaction inserted or changed: the upserts set updated_at to
 * now(), the transaction's start time, only when a value differs. */
static const char sql_written[] =
    "SELECT count(*) FROM outcomes.rollups WHERE metric = $1 AND updated_at = now()";

static void rollback(PGconn *pg) {
  if (PQstatus(pg) == CONNECTION_OK && PQtransactionStatus(pg) != PQTRANS_IDLE)
    PQclear(PQexec(pg, "ROLLBACK"));
}

/* A PostgreSQL text[] literal of orgs[from..to), quoted and escaped. Caller
 * frees. NULL on allocation failure. */
static char *text_array(char *const *orgs, size_t from, size_t to) {
  size_t cap = 3;
  for (size_t i = from; i < to; i++)
    cap += 2 * strlen(orgs[i]) + 3;
  char *s = malloc(cap), *w = s;
  if (!s)
    return NULL;
  *w++ = '{';
  for (size_t i = from; i < to; i++) {
    if (i > from)
      *w++ = ',';
    *w++ = '"';
    for (const char *p = orgs[i]; *p; p++) {
      if (*p == '"' || *p == '\\')
        *w++ = '\\';
      *w++ = *p;
    }
    *w++ = '"';
  }
  *w++ = '}';
  *w = '\0';
  return s;
}

static int64_t written(PGconn *pg, const char *metric, oc_err_t *err, int *rc) {
  char buf[32];
  const char *v[1] = {metric};
  if ((*rc = oc_pg_query_value(pg, sql_written, 1, v, buf, sizeof(buf), NULL, err)) != 0)
    return 0;
  return strtoll(buf, NULL, 10);
}

/* One metric: its organisations in batches. quiet_empty: no line for a
 * metric with nothing in the period. */
static int rebuild_metric(oc_replay_t *r, PGconn *pg, const char *metric, const char *from,
                          const char *to, int64_t batch, bool dry_run, bool quiet_empty,
                          oc_err_t *err) {
  PGresult *res = NULL;
  char **orgs = NULL;
  char *arr = NULL;
  size_t n = 0, batches = 0;
  int64_t total = 0;
  int rc;
  const char *v[4] = {metric, from, to, NULL};

  if ((rc = oc_pg_exec_params(pg, sql_orgs, 3, v, &res, err)) != 0)
    goto out;
  n = (size_t)PQntuples(res);
  if (!(orgs = calloc(n ? n : 1, sizeof(char *)))) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < n; i++)
    orgs[i] = PQgetvalue(res, (int)i, 0); /* borrowed from res */
  if (dry_run && n && (rc = oc_pg_exec_what(pg, "BEGIN", "begin", err)) != 0)
    goto out;
  for (size_t i = 0; i < n && !oc_replay_stopping(r); i += (size_t)batch, batches++) {
    size_t end = i + (size_t)batch < n ? i + (size_t)batch : n;
    free(arr);
    if (!(arr = text_array(orgs, i, end))) {
      rc = oc_err_set(err, OC_ERR_NOMEM, "out of memory");
      goto out;
    }
    v[3] = arr;
    if (!dry_run && (rc = oc_pg_exec_what(pg, "BEGIN", "begin", err)) != 0)
      goto out;
    if ((rc = oc_pg_exec_what(pg, "DELETE FROM oc_stage", "clear stage", err)) != 0 ||
        (rc = oc_pg_exec_params(pg, sql_stage, 4, v, NULL, err)) != 0 ||
        (rc = oc_rollup_recompute(pg, err)) != 0)
      goto out;
    if (!dry_run) {
      int64_t w = written(pg, metric, err, &rc);
      if (rc != 0 || (rc = oc_pg_exec_what(pg, "COMMIT", "commit", err)) != 0)
        goto out;
      total += w;
    }
  }
  if (dry_run && n) {
    total = written(pg, metric, err, &rc);
    if (rc != 0 || (rc = oc_pg_exec_what(pg, "ROLLBACK", "rollback", err)) != 0)
      goto out;
  }
  if (n == 0 && quiet_empty)
    goto out;
  oc_replay_printf(r, "metric %s: %zu organisation(s) in %zu batch(es), %" PRId64
                   " rollup row(s) %s",
                   metric, n, batches, total,
                   dry_run ? "would be written (dry run: rolled back)" : "written (inserted or corrected)");
out:
  if (rc != 0)
    rollback(pg);
  PQclear(res);
  free(orgs);
  free(arr);
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

int oc_replay_rebuild(oc_replay_t *r, const oc_rebuild_opts_t *o, oc_err_t *err) {
  PGconn *pg;
  PGresult *res = NULL;
  char from[11] = "", to[11] = "";
  int64_t batch = o->batch_orgs > 0 ? o->batch_orgs : oc_config_get_int(r->cfg, "rebuild.batch.orgs");
  int rc;

  if ((o->has_from && (rc = widen(o->from, false, from, err)) != 0) ||
      (o->has_to && (rc = widen(o->to, true, to, err)) != 0))
    return rc;
  if (o->has_from && o->has_to && strcmp(from, to) > 0)
    return oc_err_set(err, OC_ERR_USAGE, "--from %s is after --to %s", o->from, o->to);
  if ((rc = oc_replay_check_schema(r, 2, err)) != 0 || (rc = oc_replay_pg(r, &pg, err)) != 0 ||
      (rc = oc_apply_prepare(pg, err)) != 0)
    return rc;
  if (o->has_from || o->has_to)
    oc_replay_printf(r, "period %s .. %s (widened to whole years)", o->has_from ? from : "-",
                     o->has_to ? to : "-");
  if ((rc = oc_pg_exec_params(pg, "SELECT code FROM outcomes.metric_catalog ORDER BY code", 0,
                              NULL, &res, err)) != 0)
    goto out;
  for (size_t i = 0; i < o->n_metrics; i++) {
    bool found = false;
    for (int k = 0; k < PQntuples(res) && !found; k++)
      found = strcmp(PQgetvalue(res, k, 0), o->metrics[i]) == 0;
    if (!found) {
      rc = oc_err_set(err, OC_ERR_USAGE, "unknown metric '%s' (not in outcomes.metric_catalog)",
                      o->metrics[i]);
      goto out;
    }
  }
  size_t n = o->n_metrics ? o->n_metrics : (size_t)PQntuples(res);
  for (size_t i = 0; i < n && !oc_replay_stopping(r); i++) {
    const char *metric = o->n_metrics ? o->metrics[i] : PQgetvalue(res, (int)i, 0);
    if ((rc = rebuild_metric(r, pg, metric, o->has_from ? from : NULL, o->has_to ? to : NULL,
                             batch, o->dry_run, o->n_metrics == 0, err)) != 0) {
      oc_err_prefix(err, "rebuild %s: ", metric);
      goto out;
    }
  }
  if (oc_replay_stopping(r))
    rc = oc_err_set(err, OC_ERR_IO, "stopped on request: the batches committed stay; re-run");
out:
  PQclear(res);
  return rc;
}
