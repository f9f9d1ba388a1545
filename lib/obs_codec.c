/* obs_codec.c - the Observation record as Avro single-object messages; see
 * include/outcomes/obs_codec.h. */
#include "outcomes/obs_codec.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_internal.h"
#include "outcomes/date.h"
#include "outcomes/schema_registry.h"

#define MAX_VERSIONS 1000
/* Writer schemas known at most: the versions here and those a registry
 * gave. */
#define MAX_WRITERS 1024
#define PREFIX "observation.v"
#define SUFFIX ".avsc"

/* The grain symbols of the Avro enum, in oc_grain_t order. */
static const char *const grain_symbols[OC_GRAIN_COUNT] = {"DAY", "WEEK", "MONTH", "QUARTER",
                                                          "YEAR"};

/* A nullable field: a union of null and one other type. */
typedef struct opt_field_s {
  size_t index;
  int null_branch;
  int value_branch;
} opt_field_t;

/* What the encoder writes for each field of the writer schema, in order. */
typedef enum enc_kind_e {
  ENC_ORG,
  ENC_FACILITY,
  ENC_METRIC,
  ENC_GRAIN,
  ENC_PERIOD,
  ENC_VALUE,
  ENC_NUMERATOR,
  ENC_DENOMINATOR,
  ENC_SOURCE,
  ENC_OBSERVED,
  ENC_CONST, /* a field unknown to this build: its default, encoded once */
} enc_kind_t;

typedef struct enc_field_s {
  enc_kind_t kind;
  unsigned char *bytes; /* ENC_CONST: the encoded default (owned) */
  size_t len;
} enc_field_t;

struct oc_obs_codec_s {
  oc_registry_t *reg;
  uint64_t writer_fp;
  unsigned char hdr[OC_AVRO_HEADER_LEN]; /* the framing oc_obs_encode writes */
  size_t hdr_len;
  oc_obs_resolve_fn resolve; /* Confluent ids to fingerprints; may be NULL */
  void *resolve_arg;
  avro_value_t enc; /* value of the writer schema holding the defaults */
  bool has_enc;
  enc_field_t *plan; /* one per field of the writer schema */
  size_t n_plan;
  /* Field positions in the newest schema (both reader and writer). */
  size_t f_org, f_metric, f_grain, f_period, f_value, f_source, f_observed;
  opt_field_t f_facility, f_numerator, f_denominator;
  int grain_to_symbol[OC_GRAIN_COUNT]; /* -1: this schema lacks it */
  int *symbol_to_grain;                /* per enum symbol, -1: unknown */
};

typedef struct version_s {
  unsigned long v;
  char *path;
} version_t;

/* "observation.v<N>.avsc" with N a decimal without leading zeros. */
static bool parse_version(const char *name, unsigned long *v) {
  size_t n = strlen(name), plen = strlen(PREFIX), slen = strlen(SUFFIX);
  const char *d = name + plen;
  char *end;

  if (n <= plen + slen || strncmp(name, PREFIX, plen) != 0 || strcmp(name + n - slen, SUFFIX) != 0)
    return false;
  if (*d < '1' || *d > '9')
    return false;
  errno = 0;
  *v = strtoul(d, &end, 10);
  return errno == 0 && end == name + n - slen;
}

static int cmp_version(const void *a, const void *b) {
  const version_t *x = a, *y = b;
  return x->v < y->v ? -1 : x->v > y->v;
}

