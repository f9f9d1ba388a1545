/* avro_codec.c - single-object encoding (C3 01, little-endian CRC-64-AVRO
 * fingerprint, body) and the registry of writer schemas; see
 * include/outcomes/avro.h. */
#include "avro_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry_s {
  oc_schema_t *schema;
  avro_value_t value; /* reused: what the body decodes into */
  bool has_value;
  oc_avro_plan_t *plan; /* onto the reader; NULL for the reader itself */
} entry_t;

struct oc_registry_s {
  size_t max_message;
  entry_t *entries; /* entries[0] is the reader */
  size_t n;
  size_t cap;
  avro_reader_t areader;
  avro_writer_t awriter;
};

int oc_avro_header_write(void *buf, size_t cap, uint64_t fingerprint, oc_err_t *err) {
  unsigned char *p = buf;
  if (cap < OC_AVRO_HEADER_LEN)
    return oc_err_set(err, OC_ERR_LIMIT, "buffer of %zu bytes cannot hold the %d-byte header", cap,
                      OC_AVRO_HEADER_LEN);
  p[0] = 0xc3;
  p[1] = 0x01;
  for (int i = 0; i < 8; i++)
    p[2 + i] = (unsigned char)(fingerprint >> (8 * i));
  return 0;
}

int oc_avro_header_read(const void *buf, size_t len, uint64_t *fingerprint, oc_err_t *err) {
  const unsigned char *p = buf;
  uint64_t fp = 0;

  if (len < OC_AVRO_HEADER_LEN)
    return oc_err_set(err, OC_ERR_DECODE,
                      "message of %zu bytes is shorter than the %d-byte single-object header", len,
                      OC_AVRO_HEADER_LEN);
  if (p[0] != 0xc3 || p[1] != 0x01)
    return oc_err_set(err, OC_ERR_DECODE, "bad single-object marker %02X %02X (expected C3 01)",
                      p[0], p[1]);
  for (int i = 7; i >= 0; i--)
    fp = (fp << 8) | p[2 + i];
  *fingerprint = fp;
  return 0;
}

static bool value_has_schema(avro_value_t *value, const oc_schema_t *s) {
  avro_schema_t vs = avro_value_get_schema(value);
  return vs == s->avro || (vs && avro_schema_equal(vs, s->avro));
}

static int encode_with(avro_writer_t aw, const oc_schema_t *writer, avro_value_t *value, void *buf,
                       size_t cap, size_t max, size_t *len_out, oc_err_t *err) {
  unsigned char *p = buf;
  int rc;

  *len_out = 0;
  if (!value_has_schema(value, writer))
    return oc_err_set(err, OC_ERR_USAGE, "value to encode is not of the writer schema %016" PRIx64,
                      writer->fp);
  if ((rc = oc_avro_header_write(p, cap, writer->fp, err)) != 0)
    return rc;
  avro_writer_memory_set_dest(aw, (const char *)p + OC_AVRO_HEADER_LEN,
                              (int64_t)(cap - OC_AVRO_HEADER_LEN));
  rc = avro_value_write(aw, value);
  if (rc == ENOSPC)
    return oc_err_set(err, OC_ERR_LIMIT, "encoded message does not fit in %zu bytes", cap);
  if (rc != 0)
    return oc_avro_err(err, OC_ERR_SCHEMA, "avro-c cannot encode the value: ");
  *len_out = OC_AVRO_HEADER_LEN + (size_t)avro_writer_tell(aw);
  if (*len_out > max)
    return oc_err_set(err, OC_ERR_LIMIT, "encoded message of %zu bytes exceeds the limit of %zu",
                      *len_out, max);
  return 0;
}

int oc_avro_encode(const oc_schema_t *writer, avro_value_t *value, void *buf, size_t cap,
                   size_t *len_out, oc_err_t *err) {
  avro_writer_t aw = avro_writer_memory("", 0);
  int rc;

  if (!aw)
    return oc_avro_err(err, OC_ERR_NOMEM, "cannot make an avro writer: ");
  rc = encode_with(aw, writer, value, buf, cap, SIZE_MAX, len_out, err);
  avro_writer_free(aw);
  return rc;
}

