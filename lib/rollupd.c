/* rollupd.c - the consumer daemon's loop: start-up, collect a batch, apply
 * it, recover after a failure, and at the end bring the rollups up to date;
 * see include/outcomes/rollupd.h. Partition assignment is in
 * rollupd_assign.c, readiness and failure accounting in rollupd_health.c,
 * the refresher thread in rollupd_refresh.c. */
#include "outcomes/rollupd.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "outcomes/log.h"
#include "outcomes/migrate.h"
#include "outcomes/notify.h"
#include "outcomes/pg.h"
#include "outcomes/refresh.h"
#include "outcomes/stmt.h"
#include "outcomes/tls_policy.h"
#include "rollupd_internal.h"

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
    {"refresh.interval", OC_CONF_MS, "200ms", 10, 3600000, 0, NULL,
     "how often the rollup refresh looks for pending changes when none were left"},
    {"refresh.max.changes", OC_CONF_INT, "200000", 1000, 100000000, 0, NULL,
     "fact changes one rollup refresh transaction takes at most"},
    {"series.cache.max", OC_CONF_INT, "100000", 16, 100000000, 0, NULL,
     "series ids cached (emptied when full)"},
    {"statement.timeout", OC_CONF_MS, "20s", 100, 600000, 0, NULL,
     "bound on each statement of a batch (under WatchdogSec=30s; a batch over it is retried)"},
    {"lock.timeout", OC_CONF_MS, "5s", 10, 600000, 0, NULL,
     "bound on each wait for a lock, by batches and refreshes (retried after the backoff)"},
    {"refresh.statement.timeout", OC_CONF_MS, "10min", 1000, 86400000, 0, NULL,
     "bound on each statement of a rollup refresh"},
    {"retry.backoff.max", OC_CONF_MS, "30s", 100, 600000, 0, NULL,
     "cap of the exponential backoff while PostgreSQL is unavailable"},
    {"ready.max.failures", OC_CONF_INT, "3", 1, 1000000, 0, NULL,
     "consecutive failed batches after which /readyz says not ready (until one commits)"},
    {"stats.interval", OC_CONF_MS, "60s", 1000, 86400000, 0, NULL,
     "period of the stats log line (counts by dead-letter reason)"},
    OC_PROGRESS_CONF,
    {"metrics.listen", OC_CONF_STR, "", 0, 0, 0, "OUTCOMES_METRICS_LISTEN",
     "host:port serving /metrics, /healthz and /readyz (empty: none), e.g. 127.0.0.1:9464"},
    {"log.level", OC_CONF_STR, "info", 0, 0, 0, "OUTCOMES_LOG_LEVEL",
     "error, warning, notice, info or debug"},
    OC_TLS_CONF_PG,
    OC_TLS_CONF_KAFKA,
    OC_SR_CONF,
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};

static const char *const reserved_kafka[] = {
    "enable.auto.commit",
    "enable.auto.offset.store",
    "group.id",
    "bootstrap.servers",
    "partition.assignment.strategy",
    "enable.partition.eof",
    NULL,
};

const oc_conf_def_t *oc_rollupd_conf_defs(void) { return conf_defs; }
const char *const *oc_rollupd_reserved_kafka_keys(void) { return reserved_kafka; }

int oc_rd_stop_level(const oc_rd_t *d) { return (int)*d->signals; }

/* Called from the loops that make progress or serve a deliberate wait
 * (oc_notify_watchdog_kick rate-limits to half the interval). */
static void watchdog(oc_rd_t *d) {
  oc_notify_watchdog_kick(oc_notify_now_usec());
  oc_rmetrics_tick(d->metrics);
}

bool oc_rd_idle_poll(oc_rd_t *d, int64_t ms) {
  int64_t until = oc_clock_ms() + ms;
  while (oc_rd_stop_level(d) == 0 && oc_clock_ms() < until) {
    rd_kafka_message_t *m = d->rk ? rd_kafka_consumer_poll(d->rk, OC_ROLLUPD_POLL_SLICE_MS) : NULL;
    if (m)
      rd_kafka_message_destroy(m);
    else if (!d->rk)
      nanosleep(&(struct timespec){0, OC_ROLLUPD_POLL_SLICE_MS * 1000000L}, NULL);
    watchdog(d);
  }
  return oc_rd_stop_level(d) == 0;
}

/* ---- PostgreSQL -------------------------------------------------------- */