/* Every observation schema in dir, sorted by version. */
static int list_versions(const char *dir, version_t **out, size_t *count, oc_err_t *err) {
  DIR *d = opendir(dir);
  version_t *vs = NULL;
  size_t n = 0;
  struct dirent *e;
  int rc = 0;

  *out = NULL;
  *count = 0;
  if (!d)
    return oc_err_set(err, OC_ERR_IO, "open schema directory '%s': %s", dir, strerror(errno));
  vs = calloc(MAX_VERSIONS, sizeof(*vs));
  if (!vs) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "out of memory");
    goto out;
  }
  while ((e = readdir(d)) != NULL) {
    unsigned long v;
    size_t len;
    if (!parse_version(e->d_name, &v))
      continue;
    if (n == MAX_VERSIONS) {
      rc = oc_err_set(err, OC_ERR_LIMIT, "'%s': more than %d observation schemas", dir,
                      MAX_VERSIONS);
      goto out;
    }
    len = strlen(dir) + 1 + strlen(e->d_name) + 1;
    vs[n].path = malloc(len);
    if (!vs[n].path) {
      rc = oc_err_set(err, OC_ERR_NOMEM, "out of memory");
      goto out;
    }
    snprintf(vs[n].path, len, "%s/%s", dir, e->d_name);
    vs[n].v = v;
    n++;
  }
  if (n == 0) {
    rc = oc_err_set(err, OC_ERR_SCHEMA, "no " PREFIX "<N>" SUFFIX " in '%s'", dir);
    goto out;
  }
  qsort(vs, n, sizeof(*vs), cmp_version);
  *out = vs;
  *count = n;
  vs = NULL;
out:
  if (vs)
    for (size_t i = 0; i < n; i++)
      free(vs[i].path);
  free(vs);
  closedir(d);
  return rc;
}

static const char *type_word(avro_type_t t) {
  switch (t) {
  case AVRO_STRING: return "string";
  case AVRO_INT32: return "int";
  case AVRO_INT64: return "long";
  case AVRO_DOUBLE: return "double";
  case AVRO_ENUM: return "enum";
  case AVRO_UNION: return "union";
  default: return "other type";
  }
}

static int field_index(const oc_avro_node_t *root, const char *name, avro_type_t type,
                       size_t *index, oc_err_t *err) {
  for (size_t i = 0; i < root->n; i++)
    if (strcmp(root->names[i], name) == 0) {
      if (root->child[i]->type != type)
        return oc_err_set(err, OC_ERR_SCHEMA, "observation schema: field '%s' is a %s, expected %s",
                          name, avro_schema_type_name(root->child[i]->schema), type_word(type));
      *index = i;
      return 0;
    }
  return oc_err_set(err, OC_ERR_SCHEMA, "observation schema: no field '%s'", name);
}

static int opt_field(const oc_avro_node_t *root, const char *name, avro_type_t type, opt_field_t *f,
                     oc_err_t *err) {
  int rc = field_index(root, name, AVRO_UNION, &f->index, err);
  const oc_avro_node_t *u;
  if (rc != 0)
    return rc;
  u = root->child[f->index];
  f->null_branch = f->value_branch = -1;
  for (size_t b = 0; b < u->n; b++) {
    if (u->child[b]->type == AVRO_NULL && f->null_branch < 0)
      f->null_branch = (int)b;
    else if (u->child[b]->type == type && f->value_branch < 0)
      f->value_branch = (int)b;
  }
  if (u->n != 2 || f->null_branch < 0 || f->value_branch < 0)
    return oc_err_set(err, OC_ERR_SCHEMA, "observation schema: field '%s' is not a nullable %s",
                      name, type_word(type));
  return 0;
}

