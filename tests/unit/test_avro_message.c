/* test_avro_message.c - the Apache Avro single-object test message
 * (tests/data/avro/messageV1), written by the Java implementation. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "outcomes/avro.h"

static oc_schema_t *load_test_schema(void) {
  oc_schema_t *s = NULL;
  oc_err_t err;
  if (oc_schema_load_file(oc_test_data_path("avro/messageV1/test_schema.avsc"), &s, &err) != 0)
    fail_msg("%s", err.msg);
  return s;
}

static void check_bill(avro_value_t *v) {
  avro_value_t f, item;
  int64_t id;
  const char *str;
  size_t size, n;

  assert_int_equal(avro_value_get_by_name(v, "id", &f, NULL), 0);
  assert_int_equal(avro_value_get_long(&f, &id), 0);
  assert_int_equal(id, 42);
  assert_int_equal(avro_value_get_by_name(v, "name", &f, NULL), 0);
  assert_int_equal(avro_value_get_string(&f, &str, &size), 0);
  assert_string_equal(str, "Bill");
  assert_int_equal(size, 5);
  assert_int_equal(avro_value_get_by_name(v, "tags", &f, NULL), 0);
  assert_int_equal(avro_value_get_size(&f, &n), 0);
  assert_int_equal(n, 2);
  assert_int_equal(avro_value_get_by_index(&f, 0, &item, NULL), 0);
  assert_int_equal(avro_value_get_string(&item, &str, &size), 0);
  assert_string_equal(str, "dog_lover");
  assert_int_equal(avro_value_get_by_index(&f, 1, &item, NULL), 0);
  assert_int_equal(avro_value_get_string(&item, &str, &size), 0);
  assert_string_equal(str, "cat_hater");
}

static void test_java_message_decodes_and_reencodes_identically(void **state) {
  (void)state;
  size_t len;
  char *msg = oc_test_read_file(oc_test_data_path("avro/messageV1/test_message.bin"), &len);
  oc_schema_t *s = load_test_schema();
  uint64_t fp, wfp = 0;
  oc_registry_t *reg = NULL;
  avro_value_t *v = NULL;
  unsigned char out[64];
  size_t out_len = 0;
  oc_err_t err;

  assert_int_equal(len, 38);
  assert_int_equal(oc_avro_header_read(msg, len, &fp, &err), 0);
  assert_true(fp == oc_schema_fingerprint(s));
  assert_true(fp == UINT64_C(0x3df542a2f8e12da9));
  if (oc_registry_new(s, 0, &reg, &err) != 0)
    fail_msg("%s", err.msg);
  if (oc_registry_decode(reg, msg, len, &v, &wfp, &err) != 0)
    fail_msg("%s", err.msg);
  assert_true(wfp == fp);
  check_bill(v);
  if (oc_registry_encode(reg, fp, v, out, sizeof(out), &out_len, &err) != 0)
    fail_msg("%s", err.msg);
  assert_int_equal(out_len, 38);
  assert_memory_equal(out, msg, 38);
  /* Too small a buffer is a limit, not an overflow. */
  assert_int_equal(oc_registry_encode(reg, fp, v, out, 37, &out_len, &err), OC_ERR_LIMIT);
  assert_int_equal(oc_registry_encode(reg, fp, v, out, 5, &out_len, &err), OC_ERR_LIMIT);
  oc_registry_destroy(reg);
  free(msg);
}

static void test_standalone_decode_and_encode(void **state) {
  (void)state;
  size_t len;
  char *msg = oc_test_read_file(oc_test_data_path("avro/messageV1/test_message.bin"), &len);
  oc_schema_t *s = load_test_schema();
  avro_value_t v;
  unsigned char out[64];
  size_t out_len;
  oc_err_t err;

  assert_int_equal(oc_schema_new_value(s, &v, &err), 0);
  if (oc_avro_decode(s, msg, len, &v, &err) != 0)
    fail_msg("%s", err.msg);
  check_bill(&v);
  assert_int_equal(oc_avro_encode(s, &v, out, sizeof(out), &out_len, &err), 0);
  assert_int_equal(out_len, 38);
  assert_memory_equal(out, msg, 38);
  /* A trailing byte is refused. */
  msg = realloc(msg, 39);
  msg[38] = 0;
  assert_int_equal(oc_avro_decode(s, msg, 39, &v, &err), OC_ERR_DECODE);
  assert_non_null(strstr(err.msg, "1 trailing bytes"));
  avro_value_decref(&v);
  oc_schema_destroy(s);
  free(msg);
}

static void test_reader_with_defaulted_scores_map_gets_empty_scores(void **state) {
  (void)state;
  static const char reader_json[] =
      "{\"type\":\"record\",\"namespace\":\"org.apache.avro\",\"name\":\"TestMessage\","
      "\"fields\":[{\"name\":\"id\",\"type\":\"long\"},{\"name\":\"name\",\"type\":\"string\"},"
      "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"string\"}},"
      "{\"name\":\"scores\",\"type\":{\"type\":\"map\",\"values\":\"double\"},\"default\":{}}]}";
  size_t len;
  char *msg = oc_test_read_file(oc_test_data_path("avro/messageV1/test_message.bin"), &len);
  oc_schema_t *reader = NULL;
  oc_registry_t *reg = NULL;
  avro_value_t *v, scores;
  size_t n = 99;
  oc_err_t err;

  assert_int_equal(oc_schema_parse(reader_json, sizeof(reader_json) - 1, &reader, &err), 0);
  assert_int_equal(oc_registry_new(reader, 0, &reg, &err), 0);
  if (oc_registry_add(reg, load_test_schema(), &err) != 0)
    fail_msg("%s", err.msg);
  assert_int_equal(oc_registry_count(reg), 2);
  if (oc_registry_decode(reg, msg, len, &v, NULL, &err) != 0)
    fail_msg("%s", err.msg);
  check_bill(v);
  assert_int_equal(avro_value_get_by_name(v, "scores", &scores, NULL), 0);
  assert_int_equal(avro_value_get_type(&scores), AVRO_MAP);
  assert_int_equal(avro_value_get_size(&scores, &n), 0);
  assert_int_equal(n, 0);
  /* Twice: values are reused, the result is the same. */
  assert_int_equal(oc_registry_decode(reg, msg, len, &v, NULL, &err), 0);
  check_bill(v);
  oc_registry_destroy(reg);
  free(msg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_java_message_decodes_and_reencodes_identically),
      cmocka_unit_test(test_standalone_decode_and_encode),
      cmocka_unit_test(test_reader_with_defaulted_scores_map_gets_empty_scores),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
