/*
 * outcomes-produce - CSV / JSON Lines files, stdin or a spool directory to
 * Kafka, validated against the metric catalog, every delivery checked.
 *
 * This file parses options, maps results to exit codes (sysexits) and
 * prints the per-row errors and the summary; the work is in lib/ (input.c,
 * produce.c, spool.c).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outcomes/catalog.h"
#include "outcomes/clock.h"
#include "outcomes/config.h"
#include "outcomes/date.h"
#include "outcomes/input.h"
#include "outcomes/kafka.h"
#include "outcomes/log.h"
#include "outcomes/process.h"
#include "outcomes/obs_codec.h"
#include "outcomes/progress.h"
#include "outcomes/schema_ids.h"
#include "outcomes/produce.h"
#include "outcomes/spool.h"
#include "outcomes/tls_policy.h"

#ifndef OC_VERSION
#define OC_VERSION "dev"
#endif

static const char *const progname = "outcomes-produce";

/* Our own configuration keys (docs/design.md §10): file < environment < -X. */
static const oc_conf_def_t conf_defs[] = {
    {"brokers", OC_CONF_STR, NULL, 0, 0, 0, "OUTCOMES_KAFKA_BROKERS",
     "Kafka bootstrap servers (host:port,...); -b"},
    {"topic", OC_CONF_STR, "outcomes.observations", 0, 0, 0, "OUTCOMES_TOPIC",
     "topic to publish to; -t"},
    {"catalog", OC_CONF_STR, NULL, 0, 0, 0, "OUTCOMES_CATALOG",
     "metric catalog file (default: the installed catalog.tsv); --catalog"},
    {"schema.dir", OC_CONF_STR, NULL, 0, 0, 0, "OUTCOMES_SCHEMA_DIR",
     "directory of the Avro schemas (default: the installed ones)"},
    {"flush.timeout", OC_CONF_MS, "30s", 0, 86400000, 0, NULL,
     "after SIGINT/SIGTERM, how long to wait for messages in flight; --flush-timeout"},
    {"watch.rescan.interval", OC_CONF_MS, "5s", 100, 3600000, 0, NULL,
     "--watch: rescan the directory this often (besides inotify)"},
    {"watch.retry.backoff.min", OC_CONF_MS, "1s", 10, 3600000, 0, NULL,
     "--watch: first wait before publishing a file again after a Kafka failure"},
    {"watch.retry.backoff.max", OC_CONF_MS, "60s", 10, 3600000, 0, NULL,
     "--watch: longest wait between attempts (the wait doubles up to it)"},
    {"metrics.listen", OC_CONF_STR, "", 0, 0, 0, "OUTCOMES_METRICS_LISTEN",
     "--watch: host:port serving /metrics, /healthz and /readyz (empty: none)"},
    {"log.level", OC_CONF_STR, "info", 0, 0, 0, "OUTCOMES_LOG_LEVEL",
     "error, warning, notice, info or debug"},
    OC_TLS_CONF_KAFKA,
    OC_VALUE_FORMAT_CONF,
    OC_SR_CONF,
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};

static const oc_conf_program_t program = {"outcomes-produce", conf_defs, OC_CONF_PASS_KAFKA};

/* SIGINT/SIGTERM: 1 = stop reading and flush, 2 = give up flushing. */
static volatile sig_atomic_t g_stop = 0;
/* --watch: SIGHUP, reload the catalog file. */
static volatile sig_atomic_t g_reload = 0;

