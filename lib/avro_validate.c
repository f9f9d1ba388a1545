/* avro_validate.c - a bounded walk over an Avro binary body, checking it
 * against the writer schema before avro-c (which trusts length prefixes)
 * reads it. Every length and count is checked against the bytes remaining,
 * varints are at most 10 bytes, nesting and zero-width items are bounded,
 * and the body must be consumed exactly. See avro_internal.h. */
#include "avro_internal.h"

#include <inttypes.h>
#include <string.h>

typedef struct walk_s {
  const unsigned char *p;
  size_t len;
  size_t pos;
  int64_t zero_width_left; /* items that take no bytes, still allowed */
  bool named;              /* the error message already names its field */
  oc_err_t *err;
} walk_t;

static size_t remaining(const walk_t *w) { return w->len - w->pos; }

static int read_varint(walk_t *w, const char *what, int64_t *out) {
  size_t start = w->pos;
  uint64_t v = 0;

  for (int i = 0;; i++) {
    unsigned char b;
    if (i == 10)
      return oc_err_set(w->err, OC_ERR_DECODE, "%s varint longer than 10 bytes at body offset %zu",
                        what, start);
    if (w->pos >= w->len)
      return oc_err_set(w->err, OC_ERR_DECODE, "truncated %s at body offset %zu", what, start);
    b = w->p[w->pos++];
    if (i == 9 && (b & 0x7f) > 1)
      return oc_err_set(w->err, OC_ERR_DECODE, "%s varint overflows 64 bits at body offset %zu",
                        what, start);
    v |= (uint64_t)(b & 0x7f) << (7 * i);
    if (!(b & 0x80))
      break;
  }
  *out = (int64_t)((v >> 1) ^ (0 - (v & 1)));
  return 0;
}

static int need(walk_t *w, size_t n, const char *what) {
  if (n > remaining(w))
    return oc_err_set(w->err, OC_ERR_DECODE,
                      "truncated %s: needs %zu bytes, %zu remain at body offset %zu", what, n,
                      remaining(w), w->pos);
  return 0;
}

/* A length-prefixed string or bytes value. */
static int walk_bytes(walk_t *w, const char *what) {
  size_t start = w->pos;
  int64_t n = 0;
  int rc = read_varint(w, what, &n);
  if (rc != 0)
    return rc;
  if (n < 0)
    return oc_err_set(w->err, OC_ERR_DECODE, "negative %s length %" PRId64 " at body offset %zu",
                      what, n, start);
  if ((uint64_t)n > remaining(w))
    return oc_err_set(w->err, OC_ERR_DECODE,
                      "%s length %" PRId64 " exceeds %zu remaining bytes at body offset %zu", what,
                      n, remaining(w), start);
  w->pos += (size_t)n;
  return 0;
}

static int walk(walk_t *w, const oc_avro_node_t *n, int depth);

/* Arrays and maps: blocks of items up to a zero count. */
static int walk_blocks(walk_t *w, const oc_avro_node_t *n, int depth) {
  const char *what = n->type == AVRO_ARRAY ? "array" : "map";
  /* Map items carry a key, so they are never zero-width. */
  bool zero_width = n->type == AVRO_ARRAY && n->child[0]->zero_width;
  int rc;

  for (;;) {
    size_t start = w->pos, items_start;
    int64_t count, size = -1;
    if ((rc = read_varint(w, what, &count)) != 0)
      return rc;
    if (count == 0)
      return 0;
    if (count < 0) {
      if (count == INT64_MIN)
        return oc_err_set(w->err, OC_ERR_DECODE, "%s block count out of range at body offset %zu",
                          what, start);
      count = -count;
      if ((rc = read_varint(w, what, &size)) != 0)
        return rc;
      if (size < 0 || (uint64_t)size > remaining(w))
        return oc_err_set(w->err, OC_ERR_DECODE,
                          "%s block size %" PRId64
                          " outside 0..%zu remaining bytes at body offset %zu",
                          what, size, remaining(w), start);
    }
    if (zero_width) {
      if (count > w->zero_width_left)
        return oc_err_set(w->err, OC_ERR_DECODE,
                          "%s block of %" PRId64 " zero-width items exceeds the limit of %d at "
                          "body offset %zu",
                          what, count, OC_AVRO_MAX_ZERO_WIDTH_ITEMS, start);
      w->zero_width_left -= count;
    } else if ((uint64_t)count > remaining(w)) {
      return oc_err_set(w->err, OC_ERR_DECODE,
                        "%s block count %" PRId64 " exceeds %zu remaining bytes at body offset %zu",
                        what, count, remaining(w), start);
    }
    items_start = w->pos;
    for (int64_t i = 0; i < count; i++) {
      if (n->type == AVRO_MAP && (rc = walk_bytes(w, "map key")) != 0)
        return rc;
      if ((rc = walk(w, n->child[0], depth + 1)) != 0)
        return rc;
    }
    if (size >= 0 && (uint64_t)size != w->pos - items_start)
      return oc_err_set(w->err, OC_ERR_DECODE,
                        "%s block size %" PRId64 " does not match its %zu bytes of items at body "
                        "offset %zu",
                        what, size, w->pos - items_start, start);
  }
}

