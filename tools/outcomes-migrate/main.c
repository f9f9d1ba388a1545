/* outcomes-migrate - apply the SQL migrations and load the metric catalog.
 * See docs/man/outcomes-migrate.1. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "outcomes/catalog.h"
#include "outcomes/err.h"
#include "outcomes/log.h"
#include "outcomes/migrate.h"
#include "outcomes/pg.h"

#ifndef OC_VERSION
#define OC_VERSION "unknown"
#endif

#define PROG "outcomes-migrate"
#define CONNINFO_ENV_DEFAULT "OUTCOMES_PG_CONNINFO"
#define CONNINFO_FILE_MAX 8192

enum { OPT_SQL_DIR = 256, OPT_CATALOG, OPT_DRY_RUN, OPT_STATUS, OPT_VERSION, OPT_CONNFILE };

static void usage(FILE *f) {
  fprintf(f,
          "usage: " PROG " [options]\n"
          "Apply pending SQL migrations to the outcomes schema, then sync the metric\n"
          "catalog into outcomes.metric_catalog.\n"
          "\n"
          "  -d, --conninfo-env VAR  take the libpq conninfo from environment variable VAR\n"
          "                          (default " CONNINFO_ENV_DEFAULT ")\n"
          "      --conninfo-file FILE  take the conninfo from FILE instead\n"
          "      --sql-dir DIR       migrations directory (default %s)\n"
          "      --catalog FILE      metric catalog (default %s)\n"
          "      --dry-run           show what would be applied and synced; change nothing\n"
          "      --status            list applied and pending migrations; change nothing\n"
          "  -v, --verbose           log more (twice: debug)\n"
          "      --version           print the version and exit\n"
          "  -h, --help              print this help and exit\n"
          "\n"
          "Passwords belong in a pgpass file (PGPASSFILE, ~/.pgpass) or the conninfo\n"
          "file; a conninfo from the environment holding a password is refused.\n"
          "Exit status: 0 ok, 64 usage, 65 a migration's SQL failed, 69 database\n"
          "unavailable, 70 internal error, 74 a file or directory cannot be read,\n"
          "78 configuration error (also a bad migration directory or catalog file).\n",
          oc_migrate_default_sql_dir(), oc_catalog_default_path());
}

/* Read a conninfo from a file: lines joined by spaces, '#' lines skipped. */
static int read_conninfo_file(const char *path, char *out, size_t cap) {
  FILE *f = fopen(path, "r");
  char line[CONNINFO_FILE_MAX];
  struct stat st;
  size_t n = 0;

  if (!f) {
    fprintf(stderr, PROG ": conninfo file '%s': %s\n", path, strerror(errno));
    return -1;
  }
  if (fstat(fileno(f), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)))
    oc_log_warn("conninfo_file_permissions path=%s mode=%03o: readable by others; "
                "use chmod 600",
                path, (unsigned)(st.st_mode & 0777));
  out[0] = '\0';
  while (fgets(line, sizeof(line), f)) {
    size_t l = strlen(line);
    while (l > 0 && (line[l - 1] == '\n' || line[l - 1] == '\r' || line[l - 1] == ' ' ||
                     line[l - 1] == '\t'))
      line[--l] = '\0';
    if (l == 0 || line[0] == '#')
      continue;
    if (n + l + 2 > cap) {
      fclose(f);
      fprintf(stderr, PROG ": conninfo file '%s': too long\n", path);
      return -1;
    }
    if (n)
      out[n++] = ' ';
    memcpy(out + n, line, l + 1);
    n += l;
  }
  fclose(f);
  return 0;
}

/* oc_err_exit_status(), except that a migration whose SQL PostgreSQL
 * refused is a bad input file (65), not an unavailable database. */
static int exit_code_for(const oc_err_t *err, const oc_migrate_report_t *report) {
  if (err->code == OC_ERR_PG && report->failed_version && !err->retriable && !err->fatal)
    return OC_EX_DATAERR;
  return oc_err_exit_status(err->code);
}

static const char *state_name(oc_migration_state_t s, int dry_run) {
  switch (s) {
  case OC_MIGRATION_APPLIED: return "applied";
  case OC_MIGRATION_NEW: return dry_run ? "pending" : "applied";
  case OC_MIGRATION_PENDING: return "pending";
  }
  return "?";
}

/* Rows that held an earlier release's checksum (the md5 of the whole file). */
static void print_upgraded(const oc_migrate_report_t *r, int dry_run) {
  for (size_t i = 0; i < r->n_migrations; i++)
    if (r->migrations[i].checksum_upgraded)
      printf("%s the statement checksum of %04d_%s (it held the whole file's)\n",
             dry_run ? "would record" : "recorded", r->migrations[i].version,
             r->migrations[i].name);
}

static void print_status(const oc_migrate_report_t *r) {
  printf("%-8s %-32s %-8s %s\n", "version", "name", "state", "applied_at");
  for (size_t i = 0; i < r->n_migrations; i++) {
    const oc_migration_info_t *m = &r->migrations[i];
    printf("%04d     %-32s %-8s %s\n", m->version, m->name, state_name(m->state, 1),
           m->applied_at);
  }
  print_upgraded(r, 1);
  if (r->catalog_synced)
    printf("catalog: %zu to insert, %zu to update, %zu unchanged, %zu not in file\n",
           r->cat_inserted, r->cat_updated, r->cat_unchanged, r->n_cat_removed);
}

