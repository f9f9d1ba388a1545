/* migrate.c - SQL migrations; see include/outcomes/migrate.h. The catalog
 * sync that follows them is catalog_sync.c. The statements are the files
 * of schemas/sql/statements/migrate/. */
#include "outcomes/migrate.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate_internal.h"
#include "oc_sql_migrate_statements.h"
#include "outcomes/buf.h"
#include "outcomes/catalog.h"
#include "outcomes/log.h"
#include "outcomes/pg.h"

#ifndef OC_DATADIR
#define OC_DATADIR "/usr/local/share/outcomes"
#endif

#define MIG_FILE_MAX (64u * 1024u * 1024u)
#define MIG_VERSION_DIGITS 4

typedef struct mig_file_s {
  int version;
  char name[OC_MIGRATE_NAME_MAX + 1];
  char file[OC_MIGRATE_NAME_MAX + 16]; /* "0002_tables.sql" */
  char *text;
  size_t len;
  char checksum[33]; /* md5 of the statement text */
  char file_md5[33]; /* md5 of the whole text, as releases before recorded */
  bool upgrade;      /* its row holds an earlier release's checksum */
} mig_file_t;

typedef struct mig_ctx_s {
  PGconn *conn;
  const char *dir;
  const char *owner_role;
  bool dry_run;
  bool warned_owner; /* logged once that owner_role cannot be assumed */
  mig_file_t *files;
  size_t nfiles;
  oc_migrate_report_t *report;
} mig_ctx_t;

const char *oc_migrate_default_sql_dir(void) { return OC_DATADIR "/sql"; }

void oc_migrate_report_init(oc_migrate_report_t *report) {
  if (report)
    memset(report, 0, sizeof(*report));
}

void oc_migrate_report_release(oc_migrate_report_t *report) {
  if (!report)
    return;
  free(report->migrations);
  for (size_t i = 0; i < report->n_cat_removed; i++)
    free(report->cat_removed[i]);
  free(report->cat_removed);
  for (size_t i = 0; i < report->n_cat_diffs; i++)
    free(report->cat_diffs[i]);
  free(report->cat_diffs);
  memset(report, 0, sizeof(*report));
}

/* ---- the directory -------------------------------------------------- */

static void files_free(mig_file_t *files, size_t n) {
  for (size_t i = 0; files && i < n; i++)
    free(files[i].text);
  free(files);
}