/* Validate the body, then let avro-c read it into dest. */
static int read_body(avro_reader_t ar, const oc_schema_t *writer, const unsigned char *body,
                     size_t len, avro_value_t *dest, oc_err_t *err) {
  int rc = oc_avro_validate(writer->root, body, len, err);
  if (rc != 0)
    return rc;
  avro_reader_memory_set_source(ar, (const char *)body, (int64_t)len);
  if (avro_value_read(ar, dest) != 0)
    return oc_avro_err(err, OC_ERR_DECODE, "avro-c cannot decode the body: ");
  return 0;
}

int oc_avro_decode(const oc_schema_t *writer, const void *buf, size_t len, avro_value_t *dest,
                   oc_err_t *err) {
  avro_reader_t ar = NULL;
  uint64_t fp;
  int rc;

  if ((rc = oc_avro_header_read(buf, len, &fp, err)) != 0)
    return rc;
  if (fp != writer->fp)
    return oc_err_set(err, OC_ERR_UNKNOWN_SCHEMA,
                      "message fingerprint %016" PRIx64 " is not the writer schema's %016" PRIx64,
                      fp, writer->fp);
  if (!value_has_schema(dest, writer))
    return oc_err_set(err, OC_ERR_USAGE, "destination value is not of the writer schema");
  ar = avro_reader_memory("", 0);
  if (!ar)
    return oc_avro_err(err, OC_ERR_NOMEM, "cannot make an avro reader: ");
  rc = read_body(ar, writer, (const unsigned char *)buf + OC_AVRO_HEADER_LEN,
                 len - OC_AVRO_HEADER_LEN, dest, err);
  avro_reader_free(ar);
  return rc;
}

/* ---- Registry -------------------------------------------------------- */

static entry_t *find(const oc_registry_t *reg, uint64_t fp) {
  for (size_t i = 0; i < reg->n; i++)
    if (reg->entries[i].schema->fp == fp)
      return &reg->entries[i];
  return NULL;
}

/* Append an entry for s (taken over, even on failure). */
static int add_entry(oc_registry_t *reg, oc_schema_t *s, oc_avro_plan_t *plan, oc_err_t *err) {
  entry_t *e;
  int rc;

  if (reg->n == reg->cap) {
    size_t cap = reg->cap ? reg->cap * 2 : 4;
    entry_t *entries = realloc(reg->entries, cap * sizeof(*entries));
    if (!entries) {
      oc_avro_plan_destroy(plan);
      oc_schema_destroy(s);
      return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
    }
    reg->entries = entries;
    reg->cap = cap;
  }
  e = &reg->entries[reg->n];
  memset(e, 0, sizeof(*e));
  if ((rc = oc_schema_new_value(s, &e->value, err)) != 0) {
    oc_avro_plan_destroy(plan);
    oc_schema_destroy(s);
    return rc;
  }
  e->has_value = true;
  e->schema = s;
  e->plan = plan;
  reg->n++;
  return 0;
}

int oc_registry_new(oc_schema_t *reader, size_t max_message, oc_registry_t **out, oc_err_t *err) {
  oc_registry_t *reg = NULL;
  int rc = 0;

  *out = NULL;
  reg = calloc(1, sizeof(*reg));
  if (!reg) {
    oc_schema_destroy(reader);
    return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  }
  reg->max_message = max_message ? max_message : OC_AVRO_MAX_MESSAGE_DEFAULT;
  reg->areader = avro_reader_memory("", 0);
  reg->awriter = avro_writer_memory("", 0);
  if (!reg->areader || !reg->awriter) {
    oc_schema_destroy(reader);
    rc = oc_avro_err(err, OC_ERR_NOMEM, "cannot make an avro reader or writer: ");
    goto out;
  }
  if ((rc = add_entry(reg, reader, NULL, err)) != 0)
    goto out;
  *out = reg;
  reg = NULL;
out:
  oc_registry_destroy(reg);
  return rc;
}