static void print_run(const oc_migrate_report_t *r, int dry_run, const char *catalog) {
  const char *verb = dry_run ? "would apply" : "applied";
  print_upgraded(r, dry_run);
  for (size_t i = 0; i < r->n_migrations; i++)
    if (r->migrations[i].state == OC_MIGRATION_NEW)
      printf("%s %04d_%s\n", verb, r->migrations[i].version, r->migrations[i].name);
  if (r->n_new == 0)
    printf("nothing to apply: %zu migration%s already applied\n", r->n_migrations,
           r->n_migrations == 1 ? "" : "s");
  if (r->catalog_synced) {
    printf("catalog %s: %zu %s, %zu %s, %zu unchanged\n", catalog, r->cat_inserted,
           dry_run ? "to insert" : "inserted", r->cat_updated,
           dry_run ? "to update" : "updated", r->cat_unchanged);
    for (size_t i = 0; i < r->n_cat_removed; i++)
      printf("catalog: metric %s is in outcomes.metric_catalog but not in the file (kept)\n",
             r->cat_removed[i]);
  }
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"conninfo-env", required_argument, NULL, 'd'},
      {"conninfo-file", required_argument, NULL, OPT_CONNFILE},
      {"sql-dir", required_argument, NULL, OPT_SQL_DIR},
      {"catalog", required_argument, NULL, OPT_CATALOG},
      {"dry-run", no_argument, NULL, OPT_DRY_RUN},
      {"status", no_argument, NULL, OPT_STATUS},
      {"verbose", no_argument, NULL, 'v'},
      {"version", no_argument, NULL, OPT_VERSION},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *conninfo_env = CONNINFO_ENV_DEFAULT, *conninfo_file = NULL;
  const char *sql_dir = NULL, *catalog = NULL;
  int status = 0, verbose = 0, c, ex = OC_EX_OK;
  char conninfo[CONNINFO_FILE_MAX];
  oc_migrate_opts_t opts = {0};
  oc_migrate_report_t report;
  oc_pg_connect_opts_t copts = {0};
  PGconn *conn = NULL;
  oc_err_t err;

  oc_log_init(PROG);
  oc_err_clear(&err);
  oc_migrate_report_init(&report);
  while ((c = getopt_long(argc, argv, "d:vh", longopts, NULL)) != -1) {
    switch (c) {
    case 'd': conninfo_env = optarg; break;
    case OPT_CONNFILE: conninfo_file = optarg; break;
    case OPT_SQL_DIR: sql_dir = optarg; break;
    case OPT_CATALOG: catalog = optarg; break;
    case OPT_DRY_RUN: opts.dry_run = true; break;
    case OPT_STATUS: status = 1; break;
    case 'v': verbose++; break;
    case OPT_VERSION: printf(PROG " %s\n", OC_VERSION); return OC_EX_OK;
    case 'h': usage(stdout); return OC_EX_OK;
    default: usage(stderr); return OC_EX_USAGE;
    }
  }
  if (optind < argc) {
    fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
    usage(stderr);
    return OC_EX_USAGE;
  }
  oc_log_set_level(verbose >= 2 ? LOG_DEBUG : verbose ? LOG_INFO : LOG_WARNING);
  if (status)
    opts.dry_run = true;

  if (conninfo_file) {
    if (read_conninfo_file(conninfo_file, conninfo, sizeof(conninfo)) < 0)
      return OC_EX_CONFIG;
  } else {
    const char *v = getenv(conninfo_env);
    if (!v || !*v) {
      fprintf(stderr,
              PROG ": no database: set %s to a libpq conninfo or use --conninfo-file\n",
              conninfo_env);
      return OC_EX_CONFIG;
    }
    if (strlen(v) >= sizeof(conninfo)) {
      fprintf(stderr, PROG ": %s: conninfo too long\n", conninfo_env);
      return OC_EX_CONFIG;
    }
    /* The environment is readable in /proc/PID/environ: the same rule as
     * the daemons' conninfo key (lib/config.c), before any connection. */
    if (oc_pg_conninfo_has_password(v)) {
      fprintf(stderr,
              PROG ": environment %s: the conninfo holds a password: use a pgpass file "
                   "(PGPASSFILE) or '--conninfo-file FILE'\n",
              conninfo_env);
      return OC_EX_CONFIG;
    }
    memcpy(conninfo, v, strlen(v) + 1);
  }

  copts.application_name = PROG;
  if (oc_pg_connect(conninfo, &copts, &conn, &err) < 0) {
    fprintf(stderr, PROG ": %s\n", err.msg);
    ex = oc_err_exit_status(err.code);
    goto out;
  }
  if (oc_migrate_run(conn, sql_dir, catalog, &opts, &report, &err) < 0) {
    fprintf(stderr, PROG ": %s\n", err.msg);
    for (size_t i = 0; i < report.n_migrations; i++)
      if (report.migrations[i].state == OC_MIGRATION_NEW)
        printf("applied %04d_%s\n", report.migrations[i].version,
               report.migrations[i].name);
    ex = exit_code_for(&err, &report);
    goto out;
  }
  if (status)
    print_status(&report);
  else
    print_run(&report, opts.dry_run, catalog ? catalog : oc_catalog_default_path());
out:
  if (fflush(stdout) != 0 && ex == OC_EX_OK)
    ex = OC_EX_IOERR;
  oc_migrate_report_release(&report);
  if (conn)
    PQfinish(conn);
  return ex;
}