/* Where the fields of the record are, once. */
static int map_fields(oc_obs_codec_t *c, const oc_avro_node_t *root, oc_err_t *err) {
  const oc_avro_node_t *grain;
  int rc;

  if (root->type != AVRO_RECORD)
    return oc_err_set(err, OC_ERR_SCHEMA, "observation schema is not a record");
  if ((rc = field_index(root, "org_id", AVRO_STRING, &c->f_org, err)) != 0 ||
      (rc = opt_field(root, "facility_id", AVRO_STRING, &c->f_facility, err)) != 0 ||
      (rc = field_index(root, "metric", AVRO_STRING, &c->f_metric, err)) != 0 ||
      (rc = field_index(root, "grain", AVRO_ENUM, &c->f_grain, err)) != 0 ||
      (rc = field_index(root, "period_start", AVRO_INT32, &c->f_period, err)) != 0 ||
      (rc = field_index(root, "value", AVRO_DOUBLE, &c->f_value, err)) != 0 ||
      (rc = opt_field(root, "numerator", AVRO_DOUBLE, &c->f_numerator, err)) != 0 ||
      (rc = opt_field(root, "denominator", AVRO_DOUBLE, &c->f_denominator, err)) != 0 ||
      (rc = field_index(root, "source", AVRO_STRING, &c->f_source, err)) != 0 ||
      (rc = field_index(root, "observed_at", AVRO_INT64, &c->f_observed, err)) != 0)
    return rc;
  grain = root->child[c->f_grain];
  c->symbol_to_grain = calloc(grain->n ? grain->n : 1, sizeof(*c->symbol_to_grain));
  if (!c->symbol_to_grain)
    return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  for (int g = 0; g < OC_GRAIN_COUNT; g++)
    c->grain_to_symbol[g] = -1;
  for (size_t s = 0; s < grain->n; s++) {
    c->symbol_to_grain[s] = -1;
    for (int g = 0; g < OC_GRAIN_COUNT; g++)
      if (strcmp(grain->names[s], grain_symbols[g]) == 0) {
        c->symbol_to_grain[s] = g;
        c->grain_to_symbol[g] = (int)s;
      }
  }
  return 0;
}

/* Fields of a newer schema that this build does not know keep their
 * defaults in the reused encode value; without a default, the build cannot
 * write the schema. */
static int fill_unknown_fields(oc_obs_codec_t *c, const oc_avro_node_t *root, oc_err_t *err) {
  for (size_t i = 0; i < root->n; i++) {
    avro_value_t v;
    if (i == c->f_org || i == c->f_facility.index || i == c->f_metric || i == c->f_grain ||
        i == c->f_period || i == c->f_value || i == c->f_numerator.index ||
        i == c->f_denominator.index || i == c->f_source || i == c->f_observed)
      continue;
    if (!root->dflt[i].set)
      return oc_err_set(
          err, OC_ERR_SCHEMA,
          "observation schema: field '%s' is unknown to this build and has no default",
          root->names[i]);
    if (avro_value_get_by_index(&c->enc, i, &v, NULL) != 0 ||
        avro_value_copy_fast(&v, &root->dflt[i].value) != 0)
      return oc_avro_err(err, OC_ERR_SCHEMA, "observation schema: default of a field: ");
  }
  return 0;
}

/* The encode plan: each field of the writer schema in order, the unknown
 * ones as the bytes avro-c writes for their defaults (in the reused value
 * since fill_unknown_fields). oc_obs_encode then writes the Avro binary
 * encoding itself, with no avro-c value work per record. */
