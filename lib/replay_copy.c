/* replay_copy.c - the idempotent producer shared by republish and redrive,
 * and republish itself; see include/outcomes/replay.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes/avro.h"
#include "outcomes/clock.h"
#include "outcomes/kafka.h"
#include "outcomes/log.h"
#include "outcomes/obs_codec.h"
#include "outcomes/progress.h"
#include "outcomes/schema_ids.h"
#include "replay_internal.h"

/* ---- producer ---------------------------------------------------------- */

struct oc_rprod_s {
  oc_replay_t *r; /* borrowed */
  oc_kprod_t *kp;
  int64_t *per_part; /* deliveries per target partition */
  size_t n_parts;
  int64_t failed; /* since the last flush */
  rd_kafka_resp_err_t first_err;
};

static void on_delivery(void *opaque, const rd_kafka_message_t *m) {
  oc_rprod_t *p = opaque;
  int8_t *status = m->_private;
  if (m->err) {
    if (p->failed++ == 0)
      p->first_err = m->err;
    if (status)
      *status = -1;
    return;
  }
  if (m->partition >= 0 && (size_t)m->partition < p->n_parts)
    p->per_part[m->partition]++;
  if (status)
    *status = 1;
}

int oc_rprod_new(oc_replay_t *r, size_t n_target_parts, oc_rprod_t **out, oc_err_t *err) {
  rd_kafka_conf_t *conf = NULL;
  oc_rprod_t *p = calloc(1, sizeof(*p));
  int rc;

  *out = NULL;
  if (!p || !(p->per_part = calloc(n_target_parts ? n_target_parts : 1, sizeof(int64_t)))) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "producer: out of memory");
    goto out;
  }
  p->r = r;
  p->n_parts = n_target_parts;
  if ((rc = oc_replay_kafka_conf(r, true, &conf, err)) != 0)
    goto out;
  oc_kprod_opts_t ko = {.on_delivery = on_delivery, .opaque = p, .stop = r->stop};
  if ((rc = oc_kprod_new(conf, &ko, &p->kp, err)) != 0) /* takes conf over */
    goto out;
  *out = p;
  p = NULL;
out:
  oc_rprod_destroy(p);
  return rc;
}

int oc_rprod_send(oc_rprod_t *p, const char *topic, const void *key, size_t key_len,
                  const void *value, size_t value_len, rd_kafka_headers_t *hdrs, int64_t ts_ms,
                  int8_t *status, oc_err_t *err) {
  oc_kprod_msg_t m = {
      .topic = topic,
      .key = key,
      .key_len = key_len,
      .value = value,
      .value_len = value_len,
      .headers = hdrs,
      .timestamp_ms = ts_ms,
      .opaque = status,
  };
  if (status)
    *status = 0;
  int rc = oc_kprod_send(p->kp, &m, err);
  if (rc == OC_KPROD_GAVE_UP && status)
    *status = -1;
  if (rc < 0) {
    if (status)
      *status = -1;
    p->failed++;
  }
  return rc;
}

int oc_rprod_flush(oc_rprod_t *p, oc_err_t *err) {
  oc_kprod_flush(p->kp, p->r->flush_timeout_ms);
  int64_t failed = p->failed;
  rd_kafka_resp_err_t first = p->first_err;
  p->failed = 0;
  p->first_err = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (failed)
    return oc_err_set_retriable(err, OC_ERR_KAFKA, "%" PRId64 " message(s) not delivered: %s",
                                failed, rd_kafka_err2str(first));
  return 0;
}

int64_t oc_rprod_delivered(const oc_rprod_t *p, int32_t partition) {
  return partition >= 0 && (size_t)partition < p->n_parts ? p->per_part[partition] : 0;
}

void oc_rprod_destroy(oc_rprod_t *p) {
  if (!p)
    return;
  oc_kprod_destroy(p->kp);
  free(p->per_part);
  free(p);
}

/* ---- republish --------------------------------------------------------- */

typedef struct rp_part_s {
  int32_t partition;
  int64_t lo, hi;     /* watermarks at start */
  int64_t start, end; /* the range still to copy */
  int64_t checkpoint; /* committed offset, -1 none */
  int64_t pos;        /* next offset to copy */
  int64_t copied;
  bool done;
} rp_part_t;

static const oc_part_offset_t *find_off(const oc_part_offset_t *v, size_t n, int32_t part) {
  for (size_t i = 0; i < n; i++)
    if (v[i].partition == part)
      return &v[i];
  return NULL;
}

