/* test_avro_registry.c - schema evolution through the registry, and
 * decoding hostile bytes: truncation, huge lengths, bit flips. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes/avro.h"

#define NS "\"namespace\":\"t\","
static const char V1[] =
    "{\"type\":\"record\"," NS "\"name\":\"Note\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"long\"},"
    "{\"name\":\"text\",\"type\":\"string\"},"
    "{\"name\":\"kind\",\"type\":{\"type\":\"enum\",\"name\":\"Kind\",\"symbols\":[\"A\",\"B\"]}},"
    "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"string\"}}]}";
/* v2 adds a defaulted optional field and a defaulted int. */
static const char V2[] =
    "{\"type\":\"record\"," NS "\"name\":\"Note\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"long\"},"
    "{\"name\":\"note\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"text\",\"type\":\"string\"},"
    "{\"name\":\"kind\",\"type\":{\"type\":\"enum\",\"name\":\"Kind\",\"symbols\":[\"A\",\"B\"]}},"
    "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"string\"}},"
    "{\"name\":\"priority\",\"type\":\"int\",\"default\":3}]}";

static oc_schema_t *parse(const char *json) {
  oc_schema_t *s = NULL;
  oc_err_t err;
  if (oc_schema_parse(json, strlen(json), &s, &err) != 0)
    fail_msg("%s", err.msg);
  return s;
}

static oc_registry_t *registry(const char *reader, const char *writer, size_t max) {
  oc_registry_t *reg = NULL;
  oc_err_t err;
  assert_int_equal(oc_registry_new(parse(reader), max, &reg, &err), 0);
  if (writer && oc_registry_add(reg, parse(writer), &err) != 0)
    fail_msg("%s", err.msg);
  return reg;
}

static void field(avro_value_t *rec, const char *name, avro_value_t *out) {
  if (avro_value_get_by_name(rec, name, out, NULL) != 0)
    fail_msg("no field '%s'", name);
}

static void set_string(avro_value_t *rec, const char *name, const char *s) {
  avro_value_t f;
  field(rec, name, &f);
  assert_int_equal(avro_value_set_string(&f, s), 0);
}

/* A v1 (or v2, with note and priority) message into buf. */
static size_t make_note(const char *json, bool v2, unsigned char *buf, size_t cap) {
  oc_schema_t *s = parse(json);
  avro_value_t v, f, item, b;
  size_t len = 0;
  oc_err_t err;

  assert_int_equal(oc_schema_new_value(s, &v, &err), 0);
  field(&v, "id", &f);
  avro_value_set_long(&f, 1234567890123);
  set_string(&v, "text", "hello, world");
  field(&v, "kind", &f);
  avro_value_set_enum(&f, 1);
  field(&v, "tags", &f);
  avro_value_append(&f, &item, NULL);
  avro_value_set_string(&item, "x");
  avro_value_append(&f, &item, NULL);
  avro_value_set_string(&item, "yz");
  if (v2) {
    field(&v, "note", &f);
    avro_value_set_branch(&f, 1, &b);
    avro_value_set_string(&b, "a note");
    field(&v, "priority", &f);
    avro_value_set_int(&f, 7);
  }
  if (oc_avro_encode(s, &v, buf, cap, &len, &err) != 0)
    fail_msg("%s", err.msg);
  avro_value_decref(&v);
  oc_schema_destroy(s);
  return len;
}

static void check_common(avro_value_t *v) {
  avro_value_t f;
  int64_t id;
  int e;
  const char *s;
  size_t size;
  field(v, "id", &f);
  avro_value_get_long(&f, &id);
  assert_int_equal(id, 1234567890123);
  field(v, "text", &f);
  avro_value_get_string(&f, &s, &size);
  assert_string_equal(s, "hello, world");
  field(v, "kind", &f);
  avro_value_get_enum(&f, &e);
  assert_int_equal(e, 1);
  field(v, "tags", &f);
  avro_value_get_size(&f, &size);
  assert_int_equal(size, 2);
}

