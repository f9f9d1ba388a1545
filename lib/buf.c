/* buf.c - the growable byte buffer; see include/outcomes/buf.h. */
#include "outcomes/buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void oc_buf_init(oc_buf_t *b, size_t max) {
  memset(b, 0, sizeof(*b));
  b->max = max;
}

void oc_buf_release(oc_buf_t *b) {
  if (!b)
    return;
  size_t max = b->max;
  free(b->p);
  oc_buf_init(b, max);
}

void oc_buf_reset(oc_buf_t *b) {
  b->len = 0;
  b->failed = false;
  if (b->p)
    b->p[0] = '\0';
}

bool oc_buf_reserve(oc_buf_t *b, size_t more) {
  size_t max = b->max ? b->max : OC_BUF_MAX_DEFAULT;
  if (b->failed)
    return false;
  if (more > max - b->len) {
    b->failed = true;
    return false;
  }
  if (b->len + more + 1 <= b->cap)
    return true;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + more + 1)
    cap *= 2;
  if (max < SIZE_MAX && cap > max + 1) /* what oc_buf_put's inline test relies on */
    cap = max + 1;
  char *p = realloc(b->p, cap);
  if (!p) {
    b->failed = true;
    return false;
  }
  b->p = p;
  b->cap = cap;
  return true;
}

void oc_buf_put_grow(oc_buf_t *b, const void *s, size_t n) {
  if (!oc_buf_reserve(b, n))
    return;
  if (n)
    memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

void oc_buf_puts(oc_buf_t *b, const char *s) { oc_buf_put(b, s, strlen(s)); }

void oc_buf_printf(oc_buf_t *b, const char *fmt, ...) {
  va_list ap;
  char small[128];

  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof(small), fmt, ap);
  va_end(ap);
  if (n < 0) {
    b->failed = true;
    return;
  }
  if ((size_t)n < sizeof(small)) {
    oc_buf_put(b, small, (size_t)n);
    return;
  }
  if (!oc_buf_reserve(b, (size_t)n))
    return;
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void oc_buf_put_be16(oc_buf_t *b, uint16_t v) {
  unsigned char w[2] = {(unsigned char)(v >> 8), (unsigned char)v};
  oc_buf_put(b, w, sizeof(w));
}

void oc_buf_put_be32(oc_buf_t *b, uint32_t v) {
  unsigned char w[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                        (unsigned char)v};
  oc_buf_put(b, w, sizeof(w));
}

void oc_buf_put_be64(oc_buf_t *b, uint64_t v) {
  oc_buf_put_be32(b, (uint32_t)(v >> 32));
  oc_buf_put_be32(b, (uint32_t)v);
}

/* Bytes asked of fread at a time, at most. */
#define READ_CHUNK ((size_t)65536)

int oc_buf_read_file(oc_buf_t *b, const char *path, oc_err_t *err) {
  size_t max = b->max ? b->max : OC_BUF_MAX_DEFAULT;
  size_t start = b->len;
  FILE *f;
  int rc = 0;

  if (b->failed)
    return oc_err_set(err, OC_ERR_USAGE, "read '%s': the buffer failed before", path);
  if (!(f = fopen(path, "rb")))
    return oc_err_set(err, OC_ERR_IO, "open '%s': %s", path, strerror(errno));
  for (;;) {
    size_t left = max - b->len;
    if (left == 0) {
      if (getc(f) != EOF)
        rc = oc_err_set(err, OC_ERR_LIMIT, "'%s': larger than %zu bytes", path, max - start);
      break;
    }
    if (b->cap - b->len < 2 && !oc_buf_reserve(b, left < READ_CHUNK ? left : READ_CHUNK)) {
      rc = oc_err_set(err, OC_ERR_NOMEM, "'%s': out of memory", path);
      break;
    }
    size_t room = b->cap - b->len - 1;
    size_t n = fread(b->p + b->len, 1, room < left ? room : left, f);
    b->len += n;
    b->p[b->len] = '\0';
    if (n == 0)
      break;
  }
  if (rc == 0 && ferror(f))
    rc = oc_err_set(err, OC_ERR_IO, "read '%s': %s", path, strerror(errno));
  fclose(f);
  if (rc == 0 && !b->p)
    oc_buf_put_grow(b, "", 0); /* an empty file: still a string */
  if (rc != 0 && b->p) {
    b->len = start;
    b->p[start] = '\0';
  }
  return rc;
}

char *oc_buf_detach(oc_buf_t *b, size_t *len) {
  char *p = b->failed ? NULL : b->p;
  if (len)
    *len = p ? b->len : 0;
  if (!p)
    free(b->p);
  size_t max = b->max;
  oc_buf_init(b, max);
  return p;
}
