/* outcomes-rollupd - the consumer daemon: Kafka observations to PostgreSQL
 * facts and rollups, exactly once. A thin main over lib/rollupd.c; see
 * docs/man/outcomes-rollupd.8. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes/config.h"
#include "outcomes/err.h"
#include "outcomes/log.h"
#include "outcomes/process.h"
#include "outcomes/rollupd.h"

#ifndef OC_VERSION
#define OC_VERSION "unknown"
#endif

#define PROG "outcomes-rollupd"

enum { OPT_MIGRATE = 256, OPT_EXIT_AT_END, OPT_VERSION };

/* SIGTERM/SIGINT received: 1 finishes the batch and leaves, 2 stops now. */
static volatile sig_atomic_t g_signals;
/* SIGHUP: reload the catalog. */
static volatile sig_atomic_t g_reload;

static void usage(const oc_conf_program_t *prog, FILE *f) {
  fprintf(f, "usage: " PROG " [-c FILE] [-X key=value]... [--migrate] [--exit-at-end]\n"
             "       " PROG " -X list\n"
             "Consume outcome observations from Kafka and apply them to PostgreSQL facts\n"
             "and rollups, exactly once.\n"
             "\n"
             "  -c, --config FILE   read key=value lines from FILE\n"
             "  -X key=value        set a key (after the file and the environment); kafka.*\n"
             "                      keys (or bare librdkafka properties) go to librdkafka,\n"
             "                      pg.* keys to libpq\n"
             "  -X list             print the keys below and exit\n"
             "      --migrate       apply the SQL migrations and sync the catalog first\n"
             "      --exit-at-end   exit 0 once caught up with the high-water marks seen\n"
             "                      when the partitions were assigned\n"
             "      --version       print the version and exit\n"
             "  -h, --help          print this help and exit\n"
             "\n"
             "keys (default):\n");
  oc_config_print_help(prog, f);
  fprintf(f, "\nSIGTERM/SIGINT finish the batch in flight and exit 0; a second one exits at once.\n"
             "SIGHUP reloads the metric catalog from PostgreSQL (as any change of the table\n"
             "outcomes.metric_catalog does).\n"
             "Exit status: 0 ok, 64 usage, 65 bad schema, 69 unavailable, 70 internal error,\n"
             "74 I/O error, 78 configuration.\n");
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"config", required_argument, NULL, 'c'},
      {"migrate", no_argument, NULL, OPT_MIGRATE},
      {"exit-at-end", no_argument, NULL, OPT_EXIT_AT_END},
      {"version", no_argument, NULL, OPT_VERSION},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  oc_rollupd_opts_t opts = {false, false, &g_reload};
  const oc_conf_program_t prog = {PROG, oc_rollupd_conf_defs(),
                                  OC_CONF_PASS_KAFKA | OC_CONF_PASS_PG};
  oc_conf_cli_t cli;
  oc_config_t *cfg = NULL;
  oc_err_t err;
  int c, status = OC_EX_OK;

  oc_log_init(PROG);
  oc_err_clear(&err);
  memset(&cli, 0, sizeof(cli));
  while ((c = getopt_long(argc, argv, "c:X:h", longopts, NULL)) != -1) {
    switch (c) {
    case 'c': cli.file = optarg; break;
    case 'X':
      if (oc_conf_cli_x(&cli, &prog, optarg, &err) != 0) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        status = oc_err_exit_status(err.code);
        goto out;
      }
      break;
    case OPT_MIGRATE: opts.migrate = true; break;
    case OPT_EXIT_AT_END: opts.exit_at_end = true; break;
    case OPT_VERSION: printf(PROG " %s\n", OC_VERSION); goto out;
    case 'h': usage(&prog, stdout); goto out;
    default:
      usage(&prog, stderr);
      status = OC_EX_USAGE;
      goto out;
    }
  }
  if (optind < argc) {
    fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
    status = OC_EX_USAGE;
    goto out;
  }
  if (cli.list) {
    oc_config_print_list(&prog, cli.list, stdout);
    goto out;
  }
  /* defaults < file < environment < -X */
  if (oc_config_load_program(&prog, &cli, &cfg, &err) != 0) {
    fprintf(stderr, PROG ": %s\n", err.msg);
    status = oc_err_exit_status(err.code);
    goto out;
  }
  if (oc_signals_install(&g_signals) != 0 || oc_signals_install_reload(&g_reload) != 0) {
    fprintf(stderr, PROG ": cannot install signal handlers\n");
    status = OC_EX_SOFTWARE;
    goto out;
  }

  if (oc_rollupd_run(cfg, &opts, &g_signals, &err) != 0) {
    oc_log_err("exiting error=\"%s\"", err.msg);
    status = oc_err_exit_status(err.code);
  }
out:
  oc_config_destroy(cfg);
  return status;
}
