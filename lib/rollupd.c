/* rollupd.c - the consumer daemon's loop; see include/outcomes/rollupd.h. */
#include "outcomes/rollupd.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>
#include <libpq-fe.h>

#include "outcomes/apply.h"
#include "outcomes/catalog.h"
#include "outcomes/kafka.h"
#include "outcomes/log.h"
#include "outcomes/notify.h"
#include "rollupd_metrics.h"
#include "outcomes/migrate.h"
#include "outcomes/obs_codec.h"
#include "outcomes/pg.h"

#define POLL_SLICE_MS 100 /* every loop wakes at least this often */
#define SCHEMA_VERSION_MIN 2
#define FAIL_REASON_MAX 160 /* the error as shown by /readyz */

static const oc_conf_def_t conf_defs[] = {
    {"brokers", OC_CONF_STR, NULL, 0, 0, 0, "OUTCOMES_KAFKA_BROKERS",
     "Kafka bootstrap servers (host:port,...)"},
    {"topic", OC_CONF_STR, "outcomes.observations", 0, 0, 0, NULL, "topic to consume"},
    {"group.id", OC_CONF_STR, "outcomes-rollupd", 0, 0, 0, NULL,
     "consumer group; also the key of the stored offsets"},
    {"conninfo", OC_CONF_STR, "", 0, 0, OC_CONF_CONNINFO, "OUTCOMES_PG_CONNINFO",
     "PostgreSQL conninfo (key=value or URI; pg.* keys add libpq keywords; never logged)"},
    {"schema.dir", OC_CONF_STR, NULL, 0, 0, 0, NULL,
     "directory of observation.v*.avsc (default: the installed one)"},
    {"sql.dir", OC_CONF_STR, NULL, 0, 0, 0, NULL,
     "directory of the SQL migrations for --migrate (default: the installed one)"},
    {"catalog.path", OC_CONF_STR, NULL, 0, 0, 0, NULL,
     "metric catalog synced by --migrate (default: the installed one)"},
    {"batch.max.records", OC_CONF_INT, "5000", 1, 1000000, 0, NULL,
     "messages per transaction at most"},
    {"batch.max.bytes", OC_CONF_BYTES, "16M", 1024, (int64_t)1 << 30, 0, NULL,
     "bytes of keys, values and headers per transaction at most"},
    {"batch.max.wait", OC_CONF_MS, "500ms", 1, 60000, 0, NULL,
     "time from a batch's first message to its transaction at most"},
    {"retry.backoff.max", OC_CONF_MS, "30s", 100, 600000, 0, NULL,
     "cap of the exponential backoff while PostgreSQL is unavailable"},
    {"ready.max.failures", OC_CONF_INT, "3", 1, 1000000, 0, NULL,
     "consecutive failed batches after which /readyz says not ready (until one commits)"},
    {"stats.interval", OC_CONF_MS, "60s", 1000, 86400000, 0, NULL,
     "period of the stats log line (counts by dead-letter reason)"},
    {"metrics.listen", OC_CONF_STR, "", 0, 0, 0, "OUTCOMES_METRICS_LISTEN",
     "host:port serving /metrics, /healthz and /readyz (empty: none), e.g. 127.0.0.1:9464"},
    {"log.level", OC_CONF_STR, "info", 0, 0, 0, "OUTCOMES_LOG_LEVEL",
     "error, warning, notice, info or debug"},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};

static const char *const reserved_kafka[] = {
    "enable.auto.commit", "enable.auto.offset.store", "group.id", "bootstrap.servers",
    "partition.assignment.strategy", "enable.partition.eof", NULL,
};

/* Defaults for librdkafka that kafka.* keys may override. Prefetch is
 * bounded on purpose: it is most of the daemon's memory. */
static const char *const kafka_defaults[][2] = {
    {"auto.offset.reset", "earliest"},
    {"queued.max.messages.kbytes", "32768"},
    {"queued.min.messages", "20000"},
    {"session.timeout.ms", "10000"},
    {"client.id", "outcomes-rollupd"},
    {NULL, NULL},
};

const oc_conf_def_t *oc_rollupd_conf_defs(void) { return conf_defs; }
const char *const *oc_rollupd_reserved_kafka_keys(void) { return reserved_kafka; }

/* ---- state ------------------------------------------------------------- */

typedef struct part_s {
  int32_t partition;
  int64_t stored; /* next_offset stored in PostgreSQL, -1 none */
  int64_t pos;    /* next offset accepted into a batch, -1 any */
  bool known;     /* stored was read since the partition was assigned */
} part_t;

typedef struct hw_s {
  int32_t partition;
  int64_t low, high; /* high-water mark when first assigned; high -1 unknown */
} hw_t;