static void test_v1_message_read_with_v2_takes_defaults(void **state) {
  (void)state;
  unsigned char buf[256];
  size_t len = make_note(V1, false, buf, sizeof(buf));
  oc_registry_t *reg = registry(V2, V1, 0);
  avro_value_t *v, f;
  int disc = -1;
  int32_t prio = 0;
  oc_err_t err;

  if (oc_registry_decode(reg, buf, len, &v, NULL, &err) != 0)
    fail_msg("%s", err.msg);
  check_common(v);
  field(v, "note", &f);
  avro_value_get_discriminant(&f, &disc);
  assert_int_equal(disc, 0);
  field(v, "priority", &f);
  avro_value_get_int(&f, &prio);
  assert_int_equal(prio, 3);
  /* A v2 message through the same registry: its own values. */
  len = make_note(V2, true, buf, sizeof(buf));
  assert_int_equal(oc_registry_decode(reg, buf, len, &v, NULL, &err), 0);
  check_common(v);
  field(v, "priority", &f);
  avro_value_get_int(&f, &prio);
  assert_int_equal(prio, 7);
  oc_registry_destroy(reg);
}

static void test_v2_message_read_with_v1_drops_extra_fields(void **state) {
  (void)state;
  unsigned char buf[256];
  size_t len = make_note(V2, true, buf, sizeof(buf)), n = 0;
  oc_registry_t *reg = registry(V1, V2, 0);
  avro_value_t *v, f;
  oc_err_t err;

  if (oc_registry_decode(reg, buf, len, &v, NULL, &err) != 0)
    fail_msg("%s", err.msg);
  check_common(v);
  avro_value_get_size(v, &n);
  assert_int_equal(n, 4);
  assert_int_not_equal(avro_value_get_by_name(v, "priority", &f, NULL), 0);
  oc_registry_destroy(reg);
}

