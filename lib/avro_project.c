/* avro_project.c - projection of a value of a writer schema onto a value of
 * the reader schema, by field name, planned once per writer (avro-c 1.11.1's
 * own resolver refuses reader fields with defaults that the writer lacks, and
 * on a schema with a map slows down with every record). Rules of the Avro
 * specification
 * ("Schema Resolution"): missing reader fields take their defaults, extra
 * writer fields are dropped, int->long/float/double, long->float/double,
 * float->double, string<->bytes, enums by symbol, unions by branch. */
#include "avro_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum op_e {
  OP_NULL,
  OP_BOOL,
  OP_INT,
  OP_INT_LONG,
  OP_INT_FLOAT,
  OP_INT_DOUBLE,
  OP_LONG,
  OP_LONG_FLOAT,
  OP_LONG_DOUBLE,
  OP_FLOAT,
  OP_FLOAT_DOUBLE,
  OP_DOUBLE,
  OP_STRING,
  OP_STRING_BYTES,
  OP_BYTES,
  OP_BYTES_STRING,
  OP_FIXED,
  OP_ENUM,
  OP_ARRAY,
  OP_MAP,
  OP_RECORD,
  OP_WUNION, /* writer union: per writer branch */
  OP_RUNION, /* writer non-union into one reader branch */
} op_t;

typedef struct proj_s proj_t;
struct proj_s {
  op_t op;
  const oc_avro_node_t *w;
  const oc_avro_node_t *r;
  size_t n;
  bool failed;  /* record whose planning failed (inside a union branch) */
  proj_t **sub; /* record: per reader field; WUNION: per writer branch */
  int *map;     /* record: writer field; enum: reader symbol; unions: reader branch */
};

struct oc_avro_plan_s {
  proj_t *root;
  proj_t **all;
  size_t n_all;
  size_t cap_all;
  char *scratch; /* bytes -> string needs a NUL-terminated copy */
  size_t scratch_cap;
};

static const char *type_name(const oc_avro_node_t *n) {
  return n->name ? n->name : avro_schema_type_name(n->schema);
}

static int new_proj(oc_avro_plan_t *plan, op_t op, const oc_avro_node_t *w, const oc_avro_node_t *r,
                    size_t n, proj_t **out, oc_err_t *err) {
  proj_t *p = calloc(1, sizeof(*p));
  if (!p)
    return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  if (plan->n_all == plan->cap_all) {
    size_t cap = plan->cap_all ? plan->cap_all * 2 : 16;
    proj_t **all = realloc(plan->all, cap * sizeof(*all));
    if (!all) {
      free(p);
      return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
    }
    plan->all = all;
    plan->cap_all = cap;
  }
  plan->all[plan->n_all++] = p;
  p->op = op;
  p->w = w;
  p->r = r;
  p->n = n;
  if (n) {
    p->sub = calloc(n, sizeof(*p->sub));
    p->map = calloc(n, sizeof(*p->map));
    if (!p->sub || !p->map)
      return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  }
  *out = p;
  return 0;
}

static bool same_name(const oc_avro_node_t *a, const oc_avro_node_t *b) {
  return a->name && b->name && strcmp(a->name, b->name) == 0;
}

/* The operation reading primitive w as primitive r, or -1. */
static int primitive_op(avro_type_t w, avro_type_t r) {
  switch (w) {
  case AVRO_NULL: return r == AVRO_NULL ? OP_NULL : -1;
  case AVRO_BOOLEAN: return r == AVRO_BOOLEAN ? OP_BOOL : -1;
  case AVRO_INT32:
    return r == AVRO_INT32    ? OP_INT
           : r == AVRO_INT64  ? OP_INT_LONG
           : r == AVRO_FLOAT  ? OP_INT_FLOAT
           : r == AVRO_DOUBLE ? OP_INT_DOUBLE
                              : -1;
  case AVRO_INT64:
    return r == AVRO_INT64    ? OP_LONG
           : r == AVRO_FLOAT  ? OP_LONG_FLOAT
           : r == AVRO_DOUBLE ? OP_LONG_DOUBLE
                              : -1;
  case AVRO_FLOAT: return r == AVRO_FLOAT ? OP_FLOAT : r == AVRO_DOUBLE ? OP_FLOAT_DOUBLE : -1;
  case AVRO_DOUBLE: return r == AVRO_DOUBLE ? OP_DOUBLE : -1;
  case AVRO_STRING: return r == AVRO_STRING ? OP_STRING : r == AVRO_BYTES ? OP_STRING_BYTES : -1;
  case AVRO_BYTES: return r == AVRO_BYTES ? OP_BYTES : r == AVRO_STRING ? OP_BYTES_STRING : -1;
  default: return -1;
  }
}

