/* avro_schema.c - oc_schema_t: a schema's JSON, Parsing Canonical Form,
 * fingerprint, avro-c schema, and its compiled node tree with field
 * defaults; see include/outcomes/avro.h and avro_internal.h. */
#include "avro_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes/buf.h"

#define SCHEMA_FILE_MAX ((size_t)1 << 20)

int oc_avro_err(oc_err_t *err, int code, const char *context) {
  const char *msg = avro_strerror();
  return oc_err_set(err, code, "%s%s", context, msg && *msg ? msg : "(no avro-c message)");
}

static int add_node(oc_schema_t *s, oc_avro_node_t *n, oc_err_t *err) {
  if (s->n_nodes == s->cap_nodes) {
    size_t cap = s->cap_nodes ? s->cap_nodes * 2 : 32;
    oc_avro_node_t **nodes = realloc(s->nodes, cap * sizeof(*nodes));
    if (!nodes)
      return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
    s->nodes = nodes;
    s->cap_nodes = cap;
  }
  s->nodes[s->n_nodes++] = n;
  return 0;
}

static bool is_named(avro_schema_t a) {
  return is_avro_record(a) || is_avro_enum(a) || is_avro_fixed(a);
}

/* Build the node for avro schema a, whose JSON text is j (NULL when only a
 * reference was written there, which is fine: defaults were seen at the
 * definition). JSON and avro-c list fields and branches in the same order. */
static int compile(oc_schema_t *s, avro_schema_t a, const json_t *j, int depth,
                   oc_avro_node_t **out, oc_err_t *err) {
  oc_avro_node_t *n = NULL;
  int rc;

  while (is_avro_link(a))
    a = avro_schema_link_target(a);
  if (depth > OC_AVRO_MAX_DEPTH)
    return oc_err_set(err, OC_ERR_SCHEMA, "schema nested deeper than %d levels", OC_AVRO_MAX_DEPTH);
  if (is_named(a))
    for (size_t i = 0; i < s->n_nodes; i++)
      if (s->nodes[i]->schema == a) {
        *out = s->nodes[i];
        return 0;
      }
  if (json_is_string(j))
    j = NULL;
  n = calloc(1, sizeof(*n));
  if (!n)
    return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  if ((rc = add_node(s, n, err)) != 0) {
    free(n);
    return rc;
  }
  *out = n;
  n->type = avro_typeof(a);
  n->schema = a;
  n->enum_default = -1;
  if (is_named(a))
    n->name = avro_schema_name(a);

  switch (n->type) {
  case AVRO_RECORD: {
    const json_t *jfields = json_is_object(j) ? json_object_get(j, "fields") : NULL;
    n->n = avro_schema_record_size(a);
    n->child = calloc(n->n ? n->n : 1, sizeof(*n->child));
    n->names = calloc(n->n ? n->n : 1, sizeof(*n->names));
    n->dflt = calloc(n->n ? n->n : 1, sizeof(*n->dflt));
    if (!n->child || !n->names || !n->dflt)
      return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n->n; i++) {
      const json_t *jf = json_array_get(jfields, i);
      n->names[i] = avro_schema_record_field_name(a, (int)i);
      if (!n->names[i])
        return oc_err_set(err, OC_ERR_INTERNAL, "record '%s' field %zu has no name", n->name, i);
      if (jf && (!json_is_string(json_object_get(jf, "name")) ||
                 strcmp(json_string_value(json_object_get(jf, "name")), n->names[i]) != 0))
        jf = NULL;
      if (jf)
        n->dflt[i].json = json_object_get(jf, "default");
      rc = compile(s, avro_schema_record_field_get_by_index(a, (int)i),
                   jf ? json_object_get(jf, "type") : NULL, depth + 1, &n->child[i], err);
      if (rc != 0)
        return rc;
    }
    break;
  }
  case AVRO_ENUM: {
    const json_t *jd = json_is_object(j) ? json_object_get(j, "default") : NULL;
    int count = avro_schema_enum_number_of_symbols(a);
    n->n = count > 0 ? (size_t)count : 0;
    n->names = calloc(n->n ? n->n : 1, sizeof(*n->names));
    if (!n->names)
      return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n->n; i++) {
      n->names[i] = avro_schema_enum_get(a, (int)i);
      if (json_is_string(jd) && strcmp(json_string_value(jd), n->names[i]) == 0)
        n->enum_default = (int)i;
    }
    if (jd && n->enum_default < 0)
      return oc_err_set(err, OC_ERR_SCHEMA, "enum '%s': default is not one of its symbols",
                        n->name);
    break;
  }
  case AVRO_FIXED: n->n = (size_t)avro_schema_fixed_size(a); break;
  case AVRO_ARRAY:
  case AVRO_MAP:
    n->n = 1;
    n->child = calloc(1, sizeof(*n->child));
    if (!n->child)
      return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
    return compile(
        s, n->type == AVRO_ARRAY ? avro_schema_array_items(a) : avro_schema_map_values(a),
        json_is_object(j) ? json_object_get(j, n->type == AVRO_ARRAY ? "items" : "values") : NULL,
        depth + 1, &n->child[0], err);
  case AVRO_UNION:
    n->n = avro_schema_union_size(a);
    n->child = calloc(n->n ? n->n : 1, sizeof(*n->child));
    if (!n->child)
      return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n->n; i++) {
      rc = compile(s, avro_schema_union_branch(a, (int)i),
                   json_is_array(j) ? json_array_get(j, i) : NULL, depth + 1, &n->child[i], err);
      if (rc != 0)
        return rc;
    }
    break;
  default: break;
  }
  return 0;
}

