/* kafka.c - librdkafka helpers and the idempotent producer; see
 * include/outcomes/kafka.h. */
#include "outcomes/kafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes/clock.h"
#include "outcomes/log.h"
#include "outcomes/notify.h"
#include "outcomes/tls_policy.h"

/* Properties that load code, run commands or read arbitrary files as
 * executable content. A configuration file must never be able to do that. */
static const char *const denied_keys[] = {
    "plugin.library.paths",
    "ssl.engine.location",
    "ssl.providers", /* OpenSSL 3 providers are shared objects */
    "sasl.kerberos.kinit.cmd",
    "sasl.oauthbearer.token.endpoint.url",
    "interceptors",
    NULL,
};

int oc_kafka_key_denied(const char *key) {
  for (size_t i = 0; denied_keys[i]; i++)
    if (strcmp(key, denied_keys[i]) == 0)
      return 1;
  return 0;
}

bool oc_kafka_property_exists(const char *name) {
  char errstr[256];
  rd_kafka_conf_t *conf;
  rd_kafka_conf_res_t res;

  if (oc_kafka_key_denied(name))
    return true;
  if (!(conf = rd_kafka_conf_new()))
    return false;
  res = rd_kafka_conf_set(conf, name, "", errstr, sizeof(errstr));
  rd_kafka_conf_destroy(conf);
  return res != RD_KAFKA_CONF_UNKNOWN;
}

static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  (void)rk;
  /* librdkafka uses syslog levels too. */
  oc_log(level, "kafka_log facility=%s msg=\"%s\"", fac, buf);
}

rd_kafka_conf_t *oc_kafka_conf_new(const char *brokers, oc_err_t *err) {
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();

  if (!conf) {
    oc_err_set(err, OC_ERR_NOMEM, "rd_kafka_conf_new failed");
    return NULL;
  }
  rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
  /* TCP keepalives on the broker connections (a default the configuration
   * may change): a vanished broker is noticed by the kernel too. */
  if (rd_kafka_conf_set(conf, "socket.keepalive.enable", "true", errstr, sizeof(errstr)) !=
      RD_KAFKA_CONF_OK) {
    oc_err_set(err, OC_ERR_CONFIG, "kafka: socket.keepalive.enable: %s", errstr);
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  if (brokers && rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr)) !=
                     RD_KAFKA_CONF_OK) {
    oc_err_set(err, OC_ERR_CONFIG, "kafka: bootstrap.servers: %s", errstr);
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  return conf;
}

