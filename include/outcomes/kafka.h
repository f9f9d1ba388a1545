/*
 * kafka.h - librdkafka helpers shared by the producer, the consumer daemon
 * and the tools: configuration with a deny-list, log routing, topic admin,
 * and the one idempotent producer (oc_kprod_t).
 */
#ifndef OUTCOMES_KAFKA_H
#define OUTCOMES_KAFKA_H

#include <stdbool.h>
#include <signal.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "outcomes/config.h"
#include "outcomes/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A new librdkafka configuration with librdkafka's logs routed through
 * oc_log() and `bootstrap.servers` set to brokers (may be NULL to leave it
 * unset). Caller frees with rd_kafka_conf_destroy() unless it hands the
 * configuration to rd_kafka_new(), which takes ownership on success. */
rd_kafka_conf_t *oc_kafka_conf_new(const char *brokers, oc_err_t *err);

/* Set one librdkafka property. Refuses, with OC_ERR_CONFIG naming the key,
 * the properties that would let a configuration file load code or run
 * commands (plugin.library.paths, ssl.engine.location,
 * sasl.kerberos.kinit.cmd, ...) and those the caller has reserved for its
 * own correctness (pass them in `reserved`, NULL-terminated, may be NULL):
 * e.g. the consumer reserves enable.auto.commit. Values are never logged:
 * they may hold secrets. */
int oc_kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value,
                      const char *const *reserved, oc_err_t *err);

/* Set every kafka.* key of cfg (the prefix removed) with
 * oc_kafka_conf_set(), in the order given; the first refusal stops. */
int oc_kafka_conf_apply(rd_kafka_conf_t *conf, const oc_config_t *cfg, const char *const *reserved,
                        oc_err_t *err);

/* True when key is on the deny-list above. */
int oc_kafka_key_denied(const char *key);

/* True when name is a librdkafka property, global or topic-level, or one
 * on the deny-list (so that a bare `-X name=...` reaches
 * oc_kafka_conf_set() and is refused by name). Tried on a scratch
 * configuration with an empty value: no value of the caller's is used. */
bool oc_kafka_property_exists(const char *name);

/* Create a topic with the given partitions and replication factor through
 * the Admin API of an existing client handle. An existing topic is not an
 * error (*created_out, if not NULL, tells which). */
int oc_kafka_create_topic(rd_kafka_t *rk, const char *topic, int partitions, int replication_factor,
                          int timeout_ms, int *created_out, oc_err_t *err);

/* Number of partitions of topic, from a metadata request. OC_ERR_NOT_FOUND
 * when the topic does not exist. */
int oc_kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms, int *count_out,
                             oc_err_t *err);

/* Fill err from a librdkafka error code: retriable unless the code is one
 * that no retry can fix. Returns OC_ERR_KAFKA. */
int oc_kafka_err(oc_err_t *err, rd_kafka_resp_err_t code, const char *what);

/* Same for an rd_kafka_error_t (its fatal and retriable flags are kept).
 * Does not destroy error. */
int oc_kafka_error(oc_err_t *err, const rd_kafka_error_t *error, const char *what);

/* ---- the idempotent producer ------------------------------------------ */

/* A producer with enable.idempotence=true and acks=all (whatever conf
 * says), used by outcomes-produce and outcomes-replay:
 *   - every delivery report reaches the caller's on_delivery;
 *   - librdkafka's errors are logged (`kafka_error code= reason=`, warning),
 *     and a fatal one (`kafka_fatal_error code= reason=`, error) is kept:
 *     nothing can be sent after it;
 *   - a send that waits for room in a full queue gives up on a stop
 *     request, a fatal error, or a delivery that failed meanwhile.
 * Delivery reports are served on the caller's thread, by oc_kprod_send,
 * oc_kprod_poll and oc_kprod_flush. Not thread-safe. */
typedef struct oc_kprod_s oc_kprod_t;

/* One delivery report: m->_private is the message's opaque
 * (oc_kprod_msg_t.opaque); m->err and rd_kafka_message_status(m) its fate.
 * opaque is oc_kprod_opts_t.opaque. */
typedef void (*oc_kprod_dr_fn)(void *opaque, const rd_kafka_message_t *m);

typedef struct oc_kprod_opts_s {
  oc_kprod_dr_fn on_delivery; /* may be NULL */
  void *opaque;               /* for on_delivery */
  /* Borrowed, may be NULL: non-zero ends a wait for room in the queue. */
  const volatile sig_atomic_t *stop;
  /* Serve the delivery reports due after every poll_every messages handed
   * over (0 and 1: after each one). */
  unsigned poll_every;
} oc_kprod_opts_t;

/* A producer from conf, which it takes over in every case (on failure it
 * is freed). Errors: OC_ERR_CONFIG (librdkafka refused the configuration),
 * OC_ERR_NOMEM. Caller frees *out with oc_kprod_destroy(). */
int oc_kprod_new(rd_kafka_conf_t *conf, const oc_kprod_opts_t *opts, oc_kprod_t **out,
                 oc_err_t *err);

/* One message. Key and value are copied. */
typedef struct oc_kprod_msg_s {
  rd_kafka_topic_t *rkt; /* the topic by handle (borrowed), or */
  const char *topic;     /* by name, when rkt is NULL */
  const void *key;       /* may be NULL */
  size_t key_len;
  const void *value; /* NULL: a tombstone */
  size_t value_len;
  rd_kafka_headers_t *headers; /* may be NULL; taken over in every case */
  int64_t timestamp_ms;        /* 0: now */
  void *opaque;                /* the delivery report's m->_private */
} oc_kprod_msg_t;

/* oc_kprod_send: the message was not handed over (see there). */
#define OC_KPROD_GAVE_UP 1

/* Hand one message to librdkafka, waiting while its queue is full. Returns
 * 0 (its delivery report will come); OC_KPROD_GAVE_UP when the wait for
 * room ended on a stop request, a fatal error or a failed delivery, and
 * the message was not handed over (no report will come); or OC_ERR_KAFKA
 * (err->fatal after a fatal error: "kafka fatal error: CODE: reason"). */
int oc_kprod_send(oc_kprod_t *p, const oc_kprod_msg_t *m, oc_err_t *err);

/* Serve the delivery reports due, waiting up to timeout_ms for one. */
void oc_kprod_poll(oc_kprod_t *p, int timeout_ms);

/* Wait up to timeout_ms for every message handed over to be delivered or
 * failed; then purge what is left, which fails through its delivery report
 * (RD_KAFKA_RESP_ERR__PURGE_QUEUE or __PURGE_INFLIGHT). Returns how many
 * messages are still queued afterwards: 0 unless the purged ones were not
 * reported within a further second. */
int oc_kprod_flush(oc_kprod_t *p, int64_t timeout_ms);

/* Drop every message queued or in flight now; each fails through its
 * delivery report at the next poll. */
void oc_kprod_purge(oc_kprod_t *p);

/* A fatal error was reported: every send fails from now on. */
bool oc_kprod_fatal(const oc_kprod_t *p);

/* The librdkafka handle (borrowed): for topic handles, queue lengths and
 * tests. Delivery reports must still be served through oc_kprod_*. */
rd_kafka_t *oc_kprod_handle(oc_kprod_t *p);

/* Flush for up to a second (what a failed run may have left; a warning
 * names what is still queued), then free. NULL is accepted. */
void oc_kprod_destroy(oc_kprod_t *p);

#ifdef __cplusplus
}
#endif
#endif
