/*
 * migrate.h - apply the SQL migrations and load the metric catalog.
 *
 * Migrations are files NNNN_name.sql (four digits, name [A-Za-z0-9_-]+) in
 * one directory, numbered 0001, 0002, ... without gaps or duplicates, and
 * applied in that order. Each is executed as a whole script (PQexec) in its
 * own transaction together with its row in outcomes.schema_migrations
 * (version, name, checksum, applied_at). A migration never runs twice: an
 * applied file whose checksum changed is an error that names the file.
 *
 * The checksum covers the statements, not the comments or the layout: it is
 * the md5 of oc_migrate_statement_text() of the file, so that a comment of
 * an applied migration may be corrected. Releases before this one recorded
 * the md5 of the whole file text; such a row is accepted when it is the md5
 * of the file as it is, or when it is the checksum a release recorded for
 * a file with the same statements (oc_migrate_legacy_sums()), and it is
 * then rewritten to the statement checksum (not in a dry run).
 *
 * Migrations after 0001 run under SET LOCAL ROLE outcomes_owner when that
 * role exists and the connected user may assume it, so that the objects
 * they create belong to the owner role.
 *
 * Concurrent migrators serialise on a session advisory lock (key
 * 8031453480871356274, "outcmigr" in ASCII: migrate/migrations_lock.sql). After the migrations the catalog file is synced
 * into outcomes.metric_catalog in one transaction that locks the table
 * against other writers: new codes inserted, changed ones updated, the rest
 * left alone; codes in the table but not in the file are reported, never
 * deleted. Each write announces itself on the channel outcomes_catalog (a
 * trigger of migration 0008), which running daemons listen to. The
 * statements are schemas/sql/statements/migrate/.
 */
#ifndef OUTCOMES_MIGRATE_H
#define OUTCOMES_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "outcomes/buf.h"
#include "outcomes/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OC_MIGRATE_OWNER_ROLE "outcomes_owner"
#define OC_MIGRATE_NAME_MAX 128

typedef struct oc_migrate_opts_s {
  bool dry_run;           /* change nothing: report what would be applied/synced */
  bool skip_catalog;      /* do not sync the catalog (catalog_path may be NULL) */
  const char *owner_role; /* NULL: OC_MIGRATE_OWNER_ROLE */
} oc_migrate_opts_t;

typedef enum oc_migration_state_e {
  OC_MIGRATION_APPLIED = 0, /* applied by an earlier run */
  OC_MIGRATION_NEW = 1,     /* applied by this run (or would be, in a dry run) */
  OC_MIGRATION_PENDING = 2, /* not applied (the run stopped before it) */
} oc_migration_state_t;

typedef struct oc_migration_info_s {
  int version;
  char name[OC_MIGRATE_NAME_MAX + 1]; /* "tables" for 0002_tables.sql */
  char checksum[33];                  /* md5 hex of the statement text */
  oc_migration_state_t state;
  char applied_at[40]; /* timestamptz text for APPLIED/NEW, "" otherwise */
  bool as_owner;       /* NEW: ran under SET LOCAL ROLE owner_role */
  /* APPLIED: its row held an earlier release's whole-file checksum, now
   * rewritten to checksum (dry run: it would be). */
  bool checksum_upgraded;
} oc_migration_info_t;

typedef struct oc_migrate_report_s {
  oc_migration_info_t *migrations; /* every file, in version order */
  size_t n_migrations;
  size_t n_new;        /* migrations applied by this run (dry run: would be) */
  size_t n_upgraded;   /* rows whose checksum was rewritten (dry run: would be) */
  int failed_version;  /* the migration whose SQL failed, 0 if none */
  bool catalog_synced; /* the catalog step ran (dry run: was computed) */
  size_t cat_inserted, cat_updated, cat_unchanged;
  char **cat_removed; /* codes in the table but not in the file */
  size_t n_cat_removed;
  /* What differs between the file and the table, one line each, in file
   * order then the table's: "<code>: <column>: file <value> vs database
   * <value>" (text double-quoted, numbers as %.17g), "<code>: only in the
   * file", "<code>: only in the database". Before the sync (dry run: what
   * it would change). */
  char **cat_diffs;
  size_t n_cat_diffs;
} oc_migrate_report_t;

/* The text a migration's checksum covers, appended to out: the statements
 * of text[0..len) without SQL comments ("--" to the end of the line, and
 * block comments, which nest) outside string literals ('...', E'...'),
 * quoted identifiers ("...") and dollar-quoted bodies ($$...$$,
 * $tag$...$tag$); every run of whitespace and comments between tokens
 * becomes one space, and none is kept at either end. Literals, quoted
 * identifiers and dollar-quoted bodies are kept byte for byte, comment
 * markers and whitespace inside them included. Check out->failed (out of
 * memory, or past out's bound). */
void oc_migrate_statement_text(const char *text, size_t len, oc_buf_t *out);

/* The checksums earlier releases recorded for the shipped migrations (md5
 * of the whole file), each with the md5 of the statement text of that
 * file: static, *n entries. */
typedef struct oc_migrate_legacy_sum_s {
  int version;
  const char *name;           /* "tables" for 0002_tables.sql */
  const char *file_md5;       /* what the release recorded */
  const char *statements_md5; /* the checksum the file's statements have */
} oc_migrate_legacy_sum_t;
const oc_migrate_legacy_sum_t *oc_migrate_legacy_sums(size_t *n);

/* Zero a report. Release it with oc_migrate_report_release(). */
void oc_migrate_report_init(oc_migrate_report_t *report);

/* Free what a report holds and zero it. NULL is accepted. */
void oc_migrate_report_release(oc_migrate_report_t *report);

/* Default directory of the migrations: OC_DATADIR "/sql". */
const char *oc_migrate_default_sql_dir(void);

/* Apply pending migrations from sql_dir (NULL: the default) then sync the
 * catalog from catalog_path (NULL: oc_catalog_default_path()) on conn
 * (borrowed; must be idle, outside a transaction). opts may be NULL.
 * report (may be NULL) is filled (init it first) as far as the run got,
 * also on failure. Errors:
 *   OC_ERR_CONFIG  a bad migration directory or catalog file: misnamed,
 *                  gap or duplicate number, empty file or NUL byte, changed
 *                  statements of an applied file, a database ahead of the files;
 *                  the message names the file
 *   OC_ERR_IO      the directory or a file cannot be read
 *   OC_ERR_PG      PostgreSQL refused a statement; when a migration's SQL
 *                  failed, report->failed_version names it and the message
 *                  reads "<dir>/<file>:<line>: SQLSTATE ...". retriable and
 *                  fatal as set by oc_pg_result_err().
 * A failed migration is rolled back whole; earlier ones stay applied. The
 * advisory lock is released before returning. */
int oc_migrate_run(PGconn *conn, const char *sql_dir, const char *catalog_path,
                   const oc_migrate_opts_t *opts, oc_migrate_report_t *report, oc_err_t *err);

#ifdef __cplusplus
}
#endif
#endif
