/* rollupd_assign.c - outcomes-rollupd's partitions: the consumer, its
 * callbacks (rebalance, errors, offset copies), the stored offsets read at
 * assignment, seeks, pauses and the high-water marks of --exit-at-end. See
 * rollupd_internal.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "outcomes/kafka.h"
#include "outcomes/log.h"
#include "outcomes/offsets.h"
#include "rollupd_internal.h"

/* Defaults for librdkafka that kafka.* keys may override.
 *
 * Prefetch is most of the daemon's memory, about 0.5 KB per queued record
 * (librdkafka's per-message overhead, beside the record itself), and it
 * also bounds a catch-up's speed: librdkafka before 2.1 looks again at a
 * partition whose queue reached queued.min.messages only once a second, so
 * a consumer that drains its queue faster than that waits for the rest of
 * the second. 70,000 records keeps the daemon under 64 MiB and lets a
 * replay of stale records run at about 70,000 records/s; fetches of 256 KB
 * per partition keep the queue from overshooting the threshold by more
 * than a few thousand records. */
static const char *const kafka_defaults[][2] = {
    {"auto.offset.reset", "earliest"},
    {"queued.max.messages.kbytes", "32768"},
    {"queued.min.messages", "70000"},
    {"max.partition.fetch.bytes", "262144"},
    {"session.timeout.ms", "10000"},
    {"client.id", "outcomes-rollupd"},
    {NULL, NULL},
};

oc_rd_part_t *oc_rd_part_find(oc_rd_t *d, int32_t partition) {
  for (size_t i = 0; i < d->n_parts; i++)
    if (d->parts[i].partition == partition)
      return &d->parts[i];
  return NULL;
}

static oc_rd_hw_t *hw_find(oc_rd_t *d, int32_t partition, bool create) {
  for (size_t i = 0; i < d->n_hws; i++)
    if (d->hws[i].partition == partition)
      return &d->hws[i];
  if (!create)
    return NULL;
  if (d->n_hws == d->cap_hws) {
    size_t cap = d->cap_hws ? 2 * d->cap_hws : 16;
    oc_rd_hw_t *h = realloc(d->hws, cap * sizeof(*h));
    if (!h)
      return NULL;
    d->hws = h;
    d->cap_hws = cap;
  }
  oc_rd_hw_t *h = &d->hws[d->n_hws++];
  h->partition = partition;
  h->low = h->high = -1;
  return h;
}

int oc_rd_load_offsets(oc_rd_t *d, oc_err_t *err) {
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

static void record_watermarks(oc_rd_t *d) {
  if (!d->opts->exit_at_end)
    return;
  for (size_t i = 0; i < d->n_parts; i++) {
    oc_rd_hw_t *h = hw_find(d, d->parts[i].partition, true);
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
  oc_log_info("%s topic=%s count=%d partitions=%s", event, l->cnt ? l->elems[0].topic : "", l->cnt,
              buf);
}

static void error_cb(rd_kafka_t *rk, int code, const char *reason, void *opaque) {
  oc_rd_t *d = opaque;
  if (code == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof(buf));
    d->fatal = oc_err_set(&d->fatal_err, OC_ERR_KAFKA, "kafka fatal error: %s: %s",
                          rd_kafka_err2name(orig), buf);
    return;
  }
  oc_rd_kafka_state(d, false, code, reason);
}

static void commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t code,
                      rd_kafka_topic_partition_list_t *offsets, void *opaque) {
  (void)rk;
  (void)offsets;
  (void)opaque;
  if (code && code != RD_KAFKA_RESP_ERR__NO_OFFSET)
    oc_log_debug("kafka_offset_copy_failed code=%s", rd_kafka_err2name(code));
}

static void revoke(oc_rd_t *d, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *list) {
  /* Nothing of the batch in flight is written yet: drop it; the next owner
   * polls it again from the stored offsets. */
  size_t dropped = oc_batch_count(d->batch);
  oc_batch_reset(d->batch);
  log_partitions("partitions_revoked", list);
  for (int i = 0; i < list->cnt; i++)
    oc_rmetrics_partition(d->metrics, list->elems[i].partition, -1, -1, false);
  if (dropped)
    oc_log_info("batch_dropped reason=revoke messages=%zu", dropped);
  rd_kafka_assign(rk, NULL);
  d->n_parts = 0;
  /* Failures of batches of those partitions say nothing of the next
   * assignment (an instance left with none would never commit again). */
  oc_rd_failures_forget(d, "revoke");
}