static int walk(walk_t *w, const oc_avro_node_t *n, int depth) {
  size_t start = w->pos;
  int64_t v;
  int rc;

  if (depth > OC_AVRO_MAX_DEPTH)
    return oc_err_set(w->err, OC_ERR_DECODE,
                      "value nested deeper than %d levels at body offset %zu", OC_AVRO_MAX_DEPTH,
                      start);
  switch (n->type) {
  case AVRO_NULL: return 0;
  case AVRO_BOOLEAN:
    if ((rc = need(w, 1, "boolean")) != 0)
      return rc;
    if (w->p[w->pos] > 1)
      return oc_err_set(w->err, OC_ERR_DECODE, "boolean byte 0x%02x at body offset %zu",
                        w->p[w->pos], start);
    w->pos++;
    return 0;
  case AVRO_INT32:
    if ((rc = read_varint(w, "int", &v)) != 0)
      return rc;
    if (v < INT32_MIN || v > INT32_MAX)
      return oc_err_set(w->err, OC_ERR_DECODE, "int %" PRId64 " out of range at body offset %zu", v,
                        start);
    return 0;
  case AVRO_INT64: return read_varint(w, "long", &v);
  case AVRO_FLOAT:
    if ((rc = need(w, 4, "float")) != 0)
      return rc;
    w->pos += 4;
    return 0;
  case AVRO_DOUBLE:
    if ((rc = need(w, 8, "double")) != 0)
      return rc;
    w->pos += 8;
    return 0;
  case AVRO_STRING: return walk_bytes(w, "string");
  case AVRO_BYTES: return walk_bytes(w, "bytes");
  case AVRO_FIXED:
    if ((rc = need(w, n->n, "fixed")) != 0)
      return rc;
    w->pos += n->n;
    return 0;
  case AVRO_ENUM:
    if ((rc = read_varint(w, "enum index", &v)) != 0)
      return rc;
    if (v < 0 || (uint64_t)v >= n->n)
      return oc_err_set(w->err, OC_ERR_DECODE,
                        "enum index %" PRId64 " outside 0..%zu of enum '%s' at body offset %zu", v,
                        n->n ? n->n - 1 : 0, n->name, start);
    return 0;
  case AVRO_UNION:
    if ((rc = read_varint(w, "union index", &v)) != 0)
      return rc;
    if (v < 0 || (uint64_t)v >= n->n)
      return oc_err_set(w->err, OC_ERR_DECODE,
                        "union index %" PRId64 " outside 0..%zu at body offset %zu", v,
                        n->n ? n->n - 1 : 0, start);
    return walk(w, n->child[v], depth + 1);
  case AVRO_ARRAY:
  case AVRO_MAP: return walk_blocks(w, n, depth);
  case AVRO_RECORD:
    for (size_t i = 0; i < n->n; i++)
      if ((rc = walk(w, n->child[i], depth + 1)) != 0) {
        /* The message names the innermost field the error is in. */
        if (rc == OC_ERR_DECODE && w->err && !w->named) {
          w->named = true;
          oc_err_prefix(w->err, "%s: ", n->names[i]);
        }
        return rc;
      }
    return 0;
  default: return oc_err_set(w->err, OC_ERR_INTERNAL, "unexpected schema type %d", (int)n->type);
  }
}

int oc_avro_validate(const oc_avro_node_t *root, const void *body, size_t len, oc_err_t *err) {
  walk_t w = {.p = body, .len = len, .zero_width_left = OC_AVRO_MAX_ZERO_WIDTH_ITEMS, .err = err};
  int rc = walk(&w, root, 0);
  if (rc != 0)
    return rc;
  if (w.pos != len)
    return oc_err_set(err, OC_ERR_DECODE, "%zu trailing bytes after the value at body offset %zu",
                      len - w.pos, w.pos);
  return 0;
}