static int plan_fields(oc_obs_codec_t *c, const oc_avro_node_t *root, oc_err_t *err) {
  c->plan = calloc(root->n ? root->n : 1, sizeof(*c->plan));
  if (!c->plan)
    return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  c->n_plan = root->n;
  for (size_t i = 0; i < root->n; i++) {
    enc_field_t *f = &c->plan[i];
    avro_value_t v;
    avro_writer_t w;
    size_t size = 0;

    if (i == c->f_org)
      f->kind = ENC_ORG;
    else if (i == c->f_facility.index)
      f->kind = ENC_FACILITY;
    else if (i == c->f_metric)
      f->kind = ENC_METRIC;
    else if (i == c->f_grain)
      f->kind = ENC_GRAIN;
    else if (i == c->f_period)
      f->kind = ENC_PERIOD;
    else if (i == c->f_value)
      f->kind = ENC_VALUE;
    else if (i == c->f_numerator.index)
      f->kind = ENC_NUMERATOR;
    else if (i == c->f_denominator.index)
      f->kind = ENC_DENOMINATOR;
    else if (i == c->f_source)
      f->kind = ENC_SOURCE;
    else if (i == c->f_observed)
      f->kind = ENC_OBSERVED;
    else
      f->kind = ENC_CONST;
    if (f->kind != ENC_CONST)
      continue;
    if (avro_value_get_by_index(&c->enc, i, &v, NULL) != 0 || avro_value_sizeof(&v, &size) != 0)
      return oc_avro_err(err, OC_ERR_SCHEMA, "observation schema: default of a field: ");
    f->bytes = malloc(size ? size : 1);
    if (!f->bytes)
      return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
    f->len = size;
    w = avro_writer_memory((const char *)f->bytes, (int64_t)size);
    if (!w)
      return oc_avro_err(err, OC_ERR_NOMEM, "cannot make an avro writer: ");
    int rc = avro_value_write(w, &v);
    avro_writer_free(w);
    if (rc != 0)
      return oc_avro_err(err, OC_ERR_SCHEMA, "observation schema: default of a field: ");
  }
  return 0;
}

int oc_obs_codec_new(const char *schema_dir, oc_obs_codec_t **out, oc_err_t *err) {
  oc_obs_codec_t *c = NULL;
  version_t *vs = NULL;
  size_t n = 0;
  oc_schema_t *s = NULL;
  int rc;

  *out = NULL;
  if (!schema_dir)
    schema_dir = OC_DATADIR "/avro";
  if ((rc = list_versions(schema_dir, &vs, &n, err)) != 0)
    return rc;
  c = calloc(1, sizeof(*c));
  if (!c) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "out of memory");
    goto out;
  }
  if ((rc = oc_schema_load_file(vs[n - 1].path, &s, err)) != 0)
    goto out;
  c->writer_fp = oc_schema_fingerprint(s);
  c->hdr_len = OC_AVRO_HEADER_LEN;
  oc_avro_header_write(c->hdr, sizeof(c->hdr), c->writer_fp, NULL);
  rc = oc_registry_new(s, 0, &c->reg, err);
  s = NULL;
  if (rc != 0)
    goto out;
  for (size_t i = 0; i + 1 < n; i++) {
    if ((rc = oc_schema_load_file(vs[i].path, &s, err)) != 0)
      goto out;
    rc = oc_registry_add(c->reg, s, err);
    s = NULL;
    if (rc != 0) {
      if (err)
        oc_err_prefix(err, "'%s': ", vs[i].path);
      goto out;
    }
  }
  if ((rc = map_fields(c, oc_registry_reader(c->reg)->root, err)) != 0)
    goto out;
  if ((rc = oc_schema_new_value(oc_registry_reader(c->reg), &c->enc, err)) != 0)
    goto out;
  c->has_enc = true;
  if ((rc = fill_unknown_fields(c, oc_registry_reader(c->reg)->root, err)) != 0)
    goto out;
  if ((rc = plan_fields(c, oc_registry_reader(c->reg)->root, err)) != 0)
    goto out;
  *out = c;
  c = NULL;
out:
  for (size_t i = 0; i < n; i++)
    free(vs[i].path);
  free(vs);
  oc_obs_codec_destroy(c);
  return rc;
}

uint64_t oc_obs_codec_writer_fingerprint(const oc_obs_codec_t *c) { return c->writer_fp; }

char *oc_obs_codec_writer_json(const oc_obs_codec_t *c) {
  return oc_schema_json(oc_registry_reader(c->reg));
}

char *oc_obs_codec_schema_json(const oc_obs_codec_t *c, uint64_t fp) {
  const oc_schema_t *s = oc_registry_writer(c->reg, fp);
  return s ? oc_schema_json(s) : NULL;
}

