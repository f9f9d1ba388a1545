/*
 * avro_internal.h - what lib/avro_*.c share; not installed, not public API.
 *
 * A schema is compiled once, when parsed, into a tree of oc_avro_node_t
 * (links followed, recursive types shared), which the body validator and the
 * projection planner walk instead of asking avro-c per message.
 */
#ifndef OC_AVRO_INTERNAL_H
#define OC_AVRO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "outcomes/avro.h"

/* A field default, turned into an avro value of the field's schema once. */
typedef struct oc_avro_dflt_s {
  const json_t *json; /* the "default" attribute (borrowed), or NULL */
  bool set;           /* value holds it */
  avro_value_iface_t *iface;
  avro_value_t value;
} oc_avro_dflt_t;

typedef struct oc_avro_node_s oc_avro_node_t;
struct oc_avro_node_s {
  avro_type_t type;       /* never AVRO_LINK */
  avro_schema_t schema;   /* borrowed from the owning oc_schema_t */
  const char *name;       /* record, enum, fixed: unqualified name */
  size_t n;               /* fields, branches, symbols; fixed: its size */
  oc_avro_node_t **child; /* fields, branches; items or values in child[0] */
  const char **names;     /* field names or enum symbols (borrowed) */
  oc_avro_dflt_t *dflt;   /* record: per field */
  int enum_default;       /* enum: index of the "default" symbol, or -1 */
  bool zero_width;        /* some value of it encodes in zero bytes */
};

struct oc_schema_s {
  avro_schema_t avro;
  json_t *json;
  char *pcf;
  size_t pcf_len;
  uint64_t fp;
  avro_value_iface_t *iface;
  oc_avro_node_t *root;
  oc_avro_node_t **nodes; /* every node, for teardown */
  size_t n_nodes;
  size_t cap_nodes;
};

/* Parsing Canonical Form of an already parsed JSON schema; as
 * oc_avro_canonical. */
int oc_avro_pcf_from_json(const json_t *root, char **out, size_t *out_len, oc_err_t *err);

/* Check that body[0..len) is exactly one value of root, within the bounds
 * of avro.h. Errors: OC_ERR_DECODE naming the body offset. */
int oc_avro_validate(const oc_avro_node_t *root, const void *body, size_t len, oc_err_t *err);

/* Copy avro_strerror() into err, after a context. Returns code. */
int oc_avro_err(oc_err_t *err, int code, const char *context);

/* Projection of values of one writer schema onto a reader schema, planned
 * once. */
typedef struct oc_avro_plan_s oc_avro_plan_t;

/* Errors: OC_ERR_SCHEMA naming the field path, OC_ERR_NOMEM. Borrows both
 * schemas: they must outlive the plan. */
int oc_avro_plan_new(const oc_schema_t *writer, const oc_schema_t *reader, oc_avro_plan_t **out,
                     oc_err_t *err);
/* Reset dst (a value of the reader schema) and fill it from src (a value of
 * the writer schema). Errors: OC_ERR_DECODE (a union branch or enum symbol
 * the reader lacks), OC_ERR_NOMEM. */
int oc_avro_plan_apply(oc_avro_plan_t *plan, avro_value_t *src, avro_value_t *dst, oc_err_t *err);
void oc_avro_plan_destroy(oc_avro_plan_t *plan);

#endif