static void test_promotions_enums_unions_and_nested_records(void **state) {
  (void)state;
  static const char W[] =
      "{\"type\":\"record\",\"name\":\"P\",\"fields\":["
      "{\"name\":\"i\",\"type\":\"int\"},{\"name\":\"l\",\"type\":\"long\"},"
      "{\"name\":\"f\",\"type\":\"float\"},{\"name\":\"s\",\"type\":\"string\"},"
      "{\"name\":\"b\",\"type\":\"bytes\"},"
      "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"Y\",\"X\"]}},"
      "{\"name\":\"u\",\"type\":[\"null\",\"int\"]},{\"name\":\"n\",\"type\":\"int\"},"
      "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"int\"}},"
      "{\"name\":\"r\",\"type\":{\"type\":\"record\",\"name\":\"In\",\"fields\":["
      "{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"gone\",\"type\":\"string\"}]}}]}";
  static const char R[] =
      "{\"type\":\"record\",\"name\":\"P\",\"fields\":["
      "{\"name\":\"r\",\"type\":{\"type\":\"record\",\"name\":\"In\",\"fields\":["
      "{\"name\":\"a\",\"type\":\"double\"},"
      "{\"name\":\"new\",\"type\":{\"type\":\"array\",\"items\":\"int\"},\"default\":[1,2]}]}},"
      "{\"name\":\"i\",\"type\":\"long\"},{\"name\":\"l\",\"type\":\"double\"},"
      "{\"name\":\"f\",\"type\":\"double\"},{\"name\":\"s\",\"type\":\"bytes\"},"
      "{\"name\":\"b\",\"type\":\"string\"},"
      "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"X\",\"Y\",\"Z\"]}},"
      "{\"name\":\"u\",\"type\":[\"null\",\"long\"]},{\"name\":\"n\",\"type\":[\"null\",\"double\"]},"
      "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"float\"}}]}";
  oc_schema_t *w = parse(W);
  oc_registry_t *reg = registry(R, W, 0);
  avro_value_t v, *out, f, g;
  unsigned char buf[256];
  size_t len, size;
  int64_t l;
  double d;
  float fl;
  int e;
  const void *bytes;
  const char *s;
  oc_err_t err;

  assert_int_equal(oc_schema_new_value(w, &v, &err), 0);
  field(&v, "i", &f);
  avro_value_set_int(&f, -5);
  field(&v, "l", &f);
  avro_value_set_long(&f, 1LL << 40);
  field(&v, "f", &f);
  avro_value_set_float(&f, 1.5f);
  field(&v, "s", &f);
  avro_value_set_string(&f, "str");
  field(&v, "b", &f);
  avro_value_set_bytes(&f, (void *)"by", 2);
  field(&v, "e", &f);
  avro_value_set_enum(&f, 1); /* X */
  field(&v, "u", &f);
  avro_value_set_branch(&f, 1, &g);
  avro_value_set_int(&g, 9);
  field(&v, "n", &f);
  avro_value_set_int(&f, 11);
  field(&v, "m", &f);
  avro_value_add(&f, "k", &g, NULL, NULL);
  avro_value_set_int(&g, 4);
  field(&v, "r", &f);
  avro_value_get_by_name(&f, "a", &g, NULL);
  avro_value_set_int(&g, 8);
  avro_value_get_by_name(&f, "gone", &g, NULL);
  avro_value_set_string(&g, "bye");
  assert_int_equal(oc_avro_encode(w, &v, buf, sizeof(buf), &len, &err), 0);
  if (oc_registry_decode(reg, buf, len, &out, NULL, &err) != 0)
    fail_msg("%s", err.msg);
  field(out, "i", &f);
  avro_value_get_long(&f, &l);
  assert_int_equal(l, -5);
  field(out, "l", &f);
  avro_value_get_double(&f, &d);
  assert_true(d == (double)(1LL << 40));
  field(out, "f", &f);
  avro_value_get_double(&f, &d);
  assert_true(d == 1.5);
  field(out, "s", &f);
  avro_value_get_bytes(&f, &bytes, &size);
  assert_int_equal(size, 3);
  assert_memory_equal(bytes, "str", 3);
  field(out, "b", &f);
  avro_value_get_string(&f, &s, &size);
  assert_int_equal(size, 3);
  assert_string_equal(s, "by");
  field(out, "e", &f);
  avro_value_get_enum(&f, &e);
  assert_int_equal(e, 0); /* X */
  field(out, "u", &f);
  avro_value_get_discriminant(&f, &e);
  assert_int_equal(e, 1);
  avro_value_get_current_branch(&f, &g);
  avro_value_get_long(&g, &l);
  assert_int_equal(l, 9);
  field(out, "n", &f);
  avro_value_get_discriminant(&f, &e);
  assert_int_equal(e, 1);
  avro_value_get_current_branch(&f, &g);
  avro_value_get_double(&g, &d);
  assert_true(d == 11.0);
  field(out, "m", &f);
  avro_value_get_by_name(&f, "k", &g, NULL);
  avro_value_get_float(&g, &fl);
  assert_true(fl == 4.0f);
  field(out, "r", &f);
  avro_value_get_by_name(&f, "a", &g, NULL);
  avro_value_get_double(&g, &d);
  assert_true(d == 8.0);
  avro_value_get_by_name(&f, "new", &g, NULL);
  avro_value_get_size(&g, &size);
  assert_int_equal(size, 2);
  avro_value_decref(&v);
  oc_schema_destroy(w);
  oc_registry_destroy(reg);
}

