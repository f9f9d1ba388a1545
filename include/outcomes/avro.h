/*
 * avro.h - Avro schemas, fingerprints and single-object messages.
 *
 * Parsing Canonical Form (PCF) and the CRC-64-AVRO fingerprint follow the
 * Avro specification ("Parsing Canonical Form for Schemas", "Schema
 * Fingerprints"); avro-c 1.11.1 has neither. A single-object message is
 * C3 01, the writer schema's fingerprint as 8 little-endian bytes, then the
 * Avro binary body (docs/design.md §3.2).
 *
 * Decoding is meant for hostile input: the body is checked against the
 * writer schema by a bounded walker before avro-c reads it, and the result is
 * projected by field name onto the reader schema (avro-c 1.11.1's own
 * resolver refuses reader fields with defaults that the writer lacks).
 *
 * Objects here are not thread-safe: use one registry per thread.
 */
#ifndef OUTCOMES_AVRO_H
#define OUTCOMES_AVRO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <avro.h>

#include "outcomes/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The CRC-64-AVRO fingerprint of the empty input, and the seed. */
#define OC_AVRO_CRC64_EMPTY UINT64_C(0xc15d213aa4d7a795)
/* C3 01 + 8 bytes of fingerprint. */
#define OC_AVRO_HEADER_LEN 10
/* Default bound on a whole single-object message. */
#define OC_AVRO_MAX_MESSAGE_DEFAULT ((size_t)1 << 20)
/* Nesting bound for schemas and for data (records, arrays, maps, unions). */
#define OC_AVRO_MAX_DEPTH 64
/* Bound on the items of a message that take no bytes on the wire (arrays or
 * maps of null, of empty records, of fixed(0)): they cost memory, not bytes. */
#define OC_AVRO_MAX_ZERO_WIDTH_ITEMS 4096

/* ---- Parsing Canonical Form and fingerprints -------------------------- */

/* CRC-64-AVRO (Rabin) fingerprint of len bytes; oc_avro_crc64(NULL, 0) is
 * OC_AVRO_CRC64_EMPTY. */
uint64_t oc_avro_crc64(const void *data, size_t len);

/* Parsing Canonical Form of the schema in json[0..len) (any JSON value:
 * "int", [..], {..}). On success *out is a NUL-terminated string the caller
 * frees with free(), *out_len (may be NULL) its length. Errors:
 * OC_ERR_SCHEMA (invalid JSON with line:column, unknown type name, bad name,
 * bad size, missing attribute; the message names the place), OC_ERR_NOMEM. */
int oc_avro_canonical(const char *json, size_t len, char **out, size_t *out_len, oc_err_t *err);

/* ---- Schemas --------------------------------------------------------- */

typedef struct oc_schema_s oc_schema_t;

/* Parse a schema from JSON text: its PCF and fingerprint, the avro-c schema,
 * and field defaults (checked against their types here, once). Caller frees
 * *out with oc_schema_destroy(). Errors: OC_ERR_SCHEMA, OC_ERR_NOMEM. */
int oc_schema_parse(const char *json, size_t len, oc_schema_t **out, oc_err_t *err);

/* As oc_schema_parse, reading the file at path (at most 1 MiB); messages
 * start with the path. Errors: OC_ERR_IO, OC_ERR_LIMIT, OC_ERR_SCHEMA. */
int oc_schema_load_file(const char *path, oc_schema_t **out, oc_err_t *err);

/* The Parsing Canonical Form (borrowed; lives as long as s). */
const char *oc_schema_canonical(const oc_schema_t *s);

/* CRC-64-AVRO of the Parsing Canonical Form. */
uint64_t oc_schema_fingerprint(const oc_schema_t *s);

/* The schema's JSON text as parsed (docs and defaults kept), compact;
 * caller frees it. NULL when out of memory. */
char *oc_schema_json(const oc_schema_t *s);

/* The avro-c schema (borrowed: incref it to keep it longer than s). */
avro_schema_t oc_schema_avro(const oc_schema_t *s);

/* A new empty generic value of the schema into *out. Caller releases it with
 * avro_value_decref(). Errors: OC_ERR_NOMEM. */
int oc_schema_new_value(const oc_schema_t *s, avro_value_t *out, oc_err_t *err);

/* NULL is accepted. */
void oc_schema_destroy(oc_schema_t *s);

/* ---- Single-object encoding without a registry ------------------------ */

