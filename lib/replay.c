/* replay.c - outcomes-replay's context, parsing, connections, the
 * live-members check and rewind; see include/outcomes/replay.h. The
 * statements are the files of schemas/sql/statements/replay/. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oc_sql_replay_statements.h"
#include "outcomes/date.h"
#include "outcomes/kafka.h"
#include "outcomes/log.h"
#include "outcomes/pg.h"
#include "outcomes/produce.h"
#include "outcomes/progress.h"
#include "outcomes/schema_registry.h"
#include "outcomes/stmt.h"
#include "outcomes/tls_policy.h"
#include "replay_internal.h"

static const oc_conf_def_t conf_defs[] = {
    {"brokers", OC_CONF_STR, NULL, 0, 0, 0, "OUTCOMES_KAFKA_BROKERS",
     "Kafka bootstrap servers (host:port,...)"},
    {"conninfo", OC_CONF_STR, "", 0, 0, OC_CONF_CONNINFO, "OUTCOMES_PG_CONNINFO",
     "PostgreSQL conninfo (key=value or URI; pg.* keys add libpq keywords; never logged)"},
    {"kafka.timeout", OC_CONF_MS, "10s", 100, 600000, 0, NULL,
     "bound on each Kafka request (metadata, offsets, group description, commit)"},
    {"flush.timeout", OC_CONF_MS, "60s", 100, 3600000, 0, NULL,
     "bound on waiting for delivery reports; what is left is not delivered"},
    {"republish.chunk", OC_CONF_INT, "10000", 1, 10000000, 0, NULL,
     "republish: records per flush and checkpoint"},
    {"rebuild.batch.changes", OC_CONF_INT, "200000", 1000, 100000000, 0, NULL,
     "rebuild: fact changes per refresh transaction"},
    {"redrive.batch", OC_CONF_INT, "500", 1, 100000, 0, NULL,
     "dlq redrive: dead letters per transaction"},
    {"log.level", OC_CONF_STR, "notice", 0, 0, 0, "OUTCOMES_LOG_LEVEL",
     "error, warning, notice, info or debug"},
    OC_PROGRESS_CONF,
    {"schema.dir", OC_CONF_STR, NULL, 0, 0, 0, NULL,
     "cat, republish: directory of observation.v*.avsc (default: the installed one)"},
    OC_TLS_CONF_PG,
    OC_TLS_CONF_KAFKA,
    OC_VALUE_FORMAT_CONF,
    OC_SR_CONF,
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};

static const char *const reserved_kafka[] = {
    "bootstrap.servers",
    "group.id",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "enable.partition.eof",
    "enable.idempotence",
    "acks",
    "request.required.acks",
    "delivery.report.only.error",
    NULL,
};

const oc_conf_def_t *oc_replay_conf_defs(void) { return conf_defs; }
const char *const *oc_replay_reserved_kafka_keys(void) { return reserved_kafka; }

/* ---- context ----------------------------------------------------------- */

int oc_replay_new(const oc_config_t *cfg, oc_replay_out_fn out, void *opaque,
                  const volatile sig_atomic_t *stop, oc_replay_t **out_r, oc_err_t *err) {
  oc_replay_t *r = calloc(1, sizeof(*r));
  *out_r = NULL;
  if (!r)
    return oc_err_set(err, OC_ERR_NOMEM, "replay: out of memory");
  r->cfg = cfg;
  r->out = out;
  r->opaque = opaque;
  r->stop = stop;
  r->timeout_ms = (int)oc_config_get_int(cfg, "kafka.timeout");
  r->flush_timeout_ms = oc_config_get_int(cfg, "flush.timeout");
  *out_r = r;
  return 0;
}

void oc_replay_destroy(oc_replay_t *r) {
  if (!r)
    return;
  if (r->pg)
    PQfinish(r->pg);
  if (r->meta)
    rd_kafka_destroy(r->meta);
  free(r);
}

void oc_replay_printf(oc_replay_t *r, const char *fmt, ...) {
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  if (r->out)
    r->out(r->opaque, line);
}

bool oc_replay_stopping(const oc_replay_t *r) { return r->stop && *r->stop != 0; }

