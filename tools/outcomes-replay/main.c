/* outcomes-replay - rewind a consumer group, republish a topic range,
 * rebuild rollups, list/show/redrive dead letters. A thin main over
 * lib/replay*.c; see docs/man/outcomes-replay.8. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes/config.h"
#include "outcomes/err.h"
#include "outcomes/log.h"
#include "outcomes/process.h"
#include "outcomes/replay.h"

#ifndef OC_VERSION
#define OC_VERSION "unknown"
#endif

#define PROG "outcomes-replay"

enum {
  OPT_VERSION = 256,
  OPT_DRY_RUN,
  OPT_FORCE,
  OPT_GROUP,
  OPT_TOPIC,
  OPT_TO_BEGINNING,
  OPT_TO_TIME,
  OPT_TO_OFFSET,
  OPT_PARTITIONS,
  OPT_FROM_TOPIC,
  OPT_TO_TOPIC,
  OPT_FROM_TIME,
  OPT_FROM_OFFSET,
  OPT_KEEP_TS,
  OPT_RESTART,
  OPT_METRIC,
  OPT_FROM,
  OPT_TO,
  OPT_BATCH,
  OPT_CODE,
  OPT_LIMIT,
  OPT_ALL,
  OPT_PENDING,
  OPT_OLDER_THAN,
  OPT_COUNT,
  OPT_MAX
};

static volatile sig_atomic_t g_stop;

static void print_line(void *opaque, const char *line) {
  (void)opaque;
  printf("%s\n", line);
  fflush(stdout);
}

static void usage(const oc_conf_program_t *prog, FILE *f) {
  fprintf(f, "usage: " PROG " [-c FILE] [-X key=value]... [--dry-run] [--force] COMMAND ...\n"
             "       " PROG " -X list\n"
             "\n"
             "  rewind --group G --topic T (--to-beginning | --to-time TS |\n"
             "         --to-offset P:O[,P:O...]) [--partitions P[,P...]]\n"
             "      move the group's offsets stored in PostgreSQL; the daemon consumes again\n"
             "  republish --from-topic A --to-topic B [--from-time TS] [--to-time TS]\n"
             "         [--from-offset P:O,...] [--to-offset P:O,...] [--partitions P,...]\n"
             "         [--keep-timestamps] [--restart]\n"
             "      copy a range [from, to) of A to B: keys, values, tombstones, headers\n"
             "  cat --topic T [--from-time TS] [--to-time TS] [--from-offset P:O,...]\n"
             "         [--to-offset P:O,...] [--partitions P,...] [--count N]\n"
             "      decode a range of T (either framing) to JSON Lines on stdout\n"
             "  rebuild [--metric M]... [--from DATE] [--to DATE] [--batch N]\n"
             "      recompute rollups from facts, online (dates widened to whole years)\n"
             "  dlq list [--code C] [--group G] [--pending] [--limit N]\n"
             "  dlq show ID\n"
             "  dlq redrive (ID... | --code C | --all) [--group G] [--topic T]\n"
             "      re-publish dead letters, mark them redriven once acknowledged\n"
             "  dlq purge --older-than INTERVAL [--code C] [--group G]\n"
             "      delete dead letters created before now - INTERVAL (30d, 12h)\n"
             "\n"
             "  -c, --config FILE   read key=value lines from FILE\n"
             "  -X key=value        set a key (after the file and the environment); kafka.*\n"
             "                      keys (or bare librdkafka properties) go to librdkafka,\n"
             "                      pg.* keys to libpq\n"
             "  -X list             print the keys below and exit\n"
             "  -n, --dry-run       print what would be done; change nothing\n"
             "      --force         rewind even when the group has live members\n"
             "      --version       print the version and exit\n"
             "  -h, --help          print this help and exit\n"
             "\n"
             "TS is RFC 3339 (2024-04-02T06:00:00Z) or @MILLISECONDS since the epoch.\n"
             "\n"
             "keys (default):\n");
  oc_config_print_help(prog, f);
  fprintf(f, "\nExit status: 0 ok, 64 usage, 65 bad data, 66 not found (topic, dead letter),\n"
             "69 Kafka, PostgreSQL or the schema registry unavailable or records not\n"
             "delivered, 70 internal error,\n"
             "74 I/O error, 75 refused: the group has live members (or interrupted: re-run),\n"
             "78 configuration.\n");
}

/* As oc_err_exit_status (a refusal, OC_ERR_CONFLICT, is 75; a server that
 * did not answer, a retriable OC_ERR_IO, 69), and 75 for a failure that a
 * stop request caused. */