/* Which types can be encoded in zero bytes: a least fixed point. */
static void mark_zero_width(oc_schema_t *s) {
  bool changed = true;
  while (changed) {
    changed = false;
    for (size_t i = 0; i < s->n_nodes; i++) {
      oc_avro_node_t *n = s->nodes[i];
      bool zw = false;
      if (n->zero_width)
        continue;
      if (n->type == AVRO_NULL || (n->type == AVRO_FIXED && n->n == 0)) {
        zw = true;
      } else if (n->type == AVRO_RECORD) {
        zw = true;
        for (size_t k = 0; k < n->n; k++)
          zw = zw && n->child[k]->zero_width;
      }
      if (zw) {
        n->zero_width = true;
        changed = true;
      }
    }
  }
}

/* JSON string of code points 0..255 into bytes (the Avro rule for bytes and
 * fixed defaults). *out is malloc'd. */
static int latin1_bytes(const json_t *j, unsigned char **out, size_t *len) {
  const unsigned char *p = (const unsigned char *)json_string_value(j);
  size_t n = json_string_length(j), k = 0;
  unsigned char *b = malloc(n ? n : 1);
  if (!b)
    return -1;
  for (size_t i = 0; i < n;) {
    if (p[i] < 0x80) {
      b[k++] = p[i++];
    } else if ((p[i] & 0xe0) == 0xc0 && i + 1 < n && p[i] <= 0xc3) {
      b[k++] = (unsigned char)(((p[i] & 0x03) << 6) | (p[i + 1] & 0x3f));
      i += 2;
    } else {
      free(b);
      return -1;
    }
  }
  *out = b;
  *len = k;
  return 0;
}

