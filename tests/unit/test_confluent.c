/* test_confluent.c - Observation values in the Confluent framing (00, a
 * 4-byte big-endian schema id, the body): encoding, decoding through a
 * resolver of ids, a newer writer projected onto the reader, the framing
 * errors, and the parsing of a registry's answers. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes/avro.h"
#include "outcomes/buf.h"
#include "outcomes/obs_codec.h"
#include "outcomes/schema_registry.h"

/* Version 1 with a field added at the end, as a newer producer has it. */

typedef struct ids_s {
  uint32_t id[4];
  uint64_t fp[4];
  int n;
  int calls;
  bool down; /* answer as an unreachable registry */
} ids_t;

static int resolve(void *arg, uint32_t id, uint64_t *fp, oc_err_t *err) {
  ids_t *t = arg;
  t->calls++;
  if (t->down)
    return oc_err_set_retriable(err, OC_ERR_IO, "schema registry: connection refused");
  for (int i = 0; i < t->n; i++)
    if (t->id[i] == id) {
      *fp = t->fp[i];
      return 0;
    }
  return oc_err_set(err, OC_ERR_UNKNOWN_SCHEMA, "schema id %u: not in the registry", id);
}

static oc_obs_codec_t *codec(void) {
  oc_obs_codec_t *c = NULL;
  oc_err_t err;
  if (oc_obs_codec_new(oc_test_source_path("schemas/avro"), &c, &err) != 0)
    fail_msg("%s", err.msg);
  return c;
}

static oc_observation_t sample(void) {
  oc_observation_t o;
  memset(&o, 0, sizeof(o));
  strcpy(o.id.org_id, "hôpital-nord");
  strcpy(o.id.facility_id, "site-1");
  strcpy(o.id.metric, "readmission_rate_30d");
  o.id.grain = OC_GRAIN_MONTH;
  o.id.period_start = 19723; /* 2024-01-01 */
  o.value = 0.125;
  o.has_numerator = o.has_denominator = true;
  o.numerator = 12;
  o.denominator = 96;
  strcpy(o.source, "ehr");
  o.observed_at = INT64_C(1709281800000000);
  return o;
}

static void test_encode_decode(void **state) {
  (void)state;
  oc_obs_codec_t *c = codec();
  oc_observation_t in = sample(), out;
  unsigned char buf[1024], single[1024];
  size_t len, single_len;
  oc_obs_frame_t f;
  oc_err_t err;
  ids_t t = {{0x01020304}, {oc_obs_codec_writer_fingerprint(c)}, 1, 0, false};

  assert_int_equal(oc_obs_encode(c, &in, single, sizeof(single), &single_len, &err), 0);
  oc_obs_codec_frame_confluent(c, 0x01020304);
  assert_int_equal(oc_obs_encode(c, &in, buf, sizeof(buf), &len, &err), 0);
  /* The same body behind 5 bytes instead of 10. */
  assert_int_equal(len, single_len - OC_AVRO_HEADER_LEN + OC_CONFLUENT_HEADER_LEN);
  assert_memory_equal(buf, "\x00\x01\x02\x03\x04", 5);
  assert_memory_equal(buf + 5, single + OC_AVRO_HEADER_LEN, len - 5);
  assert_int_equal(oc_obs_frame_read(buf, len, &f, &err), 0);
  assert_int_equal(f.format, OC_VALUE_CONFLUENT);
  assert_int_equal(f.schema_id, 0x01020304);
  assert_int_equal(f.header_len, 5);

  /* Without a resolver: unknown, naming the id and the missing setting. */
  assert_int_equal(oc_obs_decode(c, buf, len, &out, &err), OC_ERR_UNKNOWN_SCHEMA);
  assert_string_equal(err.msg, "schema id 16909060 (Confluent framing): no schema.registry.url "
                               "is set");
  oc_obs_codec_set_resolver(c, resolve, &t);
  assert_int_equal(oc_obs_decode(c, buf, len, &out, &err), 0);
  assert_string_equal(out.id.org_id, "hôpital-nord");
  assert_string_equal(out.id.facility_id, "site-1");
  assert_true(out.value == 0.125 && out.numerator == 12 && out.denominator == 96);
  assert_int_equal(out.observed_at, in.observed_at);
  /* Both framings on one codec. */
  assert_int_equal(oc_obs_decode(c, single, single_len, &out, &err), 0);
  assert_string_equal(out.id.metric, "readmission_rate_30d");

  /* An unreachable registry: retriable, not a data error. */
  t.down = true;
  assert_int_equal(oc_obs_decode(c, buf, len, &out, &err), OC_ERR_IO);
  assert_true(err.retriable);
  assert_false(oc_err_is_data(err.code));
  /* An id the registry does not know: a data error. */
  t.down = false;
  buf[4] = 0x05;
  assert_int_equal(oc_obs_decode(c, buf, len, &out, &err), OC_ERR_UNKNOWN_SCHEMA);
  assert_true(oc_err_is_data(err.code));
  oc_obs_codec_destroy(c);
}