typedef struct daemon_s {
  const oc_config_t *cfg;
  const oc_rollupd_opts_t *opts;
  const volatile sig_atomic_t *signals;
  const char *topic, *group;
  int64_t max_wait_ms, backoff_max_ms, stats_ms, ready_max_failures;

  rd_kafka_t *rk;
  PGconn *pg;
  oc_catalog_t *cat;
  oc_obs_codec_t *codec;
  oc_batch_t *batch;

  part_t *parts; /* the current assignment */
  size_t n_parts, cap_parts;
  hw_t *hws; /* for --exit-at-end, kept across rebalances */
  size_t n_hws, cap_hws;
  bool assigned_once;
  bool need_recover; /* seek every assigned partition back to its stored offset */
  int fatal;         /* an error no retry fixes: stop with it */
  oc_err_t fatal_err;

  bool pg_up, kafka_up;
  int last_kafka_err;
  int64_t backoff_ms;
  int64_t failures;                 /* consecutive failed batches */
  char last_failure[OC_ERR_MSG_MAX]; /* logged once until it changes */
  int64_t t_fail_first;              /* when the current run of failures began */
  int64_t t_fail_log;                /* last batch_still_failing line, 0 none yet */
  char fail_reason[FAIL_REASON_MAX]; /* the last failure, short, for /readyz */

  /* counters since start, for the stats line */
  int64_t n_batches, n_consumed, n_applied, n_stale, n_dead, n_conflicts;
  int64_t dead_by_code[64];
  int64_t t_start, t_stats;
  oc_rmetrics_t *metrics; /* owned; NULL-safe */
} daemon_t;

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int stop_level(const daemon_t *d) { return (int)*d->signals; }

static part_t *part_find(daemon_t *d, int32_t partition) {
  for (size_t i = 0; i < d->n_parts; i++)
    if (d->parts[i].partition == partition)
      return &d->parts[i];
  return NULL;
}

static hw_t *hw_find(daemon_t *d, int32_t partition, bool create) {
  for (size_t i = 0; i < d->n_hws; i++)
    if (d->hws[i].partition == partition)
      return &d->hws[i];
  if (!create)
    return NULL;
  if (d->n_hws == d->cap_hws) {
    size_t cap = d->cap_hws ? 2 * d->cap_hws : 16;
    hw_t *h = realloc(d->hws, cap * sizeof(*h));
    if (!h)
      return NULL;
    d->hws = h;
    d->cap_hws = cap;
  }
  hw_t *h = &d->hws[d->n_hws++];
  h->partition = partition;
  h->low = h->high = -1;
  return h;
}

/* Called from the loops that make progress or serve a deliberate wait
 * (oc_notify_watchdog_kick rate-limits to half the interval). */
static void watchdog(daemon_t *d) {
  oc_notify_watchdog_kick(oc_notify_now_usec());
  oc_rmetrics_tick(d->metrics);
}

/* Sleep ms in slices, serving Kafka callbacks and dropping messages (the
 * caller seeks afterwards). */
static void idle_poll(daemon_t *d, int64_t ms) {
  int64_t until = now_ms() + ms;
  while (stop_level(d) == 0 && now_ms() < until) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(d->rk, POLL_SLICE_MS);
    if (m)
      rd_kafka_message_destroy(m);
    watchdog(d);
  }
}

/* ---- PostgreSQL -------------------------------------------------------- */

static int pg_check_schema(PGconn *conn, oc_err_t *err) {
  char buf[32];
  bool is_null = true;
  int rc = oc_pg_query_value(conn,
                             "SELECT max(version) FROM outcomes.schema_migrations", 0,
                             NULL, buf, sizeof(buf), &is_null, err);
  if (rc != 0) {
    if (err && !err->retriable) {
      char why[OC_ERR_MSG_MAX];
      snprintf(why, sizeof(why), "%s", err->msg);
      return oc_err_set(err, OC_ERR_CONFIG, "schema outcomes is not migrated (%s): run with --migrate",
                        why);
    }
    return rc;
  }
  if (is_null || atoi(buf) < SCHEMA_VERSION_MIN)
    return oc_err_set(err, OC_ERR_CONFIG,
                      "schema outcomes is at version %s, %d needed: run with --migrate",
                      is_null ? "none" : buf, SCHEMA_VERSION_MIN);
  return 0;
}

