/* catalog_sync.c - the catalog file into outcomes.metric_catalog, and what
 * differs between them (outcomes-migrate, --dry-run, --status, --check);
 * see include/outcomes/migrate.h. The statements are the files of
 * schemas/sql/statements/migrate/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate_internal.h"
#include "oc_sql_migrate_statements.h"
#include "outcomes/buf.h"
#include "outcomes/catalog.h"
#include "outcomes/log.h"
#include "outcomes/pg.h"

/* The columns of catalog_read.sql. */
enum { R_CODE, R_NAME, R_UNIT, R_KIND, R_DIRECTION, R_MIN, R_MAX, R_SEED, R_DESC, R_URL };

/* Row of res (ordered by code, bytewise) whose code is code; -1 if none. */
static int find_row(const PGresult *res, const char *code) {
  int lo = 0, hi = PQntuples(res) - 1;
  while (lo <= hi) {
    int mid = lo + (hi - lo) / 2;
    int c = strcmp(code, PQgetvalue(res, mid, R_CODE));
    if (c == 0)
      return mid;
    if (c < 0)
      hi = mid - 1;
    else
      lo = mid + 1;
  }
  return -1;
}

/* ---- the differences ------------------------------------------------ */

static int note(char ***v, size_t *n, const char *s, oc_err_t *err) {
  char **nv = realloc(*v, (*n + 1) * sizeof(*nv));
  if (!nv)
    return oc_err_set(err, OC_ERR_NOMEM, "migrate: out of memory");
  *v = nv;
  if (!(nv[*n] = strdup(s)))
    return oc_err_set(err, OC_ERR_NOMEM, "migrate: out of memory");
  (*n)++;
  return 0;
}

/* s as a double-quoted string, '"' and '\' escaped. */
static void put_quoted(oc_buf_t *b, const char *s) {
  oc_buf_putc(b, '"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      oc_buf_putc(b, '\\');
    oc_buf_putc(b, *s);
  }
  oc_buf_putc(b, '"');
}

/* The file's value of column col of m, and the table's of row, as they
 * are printed: text quoted (NULL as ""), numbers with %.17g. Equal when
 * the two texts are. */
static void col_values(const oc_metric_t *m, const PGresult *res, int row, oc_metric_col_t col,
                       oc_buf_t *file, oc_buf_t *db) {
  static const int rcol[OC_COL_COUNT] = {
      [OC_COL_CODE] = R_CODE,       [OC_COL_NAME] = R_NAME,           [OC_COL_UNIT] = R_UNIT,
      [OC_COL_KIND] = R_KIND,       [OC_COL_DIRECTION] = R_DIRECTION, [OC_COL_MIN] = R_MIN,
      [OC_COL_MAX] = R_MAX,         [OC_COL_SEED] = R_SEED,           [OC_COL_DESCRIPTION] = R_DESC,
      [OC_COL_MEASURE_URL] = R_URL,
  };
  const char *dbv = PQgetvalue(res, row, rcol[col]); /* "" when NULL */
  const char *fv = NULL;

  oc_buf_reset(file);
  oc_buf_reset(db);
  switch (col) {
  case OC_COL_MIN:
  case OC_COL_MAX:
    oc_buf_printf(file, "%.17g", col == OC_COL_MIN ? m->min : m->max);
    if (PQgetisnull(res, row, rcol[col]))
      oc_buf_puts(db, "NULL");
    else
      oc_buf_printf(db, "%.17g", strtod(dbv, NULL));
    return;
  case OC_COL_CODE: fv = m->code; break;
  case OC_COL_NAME: fv = m->name; break;
  case OC_COL_UNIT: fv = m->unit; break;
  case OC_COL_KIND: fv = oc_kind_name(m->kind); break;
  case OC_COL_DIRECTION: fv = oc_direction_name(m->direction); break;
  case OC_COL_SEED: fv = m->seed; break;
  case OC_COL_DESCRIPTION: fv = m->description; break;
  case OC_COL_MEASURE_URL: fv = m->measure_url; break;
  case OC_COL_COUNT: break;
  }
  put_quoted(file, fv ? fv : "");
  put_quoted(db, dbv);
}

/* Note "code: column: file X vs database Y" for each column where m and
 * row differ; *changed tells whether any does. */
static int compare_row(const oc_metric_t *m, const PGresult *res, int row, oc_migrate_report_t *r,
                       bool *changed, oc_err_t *err) {
  oc_buf_t file, db, line;
  int rc = 0;

  *changed = false;
  oc_buf_init(&file, 0);
  oc_buf_init(&db, 0);
  oc_buf_init(&line, 0);
  for (int c = OC_COL_NAME; c < OC_COL_COUNT && rc == 0; c++) {
    col_values(m, res, row, (oc_metric_col_t)c, &file, &db);
    if (file.failed || db.failed) {
      rc = oc_err_set(err, OC_ERR_NOMEM, "migrate: out of memory");
      break;
    }
    if (strcmp(file.p, db.p) == 0)
      continue;
    *changed = true;
    oc_buf_reset(&line);
    oc_buf_printf(&line, "%s: %s: file %s vs database %s", m->code,
                  oc_metric_col_name((oc_metric_col_t)c), file.p, db.p);
    rc = line.failed ? oc_err_set(err, OC_ERR_NOMEM, "migrate: out of memory")
                     : note(&r->cat_diffs, &r->n_cat_diffs, line.p, err);
  }
  oc_buf_release(&file);
  oc_buf_release(&db);
  oc_buf_release(&line);
  return rc;
}