/* A writer with a field the reader lacks: added, projected, decoded. */
static void test_newer_writer(void **state) {
  (void)state;
  oc_obs_codec_t *c = codec();
  oc_buf_t text;
  oc_err_t rerr;
  oc_buf_init(&text, 0);
  if (oc_buf_read_file(&text, oc_test_source_path("tests/schemas/observation.next.avsc"), &rerr) !=
      0)
    fail_msg("%s", rerr.msg);
  const char *v2_json = text.p;
  oc_schema_t *v2 = NULL;
  avro_value_t rec, field, branch;
  unsigned char msg[1024], framed[1024];
  size_t len;
  uint64_t fp = 0;
  oc_observation_t out;
  oc_err_t err;

  assert_int_equal(oc_obs_codec_add_writer(c, v2_json, strlen(v2_json), &fp, &err), 0);
  assert_int_equal(oc_schema_parse(v2_json, strlen(v2_json), &v2, &err), 0);
  assert_true(fp == oc_schema_fingerprint(v2));
  /* Adding it again is a no-op. */
  assert_int_equal(oc_obs_codec_add_writer(c, v2_json, strlen(v2_json), &fp, &err), 0);

  assert_int_equal(oc_schema_new_value(v2, &rec, &err), 0);
  avro_value_get_by_name(&rec, "org_id", &field, NULL);
  avro_value_set_string(&field, "org-2");
  avro_value_get_by_name(&rec, "facility_id", &field, NULL);
  avro_value_set_branch(&field, 0, &branch);
  avro_value_set_null(&branch);
  avro_value_get_by_name(&rec, "metric", &field, NULL);
  avro_value_set_string(&field, "er_visits");
  avro_value_get_by_name(&rec, "grain", &field, NULL);
  avro_value_set_enum(&field, 4);
  avro_value_get_by_name(&rec, "period_start", &field, NULL);
  avro_value_set_int(&field, 19723);
  avro_value_get_by_name(&rec, "value", &field, NULL);
  avro_value_set_double(&field, 4100);
  avro_value_get_by_name(&rec, "numerator", &field, NULL);
  avro_value_set_branch(&field, 0, &branch);
  avro_value_get_by_name(&rec, "denominator", &field, NULL);
  avro_value_set_branch(&field, 0, &branch);
  avro_value_get_by_name(&rec, "source", &field, NULL);
  avro_value_set_string(&field, "java");
  avro_value_get_by_name(&rec, "observed_at", &field, NULL);
  avro_value_set_long(&field, 7);
  avro_value_get_by_name(&rec, "comment", &field, NULL);
  avro_value_set_branch(&field, 1, &branch);
  avro_value_set_string(&branch, "added in version 2");
  assert_int_equal(oc_avro_encode(v2, &rec, msg, sizeof(msg), &len, &err), 0);
  avro_value_decref(&rec);

  memcpy(framed, "\x00\x00\x00\x00\x2a", 5);
  memcpy(framed + 5, msg + OC_AVRO_HEADER_LEN, len - OC_AVRO_HEADER_LEN);
  ids_t t = {{42}, {fp}, 1, 0, false};
  oc_obs_codec_set_resolver(c, resolve, &t);
  assert_int_equal(oc_obs_decode(c, framed, len - OC_AVRO_HEADER_LEN + 5, &out, &err), 0);
  assert_string_equal(out.id.org_id, "org-2");
  assert_string_equal(out.id.facility_id, "");
  assert_int_equal(out.id.grain, OC_GRAIN_YEAR);
  assert_true(out.value == 4100);
  assert_false(out.has_numerator);
  assert_string_equal(out.source, "java");

  /* A schema that is no Observation cannot be added. */
  static const char other[] =
      "{\"type\":\"record\",\"name\":\"Other\",\"fields\":[{\"name\":\"a\",\"type\":\"long\"}]}";
  assert_int_equal(oc_obs_codec_add_writer(c, other, strlen(other), &fp, &err), OC_ERR_SCHEMA);
  oc_schema_destroy(v2);
  oc_obs_codec_destroy(c);
  oc_buf_release(&text);
}