/* Connect, check the schema, prepare the session, load the catalog. */
static int pg_setup(daemon_t *d, oc_err_t *err) {
  PGconn *conn = NULL;
  oc_catalog_t *cat = NULL;
  int rc;

  if ((rc = oc_pg_connect_config(d->cfg, "outcomes-rollupd", &conn, err)) != 0)
    goto out;
  if (d->opts->migrate && !d->assigned_once && !d->cat) {
    oc_migrate_report_t report;
    oc_migrate_report_init(&report);
    rc = oc_migrate_run(conn, oc_config_get_str(d->cfg, "sql.dir"),
                        oc_config_get_str(d->cfg, "catalog.path"), NULL, &report, err);
    if (rc == 0)
      oc_log_info("migrated applied=%zu total=%zu catalog_inserted=%zu catalog_updated=%zu",
                  report.n_new, report.n_migrations, report.cat_inserted, report.cat_updated);
    oc_migrate_report_release(&report);
    if (rc != 0)
      goto out;
  }
  if ((rc = pg_check_schema(conn, err)) != 0)
    goto out;
  if ((rc = oc_apply_prepare(conn, err)) != 0)
    goto out;
  if ((rc = oc_catalog_load_pg(conn, &cat, err)) != 0)
    goto out;
  if (oc_catalog_count(cat) == 0) {
    rc = oc_err_set(err, OC_ERR_CONFIG, "outcomes.metric_catalog is empty: run with --migrate");
    goto out;
  }
  if (d->batch)
    oc_batch_set_catalog(d->batch, cat);
  oc_catalog_destroy(d->cat);
  d->cat = cat;
  cat = NULL;
  if (d->pg)
    PQfinish(d->pg);
  d->pg = conn;
  conn = NULL;
out:
  oc_catalog_destroy(cat);
  if (conn)
    PQfinish(conn);
  return rc;
}

/* /readyz from what the loop knows: not ready while PostgreSQL is away or
 * since ready.max.failures batches in a row failed on a live connection
 * (disk full, a revoked permission, a statement timeout...); ready again at
 * the next commit. The reason holds no conninfo and no row data. */
static void publish_ready(daemon_t *d) {
  char reason[FAIL_REASON_MAX + 96];
  if (!d->pg_up) {
    oc_rmetrics_ready(d->metrics, false, "PostgreSQL unavailable");
    return;
  }
  if (d->failures < d->ready_max_failures) {
    oc_rmetrics_ready(d->metrics, true, NULL);
    return;
  }
  snprintf(reason, sizeof(reason), "batches failing: %s for %" PRId64 " s, %" PRId64 " attempts",
           d->fail_reason, (now_ms() - d->t_fail_first) / 1000, d->failures);
  oc_rmetrics_ready(d->metrics, false, reason);
}

static void pg_state(daemon_t *d, bool up, const oc_err_t *err) {
  if (up == d->pg_up)
    return;
  d->pg_up = up;
  oc_rmetrics_state(d->metrics, d->pg_up, d->kafka_up);
  publish_ready(d);
  if (up)
    oc_log_info("pg_up");
  else
    oc_log_err("pg_down error=\"%s\" backoff_max_ms=%" PRId64, err ? err->msg : "",
               d->backoff_max_ms);
}

/* ---- Kafka ------------------------------------------------------------- */

static void kafka_state(daemon_t *d, bool up, int code, const char *reason) {
  if (up == d->kafka_up && (up || code == d->last_kafka_err))
    return;
  d->kafka_up = up;
  d->last_kafka_err = code;
  oc_rmetrics_state(d->metrics, d->pg_up, d->kafka_up);
  if (up)
    oc_log_info("kafka_up");
  else
    oc_log_warn("kafka_error code=%s reason=\"%s\"", rd_kafka_err2name(code), reason);
}

static void error_cb(rd_kafka_t *rk, int code, const char *reason, void *opaque) {
  daemon_t *d = opaque;
  if (code == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof(buf));
    d->fatal = oc_err_set(&d->fatal_err, OC_ERR_KAFKA, "kafka fatal error: %s: %s",
                          rd_kafka_err2name(orig), buf);
    return;
  }
  kafka_state(d, false, code, reason);
}

static void commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t code,
                      rd_kafka_topic_partition_list_t *offsets, void *opaque) {
  (void)rk;
  (void)offsets;
  (void)opaque;
  if (code && code != RD_KAFKA_RESP_ERR__NO_OFFSET)
    oc_log_debug("kafka_offset_copy_failed code=%s", rd_kafka_err2name(code));
}

/* Read the stored offsets of every assigned partition. */
static int load_offsets(daemon_t *d, oc_err_t *err) {
  if (d->n_parts == 0)
    return 0;
  int32_t *ps = malloc(d->n_parts * sizeof(*ps));
  int64_t *next = malloc(d->n_parts * sizeof(*next));
  int rc = 0;
  if (!ps || !next) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "offsets: out of memory");
    goto out;
  }
  for (size_t i = 0; i < d->n_parts; i++)
    ps[i] = d->parts[i].partition;
  if ((rc = oc_offsets_load(d->pg, d->group, d->topic, ps, d->n_parts, next, err)) != 0)
    goto out;
  for (size_t i = 0; i < d->n_parts; i++) {
    d->parts[i].stored = d->parts[i].pos = next[i];
    d->parts[i].known = true;
  }
out:
  free(ps);
  free(next);
  return rc;
}

static void record_watermarks(daemon_t *d) {
  if (!d->opts->exit_at_end)
    return;
  for (size_t i = 0; i < d->n_parts; i++) {
    hw_t *h = hw_find(d, d->parts[i].partition, true);
    if (!h || h->high >= 0)
      continue;
    int64_t lo = -1, hi = -1;
    rd_kafka_resp_err_t e =
        rd_kafka_query_watermark_offsets(d->rk, d->topic, h->partition, &lo, &hi, 1000);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
      h->low = lo;
      h->high = hi;
      oc_log_info("high_water_mark partition=%" PRId32 " low=%" PRId64 " high=%" PRId64,
                  h->partition, lo, hi);
    }
  }
}