bool oc_replay_int_array(char *buf, size_t cap, const int64_t *v, size_t n) {
  size_t len = 0;
  int k = snprintf(buf, cap, "{");
  if (k < 0 || (size_t)k >= cap)
    return false;
  len = (size_t)k;
  for (size_t i = 0; i < n; i++) {
    k = snprintf(buf + len, cap - len, "%s%" PRId64, i ? "," : "", v[i]);
    if (k < 0 || (size_t)k >= cap - len)
      return false;
    len += (size_t)k;
  }
  k = snprintf(buf + len, cap - len, "}");
  return k >= 0 && (size_t)k < cap - len;
}

/* ---- parsing ----------------------------------------------------------- */

static int parse_i64(const char *s, size_t len, int64_t max, int64_t *out) {
  char buf[24];
  char *end;
  if (len == 0 || len >= sizeof(buf))
    return -1;
  memcpy(buf, s, len);
  buf[len] = '\0';
  if (buf[0] < '0' || buf[0] > '9')
    return -1;
  errno = 0;
  long long v = strtoll(buf, &end, 10);
  if (errno || *end || v < 0 || v > max)
    return -1;
  *out = v;
  return 0;
}

int oc_replay_parse_offsets(const char *s, oc_part_offset_t **out, size_t *n_out, oc_err_t *err) {
  size_t cap = 1;
  for (const char *p = s; *p; p++)
    cap += *p == ',';
  oc_part_offset_t *v = calloc(cap, sizeof(*v));
  size_t n = 0;
  const char *p = s;

  *out = NULL;
  *n_out = 0;
  if (!v)
    return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  while (1) {
    size_t len = strcspn(p, ",");
    const char *colon = memchr(p, ':', len);
    int64_t part, off;
    if (!colon || parse_i64(p, (size_t)(colon - p), INT32_MAX, &part) != 0 ||
        parse_i64(colon + 1, len - (size_t)(colon - p) - 1, INT64_MAX, &off) != 0) {
      free(v);
      return oc_err_set(err, OC_ERR_USAGE, "'%s': want PARTITION:OFFSET[,PARTITION:OFFSET...]", s);
    }
    for (size_t i = 0; i < n; i++)
      if (v[i].partition == part) {
        free(v);
        return oc_err_set(err, OC_ERR_USAGE, "'%s': partition %" PRId64 " given twice", s, part);
      }
    v[n].partition = (int32_t)part;
    v[n++].offset = off;
    if (!p[len])
      break;
    p += len + 1;
  }
  *out = v;
  *n_out = n;
  return 0;
}

int oc_replay_parse_partitions(const char *s, int32_t **out, size_t *n_out, oc_err_t *err) {
  size_t cap = 1;
  for (const char *p = s; *p; p++)
    cap += *p == ',';
  int32_t *v = calloc(cap, sizeof(*v));
  size_t n = 0;
  const char *p = s;

  *out = NULL;
  *n_out = 0;
  if (!v)
    return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  while (1) {
    size_t len = strcspn(p, ",");
    int64_t part;
    if (parse_i64(p, len, INT32_MAX, &part) != 0) {
      free(v);
      return oc_err_set(err, OC_ERR_USAGE, "'%s': want PARTITION[,PARTITION...]", s);
    }
    bool dup = false;
    for (size_t i = 0; i < n; i++)
      dup |= v[i] == part;
    if (!dup)
      v[n++] = (int32_t)part;
    if (!p[len])
      break;
    p += len + 1;
  }
  *out = v;
  *n_out = n;
  return 0;
}

int oc_replay_parse_time(const char *s, int64_t *ms_out, oc_err_t *err) {
  oc_timestamp_t ts;
  oc_err_t e;
  if (s[0] == '@') {
    if (parse_i64(s + 1, strlen(s + 1), INT64_MAX, ms_out) != 0)
      return oc_err_set(err, OC_ERR_USAGE, "'%s': want @MILLISECONDS since the epoch", s);
    return 0;
  }
  if (oc_timestamp_parse(s, &ts, &e) != 0)
    return oc_err_set(err, OC_ERR_USAGE, "'%s': %s", s, e.msg);
  /* oc_timestamp_t is microseconds; Kafka timestamps are milliseconds. A
   * time inside a millisecond rounds up, so that "at or after" holds. */
  *ms_out = ts / 1000 + (ts % 1000 > 0);
  return 0;
}

/* ---- PostgreSQL -------------------------------------------------------- */

/* conninfo expanded first, then every pg.* key as a libpq keyword (later
 * keywords win); the connection is kept for the next call. */