int oc_replay_consumer(oc_replay_t *r, const char *group, rd_kafka_t **out, oc_err_t *err) {
  rd_kafka_conf_t *conf = NULL;
  char errstr[512];
  int rc;

  *out = NULL;
  if ((rc = oc_replay_kafka_conf(r, false, &conf, err)) != 0)
    return rc;
  if ((rc = oc_kafka_conf_set(conf, "group.id", group, NULL, err)) != 0 ||
      (rc = oc_kafka_conf_set(conf, "enable.auto.commit", "false", NULL, err)) != 0 ||
      (rc = oc_kafka_conf_set(conf, "enable.auto.offset.store", "false", NULL, err)) != 0 ||
      (rc = oc_kafka_conf_set(conf, "enable.partition.eof", "true", NULL, err)) != 0)
    goto out;
  if (!(*out = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr)))) {
    rc = oc_err_set(err, OC_ERR_KAFKA, "kafka consumer: %s", errstr);
    goto out;
  }
  conf = NULL; /* owned by *out */
  rd_kafka_poll_set_consumer(*out);
out:
  if (conf)
    rd_kafka_conf_destroy(conf);
  return rc;
}

int oc_replay_plan_span(oc_replay_t *r, const char *topic, const oc_replay_span_t *span,
                        oc_replay_range_t **out, size_t *n_out, oc_err_t *err) {
  int32_t *parts = NULL;
  int64_t *t_from = NULL, *t_to = NULL;
  oc_replay_range_t *p = NULL;
  size_t n = 0;
  int rc;

  *out = NULL;
  *n_out = 0;
  if ((rc = oc_replay_select_partitions(r, topic, span->partitions, span->n_partitions, &parts, &n,
                                        err)) != 0)
    return rc;
  t_from = calloc(n ? n : 1, sizeof(int64_t));
  t_to = calloc(n ? n : 1, sizeof(int64_t));
  p = calloc(n ? n : 1, sizeof(*p));
  if (!t_from || !t_to || !p) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "out of memory");
    goto out;
  }
  if (span->has_from_time &&
      (rc = oc_replay_offsets_for_time(r, topic, parts, n, span->from_time_ms, t_from, err)) != 0)
    goto out;
  if (span->has_to_time &&
      (rc = oc_replay_offsets_for_time(r, topic, parts, n, span->to_time_ms, t_to, err)) != 0)
    goto out;
  for (size_t i = 0; i < n; i++) {
    oc_replay_range_t *q = &p[i];
    const oc_part_offset_t *f = find_off(span->from_offsets, span->n_from_offsets, parts[i]);
    const oc_part_offset_t *t = find_off(span->to_offsets, span->n_to_offsets, parts[i]);
    q->partition = parts[i];
    if ((rc = oc_replay_watermarks(r, topic, q->partition, &q->lo, &q->hi, err)) != 0)
      goto out;
    q->start = q->lo;
    if (f && f->offset > q->start)
      q->start = f->offset;
    if (span->has_from_time)
      q->start = t_from[i] >= 0 ? (t_from[i] > q->start ? t_from[i] : q->start) : q->hi;
    q->end = q->hi;
    if (t && t->offset < q->end)
      q->end = t->offset;
    if (span->has_to_time && t_to[i] >= 0 && t_to[i] < q->end)
      q->end = t_to[i];
    if (q->end < q->start)
      q->end = q->start;
  }
  *out = p;
  *n_out = n;
  p = NULL;
out:
  free(parts);
  free(t_from);
  free(t_to);
  free(p);
  return rc;
}