size_t oc_obs_confluent_header(unsigned char *out, uint32_t id) {
  out[0] = OC_CONFLUENT_MAGIC;
  for (int i = 0; i < 4; i++)
    out[1 + i] = (unsigned char)(id >> (8 * (3 - i)));
  return OC_CONFLUENT_HEADER_LEN;
}

void oc_obs_codec_frame_confluent(oc_obs_codec_t *c, uint32_t id) {
  c->hdr_len = oc_obs_confluent_header(c->hdr, id);
}

void oc_obs_codec_set_resolver(oc_obs_codec_t *c, oc_obs_resolve_fn fn, void *arg) {
  c->resolve = fn;
  c->resolve_arg = arg;
}

int oc_obs_codec_add_writer(oc_obs_codec_t *c, const char *json, size_t len, uint64_t *fp,
                            oc_err_t *err) {
  oc_schema_t *s = NULL;
  int rc = oc_schema_parse(json, len, &s, err);
  if (rc != 0)
    return rc;
  *fp = oc_schema_fingerprint(s);
  if (oc_registry_writer(c->reg, *fp)) {
    oc_schema_destroy(s);
    return 0;
  }
  if (oc_registry_count(c->reg) >= MAX_WRITERS) {
    oc_schema_destroy(s);
    return oc_err_set(err, OC_ERR_LIMIT, "more than %d writer schemas", MAX_WRITERS);
  }
  return oc_registry_add(c->reg, s, err);
}

int oc_obs_frame_read(const void *buf, size_t len, oc_obs_frame_t *f, oc_err_t *err) {
  const unsigned char *p = buf;
  memset(f, 0, sizeof(*f));
  if (len > 0 && p[0] == OC_CONFLUENT_MAGIC) {
    if (len < OC_CONFLUENT_HEADER_LEN)
      return oc_err_set(err, OC_ERR_DECODE,
                        "message of %zu bytes is shorter than the %d-byte Confluent header", len,
                        OC_CONFLUENT_HEADER_LEN);
    f->format = OC_VALUE_CONFLUENT;
    f->schema_id = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
    f->header_len = OC_CONFLUENT_HEADER_LEN;
    return 0;
  }
  if (len >= 2 && p[0] == 0xc3 && p[1] != 0x01)
    return oc_err_set(err, OC_ERR_DECODE, "bad single-object marker %02X %02X (expected C3 01)",
                      p[0], p[1]);
  if (len > 0 && p[0] != 0xc3)
    return oc_err_set(err, OC_ERR_DECODE,
                      "bad framing byte %02X (expected C3 01, single-object, or 00, Confluent)",
                      p[0]);
  f->format = OC_VALUE_SINGLE_OBJECT;
  f->header_len = OC_AVRO_HEADER_LEN;
  return oc_avro_header_read(buf, len, &f->fingerprint, err);
}

void oc_obs_codec_destroy(oc_obs_codec_t *c) {
  if (!c)
    return;
  if (c->has_enc)
    avro_value_decref(&c->enc);
  oc_registry_destroy(c->reg);
  for (size_t i = 0; i < c->n_plan; i++)
    free(c->plan[i].bytes);
  free(c->plan);
  free(c->symbol_to_grain);
  free(c);
}

/* ---- Encode ---------------------------------------------------------- */

#define AVRO_TRY(call, what) \
  do { \
    if ((call) != 0) { \
      rc = oc_avro_err(err, OC_ERR_INTERNAL, what ": "); \
      goto out; \
    } \
  } while (0)

/* The Avro binary encoding, written straight into the caller's buffer:
 * long, int, enum and union branch as zig-zag varints, string as its length
 * then its bytes, double as 8 bytes little-endian, null as nothing. The
 * bytes are those avro-c writes for the same value
 * (tests/unit/test_obs_codec.c compares them). */
typedef struct out_s {
  unsigned char *p, *end;
  bool full; /* something did not fit; p stops moving */
} out_t;