int oc_registry_add(oc_registry_t *reg, oc_schema_t *writer, oc_err_t *err) {
  oc_avro_plan_t *plan = NULL;
  int rc;

  if (find(reg, writer->fp)) {
    oc_schema_destroy(writer);
    return 0;
  }
  rc = oc_avro_plan_new(writer, reg->entries[0].schema, &plan, err);
  if (rc != 0) {
    if (err)
      oc_err_prefix(err, "reader cannot read writer schema %016" PRIx64 ": ", writer->fp);
    oc_schema_destroy(writer);
    return rc;
  }
  return add_entry(reg, writer, plan, err);
}

const oc_schema_t *oc_registry_reader(const oc_registry_t *reg) { return reg->entries[0].schema; }

size_t oc_registry_count(const oc_registry_t *reg) { return reg->n; }

int oc_registry_decode(oc_registry_t *reg, const void *buf, size_t len, avro_value_t **out,
                       uint64_t *writer_fp, oc_err_t *err) {
  uint64_t fp;
  int rc;

  *out = NULL;
  if (len > reg->max_message)
    return oc_err_set(err, OC_ERR_DECODE, "message of %zu bytes exceeds the limit of %zu", len,
                      reg->max_message);
  if ((rc = oc_avro_header_read(buf, len, &fp, err)) != 0)
    return rc;
  if (writer_fp)
    *writer_fp = fp;
  return oc_registry_decode_body(reg, fp, (const unsigned char *)buf + OC_AVRO_HEADER_LEN,
                                 len - OC_AVRO_HEADER_LEN, out, err);
}

int oc_registry_decode_body(oc_registry_t *reg, uint64_t writer_fp, const void *body, size_t len,
                            avro_value_t **out, oc_err_t *err) {
  entry_t *e;
  int rc;

  *out = NULL;
  if (len > reg->max_message)
    return oc_err_set(err, OC_ERR_DECODE, "body of %zu bytes exceeds the limit of %zu", len,
                      reg->max_message);
  e = find(reg, writer_fp);
  if (!e)
    return oc_err_set(err, OC_ERR_UNKNOWN_SCHEMA, "unknown writer schema fingerprint %016" PRIx64,
                      writer_fp);
  rc = read_body(reg->areader, e->schema, body, len, &e->value, err);
  if (rc != 0)
    return rc;
  if (!e->plan) {
    *out = &e->value;
    return 0;
  }
  /* The reader's own value is free: it holds only the previous result. */
  if ((rc = oc_avro_plan_apply(e->plan, &e->value, &reg->entries[0].value, err)) != 0)
    return rc;
  *out = &reg->entries[0].value;
  return 0;
}

const oc_schema_t *oc_registry_writer(const oc_registry_t *reg, uint64_t writer_fp) {
  const entry_t *e = find(reg, writer_fp);
  return e ? e->schema : NULL;
}

int oc_registry_encode(oc_registry_t *reg, uint64_t writer_fp, avro_value_t *value, void *buf,
                       size_t cap, size_t *len_out, oc_err_t *err) {
  entry_t *e = find(reg, writer_fp);
  *len_out = 0;
  if (!e)
    return oc_err_set(err, OC_ERR_UNKNOWN_SCHEMA, "unknown writer schema fingerprint %016" PRIx64,
                      writer_fp);
  return encode_with(reg->awriter, e->schema, value, buf, cap, reg->max_message, len_out, err);
}

void oc_registry_destroy(oc_registry_t *reg) {
  if (!reg)
    return;
  for (size_t i = 0; i < reg->n; i++) {
    if (reg->entries[i].has_value)
      avro_value_decref(&reg->entries[i].value);
    oc_avro_plan_destroy(reg->entries[i].plan);
    oc_schema_destroy(reg->entries[i].schema);
  }
  free(reg->entries);
  if (reg->areader)
    avro_reader_free(reg->areader);
  if (reg->awriter)
    avro_writer_free(reg->awriter);
  free(reg);
}
