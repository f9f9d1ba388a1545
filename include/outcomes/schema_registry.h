/*
 * schema_registry.h - a client of a schema registry's Confluent-compatible
 * REST API (Confluent Schema Registry, Apicurio Registry's /apis/ccompat/v7,
 * Karapace), through libcurl, and the value framings it goes with.
 *
 * Two framings of an Avro value exist on a topic (docs/design.md §3.2):
 *   single-object  C3 01, the writer schema's CRC-64-AVRO fingerprint
 *                  (8 bytes, little-endian), the body; needs no registry;
 *   confluent      00, the registry's schema id (4 bytes, big-endian), the
 *                  body; what Kafka Connect's AvroConverter, ksqlDB, Flink's
 *                  avro-confluent format and the registry-aware Java and
 *                  Python serializers read and write.
 * Consumers read both on one topic; `value.format` (OC_VALUE_FORMAT_CONF)
 * chooses what producers write. The registry's keys (OC_SR_CONF) are
 * shared by every program.
 *
 * The client speaks only http and https, follows no redirect, verifies TLS
 * peers (schema.registry.ssl.ca.location adds a CA bundle), bounds every
 * response to OC_SR_RESPONSE_MAX bytes and every request to
 * schema.registry.timeout. A registry that is not on this host must be
 * reached over https unless schema.registry.insecure=true (as tls_policy.h
 * does for PostgreSQL and Kafka). The basic-auth password is a secret: only
 * from a file, never logged; no message of this module holds it.
 * Not thread-safe: one client per thread.
 */
#ifndef OUTCOMES_SCHEMA_REGISTRY_H
#define OUTCOMES_SCHEMA_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "outcomes/config.h"
#include "outcomes/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The Confluent frame: magic byte 0 and a 4-byte big-endian schema id. */
#define OC_CONFLUENT_MAGIC 0x00
#define OC_CONFLUENT_HEADER_LEN 5
/* Bound on a registry's answer (a schema and its JSON wrapping). */
#define OC_SR_RESPONSE_MAX ((size_t)1 << 20)

typedef enum oc_value_format_e {
  OC_VALUE_SINGLE_OBJECT = 0,
  OC_VALUE_CONFLUENT,
} oc_value_format_t;

/* The key of the programs that write values. */
#define OC_VALUE_FORMAT_CONF \
  { \
    "value.format", OC_CONF_STR, "", 0, 0, 0, "OUTCOMES_VALUE_FORMAT", \
        "framing of the values written: confluent or single-object (default: confluent when " \
        "schema.registry.url is set, else single-object)" \
  }

/* The keys of every program that reads or writes values. */
#define OC_SR_CONF \
  {"schema.registry.url", \
   OC_CONF_STR, \
   "", \
   0, \
   0, \
   0, \
   "OUTCOMES_SCHEMA_REGISTRY_URL", \
   "base URL of the registry's Confluent-compatible API, e.g. " \
   "http://127.0.0.1:8081 or .../apis/ccompat/v7 (empty: no registry)"}, \
      {"schema.registry.basic.auth.user", \
       OC_CONF_STR, \
       "", \
       0, \
       0, \
       0, \
       NULL, \
       "user name for HTTP basic authentication (empty: none)"}, \
      {"schema.registry.basic.auth.password", \
       OC_CONF_STR, \
       NULL, \
       0, \
       0, \
       OC_CONF_SECRET, \
       NULL, \
       "password for basic authentication: set schema.registry.basic.auth.password.file"}, \
      {"schema.registry.ssl.ca.location", \
       OC_CONF_STR, \
       "", \
       0, \
       0, \
       0, \
       NULL, \
       "CA bundle (PEM) that verifies the registry's certificate (empty: the system's)"}, \
      {"schema.registry.timeout", \
       OC_CONF_MS, \
       "10s", \
       100, \
       600000, \
       0, \
       NULL, \
       "bound on each request to the registry"}, \
      {"schema.registry.failed.ttl", \
       OC_CONF_MS, \
       "5min", \
       0, \
       86400000, \
       0, \
       NULL, \
       "how long a schema id the registry did not know, or that cannot be read, is not asked " \
       "again"}, \
  { \
    "schema.registry.insecure", OC_CONF_BOOL, "false", 0, 0, 0, NULL, \
        "allow a registry off this host over plain http" \
  }

/* The framing configured: value.format, or its default. Errors:
 * OC_ERR_CONFIG (an unknown name; confluent without schema.registry.url). */
int oc_value_format_get(const oc_config_t *cfg, oc_value_format_t *out, oc_err_t *err);

typedef struct oc_sr_s oc_sr_t;

/* A client for the schema.registry.* keys of cfg; *out is NULL (and 0 is
 * returned) when schema.registry.url is empty. Nothing is sent yet.
 * Errors: OC_ERR_CONFIG (a URL that is not http(s), has credentials or a
 * query in it, or is plain http to another host without
 * schema.registry.insecure; a CA file that cannot be read), OC_ERR_NOMEM. */
int oc_sr_new(const oc_config_t *cfg, oc_sr_t **out, oc_err_t *err);

/* The base URL (has no secret in it: credentials in it are refused). */
const char *oc_sr_url(const oc_sr_t *sr);

/* Register schema_json (an Avro schema's JSON text) under subject
 * (POST /subjects/<subject>/versions) and give its id; a schema already
 * registered gives its existing id. Errors: OC_ERR_CONFIG (the registry
 * refused the schema: incompatible with the subject's versions (409) or
 * invalid (422), the message giving the registry's reason; 401, 403: the
 * credentials), OC_ERR_IO (unreachable, timed out, another
 * status, an answer that is not what the API gives; retriable where
 * trying again may help), OC_ERR_NOMEM. */
int oc_sr_register(oc_sr_t *sr, const char *subject, const char *schema_json, uint32_t *id,
                   oc_err_t *err);

/* The schema text of id (GET /schemas/ids/<id>); caller frees *json.
 * Errors: OC_ERR_NOT_FOUND (the registry does not know the id; the message
 * gives its answer), and as oc_sr_register for the rest. */
int oc_sr_schema_by_id(oc_sr_t *sr, uint32_t id, char **json, oc_err_t *err);

/* NULL is accepted. */
void oc_sr_destroy(oc_sr_t *sr);

/* ---- The registry's answers (bytes from the network: fuzzed) ---------- */

/* {"id": N}: the id of a registration. Errors: OC_ERR_DECODE. */
int oc_sr_parse_id(const char *body, size_t len, uint32_t *id, oc_err_t *err);

/* {"schema": "...", ...}: the schema text, of an Avro schema (a missing
 * schemaType or "AVRO"). Caller frees *json. Errors: OC_ERR_DECODE,
 * OC_ERR_SCHEMA (another schema type), OC_ERR_NOMEM. */
int oc_sr_parse_schema(const char *body, size_t len, char **json, oc_err_t *err);

/* {"error_code": N, "message": "..."}: the message of an error answer,
 * control characters replaced and cut to cap - 1 bytes, into buf; when the
 * body is not such an object, its start. */
void oc_sr_parse_error(const char *body, size_t len, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
