/* test_input.c - CSV and JSON Lines rows into observations: header errors,
 * field parsing, defaults, retractions and the exact validation messages. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes/catalog.h"
#include "outcomes/date.h"
#include "outcomes/input.h"

static oc_catalog_t *cat;
static const oc_timestamp_t run_start = INT64_C(1711929600000000); /* 2024-04-01Z */

static int setup(void **state) {
  (void)state;
  oc_err_t err;
  if (oc_catalog_load_file(oc_test_source_path("schemas/catalog.tsv"), &cat, &err) < 0)
    fail_msg("catalog: %s", err.msg);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  oc_catalog_destroy(cat);
  return 0;
}

/* The whole input, one line per row (oc_test_input_describe). */
static char *run(const char *text, oc_input_format_t fmt, unsigned flags) {
  size_t len = strlen(text);
  char *copy = strdup(text);
  FILE *f = len ? fmemopen(copy, len, "rb") : fopen("/dev/null", "rb");

  assert_non_null(f);
  char *out = oc_test_input_describe(f, fmt, flags, cat, run_start);
  fclose(f);
  free(copy);
  return out;
}

#define HDR \
  "org_id,facility_id,metric,grain,period_start,value,numerator,denominator,source,observed_at\n"

static void test_format_from_name_and_extension(void **state) {
  (void)state;
  oc_input_format_t f;
  oc_err_t err;
  assert_int_equal(oc_input_format_from_path("/x/a.CSV", &f, &err), 0);
  assert_int_equal(f, OC_INPUT_CSV);
  /* .jsonl and .ndjson: JSON Lines, or FHIR NDJSON, as the first line says */
  assert_int_equal(oc_input_format_from_path("b.ndjson", &f, &err), 0);
  assert_int_equal(f, OC_INPUT_JSON_LINES_ANY);
  assert_int_equal(oc_input_format_from_path("c.jsonl", &f, &err), 0);
  assert_int_equal(f, OC_INPUT_JSON_LINES_ANY);
  assert_int_equal(oc_input_format_from_path("d.Json", &f, &err), 0);
  assert_int_equal(f, OC_INPUT_FHIR);
  assert_int_equal(oc_input_format_from_path("dir.csv/data", &f, &err), OC_ERR_USAGE);
  assert_string_equal(err.msg, "'dir.csv/data': cannot tell the format from the name (.csv, "
                               ".jsonl, .ndjson, .json): use --format");
  assert_int_equal(oc_input_format_from_name("jsonl", &f, &err), 0);
  assert_int_equal(f, OC_INPUT_JSONL);
  assert_int_equal(oc_input_format_from_name("fhir", &f, &err), 0);
  assert_int_equal(f, OC_INPUT_FHIR);
  assert_int_equal(oc_input_format_from_name("xml", &f, &err), OC_ERR_USAGE);
  assert_string_equal(err.msg, "unknown format 'xml' (csv, jsonl or fhir)");
}

static void test_csv_rows_map_with_defaults_and_absent_fields(void **state) {
  (void)state;
  const char *got =
      run(HDR "Kaleida Health,Buffalo General,supply_cost,MONTH,2024-03-01,1200000,,,erp,"
              "2024-04-02T08:00:00Z\n"
              "\"Coastal, Carolina\",,readmission_rate_30d,month,2024-03-01,0.12,12,100,"
              "ehr,\n",
          OC_INPUT_CSV, 0);
  assert_string_equal(got,
                      "2: ok Kaleida Health|Buffalo General|supply_cost|MONTH|2024-03-01 1200000 "
                      "- - erp 2024-04-02T08:00:00.000000Z\n"
                      "3: ok Coastal, Carolina||readmission_rate_30d|MONTH|2024-03-01 0.12 12 100 "
                      "ehr 2024-04-01T00:00:00.000000Z\n");
}

static void test_csv_columns_in_any_order_and_optional_ones_left_out(void **state) {
  (void)state;
  const char *got = run("source,value,period_start,grain,metric,org_id\n"
                        "x,5,2024-01-01,YEAR,er_visits,o1\n",
                        OC_INPUT_CSV, 0);
  assert_string_equal(got, "2: ok o1||er_visits|YEAR|2024-01-01 5 - - x "
                           "2024-04-01T00:00:00.000000Z\n");
}