static void log_partitions(const char *event, const rd_kafka_topic_partition_list_t *l) {
  char buf[1024];
  size_t n = 0;
  buf[0] = '\0';
  for (int i = 0; i < l->cnt && n < sizeof(buf) - 32; i++)
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%" PRId32 "@%" PRId64, i ? "," : "",
                          l->elems[i].partition, l->elems[i].offset);
  oc_log_info("%s topic=%s count=%d partitions=%s", event, l->cnt ? l->elems[0].topic : "",
              l->cnt, buf);
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t code,
                         rd_kafka_topic_partition_list_t *list, void *opaque) {
  daemon_t *d = opaque;
  oc_err_t err;

  if (code == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    /* Nothing of the batch in flight is written yet: drop it; the next
     * owner polls it again from the stored offsets. */
    size_t dropped = oc_batch_count(d->batch);
    oc_batch_reset(d->batch);
    log_partitions("partitions_revoked", list);
    for (int i = 0; i < list->cnt; i++)
      oc_rmetrics_partition(d->metrics, list->elems[i].partition, -1, -1, false);
    if (dropped)
      oc_log_info("batch_dropped reason=revoke messages=%zu", dropped);
    rd_kafka_assign(rk, NULL);
    d->n_parts = 0;
    return;
  }
  if (code != RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    oc_log_err("rebalance_error code=%s", rd_kafka_err2name(code));
    rd_kafka_assign(rk, NULL);
    d->n_parts = 0;
    return;
  }
  oc_batch_reset(d->batch);
  d->n_parts = 0;
  if ((size_t)list->cnt > d->cap_parts) {
    part_t *p = realloc(d->parts, (size_t)list->cnt * sizeof(*p));
    if (!p) {
      d->fatal = oc_err_set(&d->fatal_err, OC_ERR_NOMEM, "assignment: out of memory");
      return;
    }
    d->parts = p;
    d->cap_parts = (size_t)list->cnt;
  }
  for (int i = 0; i < list->cnt; i++) {
    part_t *p = &d->parts[d->n_parts++];
    p->partition = list->elems[i].partition;
    p->stored = p->pos = -1;
    p->known = false;
  }
  oc_err_clear(&err);
  if (d->pg && load_offsets(d, &err) == 0) {
    for (int i = 0; i < list->cnt; i++) {
      part_t *p = part_find(d, list->elems[i].partition);
      list->elems[i].offset = p->stored >= 0 ? p->stored : RD_KAFKA_OFFSET_BEGINNING;
    }
  } else {
    /* PostgreSQL is away: assign, take nothing, and let recovery seek. */
    oc_log_warn("assign_without_offsets error=\"%s\"", err.msg);
    for (int i = 0; i < list->cnt; i++)
      list->elems[i].offset = RD_KAFKA_OFFSET_END;
    d->need_recover = true;
  }
  rd_kafka_resp_err_t e = rd_kafka_assign(rk, list);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    oc_log_err("assign_failed code=%s", rd_kafka_err2name(e));
    d->need_recover = true;
  }
  log_partitions("partitions_assigned", list);
  for (int i = 0; i < list->cnt; i++) {
    part_t *p = part_find(d, list->elems[i].partition);
    oc_rmetrics_partition(d->metrics, list->elems[i].partition, p ? p->stored : -1, -1, true);
  }
  d->assigned_once = true;
  record_watermarks(d);
}

static int kafka_open(daemon_t *d, oc_err_t *err) {
  rd_kafka_conf_t *conf = NULL;
  char errstr[512];
  int rc = 0;
  const char *brokers = oc_config_get_str(d->cfg, "brokers");

  if (!brokers || !*brokers)
    return oc_err_set(err, OC_ERR_CONFIG,
                      "brokers is not set (config key brokers or OUTCOMES_KAFKA_BROKERS)");
  if (!(conf = oc_kafka_conf_new(brokers, err)))
    return err ? err->code : OC_ERR_KAFKA;
  if ((rc = oc_kafka_conf_set(conf, "group.id", d->group, NULL, err)) != 0 ||
      (rc = oc_kafka_conf_set(conf, "enable.auto.commit", "false", NULL, err)) != 0 ||
      (rc = oc_kafka_conf_set(conf, "enable.auto.offset.store", "false", NULL, err)) != 0 ||
      (rc = oc_kafka_conf_set(conf, "enable.partition.eof", "false", NULL, err)) != 0 ||
      (rc = oc_kafka_conf_set(conf, "partition.assignment.strategy", "range,roundrobin",
                              NULL, err)) != 0)
    goto out;
  for (size_t i = 0; kafka_defaults[i][0]; i++)
    if ((rc = oc_kafka_conf_set(conf, kafka_defaults[i][0], kafka_defaults[i][1], NULL,
                                err)) != 0)
      goto out;
  if ((rc = oc_kafka_conf_apply(conf, d->cfg, reserved_kafka, err)) != 0)
    goto out;
  rd_kafka_conf_set_opaque(conf, d);
  rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
  rd_kafka_conf_set_error_cb(conf, error_cb);
  rd_kafka_conf_set_offset_commit_cb(conf, commit_cb);
  if (!(d->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr)))) {
    rc = oc_err_set(err, OC_ERR_KAFKA, "kafka consumer: %s", errstr);
    goto out;
  }
  conf = NULL; /* owned by d->rk */
  rd_kafka_poll_set_consumer(d->rk);
  rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(sub, d->topic, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t e = rd_kafka_subscribe(d->rk, sub);
  rd_kafka_topic_partition_list_destroy(sub);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
    rc = oc_kafka_err(err, e, "subscribe");
out:
  if (conf)
    rd_kafka_conf_destroy(conf);
  return rc;
}

