/* test_obs_codec.c - the Observation record as Avro single-object messages. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "outcomes/avro.h"
#include "outcomes/date.h"
#include "outcomes/obs_codec.h"

static oc_obs_codec_t *codec(const char *dir) {
  oc_obs_codec_t *c = NULL;
  oc_err_t err;
  if (oc_obs_codec_new(dir, &c, &err) != 0)
    fail_msg("%s", err.msg);
  return c;
}

static oc_observation_t sample(void) {
  oc_observation_t o;
  memset(&o, 0, sizeof(o));
  strcpy(o.id.org_id, "org-1");
  strcpy(o.id.metric, "readmission_rate_30d");
  o.id.grain = OC_GRAIN_MONTH;
  o.id.period_start = 19723; /* 2024-01-01 */
  o.value = 0.125;
  strcpy(o.source, "ehr-export");
  o.observed_at = INT64_C(1709281800000000);
  return o;
}

static void round_trip(oc_obs_codec_t *c, const oc_observation_t *in) {
  unsigned char buf[2048];
  size_t len = 0;
  oc_observation_t out;
  oc_err_t err;

  if (oc_obs_encode(c, in, buf, sizeof(buf), &len, &err) != 0)
    fail_msg("encode: %s", err.msg);
  assert_true(len > OC_AVRO_HEADER_LEN);
  if (oc_obs_decode(c, buf, len, &out, &err) != 0)
    fail_msg("decode: %s", err.msg);
  assert_string_equal(out.id.org_id, in->id.org_id);
  assert_string_equal(out.id.facility_id, in->id.facility_id);
  assert_string_equal(out.id.metric, in->id.metric);
  assert_int_equal(out.id.grain, in->id.grain);
  assert_int_equal(out.id.period_start, in->id.period_start);
  assert_true(out.value == in->value);
  assert_int_equal(out.has_numerator, in->has_numerator);
  assert_int_equal(out.has_denominator, in->has_denominator);
  if (in->has_numerator)
    assert_true(out.numerator == in->numerator);
  if (in->has_denominator)
    assert_true(out.denominator == in->denominator);
  assert_string_equal(out.source, in->source);
  assert_int_equal(out.observed_at, in->observed_at);
  /* A buffer one byte short is a limit. */
  assert_int_equal(oc_obs_encode(c, in, buf, len - 1, &len, &err), OC_ERR_LIMIT);
}

static void test_round_trips(void **state) {
  (void)state;
  oc_obs_codec_t *c = codec(OC_SOURCE_DIR "/schemas/avro");
  oc_observation_t o = sample();

  round_trip(c, &o); /* org level, no ratio */
  strcpy(o.id.facility_id, "fac-9");
  round_trip(c, &o); /* facility level */
  o.has_numerator = o.has_denominator = true;
  o.numerator = 12;
  o.denominator = 96;
  round_trip(c, &o); /* with numerator and denominator */
  o.has_denominator = false;
  round_trip(c, &o);
  strcpy(o.id.org_id, "H\xc3\xb4pital Saint-\xc3\x89loi");
  strcpy(o.id.facility_id, "\xe7\x97\x85\xe9\x99\xa2-\xf0\x9f\x8f\xa5");
  round_trip(c, &o); /* non-ASCII */
  memset(o.id.org_id, 'o', OC_ID_MAX);
  o.id.org_id[OC_ID_MAX] = '\0';
  memset(o.id.facility_id, 'f', OC_ID_MAX);
  o.id.facility_id[OC_ID_MAX] = '\0';
  memset(o.source, 's', OC_ID_MAX);
  o.source[OC_ID_MAX] = '\0';
  memset(o.id.metric, 'm', OC_METRIC_CODE_MAX);
  o.id.metric[OC_METRIC_CODE_MAX] = '\0';
  o.id.period_start = OC_DATE_MAX;
  o.id.grain = OC_GRAIN_YEAR;
  round_trip(c, &o); /* maximum lengths */
  o.id.period_start = OC_DATE_MIN;
  o.id.grain = OC_GRAIN_DAY;
  round_trip(c, &o);
  oc_obs_codec_destroy(c);
}

/* The same observation as avro-c encodes it from a generic value of the
 * schema at path: what oc_obs_encode, which writes the bytes itself, must
 * match. A field "note" (the v2 of the test below) is set null. */