static void test_csv_header_errors_name_the_columns(void **state) {
  (void)state;
  assert_string_equal(
      run("org_id,metric,grain,period_start,value,source,colour,size\n", OC_INPUT_CSV, 0),
      "open: line 1: unknown columns 'colour', 'size'\n");
  assert_string_equal(
      run("org_id,metric,grain,period_start,value,source,org_id\n", OC_INPUT_CSV, 0),
      "open: line 1: duplicate column 'org_id'\n");
  assert_string_equal(run("org_id,metric,grain,value\n", OC_INPUT_CSV, 0),
                      "open: line 1: missing columns 'period_start', 'source'\n");
  assert_string_equal(run("org_id,metric,grain,period_start,value\n", OC_INPUT_CSV, 0),
                      "open: line 1: missing column 'source'\n");
  assert_string_equal(run("", OC_INPUT_CSV, 0), "open: line 1: no header row\n");
  assert_string_equal(run("\n\norg_id,bad\"quote\n", OC_INPUT_CSV, 0),
                      "open: line 3: header: quote inside an unquoted field\n");
}

static void test_csv_row_errors_name_field_and_line(void **state) {
  (void)state;
  const char *got = run(HDR "o,,er_visits,MONTH,2024-03-01,1,,,s\n"
                            "o,,er_visits,MONTH,2024-03-01,abc,,,s,\n"
                            "o,,er_visits,MONTH,2024-03-01,,,,s,\n"
                            "o,,er_visits,FORTNIGHT,2024-03-01,1,,,s,\n"
                            "o,,er_visits,MONTH,2024-02-30,1,,,s,\n"
                            "o,,er_visits,MONTH,2024-03-01,1,,,s,yesterday\n"
                            "o,,er_visits,MONTH,2024-03-01,0x10,,,s,\n"
                            "o,,er_visits,MONTH,2024-03-01,nan,,,s,\n"
                            "o,\"caf\xC3,\",er_visits,MONTH,2024-03-01,1,,,s,\n"
                            "\n"
                            "\"multi\nline org\",,er_visits,MONTH,2024-03-01,1,,,s,\n"
                            "o,,er_visits,MONTH,2024-03-01,7,,,s,\n",
                        OC_INPUT_CSV, 0);
  assert_string_equal(
      got, "2: row: 9 fields, the header has 10\n"
           "3: value: 'abc' is not a number\n"
           "4: value: missing\n"
           "5: grain: unknown grain 'FORTNIGHT' (expected DAY, WEEK, MONTH, QUARTER or YEAR)\n"
           "6: period_start: '2024-02-30' is not a valid date\n"
           "7: observed_at: 'yesterday' is not an RFC 3339 timestamp: expected "
           "YYYY-MM-DD[THH:MM:SS[.ffffff](Z|+hh:mm)]\n"
           "8: value: '0x10' is not a number\n"
           "9: value: 'nan' is not a number\n"
           "10: facility_id: invalid UTF-8 at byte 3\n"
           "12: org_id: control character U+000A at byte 5\n"
           "14: ok o||er_visits|MONTH|2024-03-01 7 - - s 2024-04-01T00:00:00.000000Z\n");
}

static void test_validation_messages_are_exact(void **state) {
  (void)state;
  const char *got = run(HDR "o,,nosuch,MONTH,2024-03-01,1,,,s,\n"
                            "o,,er_visits,MONTH,2024-03-05,1,,,s,\n"
                            "o,,cpoe_rate,MONTH,2024-03-01,1.2,12,10,s,\n"
                            "o,,cpoe_rate,MONTH,2024-03-01,0.5,,,s,\n"
                            "o,,cpoe_rate,MONTH,2024-03-01,0.5,1,4,s,\n"
                            "o,,er_visits,MONTH,2024-03-01,3,1,,s,\n"
                            "o,,cpoe_rate,MONTH,2024-03-01,0.5,1,0,s,\n"
                            ",,er_visits,MONTH,2024-03-01,1,,,s,\n"
                            "o,,er_visits,WEEK,2024-03-05,1,,,s,\n"
                            "o,,er_visits,WEEK,2024-03-04,1,,,s,\n",
                        OC_INPUT_CSV, 0);
  assert_string_equal(got,
                      "2: metric: unknown metric 'nosuch'\n"
                      "3: period_start: 2024-03-05 is not the start of a MONTH\n"
                      "4: value: 1.2 outside [0, 1] for metric 'cpoe_rate'\n"
                      "5: numerator: required for ratio metric 'cpoe_rate'\n"
                      "6: value: 0.5 is not numerator/denominator (0.25)\n"
                      "7: numerator: not allowed for count metric 'er_visits'\n"
                      "8: denominator: 0 is not greater than 0\n"
                      "9: org_id: missing\n"
                      "10: period_start: 2024-03-05 is not the start of a WEEK\n"
                      "11: ok o||er_visits|WEEK|2024-03-04 1 - - s 2024-04-01T00:00:00.000000Z\n");
}