/* Seek every assigned partition to its stored offset (or the beginning). */
static int seek_stored(daemon_t *d, oc_err_t *err) {
  if (d->n_parts == 0)
    return 0;
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)d->n_parts);
  for (size_t i = 0; i < d->n_parts; i++)
    rd_kafka_topic_partition_list_add(l, d->topic, d->parts[i].partition)->offset =
        d->parts[i].stored >= 0 ? d->parts[i].stored : RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_error_t *e = rd_kafka_seek_partitions(d->rk, l, 10000);
  int rc = 0;
  if (e) {
    rc = oc_kafka_error(err, e, "seek");
    rd_kafka_error_destroy(e);
  } else {
    for (int i = 0; i < l->cnt && rc == 0; i++)
      if (l->elems[i].err)
        rc = oc_kafka_err(err, l->elems[i].err, "seek partition");
  }
  if (rc == 0)
    rd_kafka_resume_partitions(d->rk, l);
  rd_kafka_topic_partition_list_destroy(l);
  return rc;
}

static void pause_all(daemon_t *d) {
  if (d->n_parts == 0)
    return;
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)d->n_parts);
  for (size_t i = 0; i < d->n_parts; i++)
    rd_kafka_topic_partition_list_add(l, d->topic, d->parts[i].partition);
  rd_kafka_pause_partitions(d->rk, l);
  rd_kafka_topic_partition_list_destroy(l);
}

/* Back to a consistent position after any failure: PostgreSQL connected,
 * stored offsets re-read, every assigned partition sought to them. Retries
 * with exponential backoff until done or asked to stop. */
static int64_t next_backoff(daemon_t *d) {
  d->backoff_ms = d->backoff_ms ? d->backoff_ms * 2 : 100;
  if (d->backoff_ms > d->backoff_max_ms)
    d->backoff_ms = d->backoff_max_ms;
  return d->backoff_ms;
}

static void recover(daemon_t *d) {
  oc_err_t err;
  oc_batch_reset(d->batch);
  pause_all(d);
  /* A batch that keeps failing on a live connection is retried with the
   * same backoff as an unreachable server. */
  if (d->failures > 1)
    idle_poll(d, next_backoff(d));
  while (stop_level(d) == 0 && !d->fatal) {
    oc_err_clear(&err);
    int rc = 0;
    if (!d->pg || PQstatus(d->pg) != CONNECTION_OK) {
      if (d->pg) {
        PQfinish(d->pg);
        d->pg = NULL;
      }
      rc = pg_setup(d, &err);
    }
    if (rc == 0)
      rc = load_offsets(d, &err);
    if (rc == 0)
      rc = seek_stored(d, &err);
    if (rc == 0) {
      if (!d->pg_up)
        pg_state(d, true, NULL);
      d->need_recover = false;
      return;
    }
    if (err.code == OC_ERR_PG || err.code == OC_ERR_CONFIG)
      pg_state(d, false, &err);
    else
      oc_log_warn("recover_failed error=\"%s\"", err.msg);
    if (d->pg && PQstatus(d->pg) != CONNECTION_OK) {
      PQfinish(d->pg);
      d->pg = NULL;
    }
    idle_poll(d, next_backoff(d));
    pause_all(d); /* a rebalance may have assigned new partitions meanwhile */
  }
}

/* ---- batches ----------------------------------------------------------- */

static void count_dead(const char *code, int64_t n, void *arg) {
  daemon_t *d = arg;
  for (int i = 0; i < 64; i++)
    if (strcmp(oc_err_code_name(-i), code) == 0)
      d->dead_by_code[i] += n;
  oc_rmetrics_dead(d->metrics, code, n);
}