int oc_replay_pg(oc_replay_t *r, PGconn **out, oc_err_t *err) {
  PGconn *conn = NULL;
  int rc;

  *out = r->pg;
  if (r->pg && PQstatus(r->pg) == CONNECTION_OK)
    return 0;
  if ((rc = oc_pg_connect_config(r->cfg, "outcomes-replay", 0, 0, &conn, err)) != 0)
    return rc;
  if (r->pg)
    PQfinish(r->pg);
  r->pg = conn; /* owned by r */
  *out = r->pg;
  return 0;
}

int oc_replay_check_schema(oc_replay_t *r, int min, oc_err_t *err) {
  PGconn *pg;
  int rc;

  if ((rc = oc_replay_pg(r, &pg, err)) != 0)
    return rc;
  return oc_stmt_check_schema(pg, min, "run outcomes-migrate", err);
}

/* ---- Kafka ------------------------------------------------------------- */

int oc_replay_kafka_conf(oc_replay_t *r, bool producer, rd_kafka_conf_t **out, oc_err_t *err) {
  const char *brokers = oc_config_get_str(r->cfg, "brokers");
  rd_kafka_conf_t *conf;
  int rc = 0;

  *out = NULL;
  if (!brokers || !*brokers)
    return oc_err_set(err, OC_ERR_CONFIG,
                      "brokers is not set (config key brokers or OUTCOMES_KAFKA_BROKERS)");
  if (!(conf = oc_kafka_conf_new(brokers, err)))
    return err ? err->code : OC_ERR_KAFKA;
  if ((rc = oc_kafka_conf_set(conf, "client.id", "outcomes-replay", NULL, err)) != 0)
    goto out;
  /* A producer's defaults are outcomes-produce's (the partitioner above
   * all: a republished key lands where outcomes-produce puts it); the
   * user's kafka.* keys override them. */
  if (producer && (rc = oc_produce_kafka_conf_defaults(conf, err)) != 0)
    goto out;
  if ((rc = oc_kafka_conf_apply(conf, r->cfg, reserved_kafka, err)) != 0)
    goto out;
  *out = conf;
  conf = NULL; /* the caller's */
out:
  if (conf)
    rd_kafka_conf_destroy(conf);
  return rc;
}

int oc_replay_meta(oc_replay_t *r, rd_kafka_t **out, oc_err_t *err) {
  rd_kafka_conf_t *conf = NULL;
  char errstr[512];
  int rc;

  *out = r->meta;
  if (r->meta)
    return 0;
  if ((rc = oc_replay_kafka_conf(r, false, &conf, err)) != 0)
    return rc;
  if (!(r->meta = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr)))) {
    rd_kafka_conf_destroy(conf);
    return oc_err_set(err, OC_ERR_KAFKA, "kafka client: %s", errstr);
  }
  /* conf is owned by r->meta */
  *out = r->meta;
  return 0;
}

int oc_replay_watermarks(oc_replay_t *r, const char *topic, int32_t partition, int64_t *lo,
                         int64_t *hi, oc_err_t *err) {
  rd_kafka_t *rk;
  int rc;
  if ((rc = oc_replay_meta(r, &rk, err)) != 0)
    return rc;
  rd_kafka_resp_err_t e =
      rd_kafka_query_watermark_offsets(rk, topic, partition, lo, hi, r->timeout_ms);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    char what[300];
    snprintf(what, sizeof(what), "watermarks of %s [%" PRId32 "]", topic, partition);
    return oc_kafka_err(err, e, what);
  }
  return 0;
}

int oc_replay_offsets_for_time(oc_replay_t *r, const char *topic, const int32_t *parts, size_t n,
                               int64_t time_ms, int64_t *out, oc_err_t *err) {
  rd_kafka_t *rk;
  rd_kafka_topic_partition_list_t *l = NULL;
  int rc;

  if ((rc = oc_replay_meta(r, &rk, err)) != 0)
    return rc;
  l = rd_kafka_topic_partition_list_new((int)n);
  for (size_t i = 0; i < n; i++)
    rd_kafka_topic_partition_list_add(l, topic, parts[i])->offset = time_ms;
  rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(rk, l, r->timeout_ms);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rc = oc_kafka_err(err, e, "offsets for times");
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(l, topic, parts[i]);
    if (!tp) {
      rc = oc_err_set(err, OC_ERR_KAFKA, "offsets for times: partition %" PRId32 " missing",
                      parts[i]);
      goto out;
    }
    if (tp->err) {
      rc = oc_kafka_err(err, tp->err, "offsets for times");
      goto out;
    }
    out[i] = tp->offset >= 0 ? tp->offset : -1;
  }