static void test_enum_symbol_the_reader_lacks_fails_at_decode(void **state) {
  (void)state;
  static const char W[] = "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"GONE\"]}";
  static const char R[] = "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"]}";
  oc_registry_t *reg = registry(R, W, 0);
  oc_schema_t *w = parse(W);
  unsigned char msg[11];
  avro_value_t *v;
  oc_err_t err;
  uint64_t fp = oc_schema_fingerprint(w);

  msg[0] = 0xc3;
  msg[1] = 0x01;
  for (int i = 0; i < 8; i++)
    msg[2 + i] = (unsigned char)(fp >> (8 * i));
  msg[10] = 0; /* A */
  assert_int_equal(oc_registry_decode(reg, msg, 11, &v, NULL, &err), 0);
  msg[10] = 2; /* GONE */
  assert_int_equal(oc_registry_decode(reg, msg, 11, &v, NULL, &err), OC_ERR_DECODE);
  assert_non_null(strstr(err.msg, "enum symbol 'GONE'"));
  msg[10] = 4; /* index 2: out of range for the writer */
  assert_int_equal(oc_registry_decode(reg, msg, 11, &v, NULL, &err), OC_ERR_DECODE);
  assert_non_null(strstr(err.msg, "enum index 2 outside 0..1"));
  oc_schema_destroy(w);
  oc_registry_destroy(reg);
}

static void test_reader_field_without_default_refuses_the_writer_at_add(void **state) {
  (void)state;
  static const char R[] =
      "{\"type\":\"record\"," NS "\"name\":\"Note\",\"fields\":["
      "{\"name\":\"id\",\"type\":\"long\"},{\"name\":\"must\",\"type\":\"string\"}]}";
  oc_registry_t *reg = registry(R, NULL, 0);
  oc_err_t err;

  assert_int_equal(oc_registry_add(reg, parse(V1), &err), OC_ERR_SCHEMA);
  assert_non_null(strstr(err.msg, "Note.must: reader field has no default"));
  assert_int_equal(oc_registry_count(reg), 1);
  /* Incompatible types too. */
  assert_int_equal(oc_registry_add(reg,
                                   parse("{\"type\":\"record\",\"name\":\"t.Note\",\"fields\":["
                                         "{\"name\":\"id\",\"type\":\"string\"},"
                                         "{\"name\":\"must\",\"type\":\"string\"}]}"),
                                   &err),
                   OC_ERR_SCHEMA);
  assert_non_null(strstr(err.msg, "Note.id: cannot read writer type string as reader type long"));
  /* A bad default is refused when the schema is parsed. */
  oc_schema_t *s = NULL;
  const char *bad = "{\"type\":\"record\",\"name\":\"B\",\"fields\":["
                    "{\"name\":\"x\",\"type\":\"int\",\"default\":\"three\"}]}";
  assert_int_equal(oc_schema_parse(bad, strlen(bad), &s, &err), OC_ERR_SCHEMA);
  assert_non_null(strstr(err.msg, "record 'B' field 'x': default does not match type int"));
  oc_registry_destroy(reg);
}

static void test_unknown_fingerprint_bad_marker_and_limits(void **state) {
  (void)state;
  unsigned char buf[256];
  size_t len = make_note(V1, false, buf, sizeof(buf));
  oc_registry_t *reg = registry(V1, NULL, 0);
  avro_value_t *v;
  oc_err_t err;

  buf[2] ^= 0xff;
  assert_int_equal(oc_registry_decode(reg, buf, len, &v, NULL, &err), OC_ERR_UNKNOWN_SCHEMA);
  assert_non_null(strstr(err.msg, "unknown writer schema fingerprint"));
  char hex[32];
  uint64_t fp;
  oc_avro_header_read(buf, len, &fp, NULL);
  snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)fp);
  assert_non_null(strstr(err.msg, hex));
  buf[2] ^= 0xff;
  buf[0] = 0xc2;
  assert_int_equal(oc_registry_decode(reg, buf, len, &v, NULL, &err), OC_ERR_DECODE);
  assert_non_null(strstr(err.msg, "bad single-object marker C2 01"));
  buf[0] = 0xc3;
  assert_int_equal(oc_registry_decode(reg, buf, len, &v, NULL, &err), 0);
  oc_registry_destroy(reg);

  reg = registry(V1, NULL, 16);
  assert_int_equal(oc_registry_decode(reg, buf, len, &v, NULL, &err), OC_ERR_DECODE);
  assert_non_null(strstr(err.msg, "exceeds the limit of 16"));
  oc_registry_destroy(reg);
}

