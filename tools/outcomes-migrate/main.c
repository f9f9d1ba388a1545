/* outcomes-migrate - apply the SQL migrations and load the metric catalog.
 * See docs/man/outcomes-migrate.1. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes/catalog.h"
#include "outcomes/config.h"
#include "outcomes/err.h"
#include "outcomes/log.h"
#include "outcomes/migrate.h"
#include "outcomes/pg.h"
#include "outcomes/tls_policy.h"

#ifndef OC_VERSION
#define OC_VERSION "unknown"
#endif

#define PROG "outcomes-migrate"

enum {
  OPT_SQL_DIR = 256,
  OPT_CATALOG,
  OPT_DRY_RUN,
  OPT_STATUS,
  OPT_CHECK,
  OPT_VERSION,
  OPT_CONNFILE
};

/* --check: the database differs from the files. */
#define EX_DIFFERS 1

static const oc_conf_def_t conf_defs[] = {
    {"conninfo", OC_CONF_STR, "", 0, 0, OC_CONF_CONNINFO, "OUTCOMES_PG_CONNINFO",
     "PostgreSQL conninfo (key=value or URI; pg.* keys add libpq keywords; never logged); "
     "-d, --conninfo-file"},
    {"sql.dir", OC_CONF_STR, NULL, 0, 0, 0, NULL,
     "directory of the SQL migrations (default: the installed one); --sql-dir"},
    {"catalog.path", OC_CONF_STR, NULL, 0, 0, 0, NULL,
     "metric catalog to sync (default: the installed one); --catalog"},
    {"log.level", OC_CONF_STR, "warning", 0, 0, 0, "OUTCOMES_LOG_LEVEL",
     "error, warning, notice, info or debug; -v is info, -vv debug"},
    OC_TLS_CONF_PG,
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};

static const oc_conf_program_t program = {PROG, conf_defs, OC_CONF_PASS_PG};

static void usage(FILE *f) {
  fprintf(f,
          "usage: " PROG " [options]\n"
          "       " PROG " -X list\n"
          "Apply pending SQL migrations to the outcomes schema, then sync the metric\n"
          "catalog into outcomes.metric_catalog.\n"
          "\n"
          "  -c, --config FILE       read key=value lines from FILE\n"
          "  -X key=value            set a key (after the file and the environment);\n"
          "                          pg.* keys go to libpq\n"
          "  -X list                 print the keys below and exit\n"
          "  -d, --conninfo-env VAR  take the conninfo from environment variable VAR\n"
          "                          instead of OUTCOMES_PG_CONNINFO\n"
          "      --conninfo-file FILE  take the conninfo from FILE (conninfo.file=FILE)\n"
          "      --sql-dir DIR       migrations directory (default %s)\n"
          "      --catalog FILE      metric catalog (default %s)\n"
          "      --dry-run           show what would be applied and synced; change nothing\n"
          "      --status            list applied and pending migrations; change nothing\n"
          "      --check             print how the database differs from the migrations\n"
          "                          and the catalog file, one line each; change nothing\n"
          "  -v, --verbose           log more (twice: debug)\n"
          "      --version           print the version and exit\n"
          "  -h, --help              print this help and exit\n"
          "\n"
          "Passwords belong in a pgpass file (PGPASSFILE, ~/.pgpass), the configuration\n"
          "file or the conninfo file; a conninfo from the environment or the command\n"
          "line holding a password is refused.\n"
          "Exit status: 0 ok, 1 --check found differences, 64 usage, 65 a migration's\n"
          "SQL failed, 69 database unavailable, 70 internal error, 74 a file or\n"
          "directory cannot be read, 78 configuration error (also a bad migration\n"
          "directory or catalog file).\n"
          "\n"
          "keys (default):\n",
          oc_migrate_default_sql_dir(), oc_catalog_default_path());
  oc_config_print_help(&program, f);
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
    printf("%04d     %-32s %-8s %s\n", m->version, m->name, state_name(m->state, 1), m->applied_at);
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
           dry_run ? "to insert" : "inserted", r->cat_updated, dry_run ? "to update" : "updated",
           r->cat_unchanged);
    for (size_t i = 0; i < r->n_cat_removed; i++)
      printf("catalog: metric %s is in outcomes.metric_catalog but not in the file (kept)\n",
             r->cat_removed[i]);
  }
}

/* --check: the migrations not applied and the catalog's differences, one
 * line each; EX_DIFFERS when there is any. */