static void test_long_ids_and_metric_codes_are_refused(void **state) {
  (void)state;
  char text[2048];
  char id[300];
  memset(id, 'a', 257);
  id[257] = '\0';
  snprintf(text, sizeof(text),
           HDR "%s,,er_visits,MONTH,2024-03-01,1,,,s,\n"
               "o,,%s,MONTH,2024-03-01,1,,,s,\n",
           id, "a_metric_code_that_is_far_too_long_to_be_any_code_in_the_catalog_at_all");
  assert_string_equal(
      run(text, OC_INPUT_CSV, 0),
      "2: org_id: 257 bytes, more than 256\n"
      "3: metric: unknown metric "
      "'a_metric_code_that_is_far_too_long_to_be_any_code_in_the_catalog_at_all'\n");
}

static void test_an_unknown_metric_is_quoted_escaped(void **state) {
  (void)state;
  assert_string_equal(run(HDR "o,,\x1B[2J\\,MONTH,2024-03-01,1,,,s,\n", OC_INPUT_CSV, 0),
                      "2: metric: unknown metric '\\x1B[2J\\\\'\n");
  assert_string_equal(run("org_id,facility_id,metric,grain,period_start\n"
                          "o,,\x1B[2J\\,MONTH,2024-03-01\n",
                          OC_INPUT_CSV, OC_INPUT_RETRACT),
                      "2: metric: unknown metric '\\x1B[2J\\\\'\n");
}

static void test_jsonl_numbers_strings_nulls_and_defaults(void **state) {
  (void)state;
  const char *got = run(
      "\xEF\xBB\xBF{\"org_id\":\"o\",\"metric\":\"cpoe_rate\",\"grain\":\"MONTH\","
      "\"period_start\":\"2024-03-01\",\"value\":0.995,\"numerator\":995,\"denominator\":\"1000\","
      "\"source\":\"ehr\",\"facility_id\":null,\"observed_at\":\"2024-04-02T00:00:00+02:00\"}\r\n"
      "\n"
      "   \n"
      "{\"org_id\":\"o\",\"facility_id\":\"f\",\"metric\":\"er_visits\",\"grain\":\"DAY\","
      "\"period_start\":\"2024-03-07\",\"value\":\"42\",\"source\":\"s\",\"observed_at\":null}\n",
      OC_INPUT_JSONL, 0);
  assert_string_equal(got, "1: ok o||cpoe_rate|MONTH|2024-03-01 0.995 995 1000 ehr "
                           "2024-04-01T22:00:00.000000Z\n"
                           "4: ok o|f|er_visits|DAY|2024-03-07 42 - - s "
                           "2024-04-01T00:00:00.000000Z\n");
}