int oc_kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value,
                      const char *const *reserved, oc_err_t *err) {
  char errstr[512];

  if (oc_kafka_key_denied(key))
    return oc_err_set(err, OC_ERR_CONFIG,
                      "kafka property '%s' is not allowed: it can load code or run commands", key);
  for (size_t i = 0; reserved && reserved[i]; i++)
    if (strcmp(key, reserved[i]) == 0)
      return oc_err_set(err, OC_ERR_CONFIG,
                        "kafka property '%s' is managed by outcomes and cannot be set", key);
  if (rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
    return oc_err_set(err, OC_ERR_CONFIG, "kafka property '%s': %s", key, errstr);
  return 0;
}

int oc_kafka_conf_apply(rd_kafka_conf_t *conf, const oc_config_t *cfg, const char *const *reserved,
                        oc_err_t *err) {
  size_t n = oc_config_passthrough_count(cfg, "kafka.");
  for (size_t i = 0; i < n; i++) {
    const char *k, *v;
    int rc;
    oc_config_passthrough_at(cfg, "kafka.", i, &k, &v);
    if ((rc = oc_kafka_conf_set(conf, k, v, reserved, err)) != 0)
      return rc;
  }
  return oc_kafka_tls_check(conf, oc_config_get_bool(cfg, "kafka.insecure"), err);
}

int oc_kafka_err(oc_err_t *err, rd_kafka_resp_err_t code, const char *what) {
  int fatal_code = code == RD_KAFKA_RESP_ERR__FATAL || code == RD_KAFKA_RESP_ERR__INVALID_ARG ||
                   code == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
                   code == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED ||
                   code == RD_KAFKA_RESP_ERR__AUTHENTICATION ||
                   code == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED;
  if (fatal_code)
    oc_err_set(err, OC_ERR_KAFKA, "%s: %s (%s)", what, rd_kafka_err2str(code),
               rd_kafka_err2name(code));
  else
    oc_err_set_retriable(err, OC_ERR_KAFKA, "%s: %s (%s)", what, rd_kafka_err2str(code),
                         rd_kafka_err2name(code));
  return OC_ERR_KAFKA;
}

int oc_kafka_error(oc_err_t *err, const rd_kafka_error_t *error, const char *what) {
  if (rd_kafka_error_is_retriable(error))
    oc_err_set_retriable(err, OC_ERR_KAFKA, "%s: %s", what, rd_kafka_error_string(error));
  else
    oc_err_set(err, OC_ERR_KAFKA, "%s: %s", what, rd_kafka_error_string(error));
  if (err)
    err->fatal = rd_kafka_error_is_fatal(error);
  return OC_ERR_KAFKA;
}

int oc_kafka_create_topic(rd_kafka_t *rk, const char *topic, int partitions, int replication_factor,
                          int timeout_ms, int *created_out, oc_err_t *err) {
  char errstr[512];
  rd_kafka_NewTopic_t *nt = NULL;
  rd_kafka_AdminOptions_t *opts = NULL;
  rd_kafka_queue_t *q = NULL;
  rd_kafka_event_t *ev = NULL;
  int rc = 0;

  if (created_out)
    *created_out = 0;
  nt = rd_kafka_NewTopic_new(topic, partitions, replication_factor, errstr, sizeof(errstr));
  if (!nt)
    return oc_err_set(err, OC_ERR_USAGE, "topic '%s': %s", topic, errstr);
  opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  if (rd_kafka_AdminOptions_set_operation_timeout(opts, timeout_ms, errstr, sizeof(errstr)) !=
          RD_KAFKA_RESP_ERR_NO_ERROR ||
      rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, errstr, sizeof(errstr)) !=
          RD_KAFKA_RESP_ERR_NO_ERROR) {
    rc = oc_err_set(err, OC_ERR_USAGE, "create topic '%s': %s", topic, errstr);
    goto out;
  }
  q = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
  ev = rd_kafka_queue_poll(q, timeout_ms + 1000);
  if (!ev) {
    rc = oc_err_set_retriable(err, OC_ERR_KAFKA, "create topic '%s': timed out after %d ms", topic,
                              timeout_ms);
    goto out;
  }
  if (rd_kafka_event_error(ev)) {
    rc = oc_kafka_err(err, rd_kafka_event_error(ev), "create topic");
    oc_err_prefix(err, "topic '%s': ", topic);
    goto out;
  }
  {
    const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
    size_t n = 0;
    const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &n);
    for (size_t i = 0; i < n; i++) {
      rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[i]);
      if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        continue;
      if (e) {
        rc = oc_err_set(err, OC_ERR_KAFKA, "create topic '%s': %s", topic,
                        rd_kafka_topic_result_error_string(tr[i])
                            ? rd_kafka_topic_result_error_string(tr[i])
                            : rd_kafka_err2str(e));
        goto out;
      }
      if (created_out)
        *created_out = 1;
    }
  }
out:
  if (ev)
    rd_kafka_event_destroy(ev);
  if (q)
    rd_kafka_queue_destroy(q);
  if (opts)
    rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_NewTopic_destroy(nt);
  return rc;
}