/* Ranges, checkpoint, plan. */
static int rp_plan(oc_replay_t *r, const oc_republish_opts_t *o, rd_kafka_t *c, rp_part_t **out,
                   size_t *n_out, oc_err_t *err) {
  rd_kafka_topic_partition_list_t *l = NULL;
  oc_replay_range_t *ranges = NULL;
  rp_part_t *p = NULL;
  size_t n = 0;
  int rc;

  if ((rc = oc_replay_plan_span(r, o->from_topic, &o->span, &ranges, &n, err)) != 0)
    return rc;
  if (!(p = calloc(n ? n : 1, sizeof(*p)))) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "out of memory");
    goto out;
  }
  l = rd_kafka_topic_partition_list_new((int)n);
  for (size_t i = 0; i < n; i++)
    rd_kafka_topic_partition_list_add(l, o->from_topic, ranges[i].partition);
  if (!o->restart) {
    rd_kafka_resp_err_t e = rd_kafka_committed(c, l, r->timeout_ms);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rc = oc_kafka_err(err, e, "read the republish checkpoint");
      goto out;
    }
  }
  for (size_t i = 0; i < n; i++) {
    rp_part_t *q = &p[i];
    q->partition = ranges[i].partition;
    q->lo = ranges[i].lo;
    q->hi = ranges[i].hi;
    q->start = ranges[i].start;
    q->end = ranges[i].end;
    q->checkpoint = o->restart ? -1 : l->elems[i].offset >= 0 ? l->elems[i].offset : -1;
    if (q->checkpoint > q->start)
      q->start = q->checkpoint;
    if (q->end < q->start)
      q->end = q->start;
    q->pos = q->start;
    q->done = q->start >= q->end;
    char cp[48] = "";
    if (q->checkpoint >= 0)
      snprintf(cp, sizeof(cp), ", checkpoint %" PRId64, q->checkpoint);
    oc_replay_printf(r,
                     "%s [%" PRId32 "] -> %s: %s offsets [%" PRId64 ", %" PRId64 "): %" PRId64
                     " records (watermarks %" PRId64 "..%" PRId64 "%s)",
                     o->from_topic, q->partition, o->to_topic, o->dry_run ? "would copy" : "copy",
                     q->start, q->end, q->end - q->start, q->lo, q->hi, cp);
  }
  *out = p;
  *n_out = n;
  p = NULL;
out:
  if (l)
    rd_kafka_topic_partition_list_destroy(l);
  free(ranges);
  free(p);
  return rc;
}

/* Commit every partition's position as the checkpoint. */
static int rp_checkpoint(oc_replay_t *r, const char *topic, rd_kafka_t *c, const rp_part_t *p,
                         size_t n, oc_err_t *err) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
  int rc = 0;
  for (size_t i = 0; i < n; i++)
    if (p[i].pos > p[i].start || p[i].checkpoint >= 0)
      rd_kafka_topic_partition_list_add(l, topic, p[i].partition)->offset = p[i].pos;
  if (l->cnt > 0) {
    rd_kafka_resp_err_t e = rd_kafka_commit(c, l, 0);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
      rc = oc_kafka_err(err, e, "commit the republish checkpoint");
    for (int i = 0; rc == 0 && i < l->cnt; i++)
      if (l->elems[i].err)
        rc = oc_kafka_err(err, l->elems[i].err, "commit the republish checkpoint");
  }
  rd_kafka_topic_partition_list_destroy(l);
  (void)r;
  return rc;
}

static rp_part_t *rp_find(rp_part_t *p, size_t n, int32_t part) {
  for (size_t i = 0; i < n; i++)
    if (p[i].partition == part)
      return &p[i];
  return NULL;
}

/* The progress line: the partitions' positions summed, and the records
 * from them to their ends. */
static void rp_progress(oc_progress_t *prog, const rp_part_t *p, size_t n, bool last) {
  int64_t t = oc_clock_ms(), pos = 0, lag = 0;
  if (!oc_progress_wanted(prog, t, last))
    return;
  for (size_t i = 0; i < n; i++) {
    pos += p[i].pos;
    lag += p[i].end - p[i].pos;
  }
  oc_progress_report(prog, t, pos, lag, last, NULL);
}

/* Stop fetching a partition whose range is copied. */
static void rp_pause(rd_kafka_t *c, const char *topic, int32_t partition) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, topic, partition);
  rd_kafka_pause_partitions(c, l);
  rd_kafka_topic_partition_list_destroy(l);
}

/* The framing of the values copied: with a registry, value.format's;
 * without one, as they are. */
typedef struct rp_frame_s {
  oc_obs_codec_t *codec;
  oc_schema_ids_t *ids; /* NULL: values copied as they are */
  oc_value_format_t to;
  char subject[512];
  unsigned char *buf; /* RP_VALUE_MAX */
  int64_t reframed, kept;
  char kept_why[OC_ERR_MSG_MAX + 64];
} rp_frame_t;

#define RP_VALUE_MAX (OC_AVRO_MAX_MESSAGE_DEFAULT + OC_AVRO_HEADER_LEN)