/* Connect, check the schema, prepare the session, load the catalog. */
static int pg_setup(oc_rd_t *d, oc_err_t *err) {
  PGconn *conn = NULL;
  oc_catalog_t *cat = NULL;
  int rc;

  if (d->opts->migrate && !d->assigned_once && !d->cat) {
    /* On a connection of its own, without the batches' timeouts: a
     * migration may rewrite a table, and waits for another instance's
     * migration lock as long as that one runs. */
    oc_migrate_report_t report;
    PGconn *mconn = NULL;
    if ((rc = oc_pg_connect_config(d->cfg, "outcomes-rollupd-migrate", 0, 0, &mconn, err)) != 0)
      goto out;
    oc_migrate_report_init(&report);
    rc = oc_migrate_run(mconn, oc_config_get_str(d->cfg, "sql.dir"),
                        oc_config_get_str(d->cfg, "catalog.path"), NULL, &report, err);
    PQfinish(mconn);
    if (rc == 0)
      oc_log_info("migrated applied=%zu total=%zu catalog_inserted=%zu catalog_updated=%zu",
                  report.n_new, report.n_migrations, report.cat_inserted, report.cat_updated);
    oc_migrate_report_release(&report);
    if (rc != 0)
      goto out;
  }
  if ((rc = oc_pg_connect_config(d->cfg, "outcomes-rollupd",
                                 oc_config_get_int(d->cfg, "statement.timeout"),
                                 oc_config_get_int(d->cfg, "lock.timeout"), &conn, err)) != 0)
    goto out;
  if ((rc = oc_stmt_check_schema(conn, OC_STMT_SCHEMA_MIN, "run with --migrate", err)) != 0 ||
      (rc = oc_apply_prepare(conn, err)) != 0 || (rc = oc_rd_catalog_listen(conn, err)) != 0 ||
      (rc = oc_rd_catalog_load(conn, &cat, err)) != 0)
    goto out;
  oc_rd_catalog_adopt(d, cat, "reconnect");
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

/* Back to a consistent position after any failure: PostgreSQL connected,
 * stored offsets re-read, every assigned partition sought to them. Retries
 * with exponential backoff until done or asked to stop. */
static void recover(oc_rd_t *d) {
  oc_err_t err;
  oc_batch_reset(d->batch);
  oc_rd_pause_all(d);
  /* A batch that keeps failing on a live connection is retried with the
   * same backoff as an unreachable server. */
  if (d->failures > 1)
    oc_rd_idle_poll(d, oc_backoff_next(&d->backoff));
  while (oc_rd_stop_level(d) == 0 && !d->fatal) {
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
      rc = oc_rd_load_offsets(d, &err);
    if (rc == 0)
      rc = oc_rd_seek_stored(d, &err);
    if (rc == 0) {
      if (!d->pg_up)
        oc_rd_pg_state(d, true, NULL);
      d->need_recover = false;
      return;
    }
    if (err.code == OC_ERR_PG || err.code == OC_ERR_CONFIG)
      oc_rd_pg_state(d, false, &err);
    else
      oc_log_warn("recover_failed error=\"%s\"", err.msg);
    if (d->pg && PQstatus(d->pg) != CONNECTION_OK) {
      PQfinish(d->pg);
      d->pg = NULL;
    }
    oc_rd_idle_poll(d, oc_backoff_next(&d->backoff));
    oc_rd_pause_all(d); /* a rebalance may have assigned new partitions meanwhile */
  }
}

/* ---- batches ----------------------------------------------------------- */

/* The registry's lookups into the metrics (new ids are rare: cheap). */
static void ids_metrics(oc_rd_t *d) {
  oc_schema_ids_stats_t st;
  if (!d->ids)
    return;
  oc_schema_ids_stats(d->ids, &st);
  oc_rmetrics_schema_ids(d->metrics, &st);
}

static void flush(oc_rd_t *d) {
  oc_err_t err;
  size_t count = oc_batch_count(d->batch);
  ids_metrics(d);
  if (count == 0)
    return;
  oc_err_clear(&err);
  int64_t t0 = oc_clock_ms();
  int rc = oc_batch_apply(d->batch, d->pg, d->series, d->group, &err);
  if (rc == 0) {
    oc_rd_copy_offsets_to_kafka(d);
    oc_rd_batch_committed(d, count, oc_clock_ms() - t0);
    oc_refresher_nudge(d->refresher);
  } else {
    oc_rd_batch_failed(d, count, rc, &err);
  }
  oc_batch_reset(d->batch);
}

/* Take m into the batch if its partition is ours and it is the next one. */
static void take(oc_rd_t *d, rd_kafka_message_t *m) {
  oc_err_t err;
  if (m->err) {
    if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
      oc_rd_kafka_state(d, false, m->err, rd_kafka_message_errstr(m));
    return;
  }
  oc_rd_kafka_state(d, true, 0, NULL);
  oc_rd_part_t *p = oc_rd_part_find(d, m->partition);
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
    if (err.retriable) { /* the schema registry: read the batch again later */
      ids_metrics(d);
      oc_rd_batch_failed(d, oc_batch_count(d->batch) + 1, err.code, &err);
      return;
    }
    oc_log_err("batch_add_failed error=\"%s\"", err.msg);
    d->need_recover = true;
    return;
  }
  p->pos = m->offset + 1;
}

