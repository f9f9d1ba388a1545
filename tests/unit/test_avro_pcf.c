/* test_avro_pcf.c - Parsing Canonical Form and CRC-64-AVRO against the
 * Apache Avro test vectors (tests/data/avro/schema-tests.txt). */
#include "testutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes/avro.h"

/* One case of the test-vector file. */
typedef struct pcf_case_s {
  int line;
  char *input;
  char *canonical;
  bool has_fingerprint;
  int64_t fingerprint;
} pcf_case_t;

static char *dup_range(const char *s, size_t n) {
  char *d = malloc(n + 1);
  assert_non_null(d);
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

/* Append text to a growing string. */
static void append(char **dst, const char *s, size_t n) {
  size_t old = *dst ? strlen(*dst) : 0;
  char *d = realloc(*dst, old + n + 2);
  assert_non_null(d);
  memcpy(d + old, s, n);
  d[old + n] = '\n';
  d[old + n + 1] = '\0';
  *dst = d;
}

/* Parse the file: "<<NAME value" single-line blocks, or "<<NAME" then lines
 * up to a line "NAME"; "//" lines are comments. */
static size_t parse_cases(char *text, pcf_case_t *cases, size_t max) {
  size_t n = 0;
  int lineno = 0;
  char *save = NULL;
  char *line = strtok_r(text, "\n", &save);
  while (line) {
    lineno++;
    if (strncmp(line, "<<", 2) == 0) {
      char *tag = line + 2;
      char *sp = strchr(tag, ' ');
      char *value = NULL;
      size_t taglen = sp ? (size_t)(sp - tag) : strlen(tag);
      if (sp) {
        value = dup_range(sp + 1, strlen(sp + 1));
      } else {
        char *l;
        while ((l = strtok_r(NULL, "\n", &save)) != NULL) {
          lineno++;
          if (strlen(l) == taglen && strncmp(l, tag, taglen) == 0)
            break;
          append(&value, l, strlen(l));
        }
        assert_non_null(value);
      }
      if (taglen == 5 && strncmp(tag, "INPUT", 5) == 0) {
        assert_true(n < max);
        memset(&cases[n], 0, sizeof(cases[n]));
        cases[n].line = lineno;
        cases[n].input = value;
        n++;
      } else if (taglen == 9 && strncmp(tag, "canonical", 9) == 0) {
        assert_true(n > 0 && cases[n - 1].canonical == NULL);
        cases[n - 1].canonical = value;
      } else if (taglen == 11 && strncmp(tag, "fingerprint", 11) == 0) {
        assert_true(n > 0);
        cases[n - 1].has_fingerprint = true;
        cases[n - 1].fingerprint = strtoll(value, NULL, 10);
        free(value);
      } else {
        fail_msg("line %d: unknown block '%.*s'", lineno, (int)taglen, tag);
      }
    }
    line = strtok_r(NULL, "\n", &save);
  }
  return n;
}

static void test_every_vector_gives_canonical_form_and_fingerprint(void **state) {
  (void)state;
  char *text = oc_test_read_file(oc_test_data_path("avro/schema-tests.txt"), NULL);
  pcf_case_t cases[256];
  size_t n = parse_cases(text, cases, 256);
  size_t n_canon = 0, n_fp = 0, n_fp_in_file = 0, n_parsed = 0;

  for (size_t i = 0; i < n; i++) {
    oc_err_t err;
    char *pcf = NULL;
    size_t len = 0;
    assert_non_null(cases[i].canonical);
    int rc = oc_avro_canonical(cases[i].input, strlen(cases[i].input), &pcf, &len, &err);
    if (rc != 0)
      fail_msg("case at line %d: %s", cases[i].line, err.msg);
    if (strcmp(pcf, cases[i].canonical) != 0)
      fail_msg("case at line %d: got %s want %s", cases[i].line, pcf, cases[i].canonical);
    assert_int_equal(len, strlen(pcf));
    n_canon++;
    /* The fingerprint is of the canonical form: check every case's, and the
     * published value when there is one. */
    uint64_t fp = oc_avro_crc64(pcf, len);
    if (cases[i].has_fingerprint) {
      n_fp_in_file++;
      if (fp != (uint64_t)cases[i].fingerprint)
        fail_msg("case at line %d: fingerprint %" PRId64 " want %" PRId64, cases[i].line,
                 (int64_t)fp, cases[i].fingerprint);
      n_fp++;
    }
    /* The same schema through oc_schema_parse: same PCF and fingerprint,
     * except for schemas avro-c itself does not take (empty union). */
    oc_schema_t *s = NULL;
    if (oc_schema_parse(cases[i].input, strlen(cases[i].input), &s, &err) == 0) {
      assert_string_equal(oc_schema_canonical(s), pcf);
      assert_true(oc_schema_fingerprint(s) == fp);
      oc_schema_destroy(s);
      n_parsed++;
    } else {
      printf("avro-c does not take case at line %d: %s\n", cases[i].line, err.msg);
    }
    free(pcf);
    free(cases[i].input);
    free(cases[i].canonical);
  }
  free(text);
  assert_int_equal(n_canon, 34);
  assert_int_equal(n_fp, n_fp_in_file);
  assert_int_equal(n_fp, 26);
  printf("checked %zu canonical forms and %zu fingerprints\n", n_canon, n_fp);
  printf("%zu of them also through oc_schema_parse (avro-c)\n", n_parsed);
  assert_true(n_parsed >= 30);
}

static void test_crc64_of_empty_input_is_the_seed(void **state) {
  (void)state;
  assert_true(oc_avro_crc64(NULL, 0) == OC_AVRO_CRC64_EMPTY);
  assert_true(oc_avro_crc64("", 0) == UINT64_C(0xc15d213aa4d7a795));
}

static void expect_error(const char *json, const char *needle) {
  oc_err_t err;
  char *pcf = (char *)"untouched";
  int rc = oc_avro_canonical(json, strlen(json), &pcf, NULL, &err);
  assert_int_equal(rc, OC_ERR_SCHEMA);
  assert_int_equal(err.code, OC_ERR_SCHEMA);
  assert_null(pcf);
  if (!strstr(err.msg, needle))
    fail_msg("schema %s: error '%s' does not contain '%s'", json, err.msg, needle);
}

static void test_bad_schemas_give_precise_errors(void **state) {
  (void)state;
  expect_error("{\"type\":", "invalid JSON at line 1");
  expect_error("", "invalid JSON");
  expect_error("\"nosuch\"", "unknown type name 'nosuch'");
  expect_error(
      "{\"type\":\"record\",\"name\":\"r\",\"fields\":[{\"name\":\"a\",\"type\":\"Foo\"}]}",
      "record 'r' field 'a': unknown type name 'Foo'");
  expect_error("{\"type\":\"fixed\",\"name\":\"f\",\"size\":-1}", "fixed 'f': \"size\" must be");
  expect_error("{\"type\":\"fixed\",\"name\":\"f\",\"size\":1.5}", "\"size\" must be");
  expect_error("{\"type\":\"fixed\",\"name\":\"f\"}", "\"size\" must be");
  expect_error("{\"type\":\"enum\",\"name\":\"e\",\"symbols\":[\"A\",\"A\"]}",
               "duplicate symbol 'A'");
  expect_error("{\"type\":\"record\",\"name\":\"1r\",\"fields\":[]}", "invalid record name '1r'");
  expect_error("{\"type\":\"record\",\"name\":\"r\"}", "\"fields\" must be an array");
  expect_error("{\"type\":\"array\"}", "array without \"items\"");
  expect_error("{\"type\":\"map\",\"values\":\"x\"}", "unknown type name 'x'");
  expect_error("{\"items\":\"int\"}", "object without \"type\"");
  expect_error("42", "must be a JSON string, object or array");
  expect_error("[[\"int\"]]", "is a union");
  expect_error("{\"type\":\"record\",\"name\":\"r\",\"fields\":[],\"fields\":[]}", "invalid JSON");
  expect_error("[{\"type\":\"enum\",\"name\":\"e\",\"symbols\":[]},"
               "{\"type\":\"enum\",\"name\":\"e\",\"symbols\":[]}]",
               "enum 'e' is defined twice");
  /* Deep nesting is bounded, not a stack overflow. */
  char deep[8192] = "";
  for (int i = 0; i < 200; i++)
    strcat(deep, "{\"type\":\"array\",\"items\":");
  strcat(deep, "\"int\"");
  for (int i = 0; i < 200; i++)
    strcat(deep, "}");
  expect_error(deep, "nested deeper than");
}

static void expect_pcf(const char *json, const char *want) {
  oc_err_t err;
  char *pcf = NULL;
  if (oc_avro_canonical(json, strlen(json), &pcf, NULL, &err) != 0)
    fail_msg("%s: %s", json, err.msg);
  assert_string_equal(pcf, want);
  free(pcf);
}

static void test_namespaces_are_inherited_and_names_reused(void **state) {
  (void)state;
  expect_pcf(
      "{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"a.b\",\"doc\":\"x\",\"fields\":["
      "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"X\"]},"
      "\"default\":\"X\"},"
      "{\"name\":\"e2\",\"type\":\"E\"},"
      "{\"name\":\"f\",\"type\":{\"type\":\"fixed\",\"name\":\"c.F\",\"size\":16}},"
      "{\"name\":\"g\",\"type\":{\"type\":\"record\",\"name\":\"G\",\"fields\":["
      "{\"name\":\"h\",\"type\":\"c.F\"},"
      "{\"name\":\"i\",\"type\":{\"type\":\"enum\",\"name\":\"I\",\"symbols\":[\"Y\"]}}]}},"
      "{\"name\":\"s\",\"type\":{\"type\":\"string\",\"logicalType\":\"uuid\"}}]}",
      "{\"name\":\"a.b.R\",\"type\":\"record\",\"fields\":["
      "{\"name\":\"e\",\"type\":{\"name\":\"a.b.E\",\"type\":\"enum\",\"symbols\":[\"X\"]}},"
      "{\"name\":\"e2\",\"type\":\"a.b.E\"},"
      "{\"name\":\"f\",\"type\":{\"name\":\"c.F\",\"type\":\"fixed\",\"size\":16}},"
      "{\"name\":\"g\",\"type\":{\"name\":\"a.b.G\",\"type\":\"record\",\"fields\":["
      "{\"name\":\"h\",\"type\":\"c.F\"},"
      "{\"name\":\"i\",\"type\":{\"name\":\"a.b.I\",\"type\":\"enum\",\"symbols\":[\"Y\"]}}]}},"
      "{\"name\":\"s\",\"type\":\"string\"}]}");
  /* A dotted name sets the namespace of what it contains. */
  expect_pcf(
      "{\"type\":\"record\",\"name\":\"x.R\",\"namespace\":\"ignored\",\"fields\":["
      "{\"name\":\"a\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"]}}]}",
      "{\"name\":\"x.R\",\"type\":\"record\",\"fields\":["
      "{\"name\":\"a\",\"type\":{\"name\":\"x.E\",\"type\":\"enum\",\"symbols\":[\"A\"]}}]}");
  /* Key order does not matter; whitespace and unknown attributes go. */
  expect_pcf("{ \"values\" : {\"items\":\"long\",\"type\":\"array\",\"x\":1}, \"type\" : \"map\" }",
             "{\"type\":\"map\",\"values\":{\"type\":\"array\",\"items\":\"long\"}}");
  /* A short name is looked up in the enclosing namespace only. */
  expect_error("{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"a\",\"fields\":["
               "{\"name\":\"f\",\"type\":{\"type\":\"fixed\",\"name\":\"c.F\",\"size\":1}},"
               "{\"name\":\"g\",\"type\":\"F\"}]}",
               "record 'a.R' field 'g': unknown type name 'F'");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_vector_gives_canonical_form_and_fingerprint),
      cmocka_unit_test(test_crc64_of_empty_input_is_the_seed),
      cmocka_unit_test(test_bad_schemas_give_precise_errors),
      cmocka_unit_test(test_namespaces_are_inherited_and_names_reused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
