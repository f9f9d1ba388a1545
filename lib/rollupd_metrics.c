/* rollupd_metrics.c - outcomes-rollupd's metrics; see rollupd_metrics.h. */
#include "rollupd_metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "outcomes/http.h"
#include "outcomes/metrics.h"

#ifndef OC_VERSION
#define OC_VERSION "unknown"
#endif

struct oc_rmetrics_s {
  oc_metrics_t *reg;
  oc_http_t *http;
  const char *topic; /* borrowed from the configuration */
  oc_metrics_counter_t *consumed, *applied, *stale, *committed, *failed, *fenced;
  oc_metrics_family_t *dead, *lag, *offset, *assigned;
  oc_metrics_histogram_t *duration, *refresh_duration, *refresh_wait;
  oc_metrics_counter_t *retries, *refreshed, *refresh_failed, *changes_refreshed, *rows_recomputed;
  oc_metrics_gauge_t *last_commit, *pg_up, *kafka_up, *consecutive_failures;
  oc_metrics_counter_t *ids_learnt, *ids_unusable, *ids_errors;
  oc_schema_ids_stats_t ids_seen; /* what the counters hold */
};

int oc_rmetrics_new(const char *listen, const char *topic, oc_rmetrics_t **out, oc_err_t *err) {
  static const char *const l_topic[] = {"topic"};
  static const char *const l_reason[] = {"topic", "reason"};
  static const char *const l_part[] = {"topic", "partition"};
  static const char *const l_result[] = {"result"};
  static const char *const l_version[] = {"version"};
  /* From a facts commit to its refresh: around refresh.interval at rest,
   * seconds to minutes while a backlog drains. */
  static const double wait_bounds[] = {0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900};
  oc_metrics_family_t *f_consumed, *f_applied, *f_stale, *f_batches, *f_duration, *f_last, *f_pg,
      *f_kafka, *f_build, *f_consecutive, *f_retries, *f_refreshes, *f_changes, *f_rows,
      *f_refresh_duration, *f_wait, *f_ids;
  oc_rmetrics_t *m = calloc(1, sizeof(*m));
  int rc;

  *out = NULL;
  if (!m || !(m->reg = oc_metrics_new())) {
    free(m);
    return oc_err_set(err, OC_ERR_NOMEM, "metrics: out of memory");
  }
  m->topic = topic;
  if ((rc = oc_metrics_add_gauge(m->reg, "outcomes_build_info", "build of the daemon", l_version, 1,
                                 &f_build, err)) != 0 ||
      (rc = oc_metrics_add_counter(m->reg, "outcomes_records_consumed_total",
                                   "records in committed batches", l_topic, 1, &f_consumed, err)) !=
          0 ||
      (rc = oc_metrics_add_counter(m->reg, "outcomes_records_applied_total",
                                   "records that changed or retracted a fact", l_topic, 1,
                                   &f_applied, err)) != 0 ||
      (rc = oc_metrics_add_counter(m->reg, "outcomes_records_stale_total",
                                   "records skipped as stale or duplicate", l_topic, 1, &f_stale,
                                   err)) != 0 ||
      (rc = oc_metrics_add_counter(m->reg, "outcomes_dead_letters_total",
                                   "records written to dead_letters, by reason", l_reason, 2,
                                   &m->dead, err)) != 0 ||
      (rc = oc_metrics_add_counter(m->reg, "outcomes_batches_total", "batches by result", l_result,
                                   1, &f_batches, err)) != 0 ||
      (rc = oc_metrics_add_histogram(m->reg, "outcomes_batch_duration_seconds",
                                     "apply and commit of a batch", NULL, 0, NULL, 0, &f_duration,
                                     err)) != 0 ||
      (rc = oc_metrics_add_counter(m->reg, "outcomes_batch_retries_total",
                                   "batch transactions run again because another writer "
                                   "changed one of their facts first",
                                   NULL, 0, &f_retries, err)) != 0 ||
      (rc = oc_metrics_add_counter(m->reg, "outcomes_rollup_refreshes_total",
                                   "rollup refreshes by result", l_result, 1, &f_refreshes, err)) !=
          0 ||
      (rc = oc_metrics_add_counter(m->reg, "outcomes_rollup_changes_refreshed_total",
                                   "fact changes taken from the invalidation log by refreshes",
                                   NULL, 0, &f_changes, err)) != 0 ||
      (rc = oc_metrics_add_counter(m->reg, "outcomes_rollup_rows_recomputed_total",
                                   "rollup rows recomputed by refreshes", NULL, 0, &f_rows, err)) !=
          0 ||
      (rc = oc_metrics_add_histogram(m->reg, "outcomes_rollup_refresh_duration_seconds",
                                     "one rollup refresh, claim to commit", NULL, 0, NULL, 0,
                                     &f_refresh_duration, err)) != 0 ||
      (rc = oc_metrics_add_histogram(m->reg, "outcomes_rollup_wait_seconds",
                                     "from a fact change's commit to the refresh of the "
                                     "rollups over it",
                                     NULL, 0, wait_bounds,
                                     sizeof(wait_bounds) / sizeof(wait_bounds[0]), &f_wait, err)) !=
          0 ||
      (rc = oc_metrics_add_gauge(m->reg, "outcomes_batch_consecutive_failures",
                                 "batches failed in a row since the last commit", NULL, 0,
                                 &f_consecutive, err)) != 0 ||
      (rc = oc_metrics_add_gauge(m->reg, "outcomes_last_commit_timestamp_seconds",
                                 "Unix time of the last committed batch", NULL, 0, &f_last, err)) !=
          0 ||
      (rc = oc_metrics_add_gauge(m->reg, "outcomes_consumer_lag",
                                 "high-water mark minus the next offset to apply", l_part, 2,
                                 &m->lag, err)) != 0 ||
      (rc = oc_metrics_add_gauge(m->reg, "outcomes_consumer_committed_offset",
                                 "next offset stored in consumer_offsets", l_part, 2, &m->offset,
                                 err)) != 0 ||
      (rc = oc_metrics_add_gauge(m->reg, "outcomes_partition_assigned",
                                 "1 while assigned to this instance", l_part, 2, &m->assigned,
                                 err)) != 0 ||
      (rc = oc_metrics_add_gauge(m->reg, "outcomes_pg_connected",
                                 "1 while the PostgreSQL connection is usable", NULL, 0, &f_pg,
                                 err)) != 0 ||
      (rc = oc_metrics_add_gauge(m->reg, "outcomes_kafka_connected", "1 while the broker answers",
                                 NULL, 0, &f_kafka, err)) != 0 ||
      (rc = oc_metrics_add_counter(m->reg, "outcomes_schema_registry_lookups_total",
                                   "schema ids asked of the registry, by result", l_result, 1,
                                   &f_ids, err)) != 0)
    goto fail;
  const char *version[] = {OC_VERSION};
  const char *t[] = {topic};
  oc_metrics_gauge_set(oc_metrics_gauge(f_build, version), 1);
  m->consumed = oc_metrics_counter(f_consumed, t);
  m->applied = oc_metrics_counter(f_applied, t);
  m->stale = oc_metrics_counter(f_stale, t);
  const char *committed[] = {"committed"}, *failed[] = {"failed"}, *fenced[] = {"fenced"};
  m->committed = oc_metrics_counter(f_batches, committed);
  m->failed = oc_metrics_counter(f_batches, failed);
  m->fenced = oc_metrics_counter(f_batches, fenced);
  m->duration = oc_metrics_histogram(f_duration, NULL);
  m->retries = oc_metrics_counter(f_retries, NULL);
  m->refreshed = oc_metrics_counter(f_refreshes, committed);
  m->refresh_failed = oc_metrics_counter(f_refreshes, failed);
  m->changes_refreshed = oc_metrics_counter(f_changes, NULL);
  m->rows_recomputed = oc_metrics_counter(f_rows, NULL);
  m->refresh_duration = oc_metrics_histogram(f_refresh_duration, NULL);
  m->refresh_wait = oc_metrics_histogram(f_wait, NULL);
  m->last_commit = oc_metrics_gauge(f_last, NULL);
  m->consecutive_failures = oc_metrics_gauge(f_consecutive, NULL);
  m->pg_up = oc_metrics_gauge(f_pg, NULL);
  m->kafka_up = oc_metrics_gauge(f_kafka, NULL);
  const char *learnt[] = {"learnt"}, *unusable[] = {"unusable"}, *error[] = {"error"};
  m->ids_learnt = oc_metrics_counter(f_ids, learnt);
  m->ids_unusable = oc_metrics_counter(f_ids, unusable);
  m->ids_errors = oc_metrics_counter(f_ids, error);

  if (listen && *listen) {
    oc_http_opts_t opts = {listen, m->reg, 0, 0, 0};
    if ((rc = oc_http_start(&opts, &m->http, err)) != 0) {
      oc_err_prefix(err, "metrics.listen: ");
      goto fail;
    }
    oc_http_set_ready(m->http, false, "starting");
  }
  *out = m;
  return 0;
fail:
  oc_rmetrics_destroy(m);
  return rc;
}