static int rp_frame_open(oc_replay_t *r, const char *to_topic, rp_frame_t *f, oc_err_t *err) {
  int rc;
  memset(f, 0, sizeof(*f));
  if ((rc = oc_value_format_get(r->cfg, &f->to, err)) != 0)
    return rc;
  const char *url = oc_config_get_str(r->cfg, "schema.registry.url");
  if (!url || !*url)
    return 0;
  if ((size_t)snprintf(f->subject, sizeof(f->subject), "%s-value", to_topic) >= sizeof(f->subject))
    return oc_err_set(err, OC_ERR_USAGE, "--to-topic: too long for a subject");
  if (!(f->buf = malloc(RP_VALUE_MAX)))
    return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  if ((rc = oc_obs_codec_new(oc_config_get_str(r->cfg, "schema.dir"), &f->codec, err)) != 0)
    return rc;
  return oc_schema_ids_setup(r->cfg, f->codec, NULL, &f->ids, err);
}

static void rp_frame_close(rp_frame_t *f) {
  oc_schema_ids_destroy(f->ids);
  oc_obs_codec_destroy(f->codec);
  free(f->buf);
}

/* The value to send for m: reframed into f->buf, or m's own. */
static int rp_value(rp_frame_t *f, const rd_kafka_message_t *m, const void **val, size_t *len,
                    oc_err_t *err) {
  oc_err_t why;
  size_t n;
  *val = m->payload;
  *len = m->len;
  if (!f->ids || !m->payload)
    return 0;
  oc_err_clear(&why);
  int rc = oc_schema_ids_reframe(f->ids, f->to, f->subject, m->payload, m->len, f->buf,
                                 RP_VALUE_MAX, &n, &why);
  if (rc == 0) {
    f->reframed += f->buf[0] != ((const unsigned char *)m->payload)[0];
    *val = f->buf;
    *len = n;
    return 0;
  }
  if (oc_err_is_data(rc) || rc == OC_ERR_LIMIT) { /* it stays as it is */
    if (f->kept++ == 0)
      snprintf(f->kept_why, sizeof(f->kept_why), "partition %" PRId32 " offset %" PRId64 ": %s",
               m->partition, m->offset, why.msg);
    return 0;
  }
  if (err)
    *err = why;
  return rc;
}

/* Copy one message; the caller has checked its range. Returns 0,
 * OC_KPROD_GAVE_UP (not sent: a stop request, see oc_kprod_send) or an
 * error. */
static int rp_copy(const oc_republish_opts_t *o, rp_frame_t *f, oc_rprod_t *prod,
                   const rd_kafka_message_t *m, oc_err_t *err) {
  rd_kafka_headers_t *src = NULL, *hdrs = NULL;
  const void *val;
  size_t val_len;
  int64_t ts = 0;
  int rc = rp_value(f, m, &val, &val_len, err);
  if (rc != 0)
    return rc;
  if (rd_kafka_message_headers(m, &src) == RD_KAFKA_RESP_ERR_NO_ERROR && src)
    hdrs = rd_kafka_headers_copy(src); /* src is the message's */
  if (o->keep_timestamps) {
    rd_kafka_timestamp_type_t tt;
    int64_t t = rd_kafka_message_timestamp(m, &tt);
    ts = t > 0 ? t : 0;
  }
  return oc_rprod_send(prod, o->to_topic, m->key, m->key_len, val, val_len, hdrs, ts, NULL, err);
}

