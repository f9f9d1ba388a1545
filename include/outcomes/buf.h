/*
 * buf.h - a growable byte buffer, the one the library builds text and
 * binary payloads in (COPY data, array parameters, HTTP bodies, metrics).
 *
 * The buffer keeps a NUL after its bytes, so text can be read as a C
 * string. Allocation failure, or growth past the bound given at init, is
 * sticky: later appends do nothing and `failed` stays true, so a caller
 * appends freely and checks once at the end.
 *
 *   oc_buf_t b;
 *   oc_buf_init(&b, 0);            // 0: the default bound (OC_BUF_MAX_DEFAULT)
 *   oc_buf_puts(&b, "x=");
 *   oc_buf_printf(&b, "%d", 42);
 *   if (b.failed) ... ;            // out of memory or over the bound
 *   use(b.p, b.len);
 *   oc_buf_release(&b);
 */
#ifndef OUTCOMES_BUF_H
#define OUTCOMES_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "outcomes/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The bound when init is given 0: 1 GiB, PostgreSQL's own limit on one
 * field or message. */
#define OC_BUF_MAX_DEFAULT ((size_t)1 << 30)

typedef struct oc_buf_s {
  char *p;     /* owned; NULL until the first append */
  size_t len;  /* bytes held, not counting the NUL kept after them */
  size_t cap;  /* bytes allocated, never more than max + 1 */
  size_t max;  /* len never exceeds this */
  bool failed; /* an append failed: out of memory or over max */
} oc_buf_t;

/* An empty buffer bounded by max bytes (0: OC_BUF_MAX_DEFAULT). A
 * zero-initialised oc_buf_t is also valid, with the default bound. */
void oc_buf_init(oc_buf_t *b, size_t max);

/* Free the memory; the buffer is empty and usable again. NULL is accepted. */
void oc_buf_release(oc_buf_t *b);

/* Forget the bytes but keep the memory, and clear failed. */
void oc_buf_reset(oc_buf_t *b);

/* Make room for more bytes; false (and failed) when it cannot. */
bool oc_buf_reserve(oc_buf_t *b, size_t more);

/* Append n bytes. The common case, room in the memory held, is inline:
 * parsers append field by field. */
void oc_buf_put_grow(oc_buf_t *b, const void *s, size_t n); /* the other cases */
static inline void oc_buf_put(oc_buf_t *b, const void *s, size_t n) {
  /* cap <= max + 1, so fitting in cap is within the bound. */
  if (b->failed || n >= b->cap - b->len) {
    oc_buf_put_grow(b, s, n);
    return;
  }
  if (n)
    memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static inline void oc_buf_putc(oc_buf_t *b, char c) { oc_buf_put(b, &c, 1); }

void oc_buf_puts(oc_buf_t *b, const char *s);
void oc_buf_printf(oc_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Big-endian integers (network order: PostgreSQL's binary formats). */
void oc_buf_put_be16(oc_buf_t *b, uint16_t v);
void oc_buf_put_be32(oc_buf_t *b, uint32_t v);
void oc_buf_put_be64(oc_buf_t *b, uint64_t v);

/* Append the whole file at path: at most the room left under the bound
 * (max - len). An empty file appends nothing but leaves b->p a string.
 * Errors, with the buffer left as it was: OC_ERR_IO (open or read, naming
 * the file), OC_ERR_LIMIT when the file is larger than the room, and
 * OC_ERR_NOMEM (which also sets failed). */
int oc_buf_read_file(oc_buf_t *b, const char *path, oc_err_t *err);

/* Take the bytes: *out receives b->p (caller frees with free()), b is left
 * empty. NULL when failed or nothing was appended. */
char *oc_buf_detach(oc_buf_t *b, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