static void usage(FILE *out) {
  fprintf(out,
          "usage: %s [OPTIONS] [FILE...]\n"
          "       %s [OPTIONS] --watch DIR\n"
          "       %s -X list | kafka.list\n"
          "\n"
          "Publish outcome observations from CSV or JSON Lines files (or standard\n"
          "input, FILE '-' or none) to Kafka, validated against the metric catalog.\n"
          "Rejected rows are printed as 'file:line: field: reason'; the valid rows are\n"
          "still published unless --strict. A file counts as published only when the\n"
          "broker acknowledged every one of its records.\n"
          "\n"
          "options:\n"
          "  -b, --brokers LIST       bootstrap servers (default $OUTCOMES_KAFKA_BROKERS)\n"
          "  -t, --topic NAME         topic (default outcomes.observations)\n"
          "  -c, -F, --config FILE    configuration file of key=value lines\n"
          "  -X KEY=VALUE             one of the keys below, or a librdkafka property\n"
          "                           (as kafka.<property> or bare); repeatable\n"
          "  -X list                  print the keys below and exit\n"
          "  -X kafka.list            print librdkafka's properties and exit\n"
          "      --catalog FILE       metric catalog (default the installed catalog.tsv)\n"
          "      --schema-dir DIR     Avro schemas directory (default the installed one)\n"
          "      --format csv|jsonl|fhir\n"
          "                           input format (default from the extension: .csv;\n"
          "                           .jsonl, .ndjson: JSON Lines, or FHIR NDJSON when\n"
          "                           the first line has a resourceType; .json: FHIR;\n"
          "                           required for stdin)\n"
          "      --strict             a file with any bad row publishes nothing\n"
          "      --dry-run            validate only; connect to nothing\n"
          "      --retract            rows hold only org_id, facility_id, metric, grain,\n"
          "                           period_start: publish tombstones for them\n"
          "      --flush-timeout DUR  after SIGINT/SIGTERM wait this long for messages\n"
          "                           in flight (default 30s)\n"
          "      --watch DIR          spool-directory daemon (see the man page)\n"
          "      --progress           a progress line on stderr even when it is not a\n"
          "                           terminal (one line per second)\n"
          "  -v, --verbose            debug logging\n"
          "  -q, --quiet              warnings and errors only, no progress line\n"
          "  -h, --help               this help\n"
          "  -V, --version            print the version\n"
          "\n"
          "exit status: 0 all published; 64 usage; 65 some rows rejected (or a bad\n"
          "  file or schema); 66 an input file cannot be opened; 69 Kafka unavailable\n"
          "  or records not delivered; 70 internal error; 74 read error; 75\n"
          "  interrupted before the end; 78 configuration error.\n"
          "\n"
          "configuration keys (-c file, environment, -X and the options, in order):\n",
          progname, progname, progname);
  oc_config_print_help(&program, out);
}

enum {
  OPT_CATALOG = 256,
  OPT_SCHEMA_DIR,
  OPT_FORMAT,
  OPT_STRICT,
  OPT_DRY_RUN,
  OPT_RETRACT,
  OPT_FLUSH_TIMEOUT,
  OPT_WATCH,
  OPT_PROGRESS,
};

static const struct option long_opts[] = {
    {"brokers", required_argument, NULL, 'b'},
    {"topic", required_argument, NULL, 't'},
    {"config", required_argument, NULL, 'c'},
    {"catalog", required_argument, NULL, OPT_CATALOG},
    {"schema-dir", required_argument, NULL, OPT_SCHEMA_DIR},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"strict", no_argument, NULL, OPT_STRICT},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"retract", no_argument, NULL, OPT_RETRACT},
    {"flush-timeout", required_argument, NULL, OPT_FLUSH_TIMEOUT},
    {"watch", required_argument, NULL, OPT_WATCH},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* The command line. */
typedef struct cli_s {
  oc_conf_cli_t conf; /* -c, -X and the options that stand for keys */
  const char *format;
  const char *watch;
  bool strict, dry_run, retract, progress;
  int verbosity; /* -1 quiet, 0, 1 verbose */
} cli_t;

static rd_kafka_conf_t *kafka_conf(const oc_config_t *cfg, oc_err_t *err) {
  rd_kafka_conf_t *conf = oc_kafka_conf_new(oc_config_get_str(cfg, "brokers"), err);

  if (!conf)
    return NULL;
  /* Our defaults first: the user's kafka.* keys override them. */
  if (oc_produce_kafka_conf_defaults(conf, err) < 0)
    goto fail;
  if (oc_kafka_conf_apply(conf, cfg, oc_produce_reserved_keys, err) < 0)
    goto fail;
  return conf;
fail:
  rd_kafka_conf_destroy(conf);
  return NULL;
}

/* ---- the progress line ---------------------------------------------------
 * On a terminal one line rewritten in place at most every TTY_MS, cleared
 * before any other message and left with the totals at the end; with
 * --progress elsewhere, one line per LINES_MS. */

#define PROGRESS_TTY_MS 250
#define PROGRESS_LINES_MS 1000