out:
  rd_kafka_topic_partition_list_destroy(l);
  return rc;
}

int oc_replay_select_partitions(oc_replay_t *r, const char *topic, const int32_t *req, size_t n_req,
                                int32_t **out, size_t *n_out, oc_err_t *err) {
  rd_kafka_t *rk;
  int count = 0, rc;

  *out = NULL;
  *n_out = 0;
  if ((rc = oc_replay_meta(r, &rk, err)) != 0)
    return rc;
  if ((rc = oc_kafka_partition_count(rk, topic, r->timeout_ms, &count, err)) != 0)
    return rc;
  size_t n = req && n_req ? n_req : (size_t)count;
  int32_t *v = calloc(n ? n : 1, sizeof(*v));
  if (!v)
    return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    v[i] = req && n_req ? req[i] : (int32_t)i;
    if (v[i] >= count) {
      free(v);
      return oc_err_set(err, OC_ERR_USAGE, "topic '%s' has no partition %" PRId32 " (it has %d)",
                        topic, req[i], count);
    }
  }
  *out = v;
  *n_out = n;
  return 0;
}

/* ---- live members ------------------------------------------------------ */

int oc_replay_group_members(oc_replay_t *r, const char *group, size_t *members, char *desc,
                            size_t cap, oc_err_t *err) {
  rd_kafka_t *rk;
  rd_kafka_queue_t *q = NULL;
  rd_kafka_AdminOptions_t *ao = NULL;
  rd_kafka_event_t *ev = NULL;
  char errstr[256];
  const char *groups[1] = {group};
  int rc;

  *members = 0;
  if (desc && cap)
    desc[0] = '\0';
  if ((rc = oc_replay_meta(r, &rk, err)) != 0)
    return rc;
  q = rd_kafka_queue_new(rk);
  ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS);
  if (!q || !ao) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "describe group: out of memory");
    goto out;
  }
  if (rd_kafka_AdminOptions_set_request_timeout(ao, r->timeout_ms, errstr, sizeof(errstr))) {
    rc = oc_err_set(err, OC_ERR_INTERNAL, "describe group: %s", errstr);
    goto out;
  }
  rd_kafka_DescribeConsumerGroups(rk, groups, 1, ao, q);
  ev = rd_kafka_queue_poll(q, r->timeout_ms + 2000);
  if (!ev) {
    rc = oc_err_set_retriable(err, OC_ERR_KAFKA, "describe group '%s': timed out", group);
    goto out;
  }
  if (rd_kafka_event_error(ev)) {
    rc = oc_kafka_err(err, rd_kafka_event_error(ev), "describe group");
    goto out;
  }
  const rd_kafka_DescribeConsumerGroups_result_t *res =
      rd_kafka_event_DescribeConsumerGroups_result(ev);
  size_t n = 0;
  const rd_kafka_ConsumerGroupDescription_t **gd =
      res ? rd_kafka_DescribeConsumerGroups_result_groups(res, &n) : NULL;
  if (n != 1) {
    rc = oc_err_set(err, OC_ERR_KAFKA, "describe group '%s': %zu results", group, n);
    goto out;
  }
  const rd_kafka_error_t *ge = rd_kafka_ConsumerGroupDescription_error(gd[0]);
  if (ge && rd_kafka_error_code(ge) != RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) {
    rc = oc_kafka_error(err, ge, "describe group");
    goto out;
  }
  if (ge)
    goto out; /* an unknown group has no members */
  *members = rd_kafka_ConsumerGroupDescription_member_count(gd[0]);
  if (desc && cap) {
    size_t len = 0;
    int k = snprintf(
        desc, cap, "state=%s members=",
        rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(gd[0])));
    len = k > 0 && (size_t)k < cap ? (size_t)k : cap - 1;
    for (size_t i = 0; i < *members && len + 1 < cap; i++) {
      const rd_kafka_MemberDescription_t *m = rd_kafka_ConsumerGroupDescription_member(gd[0], i);
      k = snprintf(desc + len, cap - len, "%s%s@%s", i ? "," : "",
                   rd_kafka_MemberDescription_client_id(m), rd_kafka_MemberDescription_host(m));
      len = k > 0 && (size_t)k < cap - len ? len + (size_t)k : cap - 1;
    }
  }