int oc_kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms, int *count_out,
                             oc_err_t *err) {
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
  rd_kafka_resp_err_t e;
  int rc = 0;

  if (!rkt)
    return oc_kafka_err(err, rd_kafka_last_error(), "topic handle");
  e = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
  if (e) {
    rc = oc_kafka_err(err, e, "metadata");
    goto out;
  }
  if (md->topic_cnt != 1 || md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
    rc = oc_err_set(err, OC_ERR_NOT_FOUND, "topic '%s' does not exist", topic);
    goto out;
  }
  if (md->topics[0].err) {
    rc = oc_kafka_err(err, md->topics[0].err, "topic metadata");
    goto out;
  }
  *count_out = md->topics[0].partition_cnt;
out:
  if (md)
    rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  return rc;
}

/* ---- the idempotent producer ------------------------------------------ */

#define KPROD_POLL_MS 100 /* a wait for room looks at the stop flag this often */
#define KPROD_DESTROY_FLUSH_MS 1000

struct oc_kprod_s {
  rd_kafka_t *rk;
  oc_kprod_opts_t o;
  uint64_t sent;   /* handed over */
  uint64_t failed; /* failed delivery reports */
  bool fatal;
  oc_err_t fatal_err; /* when fatal: "kafka fatal error: CODE: reason" */
};

static void kprod_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  oc_kprod_t *p = opaque;

  (void)rk;
  if (m->err)
    p->failed++;
  if (p->o.on_delivery)
    p->o.on_delivery(p->o.opaque, m);
}

static void kprod_error_cb(rd_kafka_t *rk, int code, const char *reason, void *opaque) {
  oc_kprod_t *p = opaque;
  char fatal_reason[512];

  if (code == RD_KAFKA_RESP_ERR__FATAL) {
    rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, fatal_reason, sizeof(fatal_reason));
    p->fatal = true;
    oc_err_set(&p->fatal_err, OC_ERR_KAFKA, "kafka fatal error: %s: %s", rd_kafka_err2name(orig),
               fatal_reason);
    p->fatal_err.fatal = true;
    oc_log_err("kafka_fatal_error code=%s reason=\"%s\"", rd_kafka_err2name(orig), fatal_reason);
    return;
  }
  oc_log_warn("kafka_error code=%s reason=\"%s\"", rd_kafka_err2name((rd_kafka_resp_err_t)code),
              reason);
}

int oc_kprod_new(rd_kafka_conf_t *conf, const oc_kprod_opts_t *opts, oc_kprod_t **out,
                 oc_err_t *err) {
  oc_kprod_t *p = NULL;
  char errstr[512];
  int rc = 0;

  *out = NULL;
  if (!conf)
    return oc_err_set(err, OC_ERR_USAGE, "kafka producer: no configuration");
  if (!(p = calloc(1, sizeof(*p)))) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "kafka producer: out of memory");
    goto out;
  }
  p->o = *opts;
  if (rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof(errstr)) ||
      rd_kafka_conf_set(conf, "acks", "all", errstr, sizeof(errstr))) {
    rc = oc_err_set(err, OC_ERR_CONFIG, "kafka producer: %s", errstr);
    goto out;
  }
  rd_kafka_conf_set_dr_msg_cb(conf, kprod_dr_cb);
  rd_kafka_conf_set_error_cb(conf, kprod_error_cb);
  rd_kafka_conf_set_opaque(conf, p);
  if (!(p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)))) {
    rc = oc_err_set(err, OC_ERR_CONFIG, "kafka producer: %s", errstr);
    goto out;
  }
  conf = NULL; /* owned by p->rk */
  *out = p;
  p = NULL;
out:
  if (conf)
    rd_kafka_conf_destroy(conf);
  oc_kprod_destroy(p);
  return rc;
}

static int kprod_fatal_err(const oc_kprod_t *p, oc_err_t *err) {
  if (err)
    *err = p->fatal_err;
  return OC_ERR_KAFKA;
}