static void log_stats(daemon_t *d, const char *event) {
  char reasons[512];
  size_t n = 0;
  reasons[0] = '\0';
  for (int i = 0; i < 64 && n < sizeof(reasons) - 64; i++)
    if (d->dead_by_code[i])
      n += (size_t)snprintf(reasons + n, sizeof(reasons) - n, " dead_%s=%" PRId64,
                            oc_err_code_name(-i), d->dead_by_code[i]);
  double secs = (double)(now_ms() - d->t_start) / 1000.0;
  oc_log_info("%s batches=%" PRId64 " consumed=%" PRId64 " applied=%" PRId64 " stale=%" PRId64
              " dead_lettered=%" PRId64 " conflicts=%" PRId64 " records_per_s=%.0f%s",
              event, d->n_batches, d->n_consumed, d->n_applied, d->n_stale, d->n_dead,
              d->n_conflicts, secs > 0 ? (double)d->n_consumed / secs : 0.0, reasons);
  d->t_stats = now_ms();
}

static void copy_offsets_to_kafka(daemon_t *d) {
  size_t n = oc_batch_part_count(d->batch);
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
  for (size_t i = 0; i < n; i++) {
    const oc_batch_part_t *p = oc_batch_part_at(d->batch, i);
    rd_kafka_topic_partition_list_add(l, d->topic, p->partition)->offset = p->next;
  }
  rd_kafka_commit(d->rk, l, 1);
  rd_kafka_topic_partition_list_destroy(l);
}

/* The short form of a failure for /readyz: "SQLSTATE 53100: could not
 * extend file ..." without the statement label and without the detail,
 * which may quote row data. */
static void fail_reason(char *buf, size_t cap, int rc, const char *msg) {
  if (rc == OC_ERR_CONFLICT) {
    snprintf(buf, cap, "offsets conflict");
    return;
  }
  const char *s = strstr(msg, "SQLSTATE ");
  const char *from = s ? s : msg;
  size_t n = strlen(from);
  if (s && strstr(from, " ("))
    n = (size_t)(strstr(from, " (") - from);
  if (n >= cap) /* cut on purpose: a readable line, not the whole error */
    n = cap - 1;
  memcpy(buf, from, n);
  buf[n] = '\0';
}

/* A batch rolled back: count it in the run of failures, for the backoff,
 * the metrics and /readyz. */
static void note_failure(daemon_t *d, int rc, const oc_err_t *err) {
  if (d->failures++ == 0)
    d->t_fail_first = now_ms();
  d->need_recover = true;
  fail_reason(d->fail_reason, sizeof(d->fail_reason), rc, err->msg);
  oc_rmetrics_batch_failed(d->metrics, rc == OC_ERR_CONFLICT);
  oc_rmetrics_consecutive_failures(d->metrics, d->failures);
  if (d->failures >= d->ready_max_failures)
    publish_ready(d);
}

/* batch_failed is logged once per distinct error; a stall that lasts must
 * still show in the journal: from the failure that makes /readyz say not
 * ready, then at most once per stats.interval. */
static void still_failing(daemon_t *d, const oc_err_t *err) {
  int64_t t = now_ms();
  if (d->failures < d->ready_max_failures ||
      (d->t_fail_log && t - d->t_fail_log < d->stats_ms))
    return;
  d->t_fail_log = t;
  oc_log_warn("batch_still_failing attempts=%" PRId64 " failing_s=%" PRId64 " error=\"%s\"",
              d->failures, (t - d->t_fail_first) / 1000, err->msg);
}