out:
  if (ev)
    rd_kafka_event_destroy(ev);
  if (ao)
    rd_kafka_AdminOptions_destroy(ao);
  if (q)
    rd_kafka_queue_destroy(q);
  return rc;
}

/* Refuse (OC_ERR_CONFLICT) when group has live members, unless force. */
static int check_group(oc_replay_t *r, const char *group, bool force, oc_err_t *err) {
  char desc[1024];
  size_t members = 0;
  int rc = oc_replay_group_members(r, group, &members, desc, sizeof(desc), err);
  if (rc != 0)
    return rc;
  if (members == 0)
    return 0;
  if (!force)
    return oc_err_set(err, OC_ERR_CONFLICT,
                      "group '%s' has %zu live member(s) (%s): stop them first, or use --force",
                      group, members, desc);
  oc_log_warn("group_live_members group=%s count=%zu %s forced=true", group, members, desc);
  oc_replay_printf(r, "warning: group '%s' has %zu live member(s) (%s); going on (--force)", group,
                   members, desc);
  return 0;
}

/* ---- rewind ------------------------------------------------------------ */

typedef struct rw_part_s {
  int32_t partition;
  int64_t target;
  int64_t stored; /* -1: no row */
  int64_t first;
} rw_part_t;

static int rewind_targets(oc_replay_t *r, const oc_rewind_opts_t *o, rw_part_t *p, size_t n,
                          oc_err_t *err) {
  int32_t *parts = malloc(n * sizeof(*parts));
  int64_t *times = malloc(n * sizeof(*times));
  int rc = 0;

  if (!parts || !times) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < n; i++)
    parts[i] = p[i].partition;
  if (o->to == OC_REWIND_TIME &&
      (rc = oc_replay_offsets_for_time(r, o->topic, parts, n, o->time_ms, times, err)) != 0)
    goto out;
  for (size_t i = 0; i < n; i++) {
    int64_t lo, hi;
    if ((rc = oc_replay_watermarks(r, o->topic, p[i].partition, &lo, &hi, err)) != 0)
      goto out;
    switch (o->to) {
    case OC_REWIND_BEGINNING: p[i].target = lo; break;
    case OC_REWIND_TIME: p[i].target = times[i] >= 0 ? times[i] : hi; break;
    case OC_REWIND_OFFSETS:
      p[i].target = o->offsets[i].offset;
      if (p[i].target < lo || p[i].target > hi) {
        rc = oc_err_set(err, OC_ERR_USAGE,
                        "offset %" PRId64 " of %s [%" PRId32 "] is outside [%" PRId64 ", %" PRId64
                        "], the partition's low and high-water marks",
                        p[i].target, o->topic, p[i].partition, lo, hi);
        goto out;
      }
      break;
    }
  }
out:
  free(parts);
  free(times);
  return rc;
}