/* Parse "NNNN_name.sql". Returns false when the name does not match. */
static bool parse_file_name(const char *fn, int *version, char *name, size_t cap) {
  size_t len = strlen(fn), nlen;
  int v = 0;

  if (len < MIG_VERSION_DIGITS + 1 + 1 + 4 || strcmp(fn + len - 4, ".sql") != 0)
    return false;
  for (int i = 0; i < MIG_VERSION_DIGITS; i++) {
    if (fn[i] < '0' || fn[i] > '9')
      return false;
    v = v * 10 + (fn[i] - '0');
  }
  if (fn[MIG_VERSION_DIGITS] != '_' || v == 0)
    return false;
  nlen = len - 4 - (MIG_VERSION_DIGITS + 1);
  if (nlen == 0 || nlen >= cap)
    return false;
  for (size_t i = 0; i < nlen; i++) {
    char c = fn[MIG_VERSION_DIGITS + 1 + i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return false;
  }
  memcpy(name, fn + MIG_VERSION_DIGITS + 1, nlen);
  name[nlen] = '\0';
  *version = v;
  return true;
}

/* The text of a migration file, NUL-terminated; caller frees *out. */
static int read_text_file(const char *path, char **out, size_t *len_out, oc_err_t *err) {
  oc_buf_t text;
  int rc;

  oc_buf_init(&text, MIG_FILE_MAX);
  if ((rc = oc_buf_read_file(&text, path, err)) == 0)
    *out = oc_buf_detach(&text, len_out);
  oc_buf_release(&text);
  return rc;
}

static int cmp_version(const void *a, const void *b) {
  const mig_file_t *x = a, *y = b;
  if (x->version != y->version)
    return x->version < y->version ? -1 : 1;
  return strcmp(x->file, y->file);
}

static bool only_blank(const char *s) {
  for (; *s; s++)
    if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
      return false;
  return true;
}

/* List, read and check the migration files of dir: every *.sql is
 * NNNN_name.sql, the numbers run 1..n without gaps or duplicates. */
static int scan_dir(mig_ctx_t *cx, oc_err_t *err) {
  DIR *d = NULL;
  struct dirent *de;
  mig_file_t *files = NULL;
  size_t n = 0, cap = 0;
  char path[4096];
  int rc = 0;

  if (!(d = opendir(cx->dir)))
    return oc_err_set(err, OC_ERR_IO, "open directory '%s': %s", cx->dir, strerror(errno));
  while ((errno = 0, de = readdir(d)) != NULL) {
    size_t fl = strlen(de->d_name);
    mig_file_t *f;
    if (de->d_name[0] == '.' || fl < 4 || strcmp(de->d_name + fl - 4, ".sql") != 0)
      continue;
    if (n == cap) {
      mig_file_t *nf;
      cap = cap ? cap * 2 : 16;
      if (!(nf = realloc(files, cap * sizeof(*nf)))) {
        rc = oc_err_set(err, OC_ERR_NOMEM, "%s: out of memory", cx->dir);
        goto out;
      }
      files = nf;
    }
    f = &files[n];
    memset(f, 0, sizeof(*f));
    if (fl >= sizeof(f->file) ||
        !parse_file_name(de->d_name, &f->version, f->name, sizeof(f->name))) {
      rc = oc_err_set(err, OC_ERR_CONFIG,
                      "%s/%.200s: not a migration file name (expected NNNN_name.sql, "
                      "name of [A-Za-z0-9_-], number from 0001)",
                      cx->dir, de->d_name);
      goto out;
    }
    memcpy(f->file, de->d_name, fl + 1);
    n++;
  }
  if (errno) {
    rc = oc_err_set(err, OC_ERR_IO, "read directory '%s': %s", cx->dir, strerror(errno));
    goto out;
  }
  if (n > 1)
    qsort(files, n, sizeof(*files), cmp_version);
  for (size_t i = 0; i < n; i++) {
    if (i > 0 && files[i].version == files[i - 1].version) {
      rc = oc_err_set(err, OC_ERR_CONFIG, "%s: duplicate migration number %04d: %s and %s", cx->dir,
                      files[i].version, files[i - 1].file, files[i].file);
      goto out;
    }
    if (files[i].version != (int)i + 1) {
      if (i == 0)
        rc = oc_err_set(err, OC_ERR_CONFIG, "%s: missing migration 0001 (the first file is %s)",
                        cx->dir, files[i].file);
      else
        rc = oc_err_set(err, OC_ERR_CONFIG, "%s: missing migration %04zu (between %s and %s)",
                        cx->dir, i + 1, files[i - 1].file, files[i].file);
      goto out;
    }
  }
  for (size_t i = 0; i < n; i++) {
    snprintf(path, sizeof(path), "%s/%s", cx->dir, files[i].file);
    if ((rc = read_text_file(path, &files[i].text, &files[i].len, err)) < 0)
      goto out;
    if (memchr(files[i].text, '\0', files[i].len)) {
      rc = oc_err_set(err, OC_ERR_CONFIG, "%s: contains a NUL byte", path);
      goto out;
    }
    if (only_blank(files[i].text)) {
      rc = oc_err_set(err, OC_ERR_CONFIG, "%s: is empty", path);
      goto out;
    }
  }
  cx->files = files;
  cx->nfiles = n;
  files = NULL;
out:
  if (d)
    closedir(d);
  files_free(files, n);
  return rc;
}

/* ---- helpers on the connection ------------------------------------- */

int oc_migrate_regclass_exists(PGconn *conn, const char *relname, bool *exists, oc_err_t *err) {
  char oid[32];
  bool is_null = true;
  const char *params[1] = {relname};
  int rc = oc_pg_query_value_what(conn, oc_sql_regclass_exists, "regclass_exists", 1, params, oid,
                                  sizeof(oid), &is_null, err);
  *exists = rc == 0 && !is_null;
  return rc;
}

/* Whether cx->owner_role exists and the connected user may SET ROLE to it. */
static int owner_usable(mig_ctx_t *cx, bool *usable, oc_err_t *err) {
  const char *params[1] = {cx->owner_role};
  PGresult *res = NULL;
  int rc;

  *usable = false;
  rc = oc_pg_exec_params_what(cx->conn, oc_sql_role_usable, "role_usable", 1, params, &res, err);
  if (rc < 0)
    goto out;
  bool exists = PQgetvalue(res, 0, 0)[0] == 't';
  *usable = exists && PQgetvalue(res, 0, 1)[0] == 't';
  if (exists && !*usable && !cx->warned_owner) {
    oc_log_warn("migrate_owner_role_unavailable role=%s user=%s: not a member; migrations "
                "run as %s and the objects they create belong to it",
                cx->owner_role, PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 2));
    cx->warned_owner = true;
  }
out:
  PQclear(res);
  return rc;
}