static int print_check(const oc_migrate_report_t *r) {
  size_t n = 0;
  for (size_t i = 0; i < r->n_migrations; i++)
    if (r->migrations[i].state != OC_MIGRATION_APPLIED) {
      printf("migration %04d_%s: not applied\n", r->migrations[i].version, r->migrations[i].name);
      n++;
    }
  for (size_t i = 0; i < r->n_cat_diffs; i++)
    printf("%s\n", r->cat_diffs[i]);
  return n + r->n_cat_diffs ? EX_DIFFERS : OC_EX_OK;
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"config", required_argument, NULL, 'c'},
      {"conninfo-env", required_argument, NULL, 'd'},
      {"conninfo-file", required_argument, NULL, OPT_CONNFILE},
      {"sql-dir", required_argument, NULL, OPT_SQL_DIR},
      {"catalog", required_argument, NULL, OPT_CATALOG},
      {"dry-run", no_argument, NULL, OPT_DRY_RUN},
      {"status", no_argument, NULL, OPT_STATUS},
      {"check", no_argument, NULL, OPT_CHECK},
      {"verbose", no_argument, NULL, 'v'},
      {"version", no_argument, NULL, OPT_VERSION},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  char env_origin[160];
  int status = 0, check = 0, verbose = 0, c, rc = 0, ex = OC_EX_OK;
  oc_conf_cli_t cli;
  oc_config_t *cfg = NULL;
  oc_migrate_opts_t opts = {0};
  oc_migrate_report_t report;
  PGconn *conn = NULL;
  oc_err_t err;

  oc_log_init(PROG);
  oc_err_clear(&err);
  oc_migrate_report_init(&report);
  memset(&cli, 0, sizeof(cli));
  while ((c = getopt_long(argc, argv, "c:X:d:vh", longopts, NULL)) != -1) {
    switch (c) {
    case 'c': cli.file = optarg; break;
    case 'X': rc = oc_conf_cli_x(&cli, &program, optarg, &err); break;
    case 'd': {
      /* The conninfo of another variable: an environment source all the
       * same (a password in it is refused). */
      const char *v = getenv(optarg);
      if (!v || !*v) {
        rc = oc_err_set(&err, OC_ERR_CONFIG, "no database: environment variable %s is not set",
                        optarg);
        break;
      }
      snprintf(env_origin, sizeof(env_origin), "environment %s", optarg);
      rc = oc_conf_cli_option(&cli, "conninfo", v, env_origin, &err);
      break;
    }
    case OPT_CONNFILE:
      rc = oc_conf_cli_option(&cli, "conninfo.file", optarg, "--conninfo-file", &err);
      break;
    case OPT_SQL_DIR: rc = oc_conf_cli_option(&cli, "sql.dir", optarg, "--sql-dir", &err); break;
    case OPT_CATALOG:
      rc = oc_conf_cli_option(&cli, "catalog.path", optarg, "--catalog", &err);
      break;
    case OPT_DRY_RUN: opts.dry_run = true; break;
    case OPT_STATUS: status = 1; break;
    case OPT_CHECK: check = 1; break;
    case 'v': verbose++; break;
    case OPT_VERSION: printf(PROG " %s\n", OC_VERSION); return OC_EX_OK;
    case 'h': usage(stdout); return OC_EX_OK;
    default: usage(stderr); return OC_EX_USAGE;
    }
    if (rc != 0) {
      fprintf(stderr, PROG ": %s\n", err.msg);
      return oc_err_exit_status(rc);
    }
  }
  if (optind < argc) {
    fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
    usage(stderr);
    return OC_EX_USAGE;
  }
  if (cli.list) {
    oc_config_print_list(&program, cli.list, stdout);
    return OC_EX_OK;
  }
  /* defaults < file < environment < -X and the options */
  if (oc_config_load_program(&program, &cli, &cfg, &err) != 0) {
    fprintf(stderr, PROG ": %s\n", err.msg);
    return oc_err_exit_status(err.code);
  }
  if (verbose)
    oc_log_set_level(verbose >= 2 ? LOG_DEBUG : LOG_INFO);
  if (check && (status || opts.dry_run)) {
    fprintf(stderr, PROG ": --check goes with neither --status nor --dry-run\n");
    ex = OC_EX_USAGE;
    goto out;
  }
  if (status || check)
    opts.dry_run = true;
  if (!*oc_config_get_str(cfg, "conninfo") && oc_config_passthrough_count(cfg, "pg.") == 0) {
    fprintf(stderr, PROG ": no database: set OUTCOMES_PG_CONNINFO to a libpq conninfo, or give "
                         "conninfo or pg.* keys, or --conninfo-file\n");
    ex = OC_EX_CONFIG;
    goto out;
  }

  const char *catalog = oc_config_get_str(cfg, "catalog.path");
  if (oc_pg_connect_config(cfg, PROG, 0, 0, &conn, &err) < 0) {
    fprintf(stderr, PROG ": %s\n", err.msg);
    ex = oc_err_exit_status(err.code);
    goto out;
  }
  if (oc_migrate_run(conn, oc_config_get_str(cfg, "sql.dir"), catalog, &opts, &report, &err) < 0) {
    fprintf(stderr, PROG ": %s\n", err.msg);
    for (size_t i = 0; i < report.n_migrations; i++)
      if (report.migrations[i].state == OC_MIGRATION_NEW)
        printf("applied %04d_%s\n", report.migrations[i].version, report.migrations[i].name);
    ex = exit_code_for(&err, &report);
    goto out;
  }
  if (check)
    ex = print_check(&report);
  else if (status)
    print_status(&report);
  else
    print_run(&report, opts.dry_run, catalog ? catalog : oc_catalog_default_path());
out:
  if (fflush(stdout) != 0 && ex == OC_EX_OK)
    ex = OC_EX_IOERR;
  oc_migrate_report_release(&report);
  if (conn)
    PQfinish(conn);
  oc_config_destroy(cfg);
  return ex;
}
