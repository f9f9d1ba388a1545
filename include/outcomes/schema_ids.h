/*
 * schema_ids.h - the schema ids of a registry, as the observation codec
 * meets them: a bounded cache from Confluent schema id to writer schema,
 * filled on first sight, and the set-up every program does from its
 * configuration (schema_registry.h).
 *
 * An id is fetched from the registry once; its schema is added to the
 * codec, projected onto the newest Observation version. What the registry
 * says about an id is kept:
 *   - an id it does not know, or whose schema cannot be read as an
 *     Observation, is a data error (the record is dead-lettered with the id
 *     and the reason) and is not asked again for schema.registry.failed.ttl;
 *   - a registry that cannot be reached, or answers with an error of its
 *     own, is a failure of the system: the error is retriable, the record
 *     waits, nothing is remembered.
 * The cache holds OC_SCHEMA_IDS_MAX ids; when full it is emptied (a
 * known id costs one request to learn again).
 */
#ifndef OUTCOMES_SCHEMA_IDS_H
#define OUTCOMES_SCHEMA_IDS_H

#include <stdint.h>

#include "outcomes/config.h"
#include "outcomes/err.h"
#include "outcomes/obs_codec.h"
#include "outcomes/schema_registry.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OC_SCHEMA_IDS_MAX 1024

typedef struct oc_schema_ids_s oc_schema_ids_t;

/* What a program does with the registry. */
typedef struct oc_schema_ids_stats_s {
  uint64_t fetched; /* ids learnt from the registry */
  uint64_t failed;  /* ids found unusable (remembered) */
  uint64_t errors;  /* requests that failed (the registry unavailable) */
} oc_schema_ids_stats_t;

/* Set codec up from cfg (the OC_SR_CONF keys): with schema.registry.url,
 * Confluent-framed values are read through the registry; when topic is
 * not NULL and value.format is confluent, the newest Observation schema is
 * registered under "<topic>-value" (TopicNameStrategy) and oc_obs_encode
 * writes Confluent framing with its id. *out (NULL without a registry)
 * owns the client; free it with oc_schema_ids_destroy before the codec.
 * Errors: OC_ERR_CONFIG (also: the registry refused the schema; its reason
 * in the message), OC_ERR_IO (the registry unavailable), OC_ERR_NOMEM. */
int oc_schema_ids_setup(const oc_config_t *cfg, oc_obs_codec_t *codec, const char *topic,
                        oc_schema_ids_t **out, oc_err_t *err);

/* As setup without a topic, with a client made by the caller (taken over,
 * also on failure): for tests. */
int oc_schema_ids_new(oc_sr_t *sr, oc_obs_codec_t *codec, int64_t failed_ttl_ms,
                      oc_schema_ids_t **out, oc_err_t *err);

/* The oc_obs_resolve_fn that setup installs (arg: the oc_schema_ids_t). */
int oc_schema_ids_resolve(void *arg, uint32_t id, uint64_t *fp, oc_err_t *err);

/* Rewrite the framing of the value in[0..len) to `to` into buf[0..cap):
 * the body is kept, the header replaced (a value already so framed is
 * copied). To Confluent: the writer schema (known by fingerprint: a version
 * of the schema directory, or one a registry gave) is registered under
 * subject on first use. To single-object: the id is resolved as
 * oc_schema_ids_resolve does. Errors for a value that stays as it is: the
 * data errors (no framing, a fingerprint or an id of no known schema),
 * OC_ERR_LIMIT (cap). Others stop the caller: OC_ERR_CONFIG (the registry
 * refused the schema, its reason in the message), the registry's
 * OC_ERR_IO. */
int oc_schema_ids_reframe(oc_schema_ids_t *ids, oc_value_format_t to, const char *subject,
                          const void *in, size_t len, void *buf, size_t cap, size_t *out_len,
                          oc_err_t *err);

/* The id values are written with (0 when single-object). */
uint32_t oc_schema_ids_writer_id(const oc_schema_ids_t *ids);

void oc_schema_ids_stats(const oc_schema_ids_t *ids, oc_schema_ids_stats_t *out);

/* NULL is accepted. */
void oc_schema_ids_destroy(oc_schema_ids_t *ids);

#ifdef __cplusplus
}
#endif
#endif