int oc_replay_rewind(oc_replay_t *r, const oc_rewind_opts_t *o, oc_err_t *err) {
  PGconn *pg = NULL;
  PGresult *res = NULL;
  int32_t *sel = NULL;
  int64_t *sel64 = NULL;
  rw_part_t *p = NULL;
  size_t n = 0;
  char arr[4096];
  int rc;

  if (o->to == OC_REWIND_OFFSETS && o->n_partitions)
    return oc_err_set(err, OC_ERR_USAGE, "--partitions does not go with --to-offset");
  if ((rc = oc_replay_check_schema(r, OC_REPLAY_SCHEMA_VERSION, err)) != 0 ||
      (rc = oc_replay_pg(r, &pg, err)) != 0)
    goto out;
  if (o->to == OC_REWIND_OFFSETS) {
    int32_t *req = malloc((o->n_offsets ? o->n_offsets : 1) * sizeof(*req));
    if (!req) {
      rc = oc_err_set(err, OC_ERR_NOMEM, "out of memory");
      goto out;
    }
    for (size_t i = 0; i < o->n_offsets; i++)
      req[i] = o->offsets[i].partition;
    rc = oc_replay_select_partitions(r, o->topic, req, o->n_offsets, &sel, &n, err);
    free(req);
  } else {
    rc = oc_replay_select_partitions(r, o->topic, o->partitions, o->n_partitions, &sel, &n, err);
  }
  if (rc != 0)
    goto out;
  if ((rc = check_group(r, o->group, o->force, err)) != 0)
    goto out;
  p = calloc(n ? n : 1, sizeof(*p));
  sel64 = calloc(n ? n : 1, sizeof(*sel64));
  if (!p || !sel64) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    p[i].partition = sel[i];
    p[i].stored = -1;
    sel64[i] = sel[i];
  }
  if ((rc = rewind_targets(r, o, p, n, err)) != 0)
    goto out;
  if (!oc_replay_int_array(arr, sizeof(arr), sel64, n)) {
    rc = oc_err_set(err, OC_ERR_LIMIT, "too many partitions");
    goto out;
  }

  if ((rc = oc_pg_exec_what(pg, "BEGIN", "begin", err)) != 0)
    goto out;
  const char *lv[3] = {o->group, o->topic, arr};
  if ((rc = oc_pg_exec_params_what(pg, OC_REPLAY_SQL(offsets_rewind_lock), 3, lv, &res, err)) != 0)
    goto out;
  for (int row = 0; row < PQntuples(res); row++) {
    int32_t part = (int32_t)strtol(PQgetvalue(res, row, 0), NULL, 10);
    for (size_t i = 0; i < n; i++)
      if (p[i].partition == part) {
        p[i].stored = strtoll(PQgetvalue(res, row, 1), NULL, 10);
        p[i].first = strtoll(PQgetvalue(res, row, 2), NULL, 10);
      }
  }
  PQclear(res);
  res = NULL;

  int64_t moved = 0, total = 0;
  for (size_t i = 0; i < n; i++) {
    const rw_part_t *q = &p[i];
    char s_part[16], s_target[24], s_stored[24];
    snprintf(s_part, sizeof(s_part), "%" PRId32, q->partition);
    snprintf(s_target, sizeof(s_target), "%" PRId64, q->target);
    snprintf(s_stored, sizeof(s_stored), "%" PRId64, q->stored);
    const char *v[5] = {o->group, o->topic, s_part, s_target, s_stored};
    const char *verb = o->dry_run ? "would move" : "moved";
    if (q->stored == q->target) {
      oc_replay_printf(r, "%s [%" PRId32 "] next_offset %" PRId64 " unchanged", o->topic,
                       q->partition, q->stored);
      continue;
    }
    if (q->stored < 0) {
      oc_replay_printf(r, "%s [%" PRId32 "] %s: no stored offset -> %" PRId64 " (new row)",
                       o->topic, q->partition, verb, q->target);
      if (!o->dry_run && (rc = oc_pg_exec_params_what(pg, OC_REPLAY_SQL(offsets_rewind_insert), 4,
                                                      v, NULL, err)) != 0)
        goto out;
    } else {
      int64_t d = q->stored - q->target;
      oc_replay_printf(
          r, "%s [%" PRId32 "] %s: next_offset %" PRId64 " -> %" PRId64 " (%s %" PRId64 " records)",
          o->topic, q->partition, verb, q->stored, q->target, d > 0 ? "rewound" : "skipped",
          d > 0 ? d : -d);
      total += d;
      if (!o->dry_run) {
        if ((rc = oc_pg_exec_params_what(pg, OC_REPLAY_SQL(offsets_rewind_update), 5, v, &res,
                                         err)) != 0)
          goto out;
        if (strcmp(PQcmdTuples(res), "1") != 0) {
          rc = oc_err_set(err, OC_ERR_CONFLICT,
                          "%s [%" PRId32 "]: the stored offset moved meanwhile", o->topic,
                          q->partition);
          goto out;
        }
        PQclear(res);
        res = NULL;
      }
    }
    moved++;
  }
  if ((rc = oc_pg_exec_what(pg, o->dry_run ? "ROLLBACK" : "COMMIT",
                            o->dry_run ? "rollback" : "commit", err)) != 0)
    goto out;
  oc_replay_printf(r,
                   "group %s topic %s: %" PRId64 " of %zu partitions %s, net %" PRId64
                   " records to consume again%s",
                   o->group, o->topic, moved, n, o->dry_run ? "would move" : "moved", total,
                   o->dry_run ? " (dry run: nothing changed)" : "");
  if (!o->dry_run && moved)
    oc_log_info("rewound group=%s topic=%s partitions=%" PRId64 " records=%" PRId64, o->group,
                o->topic, moved, total);
out:
  PQclear(res);
  if (rc != 0 && pg)
    oc_pg_rollback(pg);
  free(sel);
  free(sel64);
  free(p);
  return rc;
}