static int exit_for(const oc_err_t *err) {
  int status = oc_err_exit_status(err->code);
  if (err->code == OC_ERR_IO && err->retriable) /* a server that did not answer */
    status = OC_EX_UNAVAILABLE;
  if (g_stop && (status == OC_EX_DATAERR || status == OC_EX_SOFTWARE || status == OC_EX_IOERR))
    return OC_EX_TEMPFAIL;
  return status;
}

/* Command-line state. */
typedef struct args_s {
  oc_conf_cli_t cli;
  bool seen[OPT_MAX];
  bool dry_run, force;
  const char *group, *topic, *to_time, *to_offset, *partitions, *from_topic, *to_topic;
  const char *from_time, *from_offset, *from, *to, *batch, *code, *limit, *older_than, *count;
  bool to_beginning, keep_ts, restart, all, pending;
  const char **metrics;
  size_t n_metrics;
} args_t;

/* Options that only some commands take (OPT_FORCE and after): refuse them
 * elsewhere. */
static int check_opts(const args_t *a, const char *cmd, const int *allowed) {
  /* The names of OPT_FORCE .. OPT_MAX - 1, in the enum's order. */
  static const char *const names[] = {
      "--force",       "--group",           "--topic",      "--to-beginning", "--to-time",
      "--to-offset",   "--partitions",      "--from-topic", "--to-topic",     "--from-time",
      "--from-offset", "--keep-timestamps", "--restart",    "--metric",       "--from",
      "--to",          "--batch",           "--code",       "--limit",        "--all",
      "--pending",     "--older-than",      "--count"};
  _Static_assert(sizeof(names) / sizeof(names[0]) == OPT_MAX - OPT_FORCE,
                 "a name for every command-specific option");
  for (int o = OPT_FORCE; o < OPT_MAX; o++) {
    if (!a->seen[o])
      continue;
    bool ok = false;
    for (size_t k = 0; allowed[k]; k++)
      ok |= allowed[k] == o;
    if (!ok) {
      fprintf(stderr, PROG ": %s does not apply to '%s'\n", names[o - OPT_FORCE], cmd);
      return -1;
    }
  }
  return 0;
}

static int cmd_rewind(oc_replay_t *r, const args_t *a, oc_err_t *err) {
  static const int allowed[] = {OPT_FORCE,   OPT_GROUP,     OPT_TOPIC,      OPT_TO_BEGINNING,
                                OPT_TO_TIME, OPT_TO_OFFSET, OPT_PARTITIONS, 0};
  oc_rewind_opts_t o;
  oc_part_offset_t *offs = NULL;
  int32_t *parts = NULL;
  int rc;

  if (check_opts(a, "rewind", allowed) != 0)
    return oc_err_set(err, OC_ERR_USAGE, "see --help");
  if (!a->group || !a->topic)
    return oc_err_set(err, OC_ERR_USAGE, "rewind needs --group and --topic");
  if ((int)a->to_beginning + (a->to_time != NULL) + (a->to_offset != NULL) != 1)
    return oc_err_set(err, OC_ERR_USAGE,
                      "rewind needs one of --to-beginning, --to-time, --to-offset");
  memset(&o, 0, sizeof(o));
  o.group = a->group;
  o.topic = a->topic;
  o.dry_run = a->dry_run;
  o.force = a->force;
  o.to = a->to_time ? OC_REWIND_TIME : a->to_offset ? OC_REWIND_OFFSETS : OC_REWIND_BEGINNING;
  if ((a->to_time && (rc = oc_replay_parse_time(a->to_time, &o.time_ms, err)) != 0) ||
      (a->to_offset &&
       (rc = oc_replay_parse_offsets(a->to_offset, &offs, &o.n_offsets, err)) != 0) ||
      (a->partitions &&
       (rc = oc_replay_parse_partitions(a->partitions, &parts, &o.n_partitions, err)) != 0))
    goto out;
  o.offsets = offs;
  o.partitions = parts;
  rc = oc_replay_rewind(r, &o, err);
out:
  free(offs);
  free(parts);
  return rc;
}

