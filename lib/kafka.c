/* kafka.c - librdkafka helpers; see include/outcomes/kafka.h. */
#include "outcomes/kafka.h"

#include <stdio.h>
#include <string.h>

#include "outcomes/log.h"

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

static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac,
                         const char *buf) {
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
  if (brokers &&
      rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr)) !=
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
                      "kafka property '%s' is not allowed: it can load code or run commands",
                      key);
  for (size_t i = 0; reserved && reserved[i]; i++)
    if (strcmp(key, reserved[i]) == 0)
      return oc_err_set(err, OC_ERR_CONFIG,
                        "kafka property '%s' is managed by outcomes and cannot be set", key);
  if (rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
    return oc_err_set(err, OC_ERR_CONFIG, "kafka property '%s': %s", key, errstr);
  return 0;
}

int oc_kafka_conf_apply(rd_kafka_conf_t *conf, const oc_config_t *cfg,
                        const char *const *reserved, oc_err_t *err) {
  size_t n = oc_config_passthrough_count(cfg, "kafka.");
  for (size_t i = 0; i < n; i++) {
    const char *k, *v;
    int rc;
    oc_config_passthrough_at(cfg, "kafka.", i, &k, &v);
    if ((rc = oc_kafka_conf_set(conf, k, v, reserved, err)) != 0)
      return rc;
  }
  return 0;
}

int oc_kafka_err(oc_err_t *err, rd_kafka_resp_err_t code, const char *what) {
  int fatal_code = code == RD_KAFKA_RESP_ERR__FATAL ||
                   code == RD_KAFKA_RESP_ERR__INVALID_ARG ||
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

int oc_kafka_create_topic(rd_kafka_t *rk, const char *topic, int partitions,
                          int replication_factor, int timeout_ms, int *created_out,
                          oc_err_t *err) {
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
  if (rd_kafka_AdminOptions_set_operation_timeout(opts, timeout_ms, errstr,
                                                  sizeof(errstr)) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, errstr, sizeof(errstr)) !=
          RD_KAFKA_RESP_ERR_NO_ERROR) {
    rc = oc_err_set(err, OC_ERR_USAGE, "create topic '%s': %s", topic, errstr);
    goto out;
  }
  q = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
  ev = rd_kafka_queue_poll(q, timeout_ms + 1000);
  if (!ev) {
    rc = oc_err_set_retriable(err, OC_ERR_KAFKA, "create topic '%s': timed out after %d ms",
                              topic, timeout_ms);
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

int oc_kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms,
                             int *count_out, oc_err_t *err) {
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