int oc_kprod_send(oc_kprod_t *p, const oc_kprod_msg_t *m, oc_err_t *err) {
  rd_kafka_vu_t vu[8];
  size_t n = 0;
  uint64_t failed_before = p->failed;

  if (m->rkt) {
    vu[n].vtype = RD_KAFKA_VTYPE_RKT;
    vu[n++].u.rkt = m->rkt;
  } else {
    vu[n].vtype = RD_KAFKA_VTYPE_TOPIC;
    vu[n++].u.cstr = m->topic;
  }
  vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  vu[n++].u.i = RD_KAFKA_MSG_F_COPY;
  vu[n].vtype = RD_KAFKA_VTYPE_KEY;
  vu[n].u.mem.ptr = (void *)(uintptr_t)m->key;
  vu[n++].u.mem.size = m->key_len;
  vu[n].vtype = RD_KAFKA_VTYPE_VALUE;
  vu[n].u.mem.ptr = (void *)(uintptr_t)m->value;
  vu[n++].u.mem.size = m->value_len;
  if (m->headers) {
    vu[n].vtype = RD_KAFKA_VTYPE_HEADERS;
    vu[n++].u.headers = m->headers;
  }
  if (m->timestamp_ms) {
    vu[n].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
    vu[n++].u.i64 = m->timestamp_ms;
  }
  vu[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
  vu[n++].u.ptr = m->opaque;

  int rc = 0;
  for (;;) {
    if (p->fatal) {
      rc = kprod_fatal_err(p, err);
      break;
    }
    /* The headers are taken over only on success. */
    rd_kafka_error_t *e = rd_kafka_produceva(p->rk, vu, n);
    rd_kafka_resp_err_t code = rd_kafka_error_code(e);
    if (!e) {
      if (p->o.poll_every <= 1 || ++p->sent % p->o.poll_every == 0)
        rd_kafka_poll(p->rk, 0);
      return 0;
    }
    rd_kafka_error_destroy(e);
    if (code != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rc = p->fatal || code == RD_KAFKA_RESP_ERR__FATAL ? kprod_fatal_err(p, err)
                                                        : oc_kafka_err(err, code, "produce");
      break;
    }
    /* Backpressure: serve delivery reports until there is room (progress,
     * bounded by message.timeout.ms: the service is alive). */
    rd_kafka_poll(p->rk, KPROD_POLL_MS);
    oc_notify_watchdog_kick(oc_notify_now_usec());
    if ((p->o.stop && *p->o.stop) || p->fatal || p->failed != failed_before) {
      rc = OC_KPROD_GAVE_UP;
      break;
    }
  }
  if (m->headers)
    rd_kafka_headers_destroy(m->headers);
  return rc;
}

void oc_kprod_poll(oc_kprod_t *p, int timeout_ms) { rd_kafka_poll(p->rk, timeout_ms); }

int oc_kprod_flush(oc_kprod_t *p, int64_t timeout_ms) {
  int64_t until = oc_clock_ms() + timeout_ms;

  while (rd_kafka_outq_len(p->rk) > 0 && oc_clock_ms() < until)
    rd_kafka_flush(p->rk, KPROD_POLL_MS);
  if (rd_kafka_outq_len(p->rk) > 0) {
    /* Out of time: what is left fails through its delivery report. */
    oc_kprod_purge(p);
    rd_kafka_flush(p->rk, KPROD_DESTROY_FLUSH_MS);
  }
  rd_kafka_poll(p->rk, 0);
  return rd_kafka_outq_len(p->rk);
}

void oc_kprod_purge(oc_kprod_t *p) {
  rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
}

bool oc_kprod_fatal(const oc_kprod_t *p) { return p->fatal; }

rd_kafka_t *oc_kprod_handle(oc_kprod_t *p) { return p->rk; }

void oc_kprod_destroy(oc_kprod_t *p) {
  if (!p)
    return;
  if (p->rk) {
    rd_kafka_flush(p->rk, KPROD_DESTROY_FLUSH_MS);
    if (rd_kafka_outq_len(p->rk) > 0)
      oc_log_warn("producer_destroy outq_len=%d", rd_kafka_outq_len(p->rk));
    rd_kafka_destroy(p->rk);
  }
  free(p);
}