/* The reader union branch for writer type w: the same type (and name) first,
 * then the first it promotes to. -1 when none. */
static int match_branch(const oc_avro_node_t *w, const oc_avro_node_t *ru) {
  for (size_t k = 0; k < ru->n; k++) {
    const oc_avro_node_t *r = ru->child[k];
    if (r->type == w->type && (!w->name || same_name(w, r)))
      return (int)k;
  }
  for (size_t k = 0; k < ru->n; k++)
    if (primitive_op(w->type, ru->child[k]->type) >= 0)
      return (int)k;
  return -1;
}

static int plan_node(oc_avro_plan_t *plan, const oc_avro_node_t *w, const oc_avro_node_t *r,
                     int depth, const char *where, proj_t **out, oc_err_t *err);

static int plan_record(oc_avro_plan_t *plan, const oc_avro_node_t *w, const oc_avro_node_t *r,
                       int depth, const char *where, proj_t **out, oc_err_t *err) {
  proj_t *p;
  int rc;

  if (!same_name(w, r))
    return oc_err_set(err, OC_ERR_SCHEMA, "%s: writer record '%s' is not reader record '%s'", where,
                      w->name, r->name);
  /* Recursive types: one projection per pair of records. */
  for (size_t i = 0; i < plan->n_all; i++)
    if (plan->all[i]->op == OP_RECORD && plan->all[i]->w == w && plan->all[i]->r == r) {
      if (plan->all[i]->failed)
        return oc_err_set(err, OC_ERR_SCHEMA, "%s: record '%s' cannot be read", where, w->name);
      *out = plan->all[i];
      return 0;
    }
  if ((rc = new_proj(plan, OP_RECORD, w, r, r->n, &p, err)) != 0)
    return rc;
  *out = p;
  for (size_t i = 0; i < r->n; i++) {
    char here[512];
    p->map[i] = -1;
    for (size_t j = 0; j < w->n; j++)
      if (strcmp(w->names[j], r->names[i]) == 0)
        p->map[i] = (int)j;
    snprintf(here, sizeof(here), "%s.%s", where, r->names[i]);
    if (p->map[i] < 0) {
      if (!r->dflt[i].set) {
        p->failed = true;
        return oc_err_set(err, OC_ERR_SCHEMA,
                          "%s: reader field has no default and writer record '%s' lacks it", here,
                          w->name);
      }
      continue;
    }
    rc = plan_node(plan, w->child[p->map[i]], r->child[i], depth + 1, here, &p->sub[i], err);
    if (rc != 0) {
      p->failed = true;
      return rc;
    }
  }
  return 0;
}

static int plan_node(oc_avro_plan_t *plan, const oc_avro_node_t *w, const oc_avro_node_t *r,
                     int depth, const char *where, proj_t **out, oc_err_t *err) {
  proj_t *p;
  int rc, op;

  if (depth > OC_AVRO_MAX_DEPTH)
    return oc_err_set(err, OC_ERR_SCHEMA, "%s: schemas nested deeper than %d levels", where,
                      OC_AVRO_MAX_DEPTH);
  if (w->type == AVRO_UNION) {
    size_t matched = 0;
    if ((rc = new_proj(plan, OP_WUNION, w, r, w->n, &p, err)) != 0)
      return rc;
    *out = p;
    for (size_t i = 0; i < w->n; i++) {
      const oc_avro_node_t *target = r;
      oc_err_t ignored;
      p->map[i] = 0;
      if (r->type == AVRO_UNION) {
        p->map[i] = match_branch(w->child[i], r);
        if (p->map[i] < 0)
          continue;
        target = r->child[p->map[i]];
      }
      /* A writer branch the reader cannot take fails only when it occurs. */
      if (plan_node(plan, w->child[i], target, depth + 1, where, &p->sub[i], &ignored) != 0) {
        if (ignored.code == OC_ERR_NOMEM)
          return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
        p->sub[i] = NULL;
        continue;
      }
      matched++;
    }
    if (matched == 0)
      return oc_err_set(err, OC_ERR_SCHEMA, "%s: no branch of the writer union is readable as %s",
                        where, type_name(r));
    return 0;
  }
  if (r->type == AVRO_UNION) {
    int k = match_branch(w, r);
    if (k < 0)
      return oc_err_set(err, OC_ERR_SCHEMA,
                        "%s: writer type %s matches no branch of the reader union", where,
                        type_name(w));
    if ((rc = new_proj(plan, OP_RUNION, w, r, 1, &p, err)) != 0)
      return rc;
    *out = p;
    p->map[0] = k;
    return plan_node(plan, w, r->child[k], depth + 1, where, &p->sub[0], err);
  }
  if ((op = primitive_op(w->type, r->type)) >= 0)
    return new_proj(plan, (op_t)op, w, r, 0, out, err);
  if (w->type != r->type)
    return oc_err_set(err, OC_ERR_SCHEMA, "%s: cannot read writer type %s as reader type %s", where,
                      type_name(w), type_name(r));
  switch (w->type) {
  case AVRO_RECORD: return plan_record(plan, w, r, depth, where, out, err);
  case AVRO_ENUM:
    if (!same_name(w, r))
      return oc_err_set(err, OC_ERR_SCHEMA, "%s: writer enum '%s' is not reader enum '%s'", where,
                        w->name, r->name);
    if ((rc = new_proj(plan, OP_ENUM, w, r, w->n, &p, err)) != 0)
      return rc;
    *out = p;
    for (size_t i = 0; i < w->n; i++) {
      p->map[i] = r->enum_default;
      for (size_t k = 0; k < r->n; k++)
        if (strcmp(w->names[i], r->names[k]) == 0)
          p->map[i] = (int)k;
    }
    return 0;
  case AVRO_FIXED:
    if (!same_name(w, r) || w->n != r->n)
      return oc_err_set(err, OC_ERR_SCHEMA,
                        "%s: writer fixed '%s'(%zu) is not reader fixed '%s'(%zu)", where, w->name,
                        w->n, r->name, r->n);
    return new_proj(plan, OP_FIXED, w, r, 0, out, err);
  case AVRO_ARRAY:
  case AVRO_MAP:
    if ((rc = new_proj(plan, w->type == AVRO_ARRAY ? OP_ARRAY : OP_MAP, w, r, 1, &p, err)) != 0)
      return rc;
    *out = p;
    return plan_node(plan, w->child[0], r->child[0], depth + 1, where, &p->sub[0], err);
  default:
    return oc_err_set(err, OC_ERR_SCHEMA, "%s: cannot read writer type %s as reader type %s", where,
                      type_name(w), type_name(r));
  }
}

