/* pgbin.c - binary arrays for statement parameters; see
 * include/outcomes/pgbin.h. The format (array_send): int32 number of
 * dimensions, int32 flags (1: has NULLs), element type OID, then per
 * dimension its length and lower bound, then per element its length (-1:
 * NULL) and bytes, all integers big-endian. */
#include "outcomes/pgbin.h"

#define HEADER 20 /* ndim, flags, oid, length, lower bound */

void oc_pgarr_init(oc_pgarr_t *a, uint32_t elem_oid) {
  memset(a, 0, sizeof(*a));
  oc_buf_init(&a->buf, 0);
  a->oid = elem_oid;
}

void oc_pgarr_reset(oc_pgarr_t *a) {
  oc_buf_reset(&a->buf);
  a->n = 0;
  a->has_null = false;
}

void oc_pgarr_release(oc_pgarr_t *a) {
  if (!a)
    return;
  oc_buf_release(&a->buf);
  a->n = 0;
  a->has_null = false;
}

/* Before the first element: room for the header, filled by finish (which
 * may have left an empty array's shorter header there). */
static void element(oc_pgarr_t *a, int32_t len) {
  static const char zero[HEADER];
  if (a->n == 0) {
    oc_buf_reset(&a->buf);
    oc_buf_put(&a->buf, zero, HEADER);
  }
  oc_buf_put_be32(&a->buf, (uint32_t)len);
  a->n++;
}

void oc_pgarr_null(oc_pgarr_t *a) {
  element(a, -1);
  a->has_null = true;
}

void oc_pgarr_bool(oc_pgarr_t *a, bool v) {
  element(a, 1);
  oc_buf_putc(&a->buf, v ? 1 : 0);
}

void oc_pgarr_int2(oc_pgarr_t *a, int16_t v) {
  element(a, 2);
  oc_buf_put_be16(&a->buf, (uint16_t)v);
}

void oc_pgarr_int4(oc_pgarr_t *a, int32_t v) {
  element(a, 4);
  oc_buf_put_be32(&a->buf, (uint32_t)v);
}

void oc_pgarr_int8(oc_pgarr_t *a, int64_t v) {
  element(a, 8);
  oc_buf_put_be64(&a->buf, (uint64_t)v);
}

void oc_pgarr_float8(oc_pgarr_t *a, double v) {
  uint64_t u;
  memcpy(&u, &v, sizeof(u));
  element(a, 8);
  oc_buf_put_be64(&a->buf, u);
}

void oc_pgarr_date(oc_pgarr_t *a, oc_date_t d) { oc_pgarr_int4(a, d - OC_PG_EPOCH_DAYS); }

void oc_pgarr_timestamptz(oc_pgarr_t *a, oc_timestamp_t t) {
  oc_pgarr_int8(a, t - OC_PG_EPOCH_MICROS);
}

void oc_pgarr_bytes(oc_pgarr_t *a, const void *p, size_t n) {
  if (n > INT32_MAX) {
    a->buf.failed = true;
    return;
  }
  element(a, (int32_t)n);
  oc_buf_put(&a->buf, p, n);
}

void oc_pgarr_text(oc_pgarr_t *a, const char *s) { oc_pgarr_bytes(a, s, strlen(s)); }

static void put_at(char *p, uint32_t v) {
  p[0] = (char)(v >> 24);
  p[1] = (char)(v >> 16);
  p[2] = (char)(v >> 8);
  p[3] = (char)v;
}

const char *oc_pgarr_finish(oc_pgarr_t *a, int *len) {
  if (a->n == 0) {
    /* No dimensions: ndim 0, flags 0, the type. */
    oc_buf_reset(&a->buf);
    oc_buf_put_be32(&a->buf, 0);
    oc_buf_put_be32(&a->buf, 0);
    oc_buf_put_be32(&a->buf, a->oid);
    a->n = 0;
  } else if (!a->buf.failed) {
    put_at(a->buf.p, 1);
    put_at(a->buf.p + 4, a->has_null ? 1 : 0);
    put_at(a->buf.p + 8, a->oid);
    put_at(a->buf.p + 12, a->n);
    put_at(a->buf.p + 16, 1);
  }
  if (a->buf.failed || a->buf.len > INT32_MAX) {
    *len = 0;
    return NULL;
  }
  *len = (int)a->buf.len;
  return a->buf.p;
}