static void put_varint(out_t *o, int64_t v) {
  uint64_t z = ((uint64_t)v << 1) ^ (0 - (uint64_t)(v < 0)); /* zig-zag */
  unsigned char *p = o->p;

  if (o->full || o->end - p < 10) { /* near the end: count the bytes first */
    for (uint64_t t = z >> 7; t; t >>= 7)
      p++;
    if (o->full || p >= o->end) {
      o->full = true;
      return;
    }
    p = o->p;
  }
  while (z > 0x7f) {
    *p++ = (unsigned char)(z | 0x80);
    z >>= 7;
  }
  *p++ = (unsigned char)z;
  o->p = p;
}

static void put_bytes(out_t *o, const void *s, size_t n) {
  if (o->full || (size_t)(o->end - o->p) < n) {
    o->full = true;
    return;
  }
  memcpy(o->p, s, n);
  o->p += n;
}

static void put_str(out_t *o, const char *s, size_t n) {
  put_varint(o, (int64_t)n);
  put_bytes(o, s, n);
}

static void put_double(out_t *o, double d) {
  unsigned char b[8];
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  memcpy(b, &d, sizeof(b));
#else
  uint64_t u;
  memcpy(&u, &d, sizeof(u));
  for (int i = 0; i < 8; i++)
    b[i] = (unsigned char)(u >> (8 * i));
#endif
  put_bytes(o, b, sizeof(b));
}

static void put_opt_double(out_t *o, const opt_field_t *f, bool present, double d) {
  put_varint(o, present ? f->value_branch : f->null_branch);
  if (present)
    put_double(o, d);
}

/* Length of a string field, refused when it has no NUL within max + 1. */
static int str_len(const char *field, const char *s, size_t max, size_t *n, oc_err_t *err) {
  *n = strnlen(s, max + 1);
  if (*n > max)
    return oc_err_set(err, OC_ERR_BAD_FIELD, "%s: longer than %zu bytes", field, max);
  return 0;
}

int oc_obs_encode(oc_obs_codec_t *c, const oc_observation_t *obs, void *buf, size_t cap,
                  size_t *len_out, oc_err_t *err) {
  const oc_fact_id_t *id = &obs->id;
  unsigned char *p = buf;
  size_t org_n, met_n, src_n, fac_n;
  out_t o;
  int rc;

  *len_out = 0;
  if ((int)id->grain < 0 || (int)id->grain >= OC_GRAIN_COUNT || c->grain_to_symbol[id->grain] < 0)
    return oc_err_set(err, OC_ERR_BAD_FIELD, "grain: %d is not a grain of the schema",
                      (int)id->grain);
  if (id->period_start < OC_DATE_MIN || id->period_start > OC_DATE_MAX)
    return oc_err_set(err, OC_ERR_BAD_FIELD,
                      "period_start: %" PRId32 " days outside 0001-01-01..9999-12-31",
                      id->period_start);
  fac_n = strnlen(id->facility_id, OC_ID_MAX + 1);
  if (fac_n > OC_ID_MAX)
    return oc_err_set(err, OC_ERR_BAD_FIELD, "facility_id: longer than %d bytes", OC_ID_MAX);
  if ((rc = str_len("org_id", id->org_id, OC_ID_MAX, &org_n, err)) != 0 ||
      (rc = str_len("metric", id->metric, OC_METRIC_CODE_MAX, &met_n, err)) != 0 ||
      (rc = str_len("source", obs->source, OC_ID_MAX, &src_n, err)) != 0)
    return rc;
  o.p = p;
  o.end = p + cap;
  o.full = false;
  put_bytes(&o, c->hdr, c->hdr_len);
  for (size_t i = 0; i < c->n_plan && !o.full; i++) {
    const enc_field_t *f = &c->plan[i];
    switch (f->kind) {
    case ENC_ORG: put_str(&o, id->org_id, org_n); break;
    case ENC_FACILITY:
      put_varint(&o, fac_n ? c->f_facility.value_branch : c->f_facility.null_branch);
      if (fac_n)
        put_str(&o, id->facility_id, fac_n);
      break;
    case ENC_METRIC: put_str(&o, id->metric, met_n); break;
    case ENC_GRAIN: put_varint(&o, c->grain_to_symbol[id->grain]); break;
    case ENC_PERIOD: put_varint(&o, id->period_start); break;
    case ENC_VALUE: put_double(&o, obs->value); break;
    case ENC_NUMERATOR:
      put_opt_double(&o, &c->f_numerator, obs->has_numerator, obs->numerator);
      break;
    case ENC_DENOMINATOR:
      put_opt_double(&o, &c->f_denominator, obs->has_denominator, obs->denominator);
      break;
    case ENC_SOURCE: put_str(&o, obs->source, src_n); break;
    case ENC_OBSERVED: put_varint(&o, obs->observed_at); break;
    case ENC_CONST: put_bytes(&o, f->bytes, f->len); break;
    }
  }
  if (o.full)
    return oc_err_set(err, OC_ERR_LIMIT, "encoded message does not fit in %zu bytes", cap);
  *len_out = (size_t)(o.p - p);
  if (*len_out > OC_AVRO_MAX_MESSAGE_DEFAULT)
    return oc_err_set(err, OC_ERR_LIMIT, "encoded message of %zu bytes exceeds the limit of %zu",
                      *len_out, OC_AVRO_MAX_MESSAGE_DEFAULT);
  return 0;
}