int oc_avro_plan_new(const oc_schema_t *writer, const oc_schema_t *reader, oc_avro_plan_t **out,
                     oc_err_t *err) {
  oc_avro_plan_t *plan = calloc(1, sizeof(*plan));
  int rc;

  *out = NULL;
  if (!plan)
    return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  rc = plan_node(plan, writer->root, reader->root, 0, type_name(reader->root), &plan->root, err);
  if (rc != 0) {
    oc_avro_plan_destroy(plan);
    return rc;
  }
  *out = plan;
  return 0;
}

void oc_avro_plan_destroy(oc_avro_plan_t *plan) {
  if (!plan)
    return;
  for (size_t i = 0; i < plan->n_all; i++) {
    free(plan->all[i]->sub);
    free(plan->all[i]->map);
    free(plan->all[i]);
  }
  free(plan->all);
  free(plan->scratch);
  free(plan);
}

#define TRY(call) \
  do { \
    if ((call) != 0) \
      return oc_avro_err(err, OC_ERR_DECODE, "projecting onto the reader schema: "); \
  } while (0)

static int apply(oc_avro_plan_t *plan, const proj_t *p, avro_value_t *src, avro_value_t *dst,
                 oc_err_t *err) {
  int32_t i32;
  int64_t i64;
  float f;
  double d;
  int b;
  const char *str;
  const void *buf;
  size_t size;
  int rc;

  switch (p->op) {
  case OP_NULL: TRY(avro_value_set_null(dst)); return 0;
  case OP_BOOL:
    TRY(avro_value_get_boolean(src, &b));
    TRY(avro_value_set_boolean(dst, b));
    return 0;
  case OP_INT:
    TRY(avro_value_get_int(src, &i32));
    TRY(avro_value_set_int(dst, i32));
    return 0;
  case OP_INT_LONG:
    TRY(avro_value_get_int(src, &i32));
    TRY(avro_value_set_long(dst, i32));
    return 0;
  case OP_INT_FLOAT:
    TRY(avro_value_get_int(src, &i32));
    TRY(avro_value_set_float(dst, (float)i32));
    return 0;
  case OP_INT_DOUBLE:
    TRY(avro_value_get_int(src, &i32));
    TRY(avro_value_set_double(dst, i32));
    return 0;
  case OP_LONG:
    TRY(avro_value_get_long(src, &i64));
    TRY(avro_value_set_long(dst, i64));
    return 0;
  case OP_LONG_FLOAT:
    TRY(avro_value_get_long(src, &i64));
    TRY(avro_value_set_float(dst, (float)i64));
    return 0;
  case OP_LONG_DOUBLE:
    TRY(avro_value_get_long(src, &i64));
    TRY(avro_value_set_double(dst, (double)i64));
    return 0;
  case OP_FLOAT:
    TRY(avro_value_get_float(src, &f));
    TRY(avro_value_set_float(dst, f));
    return 0;
  case OP_FLOAT_DOUBLE:
    TRY(avro_value_get_float(src, &f));
    TRY(avro_value_set_double(dst, f));
    return 0;
  case OP_DOUBLE:
    TRY(avro_value_get_double(src, &d));
    TRY(avro_value_set_double(dst, d));
    return 0;
  case OP_STRING:
    TRY(avro_value_get_string(src, &str, &size));
    TRY(avro_value_set_string_len(dst, str, size));
    return 0;
  case OP_STRING_BYTES:
    TRY(avro_value_get_string(src, &str, &size));
    TRY(avro_value_set_bytes(dst, (void *)(uintptr_t)str, size ? size - 1 : 0));
    return 0;
  case OP_BYTES:
    TRY(avro_value_get_bytes(src, &buf, &size));
    TRY(avro_value_set_bytes(dst, (void *)(uintptr_t)buf, size));
    return 0;
  case OP_BYTES_STRING:
    TRY(avro_value_get_bytes(src, &buf, &size));
    if (size + 1 > plan->scratch_cap) {
      char *s = realloc(plan->scratch, size + 1);
      if (!s)
        return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
      plan->scratch = s;
      plan->scratch_cap = size + 1;
    }
    if (size)
      memcpy(plan->scratch, buf, size);
    plan->scratch[size] = '\0';
    TRY(avro_value_set_string_len(dst, plan->scratch, size + 1));
    return 0;
  case OP_FIXED:
    TRY(avro_value_get_fixed(src, &buf, &size));
    TRY(avro_value_set_fixed(dst, (void *)(uintptr_t)buf, size));
    return 0;
  case OP_ENUM:
    TRY(avro_value_get_enum(src, &b));
    if (b < 0 || (size_t)b >= p->n)
      return oc_err_set(err, OC_ERR_DECODE, "enum index %d outside enum '%s'", b, p->w->name);
    if (p->map[b] < 0)
      return oc_err_set(err, OC_ERR_DECODE, "enum symbol '%s' of '%s' is not in the reader's enum",
                        p->w->names[b], p->w->name);
    TRY(avro_value_set_enum(dst, p->map[b]));
    return 0;
  case OP_ARRAY:
  case OP_MAP:
    TRY(avro_value_get_size(src, &size));
    for (size_t i = 0; i < size; i++) {
      avro_value_t sc, dc;
      const char *key = NULL;
      TRY(avro_value_get_by_index(src, i, &sc, &key));
      if (p->op == OP_ARRAY)
        TRY(avro_value_append(dst, &dc, NULL));
      else
        TRY(avro_value_add(dst, key, &dc, NULL, NULL));
      if ((rc = apply(plan, p->sub[0], &sc, &dc, err)) != 0)
        return rc;
    }
    return 0;
  case OP_RECORD:
    for (size_t i = 0; i < p->n; i++) {
      avro_value_t sc, dc;
      TRY(avro_value_get_by_index(dst, i, &dc, NULL));
      if (p->map[i] < 0) {
        TRY(avro_value_copy_fast(&dc, &p->r->dflt[i].value));
        continue;
      }
      TRY(avro_value_get_by_index(src, (size_t)p->map[i], &sc, NULL));
      if ((rc = apply(plan, p->sub[i], &sc, &dc, err)) != 0)
        return rc;
    }
    return 0;
  case OP_WUNION: {
    avro_value_t sb, db;
    TRY(avro_value_get_discriminant(src, &b));
    if (b < 0 || (size_t)b >= p->n)
      return oc_err_set(err, OC_ERR_DECODE, "union branch %d out of range", b);
    if (!p->sub[b])
      return oc_err_set(err, OC_ERR_DECODE,
                        "writer union branch %d (%s) has no match in the reader", b,
                        type_name(p->w->child[b]));
    TRY(avro_value_get_current_branch(src, &sb));
    if (p->r->type != AVRO_UNION)
      return apply(plan, p->sub[b], &sb, dst, err);
    TRY(avro_value_set_branch(dst, p->map[b], &db));
    return apply(plan, p->sub[b], &sb, &db, err);
  }
  case OP_RUNION: {
    avro_value_t db;
    TRY(avro_value_set_branch(dst, p->map[0], &db));
    return apply(plan, p->sub[0], src, &db, err);
  }
  }
  return oc_err_set(err, OC_ERR_INTERNAL, "unknown projection %d", (int)p->op);
}

int oc_avro_plan_apply(oc_avro_plan_t *plan, avro_value_t *src, avro_value_t *dst, oc_err_t *err) {
  if (avro_value_reset(dst) != 0)
    return oc_avro_err(err, OC_ERR_DECODE, "resetting the reader value: ");
  return apply(plan, plan->root, src, dst, err);
}