/* --from-time, --to-time, --from-offset, --to-offset and --partitions
 * into span; *from, *to and *parts are the caller's to free. */
static int parse_span(const args_t *a, oc_replay_span_t *span, oc_part_offset_t **from,
                      oc_part_offset_t **to, int32_t **parts, oc_err_t *err) {
  int rc = 0;
  span->has_from_time = a->from_time != NULL;
  span->has_to_time = a->to_time != NULL;
  if ((a->from_time && (rc = oc_replay_parse_time(a->from_time, &span->from_time_ms, err)) != 0) ||
      (a->to_time && (rc = oc_replay_parse_time(a->to_time, &span->to_time_ms, err)) != 0) ||
      (a->from_offset &&
       (rc = oc_replay_parse_offsets(a->from_offset, from, &span->n_from_offsets, err)) != 0) ||
      (a->to_offset &&
       (rc = oc_replay_parse_offsets(a->to_offset, to, &span->n_to_offsets, err)) != 0) ||
      (a->partitions &&
       (rc = oc_replay_parse_partitions(a->partitions, parts, &span->n_partitions, err)) != 0))
    return rc;
  span->from_offsets = *from;
  span->to_offsets = *to;
  span->partitions = *parts;
  return 0;
}

static int cmd_republish(oc_replay_t *r, const args_t *a, oc_err_t *err) {
  static const int allowed[] = {
      OPT_FROM_TOPIC, OPT_TO_TOPIC,   OPT_FROM_TIME, OPT_TO_TIME, OPT_FROM_OFFSET,
      OPT_TO_OFFSET,  OPT_PARTITIONS, OPT_KEEP_TS,   OPT_RESTART, 0};
  oc_republish_opts_t o;
  oc_part_offset_t *from = NULL, *to = NULL;
  int32_t *parts = NULL;
  int rc;

  if (check_opts(a, "republish", allowed) != 0)
    return oc_err_set(err, OC_ERR_USAGE, "see --help");
  if (!a->from_topic || !a->to_topic)
    return oc_err_set(err, OC_ERR_USAGE, "republish needs --from-topic and --to-topic");
  memset(&o, 0, sizeof(o));
  o.from_topic = a->from_topic;
  o.to_topic = a->to_topic;
  o.keep_timestamps = a->keep_ts;
  o.restart = a->restart;
  o.dry_run = a->dry_run;
  if ((rc = parse_span(a, &o.span, &from, &to, &parts, err)) != 0)
    goto out;
  rc = oc_replay_republish(r, &o, err);
out:
  free(from);
  free(to);
  free(parts);
  return rc;
}

static int cmd_cat(oc_replay_t *r, const args_t *a, oc_err_t *err) {
  static const int allowed[] = {OPT_TOPIC,     OPT_FROM_TIME,  OPT_TO_TIME, OPT_FROM_OFFSET,
                                OPT_TO_OFFSET, OPT_PARTITIONS, OPT_COUNT,   0};
  oc_cat_opts_t o;
  oc_part_offset_t *from = NULL, *to = NULL;
  int32_t *parts = NULL;
  int rc;

  if (check_opts(a, "cat", allowed) != 0)
    return oc_err_set(err, OC_ERR_USAGE, "see --help");
  if (!a->topic)
    return oc_err_set(err, OC_ERR_USAGE, "cat needs --topic");
  memset(&o, 0, sizeof(o));
  o.topic = a->topic;
  if (a->count) {
    char *end;
    o.max_records = strtoll(a->count, &end, 10);
    if (*end || end == a->count || o.max_records < 1)
      return oc_err_set(err, OC_ERR_USAGE, "--count '%s': want a positive integer", a->count);
  }
  if ((rc = parse_span(a, &o.span, &from, &to, &parts, err)) == 0)
    rc = oc_replay_cat(r, &o, err);
  free(from);
  free(to);
  free(parts);
  return rc;
}