static void test_every_truncation_is_a_clean_error(void **state) {
  (void)state;
  unsigned char buf[256];
  size_t len = make_note(V2, true, buf, sizeof(buf));
  oc_registry_t *reg = registry(V2, V1, 0);
  avro_value_t *v;
  oc_err_t err;

  for (size_t n = 0; n < len; n++) {
    unsigned char *copy = malloc(n ? n : 1); /* exact size: ASan sees overreads */
    memcpy(copy, buf, n);
    int rc = oc_registry_decode(reg, copy, n, &v, NULL, &err);
    assert_int_equal(rc, OC_ERR_DECODE);
    assert_true(strlen(err.msg) > 0);
    free(copy);
  }
  assert_int_equal(oc_registry_decode(reg, buf, len, &v, NULL, &err), 0);
  oc_registry_destroy(reg);
}

static size_t put_varint(unsigned char *p, int64_t v) {
  uint64_t n = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
  size_t i = 0;
  while (n & ~UINT64_C(0x7f)) {
    p[i++] = (unsigned char)((n & 0x7f) | 0x80);
    n >>= 7;
  }
  p[i++] = (unsigned char)n;
  return i;
}

static size_t header(const char *json, unsigned char *p) {
  oc_schema_t *s = parse(json);
  uint64_t fp = oc_schema_fingerprint(s);
  p[0] = 0xc3;
  p[1] = 0x01;
  for (int i = 0; i < 8; i++)
    p[2 + i] = (unsigned char)(fp >> (8 * i));
  oc_schema_destroy(s);
  return 10;
}

static void expect_decode_error(const char *schema, const unsigned char *msg, size_t len,
                                const char *needle) {
  oc_registry_t *reg = registry(schema, NULL, 0);
  avro_value_t *v;
  oc_err_t err;
  assert_int_equal(oc_registry_decode(reg, msg, len, &v, NULL, &err), OC_ERR_DECODE);
  if (!strstr(err.msg, needle))
    fail_msg("error '%s' lacks '%s'", err.msg, needle);
  oc_registry_destroy(reg);
}