/* Read the header of a single-object message: checks the marker and the
 * length, gives the writer fingerprint. Errors: OC_ERR_DECODE. */
int oc_avro_header_read(const void *buf, size_t len, uint64_t *fingerprint, oc_err_t *err);

/* Write the OC_AVRO_HEADER_LEN-byte header (marker and fingerprint) into
 * buf[0..cap). Errors: OC_ERR_LIMIT (cap too small). */
int oc_avro_header_write(void *buf, size_t cap, uint64_t fingerprint, oc_err_t *err);

/* Encode value (a value of writer's schema, e.g. from oc_schema_new_value)
 * as a single-object message into buf[0..cap); *len_out gets the length.
 * Errors: OC_ERR_LIMIT (cap too small), OC_ERR_USAGE (value of another
 * schema), OC_ERR_SCHEMA (avro-c refused the value). */
int oc_avro_encode(const oc_schema_t *writer, avro_value_t *value, void *buf, size_t cap,
                   size_t *len_out, oc_err_t *err);

/* Decode a single-object message written with writer into dest (a value of
 * writer's schema, reset first; the caller keeps ownership). The fingerprint
 * must be writer's and the body is validated before avro-c reads it.
 * Errors: OC_ERR_DECODE, OC_ERR_UNKNOWN_SCHEMA (another fingerprint). */
int oc_avro_decode(const oc_schema_t *writer, const void *buf, size_t len, avro_value_t *dest,
                   oc_err_t *err);

/* ---- Registry: one reader schema, writers by fingerprint --------------- */

typedef struct oc_registry_s oc_registry_t;

/* A registry reading into reader's schema; the reader is also its first
 * known writer. Takes ownership of reader (also on failure). max_message is
 * the bound on a whole message (0 = OC_AVRO_MAX_MESSAGE_DEFAULT). Caller
 * frees *out with oc_registry_destroy(). Errors: OC_ERR_NOMEM, OC_ERR_SCHEMA. */
int oc_registry_new(oc_schema_t *reader, size_t max_message, oc_registry_t **out, oc_err_t *err);

/* Add a writer schema; its projection onto the reader is planned here, once.
 * Takes ownership of writer (also on failure). Adding a fingerprint already
 * known is a no-op. Errors: OC_ERR_SCHEMA when the reader cannot read it (a
 * reader field without a default that the writer lacks, incompatible
 * types), OC_ERR_NOMEM. */
int oc_registry_add(oc_registry_t *reg, oc_schema_t *writer, oc_err_t *err);

/* The reader schema (borrowed), and the number of known writers. */
const oc_schema_t *oc_registry_reader(const oc_registry_t *reg);
size_t oc_registry_count(const oc_registry_t *reg);

/* Decode a message from any known writer into a value of the reader schema.
 * *out is borrowed: it belongs to the registry and stays valid until the next
 * decode or oc_registry_destroy(). writer_fp (may be NULL) gets the writer's
 * fingerprint. Errors: OC_ERR_DECODE (bad marker, too long, invalid body,
 * union branch or enum symbol the reader lacks), OC_ERR_UNKNOWN_SCHEMA. */
int oc_registry_decode(oc_registry_t *reg, const void *buf, size_t len, avro_value_t **out,
                       uint64_t *writer_fp, oc_err_t *err);

/* As oc_registry_decode, for a body whose framing the caller has read
 * (the Confluent framing gives a registry id, which the caller maps to the
 * fingerprint). Errors as oc_registry_decode. */
int oc_registry_decode_body(oc_registry_t *reg, uint64_t writer_fp, const void *body, size_t len,
                            avro_value_t **out, oc_err_t *err);

/* The known writer of that fingerprint (borrowed), or NULL. */
const oc_schema_t *oc_registry_writer(const oc_registry_t *reg, uint64_t writer_fp);

/* Encode value (of the known writer schema with fingerprint writer_fp) as a
 * single-object message, reusing the registry's avro writer. Errors as
 * oc_avro_encode, and OC_ERR_UNKNOWN_SCHEMA. */
int oc_registry_encode(oc_registry_t *reg, uint64_t writer_fp, avro_value_t *value, void *buf,
                       size_t cap, size_t *len_out, oc_err_t *err);

/* NULL is accepted. Values handed out by the registry die with it. */
void oc_registry_destroy(oc_registry_t *reg);

#ifdef __cplusplus
}
#endif
#endif