static void test_frame_errors(void **state) {
  (void)state;
  oc_obs_frame_t f;
  oc_err_t err;
  assert_int_equal(oc_obs_frame_read("\x00\x00\x01", 3, &f, &err), OC_ERR_DECODE);
  assert_string_equal(err.msg, "message of 3 bytes is shorter than the 5-byte Confluent header");
  assert_int_equal(oc_obs_frame_read("\x05\x00\x01\x02\x03\x04", 6, &f, &err), OC_ERR_DECODE);
  assert_string_equal(err.msg,
                      "bad framing byte 05 (expected C3 01, single-object, or 00, Confluent)");
  assert_int_equal(oc_obs_frame_read("\xc3\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00", 11, &f, &err),
                   OC_ERR_DECODE);
  assert_string_equal(err.msg, "bad single-object marker C3 02 (expected C3 01)");
  assert_int_equal(oc_obs_frame_read("", 0, &f, &err), OC_ERR_DECODE);
  assert_int_equal(oc_obs_frame_read("\xc3\x01\x01\x02\x03\x04\x05\x06\x07\x08", 10, &f, &err), 0);
  assert_int_equal(f.format, OC_VALUE_SINGLE_OBJECT);
  assert_true(f.fingerprint == UINT64_C(0x0807060504030201));
}

static void test_parse_answers(void **state) {
  (void)state;
  uint32_t id = 0;
  char *json = NULL, msg[64];
  oc_err_t err;

  assert_int_equal(oc_sr_parse_id("{\"id\":7}", 8, &id, &err), 0);
  assert_int_equal(id, 7);
  assert_int_equal(oc_sr_parse_id("{\"id\":-1}", 9, &id, &err), OC_ERR_DECODE);
  assert_int_equal(oc_sr_parse_id("{\"id\":4294967296}", 17, &id, &err), OC_ERR_DECODE);
  assert_int_equal(oc_sr_parse_id("[7]", 3, &id, &err), OC_ERR_DECODE);
  assert_int_equal(oc_sr_parse_id("{\"id\":7", 7, &id, &err), OC_ERR_DECODE);

  const char *a = "{\"schema\":\"\\\"long\\\"\"}";
  assert_int_equal(oc_sr_parse_schema(a, strlen(a), &json, &err), 0);
  assert_string_equal(json, "\"long\"");
  free(json);
  a = "{\"schema\":\"\\\"long\\\"\",\"schemaType\":\"AVRO\"}";
  assert_int_equal(oc_sr_parse_schema(a, strlen(a), &json, &err), 0);
  free(json);
  a = "{\"schema\":\"{}\",\"schemaType\":\"PROTOBUF\"}";
  assert_int_equal(oc_sr_parse_schema(a, strlen(a), &json, &err), OC_ERR_SCHEMA);
  assert_string_equal(err.msg, "schema type PROTOBUF, not AVRO");
  a = "{\"schema\":\"a\\u0000b\"}";
  assert_int_equal(oc_sr_parse_schema(a, strlen(a), &json, &err), OC_ERR_DECODE);
  assert_null(json);
  a = "{\"schema\":1}";
  assert_int_equal(oc_sr_parse_schema(a, strlen(a), &json, &err), OC_ERR_DECODE);

  a = "{\"error_code\":40403,\"message\":\"Schema 9 not found\\n\"}";
  oc_sr_parse_error(a, strlen(a), msg, sizeof(msg));
  assert_string_equal(msg, "Schema 9 not found?");
  oc_sr_parse_error("<html>\x01", 7, msg, sizeof(msg));
  assert_string_equal(msg, "<html>?");
  oc_sr_parse_error("", 0, msg, sizeof(msg));
  assert_string_equal(msg, "");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_encode_decode),
      cmocka_unit_test(test_newer_writer),
      cmocka_unit_test(test_frame_errors),
      cmocka_unit_test(test_parse_answers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