static size_t avro_c_encoding(const char *path, const oc_observation_t *o, unsigned char *buf,
                              size_t cap) {
  oc_schema_t *s = NULL;
  avro_value_t rec, f, b;
  oc_err_t err;
  size_t len = 0;

  if (oc_schema_load_file(path, &s, &err) != 0 || oc_schema_new_value(s, &rec, &err) != 0)
    fail_msg("%s", err.msg);
  assert_int_equal(avro_value_get_by_name(&rec, "org_id", &f, NULL), 0);
  assert_int_equal(avro_value_set_string(&f, o->id.org_id), 0);
  assert_int_equal(avro_value_get_by_name(&rec, "facility_id", &f, NULL), 0);
  assert_int_equal(avro_value_set_branch(&f, o->id.facility_id[0] ? 1 : 0, &b), 0);
  assert_int_equal(o->id.facility_id[0] ? avro_value_set_string(&b, o->id.facility_id)
                                        : avro_value_set_null(&b),
                   0);
  assert_int_equal(avro_value_get_by_name(&rec, "metric", &f, NULL), 0);
  assert_int_equal(avro_value_set_string(&f, o->id.metric), 0);
  assert_int_equal(avro_value_get_by_name(&rec, "grain", &f, NULL), 0);
  assert_int_equal(avro_value_set_enum(&f, (int)o->id.grain), 0); /* symbols in oc_grain_t order */
  assert_int_equal(avro_value_get_by_name(&rec, "period_start", &f, NULL), 0);
  assert_int_equal(avro_value_set_int(&f, o->id.period_start), 0);
  assert_int_equal(avro_value_get_by_name(&rec, "value", &f, NULL), 0);
  assert_int_equal(avro_value_set_double(&f, o->value), 0);
  assert_int_equal(avro_value_get_by_name(&rec, "numerator", &f, NULL), 0);
  assert_int_equal(avro_value_set_branch(&f, o->has_numerator ? 1 : 0, &b), 0);
  assert_int_equal(
      o->has_numerator ? avro_value_set_double(&b, o->numerator) : avro_value_set_null(&b), 0);
  assert_int_equal(avro_value_get_by_name(&rec, "denominator", &f, NULL), 0);
  assert_int_equal(avro_value_set_branch(&f, o->has_denominator ? 1 : 0, &b), 0);
  assert_int_equal(
      o->has_denominator ? avro_value_set_double(&b, o->denominator) : avro_value_set_null(&b), 0);
  assert_int_equal(avro_value_get_by_name(&rec, "source", &f, NULL), 0);
  assert_int_equal(avro_value_set_string(&f, o->source), 0);
  assert_int_equal(avro_value_get_by_name(&rec, "observed_at", &f, NULL), 0);
  assert_int_equal(avro_value_set_long(&f, o->observed_at), 0);
  if (avro_value_get_by_name(&rec, "note", &f, NULL) == 0) {
    assert_int_equal(avro_value_set_branch(&f, 0, &b), 0);
    assert_int_equal(avro_value_set_null(&b), 0);
  }
  if (oc_avro_encode(s, &rec, buf, cap, &len, &err) != 0)
    fail_msg("avro-c: %s", err.msg);
  avro_value_decref(&rec);
  oc_schema_destroy(s);
  return len;
}

static void assert_encodes_as_avro_c(oc_obs_codec_t *c, const char *path,
                                     const oc_observation_t *o) {
  unsigned char want[2048], got[2048];
  size_t want_len = avro_c_encoding(path, o, want, sizeof(want)), got_len = 0;
  oc_err_t err;

  if (oc_obs_encode(c, o, got, sizeof(got), &got_len, &err) != 0)
    fail_msg("encode: %s", err.msg);
  assert_int_equal(got_len, want_len);
  assert_memory_equal(got, want, want_len);
  /* Exactly the room it needs is enough; a byte less is a limit. */
  assert_int_equal(oc_obs_encode(c, o, got, want_len, &got_len, &err), 0);
  assert_int_equal(oc_obs_encode(c, o, got, want_len - 1, &got_len, &err), OC_ERR_LIMIT);
  assert_non_null(strstr(err.msg, "does not fit"));
}