static void flush(daemon_t *d) {
  oc_err_t err;
  size_t count = oc_batch_count(d->batch);
  if (count == 0)
    return;
  oc_err_clear(&err);
  int64_t t0 = now_ms();
  int rc = oc_batch_apply(d->batch, d->pg, d->group, &err);
  if (rc == 0) {
    int64_t applied = 0, stale = 0, dead = 0;
    for (size_t i = 0; i < oc_batch_part_count(d->batch); i++) {
      const oc_batch_part_t *bp = oc_batch_part_at(d->batch, i);
      part_t *p = part_find(d, bp->partition);
      if (p)
        p->stored = bp->next;
      int64_t lo = -1, hi = -1; /* cached by librdkafka: no request */
      if (rd_kafka_get_watermark_offsets(d->rk, d->topic, bp->partition, &lo, &hi) !=
          RD_KAFKA_RESP_ERR_NO_ERROR)
        hi = -1;
      oc_rmetrics_partition(d->metrics, bp->partition, bp->next, hi, true);
      applied += bp->applied;
      stale += bp->stale;
      dead += bp->dead_lettered;
    }
    copy_offsets_to_kafka(d);
    oc_batch_dead_letter_counts(d->batch, count_dead, d);
    oc_rmetrics_batch(d->metrics, (int64_t)count, applied, stale,
                      (double)(now_ms() - t0) / 1000.0);
    d->n_batches++;
    d->n_consumed += (int64_t)count;
    d->n_applied += applied;
    d->n_stale += stale;
    d->n_dead += dead;
    oc_log_debug("batch_applied messages=%zu partitions=%zu applied=%" PRId64 " stale=%" PRId64
                 " dead_lettered=%" PRId64 " regrouped=%" PRId64 " ms=%" PRId64,
                 count, oc_batch_part_count(d->batch), applied, stale, dead,
                 oc_batch_regrouped(d->batch), now_ms() - t0);
    if (d->failures) {
      bool was_unready = d->failures >= d->ready_max_failures;
      oc_log_info("batch_recovered after_failures=%" PRId64 " failing_s=%" PRId64,
                  d->failures, (now_ms() - d->t_fail_first) / 1000);
      d->failures = 0;
      d->t_fail_log = 0;
      oc_rmetrics_consecutive_failures(d->metrics, 0);
      if (was_unready)
        publish_ready(d);
    }
    d->backoff_ms = 0;
    d->last_failure[0] = '\0';
    pg_state(d, true, NULL);
  } else {
    note_failure(d, rc, &err);
    if (rc == OC_ERR_CONFLICT) {
      d->n_conflicts++;
      oc_log_warn("offsets_conflict messages=%zu error=\"%s\"", count, err.msg);
    } else if (rc == OC_ERR_PG && (!d->pg || PQstatus(d->pg) != CONNECTION_OK)) {
      pg_state(d, false, &err);
    } else if (strcmp(err.msg, d->last_failure) != 0) {
      /* Once per distinct error, not once per retry. */
      snprintf(d->last_failure, sizeof(d->last_failure), "%s", err.msg);
      oc_log_err("batch_failed messages=%zu retrying=1 error=\"%s\"", count, err.msg);
    }
    if (d->pg_up) /* else pg_down said it, once per outage */
      still_failing(d, &err);
  }
  oc_batch_reset(d->batch);
}

/* Take m into the batch if its partition is ours and it is the next one. */
static void take(daemon_t *d, rd_kafka_message_t *m) {
  oc_err_t err;
  if (m->err) {
    if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
      kafka_state(d, false, m->err, rd_kafka_message_errstr(m));
    return;
  }
  kafka_state(d, true, 0, NULL);
  part_t *p = part_find(d, m->partition);
  if (!p || !p->known)
    return;
  if (p->pos >= 0 && m->offset < p->pos) {
    oc_log_debug("message_skipped partition=%" PRId32 " offset=%" PRId64 " expected=%" PRId64,
                 m->partition, m->offset, p->pos);
    return;
  }
  if (p->pos >= 0 && m->offset > p->pos)
    oc_log_debug("offset_gap partition=%" PRId32 " from=%" PRId64 " to=%" PRId64, m->partition,
                 p->pos, m->offset);
  oc_err_clear(&err);
  if (oc_batch_add(d->batch, m, p->stored, &err) != 0) {
    oc_log_err("batch_add_failed error=\"%s\"", err.msg);
    d->need_recover = true;
    return;
  }
  p->pos = m->offset + 1;
}

static bool caught_up(daemon_t *d, bool by_pos) {
  if (!d->opts->exit_at_end || !d->assigned_once || d->n_parts == 0 || d->need_recover)
    return false;
  record_watermarks(d);
  for (size_t i = 0; i < d->n_parts; i++) {
    const part_t *p = &d->parts[i];
    const hw_t *h = hw_find(d, p->partition, false);
    int64_t at = by_pos ? p->pos : p->stored;
    if (!p->known || !h || h->high < 0)
      return false;
    if (!(at >= h->high || (at < 0 && h->low >= h->high)))
      return false;
  }
  return true;
}

/* Poll into the batch until it is full, its time is up, or there is
 * nothing more to wait for. */
static void collect(daemon_t *d) {
  int64_t deadline = -1;
  while (stop_level(d) == 0 && !d->fatal && !d->need_recover) {
    int64_t t = now_ms();
    int timeout = POLL_SLICE_MS;
    if (deadline >= 0) {
      if (t >= deadline)
        break;
      if (deadline - t < timeout)
        timeout = (int)(deadline - t);
    }
    rd_kafka_message_t *m = rd_kafka_consumer_poll(d->rk, timeout);
    if (m) {
      take(d, m);
      rd_kafka_message_destroy(m);
    }
    size_t n = oc_batch_count(d->batch);
    if (n == 0) {
      deadline = -1; /* a rebalance may have dropped it */
    } else if (deadline < 0) {
      deadline = now_ms() + d->max_wait_ms;
    }
    if (oc_batch_full(d->batch) || (n > 0 && caught_up(d, true)))
      break;
    if (n == 0 && caught_up(d, false))
      break;
    watchdog(d);
    if (now_ms() - d->t_stats >= d->stats_ms)
      log_stats(d, "stats");
  }
}

/* ---- run --------------------------------------------------------------- */