static int note_side(oc_migrate_report_t *r, const char *code, const char *side, oc_err_t *err) {
  char line[OC_METRIC_CODE_MAX + 64];
  snprintf(line, sizeof(line), "%s: only in the %s", code, side);
  return note(&r->cat_diffs, &r->n_cat_diffs, line, err);
}

/* ---- the sync ------------------------------------------------------- */

/* Insert or update m; has_url: the table has measure_url (migration 0008),
 * else the statement of the tables before it. */
static int upsert_metric(PGconn *conn, const oc_metric_t *m, bool has_url, oc_err_t *err) {
  char min[40], max[40];
  const char *params[10] = {m->code,
                            m->name,
                            m->unit,
                            oc_kind_name(m->kind),
                            oc_direction_name(m->direction),
                            min,
                            max,
                            m->seed ? m->seed : "",
                            m->description ? m->description : "",
                            m->measure_url ? m->measure_url : ""};
  int rc;

  snprintf(min, sizeof(min), "%.17g", m->min);
  snprintf(max, sizeof(max), "%.17g", m->max);
  if (has_url)
    rc = oc_pg_exec_params_what(conn, oc_sql_catalog_upsert, "catalog_upsert", 10, params, NULL,
                                err);
  else if (params[9][0])
    rc = oc_err_set(err, OC_ERR_CONFIG,
                    "measure_url: outcomes.metric_catalog has no such column before migration "
                    "0008");
  else
    rc = oc_pg_exec_params_what(conn, oc_sql_catalog_upsert_0002, "catalog_upsert_0002", 9, params,
                                NULL, err);
  if (rc < 0)
    oc_err_prefix(err, "metric '%s': ", m->code);
  return rc;
}

int oc_migrate_sync_catalog(PGconn *conn, const char *dir, const char *path, bool dry_run,
                            const char *role, oc_migrate_report_t *r, oc_err_t *err) {
  oc_catalog_t *cat = NULL;
  PGresult *res = NULL;
  bool exists = false, has_url = false;
  int rc;

  if ((rc = oc_catalog_load_file(path, &cat, err)) < 0)
    goto out;
  if ((rc = oc_migrate_regclass_exists(conn, "outcomes.metric_catalog", &exists, err)) < 0)
    goto out;
  if (!exists && !dry_run) {
    rc = oc_err_set(err, OC_ERR_CONFIG,
                    "%s: no migration creates outcomes.metric_catalog: cannot load %s", dir, path);
    goto out;
  }
  if (!dry_run) {
    if ((rc = oc_pg_exec(conn, "BEGIN", err)) < 0)
      goto out;
    if (role && (rc = oc_migrate_set_local_role(conn, role, err)) < 0)
      goto out;
    if ((rc = oc_pg_exec_what(conn, oc_sql_catalog_lock, "catalog_lock", err)) < 0)
      goto out;
  }
  if (exists && (rc = oc_pg_exec_params_what(conn, oc_sql_catalog_read, "catalog_read", 0, NULL,
                                             &res, err)) < 0)
    goto out;
  if (exists && !dry_run) {
    PGresult *col = NULL;
    if ((rc = oc_pg_exec_params_what(conn, oc_sql_catalog_has_measure_url,
                                     "catalog_has_measure_url", 0, NULL, &col, err)) < 0)
      goto out;
    has_url = PQntuples(col) == 1 && PQgetvalue(col, 0, 0)[0] == 't';
    PQclear(col);
  }
  for (size_t i = 0; i < oc_catalog_count(cat); i++) {
    const oc_metric_t *m = oc_catalog_at(cat, i);
    int row = res ? find_row(res, m->code) : -1;
    bool changed = false;
    if (row < 0)
      rc = note_side(r, m->code, "file", err);
    else
      rc = compare_row(m, res, row, r, &changed, err);
    if (rc < 0)
      goto out;
    if (row >= 0 && !changed) {
      r->cat_unchanged++;
      continue;
    }
    if (row >= 0)
      r->cat_updated++;
    else
      r->cat_inserted++;
    if (!dry_run && (rc = upsert_metric(conn, m, has_url, err)) < 0)
      goto out;
    oc_log_debug("catalog_metric_%s code=%s", row >= 0 ? "updated" : "inserted", m->code);
  }
  for (int row = 0; res && row < PQntuples(res); row++) {
    const char *code = PQgetvalue(res, row, R_CODE);
    if (oc_catalog_find(cat, code))
      continue;
    if ((rc = note(&r->cat_removed, &r->n_cat_removed, code, err)) < 0 ||
        (rc = note_side(r, code, "database", err)) < 0)
      goto out;
    oc_log(dry_run ? LOG_DEBUG : LOG_WARNING,
           "catalog_metric_not_in_file code=%s file=%s: kept in outcomes.metric_catalog", code,
           path);
  }
  if (!dry_run && (rc = oc_pg_exec(conn, "COMMIT", err)) < 0)
    goto out;
  r->catalog_synced = true;
  oc_log_info("catalog_synced file=%s inserted=%zu updated=%zu unchanged=%zu "
              "not_in_file=%zu dry_run=%d",
              path, r->cat_inserted, r->cat_updated, r->cat_unchanged, r->n_cat_removed,
              (int)dry_run);
out:
  PQclear(res);
  if (rc < 0 && !dry_run)
    oc_pg_rollback(conn);
  oc_catalog_destroy(cat);
  return rc;
}