/* ---- Decode ---------------------------------------------------------- */

static int get_string(avro_value_t *v, const char *field, char *dst, size_t max, bool nonempty,
                      oc_err_t *err) {
  const char *s;
  size_t size, n;
  if (avro_value_get_string(v, &s, &size) != 0)
    return oc_avro_err(err, OC_ERR_DECODE, field);
  n = size ? size - 1 : 0;
  if (n > max)
    return oc_err_set(err, OC_ERR_BAD_FIELD, "%s: %zu bytes, longer than %zu", field, n, max);
  if (memchr(s, '\0', n))
    return oc_err_set(err, OC_ERR_BAD_FIELD, "%s: embedded NUL byte at %zu", field,
                      (size_t)((const char *)memchr(s, '\0', n) - s));
  if (nonempty && n == 0)
    return oc_err_set(err, OC_ERR_BAD_FIELD, "%s: empty string (null means absent)", field);
  memcpy(dst, s, n);
  dst[n] = '\0';
  return 0;
}

static int get_field_string(avro_value_t *rec, size_t index, const char *field, char *dst,
                            size_t max, oc_err_t *err) {
  avro_value_t v;
  if (avro_value_get_by_index(rec, index, &v, NULL) != 0)
    return oc_avro_err(err, OC_ERR_DECODE, field);
  return get_string(&v, field, dst, max, false, err);
}

/* A nullable field: *present tells which branch; value into d or s. */
static int get_optional(avro_value_t *rec, const opt_field_t *f, const char *field, bool *present,
                        double *d, char *s, oc_err_t *err) {
  avro_value_t v, b;
  int disc;
  if (avro_value_get_by_index(rec, f->index, &v, NULL) != 0 ||
      avro_value_get_discriminant(&v, &disc) != 0)
    return oc_avro_err(err, OC_ERR_DECODE, field);
  *present = disc == f->value_branch;
  if (!*present)
    return 0;
  if (avro_value_get_current_branch(&v, &b) != 0)
    return oc_avro_err(err, OC_ERR_DECODE, field);
  if (s)
    return get_string(&b, field, s, OC_ID_MAX, true, err);
  if (avro_value_get_double(&b, d) != 0)
    return oc_avro_err(err, OC_ERR_DECODE, field);
  return 0;
}