static void test_encode_writes_what_avro_c_writes(void **state) {
  (void)state;
  const char *v1 = OC_SOURCE_DIR "/schemas/avro/observation.v1.avsc";
  oc_obs_codec_t *c = codec(OC_SOURCE_DIR "/schemas/avro");
  oc_observation_t o = sample();
  static const double values[] = {
      0.0, -0.0, 1.0, -1.5, 0.125, 1e300, -1e-300, 82.86622334370753, 147322.03, 5e-324};
  static const int64_t stamps[] = {
      1,         63,       64, -64, -65, INT64_C(1709281800000000), INT64_C(253402300799999999),
      INT64_MAX, INT64_MIN};
  static const int32_t dates[] = {0, -1, 63, 64, 8191, 8192, 19723, OC_DATE_MIN, OC_DATE_MAX};

  for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
    o.value = values[i];
    o.observed_at = stamps[i % (sizeof(stamps) / sizeof(stamps[0]))];
    o.id.period_start = dates[i % (sizeof(dates) / sizeof(dates[0]))];
    o.id.grain = (oc_grain_t)(i % OC_GRAIN_COUNT);
    o.has_numerator = i % 2;
    o.numerator = values[(i + 3) % (sizeof(values) / sizeof(values[0]))];
    o.has_denominator = i % 3 != 0;
    o.denominator = 96;
    strcpy(o.id.facility_id, i % 4 ? "fac-9" : "");
    assert_encodes_as_avro_c(c, v1, &o);
  }
  strcpy(o.id.org_id, "H\xc3\xb4pital Saint-\xc3\x89loi");
  strcpy(o.id.facility_id, "\xe7\x97\x85\xe9\x99\xa2-\xf0\x9f\x8f\xa5");
  assert_encodes_as_avro_c(c, v1, &o);
  memset(o.id.org_id, 'o', OC_ID_MAX); /* lengths of two varint bytes */
  o.id.org_id[OC_ID_MAX] = '\0';
  memset(o.id.facility_id, 'f', OC_ID_MAX);
  o.id.facility_id[OC_ID_MAX] = '\0';
  memset(o.source, 's', OC_ID_MAX);
  o.source[OC_ID_MAX] = '\0';
  memset(o.id.metric, 'm', OC_METRIC_CODE_MAX);
  o.id.metric[OC_METRIC_CODE_MAX] = '\0';
  assert_encodes_as_avro_c(c, v1, &o);
  oc_obs_codec_destroy(c);
}