static int value_from_json(const oc_avro_node_t *n, const json_t *j, avro_value_t *v, int depth,
                           const char *where, oc_err_t *err) {
  int rc = 0;
  if (depth > OC_AVRO_MAX_DEPTH)
    return oc_err_set(err, OC_ERR_SCHEMA, "%s: default nested too deeply", where);
  switch (n->type) {
  case AVRO_NULL:
    if (json_is_null(j))
      return avro_value_set_null(v) ? oc_avro_err(err, OC_ERR_SCHEMA, where) : 0;
    break;
  case AVRO_BOOLEAN:
    if (json_is_boolean(j))
      return avro_value_set_boolean(v, json_is_true(j)) ? oc_avro_err(err, OC_ERR_SCHEMA, where)
                                                        : 0;
    break;
  case AVRO_INT32:
    if (json_is_integer(j) && json_integer_value(j) >= INT32_MIN &&
        json_integer_value(j) <= INT32_MAX)
      return avro_value_set_int(v, (int32_t)json_integer_value(j))
                 ? oc_avro_err(err, OC_ERR_SCHEMA, where)
                 : 0;
    break;
  case AVRO_INT64:
    if (json_is_integer(j))
      return avro_value_set_long(v, json_integer_value(j)) ? oc_avro_err(err, OC_ERR_SCHEMA, where)
                                                           : 0;
    break;
  case AVRO_FLOAT:
    if (json_is_number(j))
      return avro_value_set_float(v, (float)json_number_value(j))
                 ? oc_avro_err(err, OC_ERR_SCHEMA, where)
                 : 0;
    break;
  case AVRO_DOUBLE:
    if (json_is_number(j))
      return avro_value_set_double(v, json_number_value(j)) ? oc_avro_err(err, OC_ERR_SCHEMA, where)
                                                            : 0;
    break;
  case AVRO_STRING:
    if (json_is_string(j))
      return avro_value_set_string_len(v, json_string_value(j), json_string_length(j) + 1)
                 ? oc_avro_err(err, OC_ERR_SCHEMA, where)
                 : 0;
    break;
  case AVRO_BYTES:
  case AVRO_FIXED: {
    unsigned char *b = NULL;
    size_t len = 0;
    if (!json_is_string(j))
      break;
    if (latin1_bytes(j, &b, &len) != 0)
      return oc_err_set(err, OC_ERR_SCHEMA, "%s: default has a character above U+00FF", where);
    if (n->type == AVRO_FIXED && len != n->n)
      rc = oc_err_set(err, OC_ERR_SCHEMA, "%s: default has %zu bytes, fixed '%s' has %zu", where,
                      len, n->name, n->n);
    else if ((n->type == AVRO_BYTES ? avro_value_set_bytes(v, b, len)
                                    : avro_value_set_fixed(v, b, len)) != 0)
      rc = oc_avro_err(err, OC_ERR_SCHEMA, where);
    free(b);
    return rc;
  }
  case AVRO_ENUM:
    if (json_is_string(j))
      for (size_t i = 0; i < n->n; i++)
        if (strcmp(n->names[i], json_string_value(j)) == 0)
          return avro_value_set_enum(v, (int)i) ? oc_avro_err(err, OC_ERR_SCHEMA, where) : 0;
    break;
  case AVRO_ARRAY:
    if (!json_is_array(j))
      break;
    for (size_t i = 0; i < json_array_size(j) && rc == 0; i++) {
      avro_value_t child;
      if (avro_value_append(v, &child, NULL) != 0)
        return oc_avro_err(err, OC_ERR_SCHEMA, where);
      rc = value_from_json(n->child[0], json_array_get(j, i), &child, depth + 1, where, err);
    }
    return rc;
  case AVRO_MAP: {
    const char *key;
    json_t *jv;
    if (!json_is_object(j))
      break;
    json_object_foreach((json_t *)(uintptr_t)j, key, jv) {
      avro_value_t child;
      if (avro_value_add(v, key, &child, NULL, NULL) != 0)
        return oc_avro_err(err, OC_ERR_SCHEMA, where);
      if ((rc = value_from_json(n->child[0], jv, &child, depth + 1, where, err)) != 0)
        return rc;
    }
    return 0;
  }
  case AVRO_RECORD:
    if (!json_is_object(j))
      break;
    for (size_t i = 0; i < n->n; i++) {
      const json_t *jv = json_object_get(j, n->names[i]);
      avro_value_t child;
      if (!jv)
        jv = n->dflt[i].json;
      if (!jv)
        return oc_err_set(err, OC_ERR_SCHEMA, "%s: default lacks field '%s' of record '%s'", where,
                          n->names[i], n->name);
      if (avro_value_get_by_index(v, i, &child, NULL) != 0)
        return oc_avro_err(err, OC_ERR_SCHEMA, where);
      if ((rc = value_from_json(n->child[i], jv, &child, depth + 1, where, err)) != 0)
        return rc;
    }
    return 0;
  case AVRO_UNION:
    /* The spec says the first branch; accept any, first match wins. */
    for (size_t i = 0; i < n->n; i++) {
      avro_value_t branch;
      oc_err_t ignored;
      if (avro_value_set_branch(v, (int)i, &branch) != 0)
        return oc_avro_err(err, OC_ERR_SCHEMA, where);
      if (value_from_json(n->child[i], j, &branch, depth + 1, where, &ignored) == 0)
        return 0;
    }
    break;
  default: break;
  }
  return oc_err_set(err, OC_ERR_SCHEMA, "%s: default does not match type %s", where,
                    avro_schema_type_name(n->schema));
}

