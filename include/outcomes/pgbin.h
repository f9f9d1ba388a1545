/*
 * pgbin.h - PostgreSQL's binary wire formats: one-dimensional arrays built
 * as statement parameters (a batch's rows travel as one array per column,
 * unnested by the statement), and the values of binary result columns.
 *
 *   oc_pgarr_t ids;
 *   oc_pgarr_init(&ids, OC_OID_INT4);
 *   for (...) oc_pgarr_int4(&ids, id);
 *   int len;
 *   const char *bytes = oc_pgarr_finish(&ids, &len); // NULL: out of memory
 *   ... pass bytes/len with format 1 for a parameter typed integer[] ...
 *   oc_pgarr_release(&ids);
 *
 * Dates and timestamps convert from the library's epoch (1970-01-01) to
 * PostgreSQL's (2000-01-01).
 */
#ifndef OUTCOMES_PGBIN_H
#define OUTCOMES_PGBIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "outcomes/buf.h"
#include "outcomes/record.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Type OIDs of the element types used here (pg_type.dat; stable). */
#define OC_OID_BOOL 16
#define OC_OID_BYTEA 17
#define OC_OID_INT8 20
#define OC_OID_INT2 21
#define OC_OID_INT4 23
#define OC_OID_TEXT 25
#define OC_OID_FLOAT8 701
#define OC_OID_DATE 1082
#define OC_OID_TIMESTAMPTZ 1184
#define OC_OID_TEXT_ARRAY 1009
#define OC_OID_BYTEA_ARRAY 1001

/* Days from 1970-01-01 to 2000-01-01, and microseconds. */
#define OC_PG_EPOCH_DAYS 10957
#define OC_PG_EPOCH_MICROS ((int64_t)OC_PG_EPOCH_DAYS * 86400 * 1000000)

typedef struct oc_pgarr_s {
  oc_buf_t buf; /* header space, then the elements */
  uint32_t oid; /* element type */
  uint32_t n;   /* elements */
  bool has_null;
} oc_pgarr_t;

/* An empty array of elements of type elem_oid. */
void oc_pgarr_init(oc_pgarr_t *a, uint32_t elem_oid);

/* Forget the elements, keep the memory (and the type). */
void oc_pgarr_reset(oc_pgarr_t *a);

/* Free the memory. NULL is accepted. */
void oc_pgarr_release(oc_pgarr_t *a);

void oc_pgarr_null(oc_pgarr_t *a);
void oc_pgarr_bool(oc_pgarr_t *a, bool v);
void oc_pgarr_int2(oc_pgarr_t *a, int16_t v);
void oc_pgarr_int4(oc_pgarr_t *a, int32_t v);
void oc_pgarr_int8(oc_pgarr_t *a, int64_t v);
void oc_pgarr_float8(oc_pgarr_t *a, double v);
void oc_pgarr_date(oc_pgarr_t *a, oc_date_t d);
void oc_pgarr_timestamptz(oc_pgarr_t *a, oc_timestamp_t t);
/* text (valid UTF-8) or bytea: n bytes */
void oc_pgarr_bytes(oc_pgarr_t *a, const void *p, size_t n);
void oc_pgarr_text(oc_pgarr_t *a, const char *s);

/* The array in binary form, *len bytes, valid until the array changes;
 * NULL when an append failed (out of memory or over the buffer bound). */
const char *oc_pgarr_finish(oc_pgarr_t *a, int *len);

/* ---- binary result values (PQgetvalue of a binary column) ------------- */

static inline uint32_t oc_pgbin_u32(const char *p) {
  const unsigned char *u = (const unsigned char *)p;
  return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}
static inline int32_t oc_pgbin_int4(const char *p) { return (int32_t)oc_pgbin_u32(p); }
static inline int64_t oc_pgbin_int8(const char *p) {
  return (int64_t)((uint64_t)oc_pgbin_u32(p) << 32 | oc_pgbin_u32(p + 4));
}
static inline double oc_pgbin_float8(const char *p) {
  uint64_t u = (uint64_t)oc_pgbin_int8(p);
  double d;
  memcpy(&d, &u, sizeof(d));
  return d;
}
static inline bool oc_pgbin_bool(const char *p) { return p[0] != 0; }
static inline oc_date_t oc_pgbin_date(const char *p) { return oc_pgbin_int4(p) + OC_PG_EPOCH_DAYS; }
static inline oc_timestamp_t oc_pgbin_timestamptz(const char *p) {
  return oc_pgbin_int8(p) + OC_PG_EPOCH_MICROS;
}

#ifdef __cplusplus
}
#endif
#endif