static void assign(oc_rd_t *d, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *list) {
  oc_err_t err;

  oc_batch_reset(d->batch);
  d->n_parts = 0;
  if ((size_t)list->cnt > d->cap_parts) {
    oc_rd_part_t *p = realloc(d->parts, (size_t)list->cnt * sizeof(*p));
    if (!p) {
      d->fatal = oc_err_set(&d->fatal_err, OC_ERR_NOMEM, "assignment: out of memory");
      return;
    }
    d->parts = p;
    d->cap_parts = (size_t)list->cnt;
  }
  for (int i = 0; i < list->cnt; i++) {
    oc_rd_part_t *p = &d->parts[d->n_parts++];
    p->partition = list->elems[i].partition;
    p->stored = p->pos = -1;
    p->known = false;
  }
  oc_err_clear(&err);
  if (d->pg && oc_rd_load_offsets(d, &err) == 0) {
    for (int i = 0; i < list->cnt; i++) {
      oc_rd_part_t *p = oc_rd_part_find(d, list->elems[i].partition);
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
    oc_rd_part_t *p = oc_rd_part_find(d, list->elems[i].partition);
    oc_rmetrics_partition(d->metrics, list->elems[i].partition, p ? p->stored : -1, -1, true);
  }
  d->assigned_once = true;
  record_watermarks(d);
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t code,
                         rd_kafka_topic_partition_list_t *list, void *opaque) {
  oc_rd_t *d = opaque;

  if (code == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    revoke(d, rk, list);
  } else if (code == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    assign(d, rk, list);
  } else {
    oc_log_err("rebalance_error code=%s", rd_kafka_err2name(code));
    rd_kafka_assign(rk, NULL);
    d->n_parts = 0;
  }
}

int oc_rd_kafka_open(oc_rd_t *d, oc_err_t *err) {
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
      (rc = oc_kafka_conf_set(conf, "partition.assignment.strategy", "range,roundrobin", NULL,
                              err)) != 0)
    goto out;
  for (size_t i = 0; kafka_defaults[i][0]; i++)
    if ((rc = oc_kafka_conf_set(conf, kafka_defaults[i][0], kafka_defaults[i][1], NULL, err)) != 0)
      goto out;
  if ((rc = oc_kafka_conf_apply(conf, d->cfg, oc_rollupd_reserved_kafka_keys(), err)) != 0)
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

/* The assigned partitions as a list for librdkafka; offsets from stored
 * when seek. Caller destroys it. */
static rd_kafka_topic_partition_list_t *assigned_list(oc_rd_t *d, bool seek) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)d->n_parts);
  for (size_t i = 0; i < d->n_parts; i++) {
    rd_kafka_topic_partition_t *t =
        rd_kafka_topic_partition_list_add(l, d->topic, d->parts[i].partition);
    if (seek)
      t->offset = d->parts[i].stored >= 0 ? d->parts[i].stored : RD_KAFKA_OFFSET_BEGINNING;
  }
  return l;
}

int oc_rd_seek_stored(oc_rd_t *d, oc_err_t *err) {
  if (d->n_parts == 0)
    return 0;
  rd_kafka_topic_partition_list_t *l = assigned_list(d, true);
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

void oc_rd_pause_all(oc_rd_t *d) {
  if (d->n_parts == 0)
    return;
  rd_kafka_topic_partition_list_t *l = assigned_list(d, false);
  rd_kafka_pause_partitions(d->rk, l);
  rd_kafka_topic_partition_list_destroy(l);
}

void oc_rd_copy_offsets_to_kafka(oc_rd_t *d) {
  size_t n = oc_batch_part_count(d->batch);
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
  for (size_t i = 0; i < n; i++) {
    const oc_batch_part_t *p = oc_batch_part_at(d->batch, i);
    rd_kafka_topic_partition_list_add(l, d->topic, p->partition)->offset = p->next;
  }
  rd_kafka_commit(d->rk, l, 1);
  rd_kafka_topic_partition_list_destroy(l);
}

bool oc_rd_position(oc_rd_t *d, int64_t *position, int64_t *lag) {
  int64_t pos = 0, left = 0;
  if (!d->opts->exit_at_end || d->n_parts == 0 || d->need_recover)
    return false;
  for (size_t i = 0; i < d->n_parts; i++) {
    const oc_rd_part_t *p = &d->parts[i];
    const oc_rd_hw_t *h = hw_find(d, p->partition, false);
    if (!p->known || !h || h->high < 0)
      return false;
    int64_t at = p->stored > h->low ? p->stored : h->low;
    pos += at;
    left += h->high > at ? h->high - at : 0;
  }
  *position = pos;
  *lag = left;
  return true;
}

bool oc_rd_caught_up(oc_rd_t *d, bool by_pos) {
  if (!d->opts->exit_at_end || !d->assigned_once || d->n_parts == 0 || d->need_recover)
    return false;
  record_watermarks(d);
  for (size_t i = 0; i < d->n_parts; i++) {
    const oc_rd_part_t *p = &d->parts[i];
    const oc_rd_hw_t *h = hw_find(d, p->partition, false);
    int64_t at = by_pos ? p->pos : p->stored;
    if (!p->known || !h || h->high < 0)
      return false;
    if (!(at >= h->high || (at < 0 && h->low >= h->high)))
      return false;
  }
  return true;
}