typedef struct progress_line_s {
  bool on, tty, shown; /* shown: a line is on the terminal, not ended */
  bool dry_run;
  oc_progress_t timer;
  int64_t total_bytes;       /* of every input; -1 unknown (a pipe) */
  int64_t done_bytes;        /* read from the files done */
  int64_t offset;            /* read from the file under way */
  uint64_t seen;             /* rows read in every pass of every file: the rate's */
  uint64_t last_read;        /* the file's count at the last call */
  oc_produce_stats_t before; /* the files done */
} progress_line_t;

/* The inputs' total size, or -1 when one of them is not a regular file. */
static int64_t inputs_size(char **files, int n) {
  int64_t total = 0;
  for (int i = 0; i < n; i++) {
    struct stat st;
    int rc = strcmp(files[i], "-") == 0 ? fstat(STDIN_FILENO, &st) : stat(files[i], &st);
    if (rc != 0 || !S_ISREG(st.st_mode))
      return -1;
    total += (int64_t)st.st_size;
  }
  return total;
}

static void progress_clear(progress_line_t *pl) {
  if (!pl->shown)
    return;
  fputs("\r\033[K", stderr);
  pl->shown = false;
}

static void progress_draw(progress_line_t *pl, const oc_produce_stats_t *now, uint64_t sent,
                          bool final) {
  char line[256];
  oc_progress_est_t e;
  int64_t bytes = pl->done_bytes + (pl->offset > 0 ? pl->offset : 0);

  oc_progress_estimate(&pl->timer, oc_clock_ms(), (int64_t)pl->seen, -1, &e);
  oc_progress_format_rows(line, sizeof(line), now->read, pl->dry_run ? -1 : (int64_t)sent, e.rate,
                          oc_progress_percent(bytes, pl->total_bytes), now->rejected);
  if (pl->tty) {
    fprintf(stderr, "\rprogress: %s\033[K%s", line, final ? "\n" : "");
    pl->shown = !final;
  } else {
    fprintf(stderr, "progress: %s\n", line);
  }
  fflush(stderr);
}

static void on_progress(void *opaque, const oc_produce_progress_t *pr) {
  progress_line_t *pl = opaque;
  int64_t t = oc_clock_ms();

  /* A new pass (--strict) counts from 0 again. */
  pl->seen += pr->read >= pl->last_read ? pr->read - pl->last_read : pr->read;
  pl->last_read = pr->read;
  if (pr->offset >= 0)
    pl->offset = pr->offset;
  if (!oc_progress_due(&pl->timer, t))
    return;
  oc_progress_sample(&pl->timer, t, (int64_t)pl->seen, -1, NULL);
  oc_produce_stats_t now = {
      .read = pl->before.read + pr->read,
      .rejected = pl->before.rejected + pr->rejected,
  };
  progress_draw(pl, &now, pl->before.published + pr->sent, false);
}

/* A file is done: its counts join the totals. */
static void progress_file_done(progress_line_t *pl, const oc_produce_stats_t *st) {
  pl->before.read += st->read;
  pl->before.published += st->published;
  pl->before.rejected += st->rejected;
  pl->done_bytes += pl->offset > 0 ? pl->offset : 0;
  pl->offset = 0;
  pl->last_read = 0;
}