void oc_rmetrics_batch(oc_rmetrics_t *m, int64_t consumed, int64_t applied, int64_t stale,
                       double seconds) {
  if (!m)
    return;
  oc_metrics_counter_add(m->consumed, (uint64_t)consumed);
  oc_metrics_counter_add(m->applied, (uint64_t)applied);
  oc_metrics_counter_add(m->stale, (uint64_t)stale);
  oc_metrics_counter_inc(m->committed);
  oc_metrics_histogram_observe(m->duration, seconds);
  oc_metrics_gauge_set(m->last_commit, (double)time(NULL));
}

void oc_rmetrics_batch_retries(oc_rmetrics_t *m, int64_t n) {
  if (m && n > 0)
    oc_metrics_counter_add(m->retries, (uint64_t)n);
}

void oc_rmetrics_refresh(oc_rmetrics_t *m, const oc_refresh_result_t *res, double seconds,
                         bool committed) {
  if (!m)
    return;
  if (!committed) {
    oc_metrics_counter_inc(m->refresh_failed);
    return;
  }
  oc_metrics_counter_inc(m->refreshed);
  oc_metrics_counter_add(m->changes_refreshed, (uint64_t)res->facts);
  oc_metrics_counter_add(m->rows_recomputed, (uint64_t)res->groups);
  oc_metrics_histogram_observe(m->refresh_duration, seconds);
}

