/*
 * outcomes-gen - seeded synthetic observations for tests and benchmarks.
 *
 * A thin front end over lib/gen.c (include/outcomes/gen.h explains the
 * shape of the data, the shares and the files written). With --out-dir it
 * writes the stream and the expected answer; without it, the stream alone
 * goes to stdout, e.g. for `outcomes-gen --rows 1000000 | outcomes-produce -`.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "outcomes/catalog.h"
#include "outcomes/config.h"
#include "outcomes/date.h"
#include "outcomes/gen.h"

#ifndef OC_VERSION
#define OC_VERSION "unknown"
#endif

#define PROG "outcomes-gen"

enum {
  OPT_ORGS = 256,
  OPT_FACILITIES,
  OPT_ORG_LEVEL,
  OPT_METRICS,
  OPT_GRAINS,
  OPT_START,
  OPT_PERIODS,
  OPT_ROWS,
  OPT_DUPLICATES,
  OPT_RESTATEMENTS,
  OPT_LATE,
  OPT_TIES,
  OPT_TOMBSTONES,
  OPT_INVALID,
  OPT_CATALOG,
  OPT_VERSION,
};

static const oc_conf_def_t conf_defs[] = {
    {"catalog", OC_CONF_STR, NULL, 0, 0, 0, "OUTCOMES_CATALOG",
     "metric catalog file (default: the installed catalog.tsv); --catalog"},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};

static const oc_conf_program_t program = {PROG, conf_defs, 0};

static const struct option long_opts[] = {
    {"seed", required_argument, NULL, 's'},
    {"out-dir", required_argument, NULL, 'o'},
    {"config", required_argument, NULL, 'c'},
    {"catalog", required_argument, NULL, OPT_CATALOG},
    {"format", required_argument, NULL, 'f'},
    {"orgs", required_argument, NULL, OPT_ORGS},
    {"facilities", required_argument, NULL, OPT_FACILITIES},
    {"org-level", no_argument, NULL, OPT_ORG_LEVEL},
    {"metrics", required_argument, NULL, OPT_METRICS},
    {"grains", required_argument, NULL, OPT_GRAINS},
    {"start", required_argument, NULL, OPT_START},
    {"periods", required_argument, NULL, OPT_PERIODS},
    {"rows", required_argument, NULL, OPT_ROWS},
    {"duplicates", required_argument, NULL, OPT_DUPLICATES},
    {"restatements", required_argument, NULL, OPT_RESTATEMENTS},
    {"late", required_argument, NULL, OPT_LATE},
    {"ties", required_argument, NULL, OPT_TIES},
    {"tombstones", required_argument, NULL, OPT_TOMBSTONES},
    {"invalid", required_argument, NULL, OPT_INVALID},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *f) {
  fprintf(f,
          "usage: outcomes-gen [options]\n"
          "       outcomes-gen -X list\n"
          "Seeded synthetic observations: orgs x facilities x metrics x periods, with\n"
          "chosen shares of duplicates, restatements, late older versions, ties,\n"
          "tombstones and invalid rows. The same options give the same bytes.\n"
          "\n"
          "  -s, --seed N          PRNG seed (default 1)\n"
          "  -o, --out-dir DIR     write DIR/stream.csv (or .jsonl), retract.csv,\n"
          "                        expected_facts.csv, expected_invalid.csv and\n"
          "                        manifest.txt; without it the stream goes to stdout\n"
          "  -c, --config FILE     read key=value lines from FILE\n"
          "  -X key=value          set a key (after the file and the environment)\n"
          "  -X list               print the keys below and exit\n"
          "      --catalog PATH    metric catalog (default %s)\n"
          "  -f, --format FMT      csv (default) or jsonl\n"
          "      --orgs N          organisations (default 3)\n"
          "      --facilities N    facilities per org (default 2, at most 99)\n"
          "      --org-level       also org-level facts (empty facility_id)\n"
          "      --metrics LIST    comma-separated metric codes (default: all)\n"
          "      --grains LIST     day,week,month,quarter,year (default month)\n"
          "      --start DATE      first period, YYYY-MM-DD (default 2023-01-01)\n"
          "      --periods N       periods per grain (default 12)\n"
          "      --rows N          about N rows: sets the number of orgs (not with --orgs)\n"
          "Shares of identities, each in [0, 1] (default 0):\n"
          "      --restatements F  1-3 later versions with new values\n"
          "      --ties F          a version with the final observed_at and another\n"
          "                        value, later in the stream (wins by offset)\n"
          "      --late F          an older version arriving after the final one\n"
          "      --duplicates F    an exact copy of a version, later in the stream\n"
          "      --invalid F       an invalid row (unknown metric, out of range,\n"
          "                        misaligned period, ratio missing or inconsistent,\n"
          "                        bad id)\n"
          "      --tombstones F    retracted after the stream (retract.csv)\n"
          "  -q, --quiet           no summary on stderr\n"
          "  -h, --help            this help\n"
          "      --version         print the version and exit\n"
          "\n"
          "Publish the stream in file order, then retract.csv; last writer wins by\n"
          "observed_at then offset must leave exactly expected_facts.csv.\n"
          "Exit status: 0 done, 64 usage error, 70 internal error, 74 I/O error,\n"
          "78 configuration error (a bad key or catalog).\n"
          "\n"
          "keys (default):\n",
          oc_catalog_default_path());
  oc_config_print_help(&program, f);
}

static int parse_u64(const char *opt, const char *s, uint64_t max, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || *end || s[0] == '-' || v > max) {
    fprintf(stderr, "outcomes-gen: --%s: '%s' is not a number within 0..%" PRIu64 "\n", opt, s,
            max);
    return -1;
  }
  *out = v;
  return 0;
}

static int parse_unsigned(const char *opt, const char *s, unsigned *out) {
  uint64_t v;
  if (parse_u64(opt, s, 1000000000u, &v) < 0)
    return -1;
  *out = (unsigned)v;
  return 0;
}

static int parse_share(const char *opt, const char *s, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= 0 && v <= 1)) {
    fprintf(stderr, "outcomes-gen: --%s: '%s' is not a share within [0, 1]\n", opt, s);
    return -1;
  }
  *out = v;
  return 0;
}

int main(int argc, char **argv) {
  oc_gen_opts_t opts;
  oc_gen_stats_t st;
  oc_catalog_t *cat = NULL;
  oc_config_t *cfg = NULL;
  oc_conf_cli_t cli;
  oc_err_t err;
  const char *out_dir = NULL, *catalog;
  int quiet = 0, orgs_given = 0, c, rc, status = OC_EX_USAGE;
  uint64_t u;

  oc_gen_opts_init(&opts);
  memset(&cli, 0, sizeof(cli));
  while ((c = getopt_long(argc, argv, "s:o:c:X:f:qh", long_opts, NULL)) != -1) {
    switch (c) {
    case 's':
      if (parse_u64("seed", optarg, UINT64_MAX, &opts.seed) < 0)
        goto out;
      break;
    case 'o': out_dir = optarg; break;
    case 'c': cli.file = optarg; break;
    case 'X':
      if (oc_conf_cli_x(&cli, &program, optarg, &err) < 0) {
        fprintf(stderr, "outcomes-gen: %s\n", err.msg);
        goto out;
      }
      break;
    case OPT_CATALOG:
      if (oc_conf_cli_option(&cli, "catalog", optarg, "--catalog", &err) < 0) {
        fprintf(stderr, "outcomes-gen: %s\n", err.msg);
        goto out;
      }
      break;
    case OPT_VERSION:
      printf(PROG " %s\n", OC_VERSION);
      status = OC_EX_OK;
      goto out;
    case 'f':
      if (strcmp(optarg, "csv") == 0)
        opts.format = OC_GEN_CSV;
      else if (strcmp(optarg, "jsonl") == 0)
        opts.format = OC_GEN_JSONL;
      else {
        fprintf(stderr, "outcomes-gen: --format: '%s' is not csv or jsonl\n", optarg);
        goto out;
      }
      break;
    case OPT_ORGS:
      if (parse_unsigned("orgs", optarg, &opts.orgs) < 0)
        goto out;
      orgs_given = 1;
      break;
    case OPT_FACILITIES:
      if (parse_unsigned("facilities", optarg, &opts.facilities) < 0)
        goto out;
      break;
    case OPT_ORG_LEVEL: opts.org_level = 1; break;
    case OPT_METRICS: opts.metrics = optarg; break;
    case OPT_GRAINS:
      if (oc_gen_parse_grains(optarg, &opts.grains, &err) < 0) {
        fprintf(stderr, "outcomes-gen: %s\n", err.msg);
        goto out;
      }
      break;
    case OPT_START:
      if (oc_date_parse(optarg, &opts.start, &err) < 0) {
        fprintf(stderr, "outcomes-gen: --start: %s\n", err.msg);
        goto out;
      }
      break;
    case OPT_PERIODS:
      if (parse_unsigned("periods", optarg, &opts.periods) < 0)
        goto out;
      break;
    case OPT_ROWS:
      if (parse_u64("rows", optarg, UINT64_C(1) << 40, &u) < 0)
        goto out;
      opts.rows = u;
      break;
    case OPT_DUPLICATES:
      if (parse_share("duplicates", optarg, &opts.duplicates) < 0)
        goto out;
      break;
    case OPT_RESTATEMENTS:
      if (parse_share("restatements", optarg, &opts.restatements) < 0)
        goto out;
      break;
    case OPT_LATE:
      if (parse_share("late", optarg, &opts.late) < 0)
        goto out;
      break;
    case OPT_TIES:
      if (parse_share("ties", optarg, &opts.ties) < 0)
        goto out;
      break;
    case OPT_TOMBSTONES:
      if (parse_share("tombstones", optarg, &opts.tombstones) < 0)
        goto out;
      break;
    case OPT_INVALID:
      if (parse_share("invalid", optarg, &opts.invalid) < 0)
        goto out;
      break;
    case 'q': quiet = 1; break;
    case 'h':
      usage(stdout);
      status = OC_EX_OK;
      goto out;
    default: usage(stderr); goto out;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "outcomes-gen: unexpected argument '%s'\n", argv[optind]);
    goto out;
  }
  if (orgs_given && opts.rows) {
    fprintf(stderr, "outcomes-gen: --rows sets the number of orgs: not with --orgs\n");
    goto out;
  }
  if (cli.list) {
    oc_config_print_list(&program, cli.list, stdout);
    status = OC_EX_OK;
    goto out;
  }
  if (oc_config_load_program(&program, &cli, &cfg, &err) < 0) {
    fprintf(stderr, "outcomes-gen: %s\n", err.msg);
    status = oc_err_exit_status(err.code);
    goto out;
  }

  if (!(catalog = oc_config_get_str(cfg, "catalog")))
    catalog = oc_catalog_default_path();
  if ((rc = oc_catalog_load_file(catalog, &cat, &err)) < 0) {
    fprintf(stderr, "outcomes-gen: catalog: %s\n", err.msg);
    status = oc_err_exit_status(rc);
    goto out;
  }
  if (out_dir) {
    if (mkdir(out_dir, 0777) < 0 && errno != EEXIST) {
      fprintf(stderr, "outcomes-gen: mkdir '%s': %s\n", out_dir, strerror(errno));
      status = OC_EX_IOERR;
      goto out;
    }
    rc = oc_gen_write_dir(&opts, cat, out_dir, &st, &err);
  } else {
    oc_gen_sinks_t sinks = {stdout, NULL, NULL, NULL};
    rc = oc_gen_run(&opts, cat, &sinks, &st, &err);
  }
  if (rc < 0) {
    fprintf(stderr, "outcomes-gen: %s\n", err.msg);
    status = oc_err_exit_status(rc);
    goto out;
  }
  if (!quiet)
    fprintf(stderr,
            "outcomes-gen: identities=%" PRIu64 " rows=%" PRIu64 " restatements=%" PRIu64
            " ties=%" PRIu64 " late=%" PRIu64 " duplicates=%" PRIu64 " invalid=%" PRIu64
            " tombstones=%" PRIu64 " facts=%" PRIu64 "\n",
            st.identities, st.rows, st.restatements, st.ties, st.late, st.duplicates, st.invalid,
            st.tombstones, st.facts);
  status = OC_EX_OK;
out:
  oc_catalog_destroy(cat);
  oc_config_destroy(cfg);
  return status;
}