/* Turn every field default into an avro value, once. */
static int build_defaults(oc_schema_t *s, oc_err_t *err) {
  for (size_t i = 0; i < s->n_nodes; i++) {
    oc_avro_node_t *n = s->nodes[i];
    if (n->type != AVRO_RECORD)
      continue;
    for (size_t f = 0; f < n->n; f++) {
      oc_avro_dflt_t *d = &n->dflt[f];
      char where[512];
      int rc;
      if (!d->json)
        continue;
      snprintf(where, sizeof(where), "record '%s' field '%s'", n->name, n->names[f]);
      d->iface = avro_generic_class_from_schema(n->child[f]->schema);
      if (!d->iface)
        return oc_avro_err(err, OC_ERR_SCHEMA, where);
      if (avro_generic_value_new(d->iface, &d->value) != 0) {
        avro_value_iface_decref(d->iface);
        d->iface = NULL;
        return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
      }
      d->set = true;
      if ((rc = value_from_json(n->child[f], d->json, &d->value, 0, where, err)) != 0)
        return rc;
    }
  }
  return 0;
}

int oc_schema_parse(const char *json, size_t len, oc_schema_t **out, oc_err_t *err) {
  oc_schema_t *s = NULL;
  json_error_t jerr;
  int rc = 0;

  *out = NULL;
  s = calloc(1, sizeof(*s));
  if (!s)
    return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  s->json = json_loadb(json, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
  if (!s->json) {
    rc = oc_err_set(err, OC_ERR_SCHEMA, "invalid JSON at line %d column %d: %s", jerr.line,
                    jerr.column, jerr.text);
    goto out;
  }
  if ((rc = oc_avro_pcf_from_json(s->json, &s->pcf, &s->pcf_len, err)) != 0)
    goto out;
  s->fp = oc_avro_crc64(s->pcf, s->pcf_len);
  if (avro_schema_from_json_length(json, len, &s->avro) != 0) {
    s->avro = NULL;
    rc = oc_avro_err(err, OC_ERR_SCHEMA, "avro-c refused the schema: ");
    goto out;
  }
  s->iface = avro_generic_class_from_schema(s->avro);
  if (!s->iface) {
    rc = oc_avro_err(err, OC_ERR_SCHEMA, "avro-c cannot make values of the schema: ");
    goto out;
  }
  if ((rc = compile(s, s->avro, s->json, 0, &s->root, err)) != 0)
    goto out;
  mark_zero_width(s);
  if ((rc = build_defaults(s, err)) != 0)
    goto out;
  *out = s;
  s = NULL;
out:
  oc_schema_destroy(s);
  return rc;
}

int oc_schema_load_file(const char *path, oc_schema_t **out, oc_err_t *err) {
  oc_buf_t text;
  int rc;

  *out = NULL;
  oc_buf_init(&text, SCHEMA_FILE_MAX);
  rc = oc_buf_read_file(&text, path, err);
  if (rc == OC_ERR_LIMIT)
    rc = oc_err_set(err, OC_ERR_LIMIT, "'%s': schema file larger than %zu bytes", path,
                    SCHEMA_FILE_MAX);
  if (rc == 0 && (rc = oc_schema_parse(text.p, text.len, out, err)) != 0 && err)
    oc_err_prefix(err, "'%s': ", path);
  oc_buf_release(&text);
  return rc;
}

const char *oc_schema_canonical(const oc_schema_t *s) { return s->pcf; }

char *oc_schema_json(const oc_schema_t *s) {
  return json_dumps(s->json, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
}

uint64_t oc_schema_fingerprint(const oc_schema_t *s) { return s->fp; }

avro_schema_t oc_schema_avro(const oc_schema_t *s) { return s->avro; }

int oc_schema_new_value(const oc_schema_t *s, avro_value_t *out, oc_err_t *err) {
  if (avro_generic_value_new(s->iface, out) != 0)
    return oc_avro_err(err, OC_ERR_NOMEM, "cannot make a value: ");
  return 0;
}

void oc_schema_destroy(oc_schema_t *s) {
  if (!s)
    return;
  for (size_t i = 0; i < s->n_nodes; i++) {
    oc_avro_node_t *n = s->nodes[i];
    if (n->dflt)
      for (size_t f = 0; f < n->n; f++)
        if (n->dflt[f].set) {
          avro_value_decref(&n->dflt[f].value);
          avro_value_iface_decref(n->dflt[f].iface);
        }
    free(n->dflt);
    free(n->child);
    free(n->names);
    free(n);
  }
  free(s->nodes);
  if (s->iface)
    avro_value_iface_decref(s->iface);
  if (s->avro)
    avro_schema_decref(s->avro);
  json_decref(s->json);
  free(s->pcf);
  free(s);
}