static int cmd_rebuild(oc_replay_t *r, const args_t *a, oc_err_t *err) {
  static const int allowed[] = {OPT_METRIC, OPT_FROM, OPT_TO, OPT_BATCH, 0};
  oc_rebuild_opts_t o;

  if (check_opts(a, "rebuild", allowed) != 0)
    return oc_err_set(err, OC_ERR_USAGE, "see --help");
  memset(&o, 0, sizeof(o));
  o.metrics = a->metrics;
  o.n_metrics = a->n_metrics;
  o.dry_run = a->dry_run;
  if (a->from) {
    if (strlen(a->from) != 10)
      return oc_err_set(err, OC_ERR_USAGE, "--from '%s': want YYYY-MM-DD", a->from);
    o.has_from = true;
    memcpy(o.from, a->from, 11);
  }
  if (a->to) {
    if (strlen(a->to) != 10)
      return oc_err_set(err, OC_ERR_USAGE, "--to '%s': want YYYY-MM-DD", a->to);
    o.has_to = true;
    memcpy(o.to, a->to, 11);
  }
  if (a->batch) {
    char *end;
    o.batch_changes = strtoll(a->batch, &end, 10);
    if (*end || o.batch_changes < 1000)
      return oc_err_set(err, OC_ERR_USAGE, "--batch '%s': want an integer of at least 1000",
                        a->batch);
  }
  return oc_replay_rebuild(r, &o, err);
}