int oc_migrate_set_local_role(PGconn *conn, const char *role, oc_err_t *err) {
  const char *params[1] = {role};
  return oc_pg_exec_params_what(conn, oc_sql_role_set_local, "role_set_local", 1, params, NULL,
                                err);
}

/* Line of the 1-based character position pos (a PostgreSQL error cursor)
 * in UTF-8 text. */
static unsigned line_of_position(const char *text, long pos) {
  unsigned line = 1;
  long chars = 0;
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
    if ((*p & 0xc0) == 0x80)
      continue;
    if (++chars >= pos)
      break;
    if (*p == '\n')
      line++;
  }
  return line;
}

/* ---- migrations ----------------------------------------------------- */

static int bootstrap(PGconn *conn, oc_err_t *err) {
  return oc_pg_exec_what(conn, oc_sql_migrations_bootstrap, "bootstrap outcomes.schema_migrations",
                         err);
}

/* Both checksums of every file: of its statements, and of its whole text. */
static int compute_checksums(mig_ctx_t *cx, oc_err_t *err) {
  oc_buf_t stmts;
  PGresult *res = NULL;
  int rc = 0;

  oc_buf_init(&stmts, MIG_FILE_MAX);
  for (size_t i = 0; i < cx->nfiles && rc == 0; i++) {
    mig_file_t *f = &cx->files[i];
    oc_buf_reset(&stmts);
    oc_migrate_statement_text(f->text, f->len, &stmts);
    oc_buf_putc(&stmts, '\0'); /* p stays a string when nothing was appended */
    if (stmts.failed) {
      rc = oc_err_set(err, OC_ERR_NOMEM, "%s/%s: checksum: out of memory", cx->dir, f->file);
      break;
    }
    const char *params[2] = {stmts.p, f->text};
    rc = oc_pg_exec_params_what(cx->conn, oc_sql_migrations_checksums, "migrations_checksums", 2,
                                params, &res, err);
    if (rc < 0) {
      if (err && !err->retriable && !err->fatal)
        cx->report->failed_version = f->version; /* e.g. not UTF-8 */
      oc_err_prefix(err, "%s/%s: checksum: ", cx->dir, f->file);
      break;
    }
    snprintf(f->checksum, sizeof(f->checksum), "%s", PQgetvalue(res, 0, 0));
    snprintf(f->file_md5, sizeof(f->file_md5), "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    res = NULL;
  }
  oc_buf_release(&stmts);
  return rc;
}

/* Whether sum, recorded for f by an earlier release as the md5 of the whole
 * file, belongs to a file with f's statements. */
static bool earlier_checksum(const mig_file_t *f, const char *sum) {
  size_t n;
  const oc_migrate_legacy_sum_t *l = oc_migrate_legacy_sums(&n);

  if (strcmp(f->file_md5, sum) == 0)
    return true;
  for (size_t i = 0; i < n; i++)
    if (l[i].version == f->version && strcmp(l[i].name, f->name) == 0 &&
        strcmp(l[i].file_md5, sum) == 0 && strcmp(l[i].statements_md5, f->checksum) == 0)
      return true;
  return false;
}

/* Rewrite the rows reconcile found holding an earlier release's checksum
 * to the statement checksum, in one transaction. */
static int upgrade_checksums(mig_ctx_t *cx, oc_err_t *err) {
  bool as_owner = false;
  int rc;

  if (cx->dry_run || cx->report->n_upgraded == 0)
    return 0;
  if ((rc = owner_usable(cx, &as_owner, err)) < 0 || (rc = oc_pg_exec(cx->conn, "BEGIN", err)) < 0)
    goto out;
  if (as_owner && (rc = oc_migrate_set_local_role(cx->conn, cx->owner_role, err)) < 0)
    goto out;
  for (size_t i = 0; i < cx->nfiles; i++) {
    const mig_file_t *f = &cx->files[i];
    char version[16], updated[16];
    const char *params[2] = {version, f->checksum};
    if (!f->upgrade)
      continue;
    snprintf(version, sizeof(version), "%d", f->version);
    rc = oc_pg_query_value_what(cx->conn, oc_sql_migrations_checksum_upgrade,
                                "migrations_checksum_upgrade", 2, params, updated, sizeof(updated),
                                NULL, err);
    if (rc < 0)
      goto out;
    if (strcmp(updated, "1") != 0) {
      rc = oc_err_set(err, OC_ERR_INTERNAL, "%s/%s: checksum row vanished", cx->dir, f->file);
      goto out;
    }
    oc_log_info("migration_checksum_upgraded version=%d name=%s checksum=%s", f->version, f->name,
                f->checksum);
  }
  rc = oc_pg_exec(cx->conn, "COMMIT", err);
out:
  if (rc < 0)
    oc_pg_rollback(cx->conn);
  return rc;
}

/* Compare the applied rows with the files; fill the report's list. */
static int reconcile(mig_ctx_t *cx, bool table_exists, oc_err_t *err) {
  oc_migrate_report_t *r = cx->report;
  PGresult *res = NULL;
  int max_applied = 0, rc = 0;

  r->migrations = calloc(cx->nfiles ? cx->nfiles : 1, sizeof(*r->migrations));
  if (!r->migrations)
    return oc_err_set(err, OC_ERR_NOMEM, "migrate: out of memory");
  r->n_migrations = cx->nfiles;
  for (size_t i = 0; i < cx->nfiles; i++) {
    oc_migration_info_t *m = &r->migrations[i];
    m->version = cx->files[i].version;
    memcpy(m->name, cx->files[i].name, sizeof(m->name));
    memcpy(m->checksum, cx->files[i].checksum, sizeof(m->checksum));
    m->state = OC_MIGRATION_PENDING;
  }
  if (!table_exists)
    return 0;
  rc = oc_pg_exec_params_what(cx->conn, oc_sql_migrations_read, "migrations_read", 0, NULL, &res,
                              err);
  if (rc < 0)
    goto out;
  for (int row = 0; row < PQntuples(res); row++) {
    int v = atoi(PQgetvalue(res, row, 0));
    const char *name = PQgetvalue(res, row, 1), *sum = PQgetvalue(res, row, 2);
    if (v < 1 || (size_t)v > cx->nfiles) {
      rc = oc_err_set(err, OC_ERR_CONFIG,
                      "%s: the database has migration %04d_%s applied but there is no file "
                      "for it (a newer release migrated this database?)",
                      cx->dir, v, name);
      goto out;
    }
    mig_file_t *f = &cx->files[v - 1];
    if (strcmp(f->name, name) != 0) {
      rc = oc_err_set(err, OC_ERR_CONFIG,
                      "%s/%s: migration %04d was applied as %04d_%s.sql; a file may not be "
                      "renamed after it was applied",
                      cx->dir, f->file, v, v, name);
      goto out;
    }
    if (strcmp(f->checksum, sum) != 0) {
      if (!earlier_checksum(f, sum)) {
        rc = oc_err_set(err, OC_ERR_CONFIG,
                        "%s/%s: changed after it was applied (checksum %s, applied %s); "
                        "restore it and add a new migration instead",
                        cx->dir, f->file, f->checksum, sum);
        goto out;
      }
      f->upgrade = true;
      r->migrations[v - 1].checksum_upgraded = true;
      r->n_upgraded++;
    }
    r->migrations[v - 1].state = OC_MIGRATION_APPLIED;
    snprintf(r->migrations[v - 1].applied_at, sizeof(r->migrations[v - 1].applied_at), "%s",
             PQgetvalue(res, row, 3));
    if (v > max_applied)
      max_applied = v;
  }
  for (size_t i = 0; i < cx->nfiles; i++) {
    if (r->migrations[i].state == OC_MIGRATION_PENDING && (int)i + 1 < max_applied) {
      rc = oc_err_set(err, OC_ERR_CONFIG,
                      "%s/%s: not applied, but the later migration %04d is; the database "
                      "was migrated from another set of files",
                      cx->dir, cx->files[i].file, max_applied);
      goto out;
    }
  }
out:
  PQclear(res);
  return rc;
}

/* Report a failed migration script as "<dir>/<file>:<line>: ...". */
static int script_err(mig_ctx_t *cx, const mig_file_t *f, const PGresult *res, oc_err_t *err) {
  const char *pos = res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
  char what[4200];

  if (pos && atol(pos) > 0)
    snprintf(what, sizeof(what), "%s/%s:%u", cx->dir, f->file,
             line_of_position(f->text, atol(pos)));
  else
    snprintf(what, sizeof(what), "%s/%s", cx->dir, f->file);
  cx->report->failed_version = f->version;
  return oc_pg_result_err(cx->conn, res, what, err);
}

static int apply_one(mig_ctx_t *cx, size_t i, oc_err_t *err) {
  mig_file_t *f = &cx->files[i];
  oc_migration_info_t *info = &cx->report->migrations[i];
  char version[16], applied_at[40];
  const char *params[3] = {version, f->name, f->checksum};
  PGresult *res = NULL;
  bool as_owner = false;
  int rc;

  if (f->version > 1 && (rc = owner_usable(cx, &as_owner, err)) < 0)
    goto out;
  if ((rc = oc_pg_exec(cx->conn, "BEGIN", err)) < 0)
    goto out;
  if (as_owner && (rc = oc_migrate_set_local_role(cx->conn, cx->owner_role, err)) < 0)
    goto out;
  res = PQexec(cx->conn, f->text);
  if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
    rc = script_err(cx, f, res, err);
    goto out;
  }
  PQclear(res);
  res = NULL;
  if (PQtransactionStatus(cx->conn) != PQTRANS_INTRANS) {
    cx->report->failed_version = f->version;
    rc = oc_err_set(err, OC_ERR_CONFIG,
                    "%s/%s: ended the migration's transaction (COMMIT or ROLLBACK in the "
                    "file?); it may be partly applied and is not recorded",
                    cx->dir, f->file);
    goto out;
  }
  if ((rc = oc_pg_exec(cx->conn, "RESET ROLE", err)) < 0)
    goto out;
  snprintf(version, sizeof(version), "%d", f->version);
  rc = oc_pg_query_value_what(cx->conn, oc_sql_migrations_record, "migrations_record", 3, params,
                              applied_at, sizeof(applied_at), NULL, err);
  if (rc < 0)
    goto out;
  if ((rc = oc_pg_exec(cx->conn, "COMMIT", err)) < 0)
    goto out;
  info->state = OC_MIGRATION_NEW;
  info->as_owner = as_owner;
  memcpy(info->applied_at, applied_at, sizeof(info->applied_at));
  cx->report->n_new++;
  oc_log_info("migration_applied version=%d name=%s checksum=%s role=%s", f->version, f->name,
              f->checksum, as_owner ? cx->owner_role : "session");
out:
  PQclear(res);
  if (rc < 0) {
    oc_pg_rollback(cx->conn);
    if (!cx->report->failed_version && rc == OC_ERR_PG)
      oc_err_prefix(err, "%s/%s: ", cx->dir, f->file);
  }
  return rc;
}