/* Poll into the batch until it is full, its time is up, or there is
 * nothing more to wait for. */
static void collect(oc_rd_t *d) {
  int64_t deadline = -1;
  while (oc_rd_stop_level(d) == 0 && !d->fatal && !d->need_recover) {
    if (oc_batch_count(d->batch) == 0)
      oc_rd_catalog_poll(d);
    int64_t t = oc_clock_ms();
    int timeout = OC_ROLLUPD_POLL_SLICE_MS;
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
      deadline = oc_clock_ms() + d->max_wait_ms;
    }
    if (oc_batch_full(d->batch) || (n > 0 && oc_rd_caught_up(d, true)))
      break;
    if (n == 0 && oc_rd_caught_up(d, false))
      break;
    watchdog(d);
    if (oc_clock_ms() - d->t_stats >= d->stats_ms)
      oc_rd_log_stats(d, "stats");
    oc_rd_log_progress(d, false);
  }
}

/* ---- the rollups at the end -------------------------------------------- */

static bool drain_pause(int64_t ms, void *arg) { return oc_rd_idle_poll(arg, ms); }
static bool drain_stop(void *arg) { return oc_rd_stop_level(arg) > 0; }

/* --exit-at-end: every change this instance committed is refreshed into
 * the rollups before it exits. The refresher keeps running meanwhile: a
 * refresh it has in flight is finished, not thrown away; the drain takes
 * its turns on the lock between the refresher's (and other instances'). */
static int drain_rollups(oc_rd_t *d, oc_err_t *err) {
  oc_refresh_hooks_t hooks = {NULL, drain_pause, drain_stop, d};
  oc_refresh_result_t res;
  int64_t t0 = oc_clock_ms();

  for (;;) {
    oc_err_clear(err);
    int rc = oc_refresh_drain(d->pg, oc_config_get_int(d->cfg, "refresh.max.changes"), &hooks, &res,
                              err);
    if (rc == 0)
      break;
    if (oc_rd_stop_level(d)) { /* the changes stay pending for the next refresh */
      oc_log_info("rollups_not_refreshed reason=stop");
      return 0;
    }
    if (!err->retriable)
      return rc;
    oc_log_warn("refresh_failed retrying=1 error=\"%s\"", err->msg);
    if (!oc_rd_idle_poll(d, oc_backoff_next(&d->backoff)))
      return rc;
    if (PQstatus(d->pg) != CONNECTION_OK && (rc = pg_setup(d, err)) != 0 && !err->retriable)
      return rc;
  }
  oc_log_info("rollups_current changes=%" PRId64 " rows=%" PRId64 " refreshes=%" PRId64
              " ms=%" PRId64,
              res.facts, res.groups, res.runs, oc_clock_ms() - t0);
  return 0;
}

/* ---- run --------------------------------------------------------------- */

