/*
 * obs_codec.h - the Observation record (record.h) as Avro messages
 * (schemas/avro/observation.v*.avsc, docs/design.md §3), framed as
 * single-object messages or the Confluent way (schema_registry.h).
 *
 * The codec holds a registry of every observation schema version: it decodes
 * a message of any known version, projected onto the newest, and encodes
 * with the newest. Avro values are reused across calls: no schema work per
 * record. The encoder writes the Avro binary encoding itself, field by field
 * in the writer schema's order (avro-c encodes the defaults of fields unknown
 * to this build once, when the codec is made): the same bytes as avro-c.
 * Not thread-safe: one codec per thread.
 */
#ifndef OUTCOMES_OBS_CODEC_H
#define OUTCOMES_OBS_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "outcomes/err.h"
#include "outcomes/record.h"
#include "outcomes/schema_registry.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct oc_obs_codec_s oc_obs_codec_t;

/* Loads every observation.v*.avsc in schema_dir (NULL = the installed dir
 * OC_DATADIR "/avro"; tests pass OC_SOURCE_DIR "/schemas/avro"); the reader
 * and the default writer are the highest version. Caller frees *out with
 * oc_obs_codec_destroy(). Errors: OC_ERR_IO (directory or file unreadable),
 * OC_ERR_SCHEMA (no schema found, a schema invalid, an older version the
 * newest cannot read, a field of the record missing or of the wrong type),
 * OC_ERR_NOMEM. */
int oc_obs_codec_new(const char *schema_dir, oc_obs_codec_t **out, oc_err_t *err);

/* Encode as single-object bytes into buf (caller's, cap bytes); *len_out gets
 * the length. obs is only read. Errors: OC_ERR_LIMIT if cap is too small,
 * OC_ERR_BAD_FIELD (a string not NUL-terminated in its buffer, a metric
 * longer than OC_METRIC_CODE_MAX, a grain out of range, period_start outside
 * OC_DATE_MIN..OC_DATE_MAX; the message names the field). */
int oc_obs_encode(oc_obs_codec_t *c, const oc_observation_t *obs, void *buf, size_t cap,
                  size_t *len_out, oc_err_t *err);

/* Decode either framing of any known writer version (a Confluent id
 * through the resolver) into *out (fields copied into the fixed
 * buffers of oc_observation_t; an id longer than OC_ID_MAX, or a metric
 * longer than OC_METRIC_CODE_MAX, or an embedded NUL, is OC_ERR_BAD_FIELD
 * naming the field; so is an empty non-null facility_id, a grain symbol this
 * build does not know, and period_start outside OC_DATE_MIN..OC_DATE_MAX).
 * Does not validate against the catalog (oc_observation_validate does).
 * Other errors: OC_ERR_DECODE, OC_ERR_UNKNOWN_SCHEMA (see avro.h). */
int oc_obs_decode(oc_obs_codec_t *c, const void *buf, size_t len, oc_observation_t *out,
                  oc_err_t *err);

/* Fingerprint of the schema oc_obs_encode writes with. */
uint64_t oc_obs_codec_writer_fingerprint(const oc_obs_codec_t *c);

/* The JSON text of that schema, docs and defaults included: what a
 * registry is given. Caller frees it; NULL when out of memory. */
char *oc_obs_codec_writer_json(const oc_obs_codec_t *c);

/* The JSON text of the known writer schema of fingerprint fp (a version of
 * the schema directory, or one a registry gave); caller frees it. NULL when
 * unknown (or out of memory). */
char *oc_obs_codec_schema_json(const oc_obs_codec_t *c, uint64_t fp);

/* From now on oc_obs_encode writes the Confluent framing with id (the
 * registry's id of the writer schema) instead of single-object. */
void oc_obs_codec_frame_confluent(oc_obs_codec_t *c, uint32_t id);

/* Maps a Confluent schema id to the fingerprint of a writer schema the
 * codec knows (oc_obs_codec_add_writer). Errors: the data errors for an id
 * that will not decode (OC_ERR_UNKNOWN_SCHEMA, OC_ERR_SCHEMA: the record
 * goes to the dead letters), anything else for a failure of the system
 * (the record waits). */
typedef int (*oc_obs_resolve_fn)(void *arg, uint32_t id, uint64_t *fp, oc_err_t *err);

/* Without a resolver, a Confluent-framed message is OC_ERR_UNKNOWN_SCHEMA. */
void oc_obs_codec_set_resolver(oc_obs_codec_t *c, oc_obs_resolve_fn fn, void *arg);

/* Add the writer schema in json[0..len), projected onto the newest version,
 * and give its fingerprint; a known schema is a no-op. Errors:
 * OC_ERR_SCHEMA (invalid, or not readable as an Observation: the message
 * says why), OC_ERR_LIMIT (more than 1024 writer schemas), OC_ERR_NOMEM. */
int oc_obs_codec_add_writer(oc_obs_codec_t *c, const char *json, size_t len, uint64_t *fp,
                            oc_err_t *err);

/* A message's framing, read without decoding the body. */
typedef struct oc_obs_frame_s {
  oc_value_format_t format;
  uint32_t schema_id;   /* confluent */
  uint64_t fingerprint; /* single-object */
  size_t header_len;    /* where the body starts */
} oc_obs_frame_t;

/* Errors: OC_ERR_DECODE (too short, a first byte that is neither framing's:
 * the message names the bytes). */
int oc_obs_frame_read(const void *buf, size_t len, oc_obs_frame_t *f, oc_err_t *err);

/* Write the OC_CONFLUENT_HEADER_LEN-byte Confluent header of schema id into
 * out; returns its length. */
size_t oc_obs_confluent_header(unsigned char *out, uint32_t id);

/* NULL is accepted. */
void oc_obs_codec_destroy(oc_obs_codec_t *c);

#ifdef __cplusplus
}
#endif
#endif