static int cmd_dlq(oc_replay_t *r, const args_t *a, int argc, char **argv, oc_err_t *err) {
  static const int allowed_list[] = {OPT_CODE, OPT_GROUP, OPT_PENDING, OPT_LIMIT, 0};
  static const int allowed_show[] = {0};
  static const int allowed_redrive[] = {OPT_CODE, OPT_GROUP, OPT_ALL, OPT_TOPIC, 0};
  static const int allowed_purge[] = {OPT_CODE, OPT_GROUP, OPT_OLDER_THAN, 0};
  oc_dlq_filter_t f;
  int64_t *ids = NULL;
  int rc = 0;

  if (argc < 1)
    return oc_err_set(err, OC_ERR_USAGE, "dlq needs list, show, redrive or purge");
  memset(&f, 0, sizeof(f));
  f.code = a->code;
  f.group = a->group;
  f.all = a->all;
  f.pending_only = a->pending;
  if (argc > 1 && !(ids = calloc((size_t)argc, sizeof(*ids))))
    return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  for (int i = 1; i < argc; i++) {
    char *end;
    ids[i - 1] = strtoll(argv[i], &end, 10);
    if (*end || ids[i - 1] < 1) {
      rc = oc_err_set(err, OC_ERR_USAGE, "'%s' is not a dead-letter id", argv[i]);
      goto out;
    }
  }
  if (strcmp(argv[0], "list") == 0) {
    if (check_opts(a, "dlq list", allowed_list) != 0 || argc > 1) {
      rc = oc_err_set(err, OC_ERR_USAGE, "dlq list takes options only: see --help");
      goto out;
    }
    if (a->limit) {
      char *end;
      f.limit = strtoll(a->limit, &end, 10);
      if (*end || f.limit < 1) {
        rc = oc_err_set(err, OC_ERR_USAGE, "--limit '%s': want a positive integer", a->limit);
        goto out;
      }
    }
    rc = oc_replay_dlq_list(r, &f, err);
  } else if (strcmp(argv[0], "show") == 0) {
    if (check_opts(a, "dlq show", allowed_show) != 0 || argc != 2) {
      rc = oc_err_set(err, OC_ERR_USAGE, "dlq show takes one id");
      goto out;
    }
    rc = oc_replay_dlq_show(r, ids[0], err);
  } else if (strcmp(argv[0], "redrive") == 0) {
    if (check_opts(a, "dlq redrive", allowed_redrive) != 0) {
      rc = oc_err_set(err, OC_ERR_USAGE, "see --help");
      goto out;
    }
    if ((argc > 1) + (a->code != NULL) + a->all != 1) {
      rc = oc_err_set(err, OC_ERR_USAGE, "dlq redrive needs one of: ids, --code C, --all");
      goto out;
    }
    f.ids = ids;
    f.n_ids = (size_t)(argc - 1);
    rc = oc_replay_dlq_redrive(r, &f, a->topic, a->dry_run, err);
  } else if (strcmp(argv[0], "purge") == 0) {
    if (check_opts(a, "dlq purge", allowed_purge) != 0 || argc > 1) {
      rc = oc_err_set(err, OC_ERR_USAGE, "dlq purge takes options only: see --help");
      goto out;
    }
    if (!a->older_than) {
      rc = oc_err_set(err, OC_ERR_USAGE, "dlq purge needs --older-than INTERVAL (30d, 12h)");
      goto out;
    }
    rc = oc_replay_dlq_purge(r, &f, a->older_than, a->dry_run, err);
  } else {
    rc = oc_err_set(err, OC_ERR_USAGE, "unknown dlq command '%s'", argv[0]);
  }
out:
  free(ids);
  return rc;
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"config", required_argument, NULL, 'c'},
      {"dry-run", no_argument, NULL, 'n'},
      {"force", no_argument, NULL, OPT_FORCE},
      {"group", required_argument, NULL, OPT_GROUP},
      {"topic", required_argument, NULL, OPT_TOPIC},
      {"to-beginning", no_argument, NULL, OPT_TO_BEGINNING},
      {"to-time", required_argument, NULL, OPT_TO_TIME},
      {"to-offset", required_argument, NULL, OPT_TO_OFFSET},
      {"partitions", required_argument, NULL, OPT_PARTITIONS},
      {"from-topic", required_argument, NULL, OPT_FROM_TOPIC},
      {"to-topic", required_argument, NULL, OPT_TO_TOPIC},
      {"from-time", required_argument, NULL, OPT_FROM_TIME},
      {"from-offset", required_argument, NULL, OPT_FROM_OFFSET},
      {"keep-timestamps", no_argument, NULL, OPT_KEEP_TS},
      {"restart", no_argument, NULL, OPT_RESTART},
      {"metric", required_argument, NULL, OPT_METRIC},
      {"from", required_argument, NULL, OPT_FROM},
      {"to", required_argument, NULL, OPT_TO},
      {"batch", required_argument, NULL, OPT_BATCH},
      {"code", required_argument, NULL, OPT_CODE},
      {"limit", required_argument, NULL, OPT_LIMIT},
      {"all", no_argument, NULL, OPT_ALL},
      {"pending", no_argument, NULL, OPT_PENDING},
      {"older-than", required_argument, NULL, OPT_OLDER_THAN},
      {"count", required_argument, NULL, OPT_COUNT},
      {"version", no_argument, NULL, OPT_VERSION},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const oc_conf_program_t prog = {PROG, oc_replay_conf_defs(),
                                  OC_CONF_PASS_KAFKA | OC_CONF_PASS_PG};
  args_t a;
  oc_config_t *cfg = NULL;
  oc_replay_t *r = NULL;
  oc_err_t err;
  int c, status = OC_EX_OK, rc = 0;

  oc_log_init(PROG);
  oc_err_clear(&err);
  memset(&a, 0, sizeof(a));
  a.metrics = calloc((size_t)argc + 1, sizeof(char *));
  if (!a.metrics) {
    status = OC_EX_SOFTWARE;
    goto out;
  }
  while ((c = getopt_long(argc, argv, "c:X:nh", longopts, NULL)) != -1) {
    if (c >= 0 && c < OPT_MAX)
      a.seen[c] = true;
    switch (c) {
    case 'c': a.cli.file = optarg; break;
    case 'X':
      if (oc_conf_cli_x(&a.cli, &prog, optarg, &err) != 0) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        status = oc_err_exit_status(err.code);
        goto out;
      }
      break;
    case 'n': a.dry_run = true; break;
    case OPT_FORCE: a.force = true; break;
    case OPT_GROUP: a.group = optarg; break;
    case OPT_TOPIC: a.topic = optarg; break;
    case OPT_TO_BEGINNING: a.to_beginning = true; break;
    case OPT_TO_TIME: a.to_time = optarg; break;
    case OPT_TO_OFFSET: a.to_offset = optarg; break;
    case OPT_PARTITIONS: a.partitions = optarg; break;
    case OPT_FROM_TOPIC: a.from_topic = optarg; break;
    case OPT_TO_TOPIC: a.to_topic = optarg; break;
    case OPT_FROM_TIME: a.from_time = optarg; break;
    case OPT_FROM_OFFSET: a.from_offset = optarg; break;
    case OPT_KEEP_TS: a.keep_ts = true; break;
    case OPT_RESTART: a.restart = true; break;
    case OPT_METRIC: a.metrics[a.n_metrics++] = optarg; break;
    case OPT_FROM: a.from = optarg; break;
    case OPT_TO: a.to = optarg; break;
    case OPT_BATCH: a.batch = optarg; break;
    case OPT_CODE: a.code = optarg; break;
    case OPT_LIMIT: a.limit = optarg; break;
    case OPT_ALL: a.all = true; break;
    case OPT_PENDING: a.pending = true; break;
    case OPT_OLDER_THAN: a.older_than = optarg; break;
    case OPT_COUNT: a.count = optarg; break;
    case OPT_VERSION: printf(PROG " %s\n", OC_VERSION); goto out;
    case 'h': usage(&prog, stdout); goto out;
    default:
      usage(&prog, stderr);
      status = OC_EX_USAGE;
      goto out;
    }
  }
  if (a.cli.list) {
    oc_config_print_list(&prog, a.cli.list, stdout);
    goto out;
  }
  if (optind >= argc) {
    fprintf(stderr, PROG ": no command: rewind, republish, cat, rebuild or dlq (see --help)\n");
    status = OC_EX_USAGE;
    goto out;
  }

  /* defaults < file < environment < -X */
  if (oc_config_load_program(&prog, &a.cli, &cfg, &err) != 0) {
    fprintf(stderr, PROG ": %s\n", err.msg);
    status = oc_err_exit_status(err.code);
    goto out;
  }
  if (oc_signals_install(&g_stop) != 0) {
    fprintf(stderr, PROG ": cannot install signal handlers\n");
    status = OC_EX_SOFTWARE;
    goto out;
  }
  if (oc_replay_new(cfg, print_line, NULL, &g_stop, &r, &err) != 0) {
    fprintf(stderr, PROG ": %s\n", err.msg);
    status = oc_err_exit_status(err.code);
    goto out;
  }

  const char *cmd = argv[optind];
  int nargs = argc - optind - 1;
  if (strcmp(cmd, "dlq") == 0) {
    rc = cmd_dlq(r, &a, nargs, argv + optind + 1, &err);
  } else if (nargs > 0) {
    rc = oc_err_set(&err, OC_ERR_USAGE, "unexpected argument '%s'", argv[optind + 1]);
  } else if (strcmp(cmd, "rewind") == 0) {
    rc = cmd_rewind(r, &a, &err);
  } else if (strcmp(cmd, "republish") == 0) {
    rc = cmd_republish(r, &a, &err);
  } else if (strcmp(cmd, "rebuild") == 0) {
    rc = cmd_rebuild(r, &a, &err);
  } else if (strcmp(cmd, "cat") == 0) {
    rc = cmd_cat(r, &a, &err);
  } else {
    rc = oc_err_set(&err, OC_ERR_USAGE, "unknown command '%s' (see --help)", cmd);
  }
  if (rc != 0) {
    fprintf(stderr, PROG ": %s\n", err.msg);
    status = exit_for(&err);
  }
out:
  oc_replay_destroy(r);
  oc_config_destroy(cfg);
  free(a.metrics);
  return status;
}