void oc_rmetrics_refresh_waited(oc_rmetrics_t *m, double seconds, int64_t facts) {
  if (m && facts > 0)
    oc_metrics_histogram_observe_n(m->refresh_wait, seconds, (uint64_t)facts);
}

void oc_rmetrics_batch_failed(oc_rmetrics_t *m, bool fenced) {
  if (m)
    oc_metrics_counter_inc(fenced ? m->fenced : m->failed);
}

void oc_rmetrics_consecutive_failures(oc_rmetrics_t *m, int64_t n) {
  if (m)
    oc_metrics_gauge_set_int(m->consecutive_failures, n);
}

void oc_rmetrics_dead(oc_rmetrics_t *m, const char *reason, int64_t n) {
  if (!m)
    return;
  const char *labels[] = {m->topic, reason};
  oc_metrics_counter_add(oc_metrics_counter(m->dead, labels), (uint64_t)n);
}

void oc_rmetrics_partition(oc_rmetrics_t *m, int32_t partition, int64_t next, int64_t high,
                           bool assigned) {
  char p[16];
  if (!m)
    return;
  snprintf(p, sizeof(p), "%" PRId32, partition);
  const char *labels[] = {m->topic, p};
  oc_metrics_gauge_set_int(oc_metrics_gauge(m->assigned, labels), assigned ? 1 : 0);
  if (next >= 0)
    oc_metrics_gauge_set_int(oc_metrics_gauge(m->offset, labels), next);
  if (!assigned)
    oc_metrics_gauge_set_int(oc_metrics_gauge(m->lag, labels), 0);
  else if (high >= 0 && next >= 0)
    oc_metrics_gauge_set_int(oc_metrics_gauge(m->lag, labels), high > next ? high - next : 0);
}

void oc_rmetrics_state(oc_rmetrics_t *m, bool pg_up, bool kafka_up) {
  if (!m)
    return;
  oc_metrics_gauge_set(m->pg_up, pg_up ? 1 : 0);
  oc_metrics_gauge_set(m->kafka_up, kafka_up ? 1 : 0);
}

void oc_rmetrics_ready(oc_rmetrics_t *m, bool ready, const char *reason) {
  if (m && m->http)
    oc_http_set_ready(m->http, ready, reason);
}

void oc_rmetrics_tick(oc_rmetrics_t *m) {
  if (m && m->http)
    oc_http_tick(m->http);
}

uint16_t oc_rmetrics_port(const oc_rmetrics_t *m) { return m ? oc_http_port(m->http) : 0; }

void oc_rmetrics_destroy(oc_rmetrics_t *m) {
  if (!m)
    return;
  oc_http_destroy(m->http); /* first: its thread reads the registry */
  oc_metrics_destroy(m->reg);
  free(m);
}

void oc_rmetrics_schema_ids(oc_rmetrics_t *m, const oc_schema_ids_stats_t *now) {
  if (!m)
    return;
  oc_metrics_counter_add(m->ids_learnt, now->fetched - m->ids_seen.fetched);
  oc_metrics_counter_add(m->ids_unusable, now->failed - m->ids_seen.failed);
  oc_metrics_counter_add(m->ids_errors, now->errors - m->ids_seen.errors);
  m->ids_seen = *now;
}