static void test_encode_refuses_bad_fields(void **state) {
  (void)state;
  oc_obs_codec_t *c = codec(OC_SOURCE_DIR "/schemas/avro");
  oc_observation_t o = sample();
  unsigned char buf[2048];
  size_t len;
  oc_err_t err;

  o.id.grain = (oc_grain_t)7;
  assert_int_equal(oc_obs_encode(c, &o, buf, sizeof(buf), &len, &err), OC_ERR_BAD_FIELD);
  assert_non_null(strstr(err.msg, "grain"));
  o = sample();
  o.id.period_start = OC_DATE_MAX + 1;
  assert_int_equal(oc_obs_encode(c, &o, buf, sizeof(buf), &len, &err), OC_ERR_BAD_FIELD);
  assert_non_null(strstr(err.msg, "period_start"));
  o = sample();
  memset(o.id.metric, 'm', sizeof(o.id.metric)); /* no NUL at all */
  assert_int_equal(oc_obs_encode(c, &o, buf, sizeof(buf), &len, &err), OC_ERR_BAD_FIELD);
  assert_non_null(strstr(err.msg, "metric"));
  oc_obs_codec_destroy(c);
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

static size_t put_str(unsigned char *p, const char *s, size_t n) {
  size_t k = put_varint(p, (int64_t)n);
  memcpy(p + k, s, n);
  return k + n;
}

/* A v1 message built by hand, field by field. */
static size_t hand_made(uint64_t fp, const char *org, size_t org_len, const char *metric,
                        int32_t period, unsigned char *m) {
  size_t n = 0;
  double value = 1.0;
  m[n++] = 0xc3;
  m[n++] = 0x01;
  for (int i = 0; i < 8; i++)
    m[n++] = (unsigned char)(fp >> (8 * i));
  n += put_str(m + n, org, org_len); /* org_id */
  m[n++] = 0;                        /* facility_id: null */
  n += put_str(m + n, metric, strlen(metric));
  n += put_varint(m + n, 2);      /* grain MONTH */
  n += put_varint(m + n, period); /* period_start */
  memcpy(m + n, &value, 8);       /* value (little-endian host) */
  n += 8;
  m[n++] = 0; /* numerator: null */
  m[n++] = 0; /* denominator: null */
  n += put_str(m + n, "src", 3);
  n += put_varint(m + n, 0); /* observed_at */
  return n;
}

static void test_decode_refuses_oversized_and_bad_fields(void **state) {
  (void)state;
  oc_obs_codec_t *c = codec(OC_SOURCE_DIR "/schemas/avro");
  uint64_t fp = oc_obs_codec_writer_fingerprint(c);
  unsigned char m[1024];
  char org[300];
  oc_observation_t o;
  oc_err_t err;
  size_t n;

  memset(org, 'a', sizeof(org));
  n = hand_made(fp, org, 256, "los", 19723, m);
  if (oc_obs_decode(c, m, n, &o, &err) != 0)
    fail_msg("%s", err.msg);
  assert_int_equal(strlen(o.id.org_id), 256);
  assert_int_equal(o.id.grain, OC_GRAIN_MONTH);

  n = hand_made(fp, org, 257, "los", 19723, m);
  assert_int_equal(oc_obs_decode(c, m, n, &o, &err), OC_ERR_BAD_FIELD);
  assert_non_null(strstr(err.msg, "org_id"));
  assert_non_null(strstr(err.msg, "257 bytes"));
  assert_int_equal(o.id.org_id[0], '\0'); /* nothing half-filled */

  n = hand_made(fp, "a\0b", 3, "los", 19723, m);
  assert_int_equal(oc_obs_decode(c, m, n, &o, &err), OC_ERR_BAD_FIELD);
  assert_non_null(strstr(err.msg, "org_id: embedded NUL"));

  char metric[80];
  memset(metric, 'm', 65);
  metric[65] = '\0';
  n = hand_made(fp, "org", 3, metric, 19723, m);
  assert_int_equal(oc_obs_decode(c, m, n, &o, &err), OC_ERR_BAD_FIELD);
  assert_non_null(strstr(err.msg, "metric"));

  n = hand_made(fp, "org", 3, "los", OC_DATE_MIN - 1, m);
  assert_int_equal(oc_obs_decode(c, m, n, &o, &err), OC_ERR_BAD_FIELD);
  assert_non_null(strstr(err.msg, "period_start"));

  n = hand_made(fp ^ 1, "org", 3, "los", 19723, m);
  assert_int_equal(oc_obs_decode(c, m, n, &o, &err), OC_ERR_UNKNOWN_SCHEMA);
  oc_obs_codec_destroy(c);
}

static void test_writer_fingerprint_is_the_schema_files(void **state) {
  (void)state;
  oc_obs_codec_t *c = codec(OC_SOURCE_DIR "/schemas/avro");
  oc_schema_t *s = NULL;
  oc_err_t err;
  assert_int_equal(oc_schema_load_file(OC_SOURCE_DIR "/schemas/avro/observation.v1.avsc", &s, &err),
                   0);
  assert_true(oc_obs_codec_writer_fingerprint(c) == oc_schema_fingerprint(s));
  oc_schema_destroy(s);
  oc_obs_codec_destroy(c);
  assert_int_equal(oc_obs_codec_new("/nonexistent-dir", &c, &err), OC_ERR_IO);
  assert_null(c);
}

/* A newer version with an optional field: it becomes reader and writer, and
 * v1 messages still decode. */
static void test_newest_version_reads_older_messages(void **state) {
  (void)state;
  char dir[] = "/tmp/oc_obs_codec_XXXXXX";
  char p1[128], p2[128];
  size_t len;
  char *v1 = oc_test_read_file(OC_SOURCE_DIR "/schemas/avro/observation.v1.avsc", &len);
  assert_non_null(mkdtemp(dir));
  snprintf(p1, sizeof(p1), "%s/observation.v1.avsc", dir);
  snprintf(p2, sizeof(p2), "%s/observation.v2.avsc", dir);
  FILE *f = fopen(p1, "wb");
  fwrite(v1, 1, len, f);
  fclose(f);
  /* v2: v1 plus a "note" field with a default, before observed_at. */
  char *at = strstr(v1, "    {\"name\": \"observed_at\"");
  assert_non_null(at);
  f = fopen(p2, "wb");
  fwrite(v1, 1, (size_t)(at - v1), f);
  fputs("    {\"name\": \"note\", \"type\": [\"null\", \"string\"], \"default\": null},\n", f);
  fputs(at, f);
  fclose(f);

  oc_obs_codec_t *old = codec(OC_SOURCE_DIR "/schemas/avro");
  oc_obs_codec_t *c = codec(dir);
  oc_observation_t o = sample(), out;
  unsigned char buf[1024];
  oc_err_t err;
  assert_true(oc_obs_codec_writer_fingerprint(c) != oc_obs_codec_writer_fingerprint(old));
  strcpy(o.id.facility_id, "fac");
  assert_int_equal(oc_obs_encode(old, &o, buf, sizeof(buf), &len, &err), 0);
  if (oc_obs_decode(c, buf, len, &out, &err) != 0)
    fail_msg("%s", err.msg);
  assert_string_equal(out.id.facility_id, "fac");
  assert_int_equal(out.observed_at, o.observed_at);
  round_trip(c, &o);
  assert_encodes_as_avro_c(c, p2, &o); /* with the default of "note" */
  /* The old codec does not know v2. */
  assert_int_equal(oc_obs_encode(c, &o, buf, sizeof(buf), &len, &err), 0);
  assert_int_equal(oc_obs_decode(old, buf, len, &out, &err), OC_ERR_UNKNOWN_SCHEMA);
  oc_obs_codec_destroy(old);
  oc_obs_codec_destroy(c);
  unlink(p1);
  unlink(p2);
  rmdir(dir);
  free(v1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trips),
      cmocka_unit_test(test_encode_writes_what_avro_c_writes),
      cmocka_unit_test(test_encode_refuses_bad_fields),
      cmocka_unit_test(test_decode_refuses_oversized_and_bad_fields),
      cmocka_unit_test(test_writer_fingerprint_is_the_schema_files),
      cmocka_unit_test(test_newest_version_reads_older_messages),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