/* Either framing into a value of the reader schema (borrowed). */
static int decode_value(oc_obs_codec_t *c, const void *buf, size_t len, avro_value_t **rec,
                        oc_err_t *err) {
  oc_obs_frame_t f;
  int rc;

  if (len > OC_AVRO_MAX_MESSAGE_DEFAULT)
    return oc_err_set(err, OC_ERR_DECODE, "message of %zu bytes exceeds the limit of %zu", len,
                      OC_AVRO_MAX_MESSAGE_DEFAULT);
  if ((rc = oc_obs_frame_read(buf, len, &f, err)) != 0)
    return rc;
  if (f.format == OC_VALUE_CONFLUENT) {
    if (!c->resolve)
      return oc_err_set(err, OC_ERR_UNKNOWN_SCHEMA,
                        "schema id %" PRIu32 " (Confluent framing): no schema.registry.url is set",
                        f.schema_id);
    if ((rc = c->resolve(c->resolve_arg, f.schema_id, &f.fingerprint, err)) != 0)
      return rc;
  }
  return oc_registry_decode_body(c->reg, f.fingerprint, (const unsigned char *)buf + f.header_len,
                                 len - f.header_len, rec, err);
}

int oc_obs_decode(oc_obs_codec_t *c, const void *buf, size_t len, oc_observation_t *out,
                  oc_err_t *err) {
  avro_value_t *rec = NULL, v;
  bool present;
  int rc, sym;

  memset(out, 0, sizeof(*out));
  if ((rc = decode_value(c, buf, len, &rec, err)) != 0)
    return rc;
  if ((rc = get_field_string(rec, c->f_org, "org_id", out->id.org_id, OC_ID_MAX, err)) != 0 ||
      (rc = get_optional(rec, &c->f_facility, "facility_id", &present, NULL, out->id.facility_id,
                         err)) != 0 ||
      (rc = get_field_string(rec, c->f_metric, "metric", out->id.metric, OC_METRIC_CODE_MAX,
                             err)) != 0 ||
      (rc = get_optional(rec, &c->f_numerator, "numerator", &out->has_numerator, &out->numerator,
                         NULL, err)) != 0 ||
      (rc = get_optional(rec, &c->f_denominator, "denominator", &out->has_denominator,
                         &out->denominator, NULL, err)) != 0 ||
      (rc = get_field_string(rec, c->f_source, "source", out->source, OC_ID_MAX, err)) != 0)
    goto out;
  AVRO_TRY(avro_value_get_by_index(rec, c->f_grain, &v, NULL), "grain");
  AVRO_TRY(avro_value_get_enum(&v, &sym), "grain");
  if (sym < 0 || c->symbol_to_grain[sym] < 0) {
    rc = oc_err_set(err, OC_ERR_BAD_FIELD, "grain: symbol %d is not a grain this build knows", sym);
    goto out;
  }
  out->id.grain = (oc_grain_t)c->symbol_to_grain[sym];
  AVRO_TRY(avro_value_get_by_index(rec, c->f_period, &v, NULL), "period_start");
  AVRO_TRY(avro_value_get_int(&v, &out->id.period_start), "period_start");
  if (out->id.period_start < OC_DATE_MIN || out->id.period_start > OC_DATE_MAX) {
    rc = oc_err_set(err, OC_ERR_BAD_FIELD,
                    "period_start: %" PRId32 " days outside 0001-01-01..9999-12-31",
                    out->id.period_start);
    goto out;
  }
  AVRO_TRY(avro_value_get_by_index(rec, c->f_value, &v, NULL), "value");
  AVRO_TRY(avro_value_get_double(&v, &out->value), "value");
  AVRO_TRY(avro_value_get_by_index(rec, c->f_observed, &v, NULL), "observed_at");
  AVRO_TRY(avro_value_get_long(&v, &out->observed_at), "observed_at");
out:
  if (rc != 0)
    memset(out, 0, sizeof(*out));
  return rc;
}
