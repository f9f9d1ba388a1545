/*
 * kafka.h - librdkafka helpers shared by the producer, the consumer daemon
 * and the tools: configuration with a deny-list, log routing, topic admin.
 */
#ifndef OUTCOMES_KAFKA_H
#define OUTCOMES_KAFKA_H

#include <stdbool.h>

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
int oc_kafka_conf_apply(rd_kafka_conf_t *conf, const oc_config_t *cfg,
                        const char *const *reserved, oc_err_t *err);

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
int oc_kafka_create_topic(rd_kafka_t *rk, const char *topic, int partitions,
                          int replication_factor, int timeout_ms, int *created_out,
                          oc_err_t *err);

/* Number of partitions of topic, from a metadata request. OC_ERR_NOT_FOUND
 * when the topic does not exist. */
int oc_kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms,
                             int *count_out, oc_err_t *err);

/* Fill err from a librdkafka error code: retriable unless the code is one
 * that no retry can fix. Returns OC_ERR_KAFKA. */
int oc_kafka_err(oc_err_t *err, rd_kafka_resp_err_t code, const char *what);

/* Same for an rd_kafka_error_t (its fatal and retriable flags are kept).
 * Does not destroy error. */
int oc_kafka_error(oc_err_t *err, const rd_kafka_error_t *error, const char *what);

#ifdef __cplusplus
}
#endif
#endif