/* ---- the catalog --------------------------------------------------- */

static int sync_catalog(mig_ctx_t *cx, const char *path, oc_err_t *err) {
  bool as_owner = false;
  int rc;
  if (!cx->dry_run && (rc = owner_usable(cx, &as_owner, err)) < 0)
    return rc;
  return oc_migrate_sync_catalog(cx->conn, cx->dir, path, cx->dry_run,
                                 as_owner ? cx->owner_role : NULL, cx->report, err);
}

/* ---- the run -------------------------------------------------------- */

int oc_migrate_run(PGconn *conn, const char *sql_dir, const char *catalog_path,
                   const oc_migrate_opts_t *opts, oc_migrate_report_t *report, oc_err_t *err) {
  oc_migrate_report_t local;
  mig_ctx_t cx;
  bool locked = false, exists = false;
  int rc = 0;

  oc_migrate_report_init(&local);
  memset(&cx, 0, sizeof(cx));
  cx.conn = conn;
  cx.dir = sql_dir ? sql_dir : oc_migrate_default_sql_dir();
  cx.owner_role = opts && opts->owner_role ? opts->owner_role : OC_MIGRATE_OWNER_ROLE;
  cx.dry_run = opts && opts->dry_run;
  cx.report = report ? report : &local;
  if (!catalog_path)
    catalog_path = oc_catalog_default_path();

  if (!conn)
    return oc_err_set(err, OC_ERR_USAGE, "migrate: no connection");
  if (PQtransactionStatus(conn) != PQTRANS_IDLE)
    return oc_err_set(err, OC_ERR_USAGE, "migrate: the connection is inside a transaction");
  if ((rc = scan_dir(&cx, err)) < 0)
    goto out;
  if ((rc = oc_pg_exec_what(conn, oc_sql_migrations_lock, "migrations_lock", err)) < 0)
    goto out;
  locked = true;
  if ((rc = compute_checksums(&cx, err)) < 0)
    goto out;
  if ((rc = oc_migrate_regclass_exists(conn, "outcomes.schema_migrations", &exists, err)) < 0)
    goto out;
  if (!exists && !cx.dry_run) {
    if ((rc = bootstrap(conn, err)) < 0)
      goto out;
    exists = true;
  }
  if ((rc = reconcile(&cx, exists, err)) < 0)
    goto out;
  if ((rc = upgrade_checksums(&cx, err)) < 0)
    goto out;
  for (size_t i = 0; i < cx.nfiles; i++) {
    if (cx.report->migrations[i].state != OC_MIGRATION_PENDING)
      continue;
    if (cx.dry_run) {
      cx.report->migrations[i].state = OC_MIGRATION_NEW;
      cx.report->n_new++;
      continue;
    }
    if ((rc = apply_one(&cx, i, err)) < 0)
      goto out;
  }
  if (!(opts && opts->skip_catalog) && (rc = sync_catalog(&cx, catalog_path, err)) < 0)
    goto out;
out:
  if (locked && PQstatus(conn) == CONNECTION_OK) {
    oc_pg_rollback(conn);
    oc_pg_exec_what(conn, oc_sql_migrations_unlock, "migrations_unlock", NULL);
  }
  files_free(cx.files, cx.nfiles);
  oc_migrate_report_release(&local);
  return rc;
}