static int startup(daemon_t *d, oc_err_t *err) {
  int rc;
  const char *level = oc_config_get_str(d->cfg, "log.level");
  int lv = level ? oc_log_level_from_name(level) : LOG_INFO;
  if (lv < 0)
    return oc_err_set(err, OC_ERR_CONFIG, "log.level: unknown level '%s'", level);
  oc_log_set_level(lv);
  if ((rc = oc_rmetrics_new(oc_config_get_str(d->cfg, "metrics.listen"), d->topic,
                            &d->metrics, err)) != 0)
    return rc;
  if (oc_rmetrics_port(d->metrics))
    oc_log_info("metrics_listening port=%u", (unsigned)oc_rmetrics_port(d->metrics));

  if ((rc = oc_obs_codec_new(oc_config_get_str(d->cfg, "schema.dir"), &d->codec, err)) != 0)
    return rc;
  /* PostgreSQL first: without the catalog nothing can be validated. */
  for (;;) {
    oc_err_clear(err);
    rc = pg_setup(d, err);
    if (rc == 0)
      break;
    if (!(err && err->retriable) || stop_level(d))
      return rc;
    pg_state(d, false, err);
    d->backoff_ms = d->backoff_ms ? d->backoff_ms * 2 : 100;
    if (d->backoff_ms > d->backoff_max_ms)
      d->backoff_ms = d->backoff_max_ms;
    for (int64_t until = now_ms() + d->backoff_ms; now_ms() < until && !stop_level(d);) {
      struct timespec ts = {0, POLL_SLICE_MS * 1000000L};
      nanosleep(&ts, NULL);
    }
  }
  d->backoff_ms = 0;
  pg_state(d, true, NULL);
  d->batch = oc_batch_new(d->topic, (size_t)oc_config_get_int(d->cfg, "batch.max.records"),
                          (size_t)oc_config_get_int(d->cfg, "batch.max.bytes"), d->codec,
                          d->cat);
  if (!d->batch)
    return oc_err_set(err, OC_ERR_NOMEM, "batch: out of memory");
  if ((rc = kafka_open(d, err)) != 0)
    return rc;
  char target[256];
  oc_pg_conninfo_describe(oc_config_get_str(d->cfg, "conninfo"), target, sizeof(target));
  oc_log_info("started version=%s topic=%s group=%s pg=\"%s\" metrics=%zu librdkafka=%s "
              "batch_max_records=%" PRId64 " batch_max_wait_ms=%" PRId64,
              OC_VERSION, d->topic, d->group, target, oc_catalog_count(d->cat),
              rd_kafka_version_str(), oc_config_get_int(d->cfg, "batch.max.records"),
              d->max_wait_ms);
  oc_rmetrics_state(d->metrics, d->pg_up, d->kafka_up);
  publish_ready(d);
  oc_notify_ready("consuming %s", d->topic);
  return 0;
}

int oc_rollupd_run(const oc_config_t *cfg, const oc_rollupd_opts_t *opts,
                   const volatile sig_atomic_t *signals, oc_err_t *err) {
  daemon_t d;
  int rc;

  memset(&d, 0, sizeof(d));
  d.cfg = cfg;
  d.opts = opts;
  d.signals = signals;
  d.topic = oc_config_get_str(cfg, "topic");
  d.group = oc_config_get_str(cfg, "group.id");
  d.max_wait_ms = oc_config_get_int(cfg, "batch.max.wait");
  d.backoff_max_ms = oc_config_get_int(cfg, "retry.backoff.max");
  d.stats_ms = oc_config_get_int(cfg, "stats.interval");
  d.ready_max_failures = oc_config_get_int(cfg, "ready.max.failures");
  d.kafka_up = true;
  d.pg_up = true; /* so that a first failure at start-up is logged */
  d.t_start = d.t_stats = now_ms();

  if ((rc = startup(&d, err)) != 0)
    goto out;
  while (stop_level(&d) == 0 && !d.fatal) {
    if (d.need_recover) {
      recover(&d);
      continue;
    }
    collect(&d);
    /* At the first signal the batch in flight is finished; at the second
     * it is dropped (nothing of it is written). */
    if (stop_level(&d) < 2 && !d.need_recover)
      flush(&d);
    if (!d.need_recover && oc_batch_count(d.batch) == 0 && caught_up(&d, false)) {
      oc_log_info("caught_up partitions=%zu", d.n_parts);
      break;
    }
  }
  if (d.fatal) {
    rc = d.fatal;
    if (err)
      *err = d.fatal_err;
  }
out:
  oc_notify_stopping();
  if (d.batch || d.rk)
    log_stats(&d, "stopped");
  if (d.rk) {
    if (stop_level(&d) < 2) {
      rd_kafka_consumer_close(d.rk);
      rd_kafka_destroy(d.rk);
    } else {
      rd_kafka_destroy_flags(d.rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    }
  }
  oc_batch_destroy(d.batch);
  oc_rmetrics_destroy(d.metrics);
  if (d.pg)
    PQfinish(d.pg);
  oc_catalog_destroy(d.cat);
  oc_obs_codec_destroy(d.codec);
  free(d.parts);
  free(d.hws);
  return rc;
}