int oc_replay_republish(oc_replay_t *r, const oc_republish_opts_t *o, oc_err_t *err) {
  rd_kafka_t *meta, *c = NULL;
  oc_rprod_t *prod = NULL;
  rd_kafka_topic_partition_list_t *assign = NULL;
  rp_part_t *p = NULL;
  rp_frame_t frame;
  size_t n = 0;
  int to_count = 0, rc;
  char group[512];
  int64_t chunk = oc_config_get_int(r->cfg, "republish.chunk"), in_chunk = 0, total = 0;

  memset(&frame, 0, sizeof(frame));

  if (strcmp(o->from_topic, o->to_topic) == 0)
    return oc_err_set(err, OC_ERR_USAGE, "--from-topic and --to-topic are the same topic");
  snprintf(group, sizeof(group), OC_REPLAY_CHECKPOINT_GROUP_PREFIX "%s", o->to_topic);
  if ((rc = oc_replay_meta(r, &meta, err)) != 0 ||
      (rc = oc_kafka_partition_count(meta, o->to_topic, r->timeout_ms, &to_count, err)) != 0 ||
      (rc = oc_replay_consumer(r, group, &c, err)) != 0 ||
      (rc = rp_plan(r, o, c, &p, &n, err)) != 0)
    goto out;
  int64_t planned = 0;
  for (size_t i = 0; i < n; i++)
    planned += p[i].end - p[i].start;
  if (o->dry_run) {
    oc_replay_printf(r, "total: would copy %" PRId64 " records (dry run: nothing sent)", planned);
    goto out;
  }
  if (planned == 0) {
    oc_replay_printf(r, "total: copied 0 records (nothing in range or already copied)");
    goto out;
  }
  if ((rc = oc_rprod_new(r, (size_t)to_count, &prod, err)) != 0 ||
      (rc = rp_frame_open(r, o->to_topic, &frame, err)) != 0)
    goto out;
  assign = rd_kafka_topic_partition_list_new((int)n);
  for (size_t i = 0; i < n; i++)
    if (!p[i].done)
      rd_kafka_topic_partition_list_add(assign, o->from_topic, p[i].partition)->offset = p[i].start;
  rd_kafka_resp_err_t e = rd_kafka_assign(c, assign);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rc = oc_kafka_err(err, e, "assign");
    goto out;
  }

  size_t left = 0;
  for (size_t i = 0; i < n; i++)
    left += !p[i].done;
  oc_progress_t prog;
  oc_progress_init(&prog, oc_config_get_int(r->cfg, "log.progress.interval"));
  while (left > 0 && !oc_replay_stopping(r)) {
    rp_progress(&prog, p, n, false);
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
    if (!m)
      continue;
    rp_part_t *q = m->rkt ? rp_find(p, n, m->partition) : NULL;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      /* The end may lie past the last record (transaction markers,
       * compaction): at the end of the log the range is done. */
      if (q && !q->done && m->offset >= q->end) {
        q->pos = q->end;
        q->done = true;
        left--;
      }
    } else if (m->err) {
      rc = oc_kafka_err(err, m->err, "consume");
      if (err)
        oc_err_prefix(err, "%s [%" PRId32 "]: ", o->from_topic, m->partition);
      rd_kafka_message_destroy(m);
      break;
    } else if (q && !q->done) {
      if (m->offset < q->end) {
        if ((rc = rp_copy(o, &frame, prod, m, err)) != 0) {
          /* Given up: the position stays before m; what was sent is
           * flushed and checkpointed below. */
          if (rc == OC_KPROD_GAVE_UP)
            rc = 0;
          rd_kafka_message_destroy(m);
          break;
        }
        q->copied++;
        in_chunk++;
        total++;
      }
      q->pos = m->offset + 1;
      if (q->pos >= q->end) {
        q->pos = q->end;
        q->done = true;
        left--;
        rp_pause(c, o->from_topic, q->partition);
      }
    }
    rd_kafka_message_destroy(m);
    if (in_chunk >= chunk || left == 0) {
      if ((rc = oc_rprod_flush(prod, err)) != 0 ||
          (rc = rp_checkpoint(r, o->from_topic, c, p, n, err)) != 0)
        break;
      in_chunk = 0;
    }
  }
  if (rc == 0 && left > 0) {
    /* Stopped on request (or a send gave up, whose failure the flush
     * reports): keep what is acknowledged. */
    if ((rc = oc_rprod_flush(prod, err)) == 0 &&
        (rc = rp_checkpoint(r, o->from_topic, c, p, n, err)) == 0)
      rc = oc_err_set(err, OC_ERR_IO, "stopped on request after %" PRId64 " records", total);
  }
  rp_progress(&prog, p, n, true);
  for (size_t i = 0; i < n; i++)
    oc_replay_printf(r, "%s [%" PRId32 "]: copied %" PRId64 " records, position %" PRId64,
                     o->from_topic, p[i].partition, p[i].copied, p[i].pos);
  for (int i = 0; i < to_count; i++)
    oc_replay_printf(r, "%s [%d]: received %" PRId64 " records", o->to_topic, i,
                     oc_rprod_delivered(prod, i));
  if (frame.ids)
    oc_replay_printf(r, "values: %" PRId64 " reframed to %s, %" PRId64 " copied as they were%s%s",
                     frame.reframed, frame.to == OC_VALUE_CONFLUENT ? "confluent" : "single-object",
                     frame.kept, frame.kept ? ", the first: " : "", frame.kept_why);
  if (rc == 0)
    oc_replay_printf(r, "total: copied %" PRId64 " records", total);
  else
    oc_replay_printf(r,
                     "total: %" PRId64 " records sent, not all of them checkpointed: "
                     "re-run to go on from the checkpoint",
                     total);
out:
  if (assign)
    rd_kafka_topic_partition_list_destroy(assign);
  oc_rprod_destroy(prod);
  rp_frame_close(&frame);
  if (c) {
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
  }
  free(p);
  return rc;
}