static void test_jsonl_row_errors(void **state) {
  (void)state;
  const char *got = run(
      "{\"org_id\":\"o\"\n"
      "[1,2]\n"
      "{\"org_id\":\"o\",\"org_id\":\"p\"}\n"
      "{\"org_id\":\"o\",\"colour\":\"red\"}\n"
      "{\"org_id\":1,\"metric\":\"er_visits\",\"grain\":\"DAY\",\"period_start\":\"2024-03-07\","
      "\"value\":1,\"source\":\"s\"}\n"
      "{\"org_id\":\"o\",\"metric\":\"er_visits\",\"grain\":\"DAY\",\"period_start\":\"2024-03-07\","
      "\"value\":true,\"source\":\"s\"}\n"
      "{\"org_id\":\"o\",\"metric\":\"er_visits\",\"grain\":\"DAY\",\"period_start\":\"2024-03-07\","
      "\"source\":\"s\"}\n"
      "{\"org_id\":\"o\xFF\"}\n"
      "{\"org_id\":\"o\",\"metric\":\"er_visits\",\"grain\":\"DAY\",\"period_start\":\"2024-03-07\","
      "\"value\":1e400,\"source\":\"s\"}\n",
      OC_INPUT_JSONL, 0);
  assert_string_equal(got,
                      "1: row: invalid JSON at column 13: '}' expected near end of file\n"
                      "2: row: not a JSON object\n"
                      "3: row: invalid JSON at column 22: duplicate object key near '\"org_id\"'\n"
                      "4: colour: unknown field\n"
                      "5: org_id: must be a string\n"
                      "6: value: must be a number or a string\n"
                      "7: value: missing\n"
                      "8: row: invalid JSON at column 12: unable to decode byte 0xff near '\"o'\n"
                      "9: row: invalid JSON at column 90: real number overflow near '1e400'\n");
}

/* Found by fuzz_jsonl: blank lines before any other line read from a line
 * buffer not yet allocated. */
static void test_jsonl_blank_lines_first(void **state) {
  (void)state;
  assert_string_equal(run("\n\n\n", OC_INPUT_JSONL, 0), "");
  assert_string_equal(run("\n \n{\"org_id\":\"o\",\"metric\":\"er_visits\",\"grain\":\"DAY\","
                          "\"period_start\":\"2024-03-07\",\"value\":1,\"source\":\"s\"}",
                          OC_INPUT_JSONL, 0),
                      "3: ok o||er_visits|DAY|2024-03-07 1 - - s 2024-04-01T00:00:00.000000Z\n");
}

static void test_jsonl_overlong_line_is_one_bad_row(void **state) {
  (void)state;
  size_t big = OC_INPUT_JSONL_LINE_MAX + 100;
  const char *good = "{\"org_id\":\"o\",\"metric\":\"er_visits\",\"grain\":\"DAY\","
                     "\"period_start\":\"2024-03-07\",\"value\":1,\"source\":\"s\"}\n";
  char *text = malloc(big + strlen(good) + 2);
  assert_non_null(text);
  memset(text, ' ', big);
  text[0] = '{';
  text[big] = '\n';
  strcpy(text + big + 1, good);
  const char *got = run(text, OC_INPUT_JSONL, 0);
  free(text);
  assert_string_equal(got, "1: row: line longer than 1048576 bytes\n"
                           "2: ok o||er_visits|DAY|2024-03-07 1 - - s "
                           "2024-04-01T00:00:00.000000Z\n");
}

/* Every number reads as the double strtod gives for it, bit for bit, on
 * the fast path (a short decimal) and off it (exponents, long significands,
 * more than 22 decimals). */