/* The log level is set by the configuration loader (config_cli.c). */
static int startup(oc_rd_t *d, oc_err_t *err) {
  int rc;
  if ((rc = oc_rmetrics_new(oc_config_get_str(d->cfg, "metrics.listen"), d->topic, &d->metrics,
                            err)) != 0)
    return rc;
  if (oc_rmetrics_port(d->metrics))
    oc_log_info("metrics_listening port=%u", (unsigned)oc_rmetrics_port(d->metrics));

  if ((rc = oc_obs_codec_new(oc_config_get_str(d->cfg, "schema.dir"), &d->codec, err)) != 0 ||
      (rc = oc_schema_ids_setup(d->cfg, d->codec, NULL, &d->ids, err)) != 0)
    return rc;
  if (!(d->series = oc_series_cache_new((size_t)oc_config_get_int(d->cfg, "series.cache.max"))))
    return oc_err_set(err, OC_ERR_NOMEM, "series cache: out of memory");
  /* PostgreSQL first: without the catalog nothing can be validated. */
  for (;;) {
    oc_err_clear(err);
    rc = pg_setup(d, err);
    if (rc == 0)
      break;
    if (!(err && err->retriable) || oc_rd_stop_level(d))
      return rc;
    oc_rd_pg_state(d, false, err);
    oc_rd_idle_poll(d, oc_backoff_next(&d->backoff));
  }
  oc_backoff_reset(&d->backoff);
  oc_rd_pg_state(d, true, NULL);
  d->batch = oc_batch_new(d->topic, (size_t)oc_config_get_int(d->cfg, "batch.max.records"),
                          (size_t)oc_config_get_int(d->cfg, "batch.max.bytes"), d->codec, d->cat);
  if (!d->batch)
    return oc_err_set(err, OC_ERR_NOMEM, "batch: out of memory");
  if ((rc = oc_rd_kafka_open(d, err)) != 0)
    return rc;
  if ((rc = oc_refresher_start(d->cfg, d->metrics, oc_config_get_int(d->cfg, "refresh.interval"),
                               oc_config_get_int(d->cfg, "refresh.max.changes"), d->backoff.max_ms,
                               &d->refresher, err)) != 0)
    return rc;
  char target[256];
  oc_pg_conninfo_describe(oc_config_get_str(d->cfg, "conninfo"), target, sizeof(target));
  oc_log_info("started version=%s topic=%s group=%s pg=\"%s\" metrics=%zu librdkafka=%s "
              "batch_max_records=%" PRId64 " batch_max_wait_ms=%" PRId64,
              OC_VERSION, d->topic, d->group, target, oc_catalog_count(d->cat),
              rd_kafka_version_str(), oc_config_get_int(d->cfg, "batch.max.records"),
              d->max_wait_ms);
  oc_rmetrics_state(d->metrics, d->pg_up, d->kafka_up);
  oc_rd_publish_ready(d);
  oc_notify_ready("consuming %s", d->topic);
  return 0;
}

int oc_rollupd_run(const oc_config_t *cfg, const oc_rollupd_opts_t *opts,
                   const volatile sig_atomic_t *signals, oc_err_t *err) {
  oc_rd_t d;
  int rc;

  memset(&d, 0, sizeof(d));
  d.cfg = cfg;
  d.opts = opts;
  d.signals = signals;
  d.topic = oc_config_get_str(cfg, "topic");
  d.group = oc_config_get_str(cfg, "group.id");
  d.max_wait_ms = oc_config_get_int(cfg, "batch.max.wait");
  oc_backoff_init(&d.backoff, 100, oc_config_get_int(cfg, "retry.backoff.max"));
  d.stats_ms = oc_config_get_int(cfg, "stats.interval");
  d.ready_max_failures = oc_config_get_int(cfg, "ready.max.failures");
  d.kafka_up = true;
  d.pg_up = true; /* so that a first failure at start-up is logged */
  d.t_start = d.t_stats = oc_clock_ms();
  oc_progress_init(&d.progress, oc_config_get_int(cfg, "log.progress.interval"));

  if ((rc = startup(&d, err)) != 0)
    goto out;
  while (oc_rd_stop_level(&d) == 0 && !d.fatal) {
    if (d.need_recover) {
      recover(&d);
      continue;
    }
    collect(&d);
    /* At the first signal the batch in flight is finished; at the second
     * it is dropped (nothing of it is written). */
    if (oc_rd_stop_level(&d) < 2 && !d.need_recover)
      flush(&d);
    if (!d.need_recover && oc_batch_count(d.batch) == 0 && oc_rd_caught_up(&d, false)) {
      oc_rd_log_progress(&d, true);
      oc_log_info("caught_up partitions=%zu", d.n_parts);
      rc = drain_rollups(&d, err);
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
  oc_refresher_stop(d.refresher);
  if (d.batch || d.rk)
    oc_rd_log_stats(&d, "stopped");
  if (d.rk) {
    if (oc_rd_stop_level(&d) < 2) {
      rd_kafka_consumer_close(d.rk);
      rd_kafka_destroy(d.rk);
    } else {
      rd_kafka_destroy_flags(d.rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    }
  }
  oc_batch_destroy(d.batch);
  oc_series_cache_destroy(d.series);
  oc_rmetrics_destroy(d.metrics);
  if (d.pg)
    PQfinish(d.pg);
  oc_catalog_destroy(d.cat);
  oc_schema_ids_destroy(d.ids);
  oc_obs_codec_destroy(d.codec);
  free(d.parts);
  free(d.hws);
  return rc;
}