/* A message of its own line on stderr, the progress line cleared first. */
static void say(progress_line_t *pl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(progress_line_t *pl, const char *fmt, ...) {
  va_list ap;
  progress_clear(pl);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
}

static void print_reject(void *opaque, const char *name, long line, const char *msg) {
  say(opaque, "%s:%ld: %s\n", name, line, msg);
}

/* Exit statuses by severity: a worse one wins over a milder one. */
static int worse(int a, int b) {
  static const int order[] = {OC_EX_OK,          OC_EX_DATAERR, OC_EX_TEMPFAIL,
                              OC_EX_NOINPUT,     OC_EX_IOERR,   OC_EX_USAGE,
                              OC_EX_UNAVAILABLE, OC_EX_CONFIG,  OC_EX_SOFTWARE};
  int ra = 0, rb = 0;
  for (int i = 0; i < (int)(sizeof(order) / sizeof(order[0])); i++) {
    if (order[i] == a)
      ra = i;
    if (order[i] == b)
      rb = i;
  }
  return ra >= rb ? a : b;
}

/* A file's exit status: oc_err_exit_status(), except that a file that
 * cannot be opened is a missing input (66) and an interrupted one 75. */
static int file_exit_code(int rc, const oc_produce_stats_t *st) {
  if (rc == 0)
    return st->interrupted ? OC_EX_TEMPFAIL : st->rejected ? OC_EX_DATAERR : OC_EX_OK;
  if (rc == OC_ERR_IO && !st->read)
    return OC_EX_NOINPUT;
  return oc_err_exit_status(rc);
}

/* Options that stand for configuration keys. */
static const struct {
  int opt;
  const char *key, *origin;
} key_opts[] = {
    {'b', "brokers", "-b"},
    {'t', "topic", "-t"},
    {OPT_CATALOG, "catalog", "--catalog"},
    {OPT_SCHEMA_DIR, "schema.dir", "--schema-dir"},
    {OPT_FLUSH_TIMEOUT, "flush.timeout", "--flush-timeout"},
};

static int parse_args(int argc, char **argv, cli_t *cli) {
  oc_err_t err;
  int c;

  while ((c = getopt_long(argc, argv, "b:t:c:F:X:vqhV", long_opts, NULL)) != -1) {
    int rc = 0;
    for (size_t i = 0; i < sizeof(key_opts) / sizeof(key_opts[0]); i++)
      if (key_opts[i].opt == c) {
        rc = oc_conf_cli_option(&cli->conf, key_opts[i].key, optarg, key_opts[i].origin, &err);
        c = 0;
      }
    switch (c) {
    case 0: break;
    case 'c':
    case 'F': cli->conf.file = optarg; break;
    case 'X': rc = oc_conf_cli_x(&cli->conf, &program, optarg, &err); break;
    case OPT_FORMAT: cli->format = optarg; break;
    case OPT_STRICT: cli->strict = true; break;
    case OPT_DRY_RUN: cli->dry_run = true; break;
    case OPT_RETRACT: cli->retract = true; break;
    case OPT_WATCH: cli->watch = optarg; break;
    case OPT_PROGRESS: cli->progress = true; break;
    case 'v': cli->verbosity = 1; break;
    case 'q': cli->verbosity = -1; break;
    case 'h': usage(stdout); return -1;
    case 'V':
      printf("%s %s (librdkafka %s)\n", progname, OC_VERSION, rd_kafka_version_str());
      return -1;
    default: fprintf(stderr, "Try '%s --help'.\n", progname); return OC_EX_USAGE;
    }
    if (rc != 0) {
      fprintf(stderr, "%s: %s\n", progname, err.msg);
      return oc_err_exit_status(rc);
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  cli_t cli;
  oc_config_t *cfg = NULL;
  oc_catalog_t *cat = NULL;
  oc_obs_codec_t *codec = NULL;
  oc_schema_ids_t *ids = NULL;
  oc_producer_t *prod = NULL;
  rd_kafka_conf_t *conf = NULL;
  oc_produce_opts_t po;
  oc_err_t err;
  int status = 0;
  int rc;

  memset(&cli, 0, sizeof(cli));
  memset(&po, 0, sizeof(po));
  oc_err_clear(&err);
  oc_log_init(progname);

  if (oc_signals_install(&g_stop) != 0) {
    fprintf(stderr, "%s: cannot install signal handlers\n", progname);
    return OC_EX_SOFTWARE;
  }

  rc = parse_args(argc, argv, &cli);
  if (rc != 0) {
    status = rc < 0 ? 0 : rc;
    goto out;
  }
  if (cli.conf.list) {
    oc_config_print_list(&program, cli.conf.list, stdout);
    goto out;
  }
  if (cli.watch && cli.progress) {
    fprintf(stderr, "%s: --watch and --progress do not go together\nTry '%s --help'.\n", progname,
            progname);
    status = OC_EX_USAGE;
    goto out;
  }
  if (cli.watch && optind < argc) {
    fprintf(stderr, "%s: --watch takes no FILE arguments\nTry '%s --help'.\n", progname, progname);
    status = OC_EX_USAGE;
    goto out;
  }
  if (cli.format && oc_input_format_from_name(cli.format, &po.format, &err) < 0) {
    fprintf(stderr, "%s: --format: %s\n", progname, err.msg);
    status = OC_EX_USAGE;
    goto out;
  }
  for (int i = optind; !cli.format && !cli.watch && i <= argc; i++) {
    /* No FILE is standard input, like "-". */
    if ((i == argc && optind == argc) || (i < argc && strcmp(argv[i], "-") == 0)) {
      fprintf(stderr, "%s: standard input: --format csv|jsonl|fhir is required\n", progname);
      status = OC_EX_USAGE;
      goto out;
    }
  }

  if (oc_config_load_program(&program, &cli.conf, &cfg, &err) < 0) {
    fprintf(stderr, "%s: %s\n", progname, err.msg);
    status = oc_err_exit_status(err.code);
    goto out;
  }
  if (cli.verbosity)
    oc_log_set_level(cli.verbosity > 0 ? LOG_DEBUG : LOG_WARNING);

  const char *catalog_path = oc_config_get_str(cfg, "catalog");
  if (!catalog_path)
    catalog_path = oc_catalog_default_path();
  if (oc_catalog_load_file(catalog_path, &cat, &err) < 0) {
    fprintf(stderr, "%s: catalog: %s\n", progname, err.msg);
    status = oc_err_exit_status(err.code);
    goto out;
  }
  if (!cli.dry_run && !cli.retract &&
      oc_obs_codec_new(oc_config_get_str(cfg, "schema.dir"), &codec, &err) < 0) {
    fprintf(stderr, "%s: schemas: %s\n", progname, err.msg);
    status = oc_err_exit_status(err.code);
    goto out;
  }
  /* Registered before a byte is read: a refusal stops the run first. */
  if (codec && oc_schema_ids_setup(cfg, codec, oc_config_get_str(cfg, "topic"), &ids, &err) < 0) {
    fprintf(stderr, "%s: %s\n", progname, err.msg);
    status = err.code == OC_ERR_IO ? OC_EX_UNAVAILABLE : oc_err_exit_status(err.code);
    goto out;
  }
  if (!cli.dry_run) {
    if (!oc_config_get_str(cfg, "brokers")) {
      fprintf(stderr, "%s: no brokers: use -b or set OUTCOMES_KAFKA_BROKERS\n", progname);
      status = OC_EX_USAGE;
      goto out;
    }
    if (!(conf = kafka_conf(cfg, &err))) {
      fprintf(stderr, "%s: %s\n", progname, err.msg);
      status = oc_err_exit_status(err.code);
      goto out;
    }
  }

  po.topic = oc_config_get_str(cfg, "topic");
  po.catalog = cat;
  po.codec = codec;
  po.strict = cli.strict;
  po.dry_run = cli.dry_run;
  po.retract = cli.retract;
  po.regular_only = cli.watch != NULL; /* a spool writer must not point it elsewhere */
  po.flush_timeout_ms = oc_config_get_int(cfg, "flush.timeout");
  po.default_observed_at = oc_timestamp_now();
  po.stop = &g_stop;
  progress_line_t pl;
  memset(&pl, 0, sizeof(pl));
  pl.tty = isatty(STDERR_FILENO) == 1;
  pl.on = !cli.watch && cli.verbosity >= 0 && (cli.progress || pl.tty);
  pl.dry_run = cli.dry_run;
  if (pl.on) {
    po.progress = on_progress;
    po.progress_opaque = &pl;
  }
  rc = oc_producer_new(conf, &po, &prod, &err);
  conf = NULL; /* taken over */
  if (rc < 0) {
    fprintf(stderr, "%s: %s\n", progname, err.msg);
    status = oc_err_exit_status(err.code);
    goto out;
  }

  if (cli.watch) {
    oc_spool_opts_t so = {
        .dir = cli.watch,
        .rescan_ms = oc_config_get_int(cfg, "watch.rescan.interval"),
        .retry_min_ms = oc_config_get_int(cfg, "watch.retry.backoff.min"),
        .retry_max_ms = oc_config_get_int(cfg, "watch.retry.backoff.max"),
        .stop = &g_stop,
        .metrics_listen = oc_config_get_str(cfg, "metrics.listen"),
        .topic = oc_config_get_str(cfg, "topic"),
        .reload = &g_reload,
        .catalog_path = catalog_path,
        .catalog = cat,
    };
    if (cli.dry_run) {
      fprintf(stderr, "%s: --watch and --dry-run do not go together\n", progname);
      status = OC_EX_USAGE;
      goto out;
    }
    if (oc_signals_install_reload(&g_reload) != 0) {
      fprintf(stderr, "%s: cannot install the SIGHUP handler\n", progname);
      status = OC_EX_SOFTWARE;
      goto out;
    }
    if (oc_spool_run(prod, &so, &err) < 0) {
      fprintf(stderr, "%s: %s\n", progname, err.msg);
      status = oc_err_exit_status(err.code);
    }
    goto out;
  }

  oc_produce_stats_t total;
  memset(&total, 0, sizeof(total));
  static char dash[] = "-";
  char *stdin_only[] = {dash};
  char **files = optind < argc ? argv + optind : stdin_only;
  int nfiles = optind < argc ? argc - optind : 1;
  if (pl.on) {
    oc_progress_init(&pl.timer, pl.tty ? PROGRESS_TTY_MS : PROGRESS_LINES_MS);
    oc_progress_sample(&pl.timer, oc_clock_ms(), 0, -1, NULL); /* the rate's start */
    pl.total_bytes = inputs_size(files, nfiles);
  }
  for (int i = 0; i < nfiles && !g_stop; i++) {
    oc_produce_stats_t st;
    rc = oc_producer_file(prod, files[i], NULL, print_reject, &pl, &st, &err);
    progress_file_done(&pl, &st);
    if (rc < 0 && rc != OC_ERR_BAD_FIELD) /* a bad header was printed as a row */
      say(&pl, "%s: %s\n", progname, err.msg);
    if (rc == 0 && st.withheld)
      say(&pl, "%s: %s: --strict: nothing published (%llu rejected row%s)\n", progname,
          strcmp(files[i], "-") == 0 ? "<stdin>" : files[i], (unsigned long long)st.rejected,
          st.rejected == 1 ? "" : "s");
    if (rc == 0 && st.interrupted)
      say(&pl, "%s: %s: interrupted: the rest of the file was not read\n", progname,
          strcmp(files[i], "-") == 0 ? "<stdin>" : files[i]);
    status = worse(status, file_exit_code(rc, &st));
    total.read += st.read;
    total.published += st.published;
    total.rejected += st.rejected;
    total.not_delivered += st.not_delivered;
    total.possibly_persisted += st.possibly_persisted;
    if (rc == OC_ERR_KAFKA && oc_producer_fatal(prod))
      break;
  }
  if (g_stop && status == 0)
    status = OC_EX_TEMPFAIL;
  if (pl.on)
    progress_draw(&pl, &total, total.published, true);
  if (cli.dry_run)
    fprintf(stderr, "rows read %llu, valid %llu, rejected %llu (dry run: nothing sent)\n",
            (unsigned long long)total.read, (unsigned long long)(total.read - total.rejected),
            (unsigned long long)total.rejected);
  else if (total.not_delivered && total.possibly_persisted)
    fprintf(stderr,
            "rows read %llu, published %llu, rejected %llu, not delivered %llu"
            " (%llu of them possibly persisted)\n",
            (unsigned long long)total.read, (unsigned long long)total.published,
            (unsigned long long)total.rejected, (unsigned long long)total.not_delivered,
            (unsigned long long)total.possibly_persisted);
  else if (total.not_delivered)
    fprintf(stderr, "rows read %llu, published %llu, rejected %llu, not delivered %llu\n",
            (unsigned long long)total.read, (unsigned long long)total.published,
            (unsigned long long)total.rejected, (unsigned long long)total.not_delivered);
  else
    fprintf(stderr, "rows read %llu, published %llu, rejected %llu\n",
            (unsigned long long)total.read, (unsigned long long)total.published,
            (unsigned long long)total.rejected);

out:
  oc_producer_destroy(prod);
  if (conf)
    rd_kafka_conf_destroy(conf);
  oc_schema_ids_destroy(ids);
  oc_obs_codec_destroy(codec);
  oc_catalog_destroy(cat);
  oc_config_destroy(cfg);
  return status;
}