static void test_numbers_read_exactly_as_strtod_reads_them(void **state) {
  (void)state;
  static const char *const fixed[] = {"0",
                                      "-0",
                                      "+0",
                                      "1",
                                      "-1",
                                      "0.1",
                                      "0.3",
                                      ".5",
                                      "5.",
                                      "-.5",
                                      "+7.25",
                                      "82.86622334370753",
                                      "147322.03",
                                      "607866.01",
                                      "7335.51",
                                      "9007199254740991",
                                      "9007199254740992",
                                      "9007199254740993",
                                      "123456789012345678",
                                      "0.1234567890123456789",
                                      "0.0000000000000000000001",
                                      "0.00000000000000000000001",
                                      "1.0000000000000000000000",
                                      "00000000000000000000000000001.5",
                                      "1e22",
                                      "1e23",
                                      "1.7976931348623157e308",
                                      "4.9e-300",
                                      "2.2250738585072014e-308",
                                      "-3.5E+2",
                                      "0.30000000000000004"};
  enum { RANDOM = 4000 };
  size_t n = sizeof(fixed) / sizeof(fixed[0]) + RANDOM;
  char(*texts)[40] = calloc(n, sizeof(*texts));
  char *csv = malloc(n * 80 + 200);
  size_t used = 0;
  uint64_t x = 88172645463325252u; /* xorshift64 */

  assert_non_null(texts);
  assert_non_null(csv);
  for (size_t i = 0; i < n; i++) {
    if (i < sizeof(fixed) / sizeof(fixed[0])) {
      snprintf(texts[i], sizeof(texts[i]), "%s", fixed[i]);
      continue;
    }
    /* 1-20 digits with the point anywhere, sometimes a sign. */
    char *t = texts[i];
    size_t k = 0;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    int nd = 1 + (int)(x % 20), pt = (int)((x >> 8) % (uint64_t)(nd + 1));
    if ((x >> 20) % 4 == 0)
      t[k++] = (x >> 22) % 2 ? '-' : '+';
    for (int d = 0; d < nd; d++) {
      if (d == pt && d > 0)
        t[k++] = '.';
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      t[k++] = (char)('0' + x % 10);
    }
    t[k] = '\0';
  }
  used += (size_t)snprintf(csv, 200, "org_id,metric,grain,period_start,value,source\n");
  for (size_t i = 0; i < n; i++)
    used += (size_t)sprintf(csv + used, "o,er_visits,DAY,2024-01-01,%s,s\n", texts[i]);

  FILE *f = fmemopen(csv, used, "r");
  oc_input_t *in = NULL;
  oc_err_t err;
  assert_non_null(f);
  assert_int_equal(oc_input_open(f, OC_INPUT_CSV, 0, NULL, run_start, &in, &err), 0);
  for (size_t i = 0; i < n; i++) {
    oc_observation_t obs;
    long line;
    if (oc_input_next(in, &obs, &line, &err) != 1)
      fail_msg("'%s': %s", texts[i], err.msg);
    double want = strtod(texts[i], NULL);
    if (memcmp(&obs.value, &want, sizeof(want)) != 0)
      fail_msg("'%s': read %.17g, strtod gives %.17g", texts[i], obs.value, want);
  }
  assert_int_equal(oc_input_next(in, &(oc_observation_t){0}, NULL, &err), 0);
  oc_input_destroy(in);
  fclose(f);
  free(csv);
  free(texts);
}

static void test_retraction_rows_hold_the_identity_only(void **state) {
  (void)state;
  assert_string_equal(run("org_id,facility_id,metric,grain,period_start\n"
                          "o,f,er_visits,MONTH,2024-03-01\n"
                          "o,,cpoe_rate,QUARTER,2024-04-01\n"
                          "o,,cpoe_rate,QUARTER,2024-05-01\n"
                          "o,,nosuch,DAY,2024-05-01\n",
                          OC_INPUT_CSV, OC_INPUT_RETRACT),
                      "2: ok o|f|er_visits|MONTH|2024-03-01\n"
                      "3: ok o||cpoe_rate|QUARTER|2024-04-01\n"
                      "4: period_start: 2024-05-01 is not the start of a QUARTER\n"
                      "5: metric: unknown metric 'nosuch'\n");
  assert_string_equal(
      run("org_id,metric,grain,period_start,value\n", OC_INPUT_CSV, OC_INPUT_RETRACT),
      "open: line 1: unknown column 'value'\n");
  assert_string_equal(run("{\"org_id\":\"o\",\"metric\":\"er_visits\",\"grain\":\"DAY\","
                          "\"period_start\":\"2024-03-07\",\"value\":1}\n",
                          OC_INPUT_JSONL, OC_INPUT_RETRACT),
                      "1: value: unknown field\n");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_format_from_name_and_extension),
      cmocka_unit_test(test_csv_rows_map_with_defaults_and_absent_fields),
      cmocka_unit_test(test_csv_columns_in_any_order_and_optional_ones_left_out),
      cmocka_unit_test(test_csv_header_errors_name_the_columns),
      cmocka_unit_test(test_csv_row_errors_name_field_and_line),
      cmocka_unit_test(test_validation_messages_are_exact),
      cmocka_unit_test(test_long_ids_and_metric_codes_are_refused),
      cmocka_unit_test(test_an_unknown_metric_is_quoted_escaped),
      cmocka_unit_test(test_jsonl_numbers_strings_nulls_and_defaults),
      cmocka_unit_test(test_jsonl_row_errors),
      cmocka_unit_test(test_jsonl_blank_lines_first),
      cmocka_unit_test(test_jsonl_overlong_line_is_one_bad_row),
      cmocka_unit_test(test_numbers_read_exactly_as_strtod_reads_them),
      cmocka_unit_test(test_retraction_rows_hold_the_identity_only),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