static void test_hostile_lengths_are_refused_before_allocation(void **state) {
  (void)state;
  unsigned char m[64];
  size_t n;

  /* A string claiming 1 TiB. */
  n = header(V1, m);
  n += put_varint(m + n, 5);
  n += put_varint(m + n, INT64_C(1) << 40);
  memset(m + n, 'a', 12);
  n += 12;
  expect_decode_error(V1, m, n,
                      "string length 1099511627776 exceeds 12 remaining bytes at body offset 1");
  /* An array of a billion nulls. */
  static const char NULLS[] = "{\"type\":\"array\",\"items\":\"null\"}";
  n = header(NULLS, m);
  n += put_varint(m + n, 1000000000);
  m[n++] = 0;
  expect_decode_error(NULLS, m, n, "zero-width items exceeds the limit");
  /* A billion ints in 2 bytes. */
  static const char INTS[] = "{\"type\":\"array\",\"items\":\"int\"}";
  n = header(INTS, m);
  n += put_varint(m + n, 1000000000);
  m[n++] = 0;
  expect_decode_error(INTS, m, n, "array block count 1000000000 exceeds 1 remaining bytes");
  /* Negative block count with a block size that lies. */
  n = header(INTS, m);
  n += put_varint(m + n, -2);
  n += put_varint(m + n, 5);
  m[n++] = 2;
  m[n++] = 4;
  m[n++] = 0;
  expect_decode_error(INTS, m, n, "array block size 5 outside 0..3");
  n = header(INTS, m);
  n += put_varint(m + n, -2);
  n += put_varint(m + n, 1);
  m[n++] = 2;
  m[n++] = 4;
  m[n++] = 0;
  expect_decode_error(INTS, m, n, "array block size 1 does not match its 2 bytes");
  /* A varint of 11 bytes. */
  static const char LONG[] = "\"long\"";
  n = header(LONG, m);
  memset(m + n, 0xff, 9);
  n += 9;
  m[n++] = 0x81; /* a 10th byte that still says "more" */
  m[n++] = 0;
  expect_decode_error(LONG, m, n, "varint longer than 10 bytes");
  n = header(LONG, m);
  memset(m + n, 0xff, 9);
  n += 9;
  m[n++] = 0x02; /* bit 64 */
  expect_decode_error(LONG, m, n, "varint overflows 64 bits");
  /* An int out of range, a bad union index, a bad boolean. */
  n = header("\"int\"", m);
  n += put_varint(m + n, INT64_C(1) << 33);
  expect_decode_error("\"int\"", m, n, "int 8589934592 out of range");
  n = header("[\"null\",\"int\"]", m);
  n += put_varint(m + n, 2);
  expect_decode_error("[\"null\",\"int\"]", m, n, "union index 2 outside 0..1");
  n = header("\"boolean\"", m);
  m[n++] = 2;
  expect_decode_error("\"boolean\"", m, n, "boolean byte 0x02");
  /* Deep recursion through a recursive record. */
  static const char LIST[] = "{\"type\":\"record\",\"name\":\"L\",\"fields\":["
                             "{\"name\":\"next\",\"type\":[\"null\",\"L\"]}]}";
  n = header(LIST, m);
  memset(m + n, 2, 50); /* 50 times branch L... */
  n += 50;
  m[n++] = 0;
  oc_registry_t *reg = registry(LIST, NULL, 0);
  avro_value_t *v;
  oc_err_t err;
  assert_int_equal(oc_registry_decode(reg, m, n, &v, NULL, &err), OC_ERR_DECODE);
  assert_non_null(strstr(err.msg, "nested deeper than"));
  n = header(LIST, m) + 10;
  memset(m + 10, 2, 10);
  m[n++] = 0;
  assert_int_equal(oc_registry_decode(reg, m, n, &v, NULL, &err), 0);
  oc_registry_destroy(reg);
}

static void test_random_bit_flips_never_crash(void **state) {
  (void)state;
  unsigned char buf[256], copy[256];
  size_t len = make_note(V2, true, buf, sizeof(buf));
  oc_registry_t *reg = registry(V2, V1, 0);
  avro_value_t *v;
  oc_err_t err;
  int ok = 0, bad = 0;
  unsigned seed = 12345;

  for (int i = 0; i < 10000; i++) {
    memcpy(copy, buf, len);
    int flips = 1 + i % 3;
    for (int k = 0; k < flips; k++) {
      seed = seed * 1103515245u + 12345u;
      unsigned bit = (seed >> 8) % (unsigned)(len * 8);
      copy[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
    int rc = oc_registry_decode(reg, copy, len, &v, NULL, &err);
    if (rc == 0) {
      ok++;
    } else {
      assert_true(rc == OC_ERR_DECODE || rc == OC_ERR_UNKNOWN_SCHEMA);
      bad++;
    }
  }
  printf("bit flips: %d decoded, %d refused\n", ok, bad);
  assert_int_equal(ok + bad, 10000);
  oc_registry_destroy(reg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_v1_message_read_with_v2_takes_defaults),
      cmocka_unit_test(test_v2_message_read_with_v1_drops_extra_fields),
      cmocka_unit_test(test_promotions_enums_unions_and_nested_records),
      cmocka_unit_test(test_enum_symbol_the_reader_lacks_fails_at_decode),
      cmocka_unit_test(test_reader_field_without_default_refuses_the_writer_at_add),
      cmocka_unit_test(test_unknown_fingerprint_bad_marker_and_limits),
      cmocka_unit_test(test_every_truncation_is_a_clean_error),
      cmocka_unit_test(test_hostile_lengths_are_refused_before_allocation),
      cmocka_unit_test(test_random_bit_flips_never_crash),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
