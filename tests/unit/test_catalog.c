/* test_catalog.c - the metric catalog: the shipped file and the parser's
 * errors. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes/catalog.h"

#define HEADER "code\tname\tunit\tkind\tdirection\tmin\tmax\tseed\tdescription\n"
#define GOOD "cpoe_rate\tCPOE rate\tratio\tratio\thigher_is_better\t0\t1\tUHS: 99.5% CPOE\tOrders\n"

static oc_catalog_t *load_shipped(void) {
  oc_catalog_t *cat = NULL;
  oc_err_t err;
  oc_err_clear(&err);
  if (oc_catalog_load_file(oc_test_source_path("schemas/catalog.tsv"), &cat, &err) != 0)
    fail_msg("shipped catalog: %s", err.msg);
  return cat;
}

static void test_shipped_catalog_has_every_design_metric(void **state) {
  static const struct {
    const char *code;
    oc_kind_t kind;
    const char *unit;
    oc_direction_t dir;
  } want[] = {
      {"ar_days", OC_KIND_RATIO, "d", OC_DIR_LOWER_IS_BETTER},
      {"ar_balance", OC_KIND_GAUGE, "[USD]", OC_DIR_LOWER_IS_BETTER},
      {"net_collection_rate", OC_KIND_RATIO, "1", OC_DIR_HIGHER_IS_BETTER},
      {"first_pass_clean_claim_rate", OC_KIND_RATIO, "1", OC_DIR_HIGHER_IS_BETTER},
      {"claim_rejection_rate", OC_KIND_RATIO, "1", OC_DIR_LOWER_IS_BETTER},
      {"collections", OC_KIND_AMOUNT, "[USD]", OC_DIR_HIGHER_IS_BETTER},
      {"production", OC_KIND_AMOUNT, "[USD]", OC_DIR_HIGHER_IS_BETTER},
      {"pending_charges", OC_KIND_GAUGE, "{count}", OC_DIR_LOWER_IS_BETTER},
      {"readmission_rate_30d", OC_KIND_RATIO, "1", OC_DIR_LOWER_IS_BETTER},
      {"er_visits", OC_KIND_COUNT, "{count}", OC_DIR_LOWER_IS_BETTER},
      {"cpoe_rate", OC_KIND_RATIO, "1", OC_DIR_HIGHER_IS_BETTER},
      {"portal_enrollment_rate", OC_KIND_RATIO, "1", OC_DIR_HIGHER_IS_BETTER},
      {"supply_cost", OC_KIND_AMOUNT, "[USD]", OC_DIR_LOWER_IS_BETTER},
      {"overtime_fte", OC_KIND_GAUGE, "{FTE}", OC_DIR_LOWER_IS_BETTER},
      {"mu_incentive", OC_KIND_AMOUNT, "[USD]", OC_DIR_HIGHER_IS_BETTER},
      {"mu_providers_attested", OC_KIND_COUNT, "{count}", OC_DIR_HIGHER_IS_BETTER},
      {"hie_users", OC_KIND_GAUGE, "{count}", OC_DIR_HIGHER_IS_BETTER},
  };
  oc_catalog_t *cat = load_shipped();
  (void)state;

  assert_true(oc_catalog_count(cat) >= sizeof(want) / sizeof(want[0]));
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
    const oc_metric_t *m = oc_catalog_find(cat, want[i].code);
    if (!m)
      fail_msg("metric %s missing from schemas/catalog.tsv", want[i].code);
    assert_string_equal(m->code, want[i].code);
    assert_int_equal(m->kind, want[i].kind);
    assert_string_equal(m->unit, want[i].unit);
    assert_int_equal(m->direction, want[i].dir);
    assert_true(m->min <= m->max);
    assert_true(m->seed[0] != '\0');
    assert_true(m->description[0] != '\0');
    assert_string_equal(m->measure_url, "");
  }
  oc_catalog_destroy(cat);
}

static void test_shipped_rates_are_ratios_in_unit_interval(void **state) {
  oc_catalog_t *cat = load_shipped();
  (void)state;
  for (size_t i = 0; i < oc_catalog_count(cat); i++) {
    const oc_metric_t *m = oc_catalog_at(cat, i);
    if (strcmp(m->unit, "1") == 0) { /* a proportion */
      assert_int_equal(m->kind, OC_KIND_RATIO);
      assert_true(m->min == 0.0 && m->max == 1.0);
    }
  }
  /* The seed figures are quoted. */
  assert_non_null(strstr(oc_catalog_find(cat, "ar_days")->seed, "A/R days of 81%"));
  assert_non_null(strstr(oc_catalog_find(cat, "cpoe_rate")->seed, "99.5% CPOE"));
  oc_catalog_destroy(cat);
}

static void test_find_and_at_keep_file_order(void **state) {
  const char *buf = "# comment\n\n" HEADER GOOD
                    "er_visits\tER visits\tcount\tcount\tlower_is_better\t0\t1e9\t\t\r\n";
  oc_catalog_t *cat = NULL;
  oc_err_t err;
  (void)state;

  assert_int_equal(oc_catalog_parse(buf, strlen(buf), "t.tsv", &cat, &err), 0);
  assert_int_equal(oc_catalog_count(cat), 2);
  assert_string_equal(oc_catalog_at(cat, 0)->code, "cpoe_rate");
  assert_string_equal(oc_catalog_at(cat, 1)->code, "er_visits");
  assert_null(oc_catalog_at(cat, 2));
  assert_true(oc_catalog_find(cat, "er_visits")->max == 1e9);
  assert_string_equal(oc_catalog_find(cat, "er_visits")->description, "");
  assert_null(oc_catalog_find(cat, "er_visit"));
  assert_string_equal(oc_catalog_find(cat, "cpoe_rate")->seed, "UHS: 99.5% CPOE");
  oc_catalog_destroy(cat);
}

static void test_many_metrics_stay_findable(void **state) {
  oc_catalog_t *cat = oc_catalog_new();
  oc_metric_t m;
  oc_err_t err;
  const oc_metric_t *first;
  (void)state;

  memset(&m, 0, sizeof(m));
  m.name = "n";
  m.unit = "{count}";
  m.kind = OC_KIND_COUNT;
  m.max = 10;
  for (int i = 0; i < 1000; i++) {
    snprintf(m.code, sizeof(m.code), "m_%d", i);
    assert_int_equal(oc_catalog_add(cat, &m, &err), 0);
  }
  first = oc_catalog_find(cat, "m_0");
  assert_int_equal(oc_catalog_count(cat), 1000);
  for (int i = 0; i < 1000; i++) {
    char code[16];
    snprintf(code, sizeof(code), "m_%d", i);
    assert_ptr_equal(oc_catalog_find(cat, code), oc_catalog_at(cat, (size_t)i));
  }
  assert_ptr_equal(oc_catalog_find(cat, "m_0"), first); /* stable across growth */
  assert_int_equal(oc_catalog_add(cat, &m, &err), OC_ERR_CONFIG);
  assert_string_equal(err.msg, "code: duplicate code 'm_999'");
  m.min = NAN;
  snprintf(m.code, sizeof(m.code), "other");
  assert_int_equal(oc_catalog_add(cat, &m, &err), OC_ERR_CONFIG);
  assert_string_equal(err.msg, "min: must be a finite number");
  oc_catalog_destroy(cat);
  oc_catalog_destroy(NULL);
}

static void expect_error(const char *buf, const char *want) {
  oc_catalog_t *cat = (oc_catalog_t *)1;
  oc_err_t err;
  oc_err_clear(&err);
  int rc = oc_catalog_parse(buf, strlen(buf), "cat.tsv", &cat, &err);
  if (rc != OC_ERR_CONFIG)
    fail_msg("expected a config error '%s', got rc %d: '%s'", want, rc, err.msg);
  assert_null(cat);
  assert_string_equal(err.msg, want);
}

static void test_malformed_lines_name_line_and_column(void **state) {
  (void)state;
  expect_error("", "cat.tsv:0: header: missing header line");
  expect_error("# only a comment\n", "cat.tsv:1: header: missing header line");
  expect_error("code\tname\tunits\tkind\tdirection\tmin\tmax\tseed\tdescription\n",
               "cat.tsv:1: header: column 3: unknown column 'units' (expected code, name, unit, "
               "kind, direction, min, max, seed, description, measure_url)");
  expect_error("code\tname\tunit\n", "cat.tsv:1: header: missing column 'kind'");
  expect_error("code\tname\tunit\tkind\tdirection\tmin\tmax\tname\n",
               "cat.tsv:1: header: column 8: 'name' again (first column 2)");
  expect_error("code\tname\tunit\tkind\tdirection\tmin\tmax\tseed\tdescription\tmeasure_url"
               "\tseed\n",
               "cat.tsv:1: header: 11 columns, at most 10");
  expect_error(HEADER "x\ty\tratio\tratio\n",
               "cat.tsv:2: direction: missing column (4 columns, expected 9)");
  expect_error(HEADER "x\ty\tcount\tcount\tlower_is_better\t0\t1\ts\td\textra\n",
               "cat.tsv:2: description: 10 columns, expected 9 (a TAB inside a field?)");
  expect_error(HEADER "Cpoe\tCPOE\tratio\tratio\thigher_is_better\t0\t1\ts\td\n",
               "cat.tsv:2: code: invalid code 'Cpoe' (expected [a-z][a-z0-9_]*, at most 64 "
               "bytes)");
  expect_error(HEADER "1x\tCPOE\tratio\tratio\thigher_is_better\t0\t1\ts\td\n",
               "cat.tsv:2: code: invalid code '1x' (expected [a-z][a-z0-9_]*, at most 64 "
               "bytes)");
  expect_error(HEADER "a2345678901234567890123456789012345678901234567890123456789012345"
                      "\tn\tcount\tcount\tlower_is_better\t0\t1\ts\td\n",
               "cat.tsv:2: code: invalid code "
               "'a2345678901234567890123456789012345678901234567890123456789012345' "
               "(expected [a-z][a-z0-9_]*, at most 64 bytes)");
  expect_error(HEADER GOOD "\n" GOOD,
               "cat.tsv:4: code: duplicate code 'cpoe_rate' (first at line 2)");
  expect_error(HEADER "x\t\tcount\tcount\tlower_is_better\t0\t1\ts\td\n",
               "cat.tsv:2: name: must not be empty");
  expect_error(HEADER "x\tX\tper cent\tcount\tlower_is_better\t0\t1\ts\td\n",
               "cat.tsv:2: unit: not a UCUM code 'per cent' (printable ASCII without spaces, at "
               "most 64 bytes, [] and {} and () balanced)");
  expect_error(HEADER "x\tX\t[USD\tcount\tlower_is_better\t0\t1\ts\td\n",
               "cat.tsv:2: unit: not a UCUM code '[USD' (printable ASCII without spaces, at "
               "most 64 bytes, [] and {} and () balanced)");
  expect_error(HEADER "x\tX\t\tcount\tlower_is_better\t0\t1\ts\td\n",
               "cat.tsv:2: unit: must not be empty");
  expect_error(HEADER "x\tX\tcount\tsum\tlower_is_better\t0\t1\ts\td\n",
               "cat.tsv:2: kind: unknown kind 'sum' (expected ratio, count, amount or "
               "gauge)");
  expect_error(HEADER "x\tX\tcount\tcount\tlower\t0\t1\ts\td\n",
               "cat.tsv:2: direction: unknown direction 'lower' (expected lower_is_better "
               "or higher_is_better)");
  expect_error(HEADER "x\tX\tcount\tcount\tlower_is_better\tzero\t1\ts\td\n",
               "cat.tsv:2: min: not a decimal number 'zero'");
  expect_error(HEADER "x\tX\tcount\tcount\tlower_is_better\t0\tinf\ts\td\n",
               "cat.tsv:2: max: not a decimal number 'inf'");
  expect_error(HEADER "x\tX\tcount\tcount\tlower_is_better\t0\t0x10\ts\td\n",
               "cat.tsv:2: max: not a decimal number '0x10'");
  expect_error(HEADER "x\tX\tcount\tcount\tlower_is_better\t 1\t2\ts\td\n",
               "cat.tsv:2: min: not a decimal number ' 1'");
  expect_error(HEADER "x\tX\tcount\tcount\tlower_is_better\t0\t1e999\ts\td\n",
               "cat.tsv:2: max: number out of range '1e999'");
  expect_error(HEADER "x\tX\tcount\tcount\tlower_is_better\t5\t1\ts\td\n",
               "cat.tsv:2: max: 1 is less than min 5");
  expect_error(HEADER "x\tX\tcount\tcount\tlower_is_better\t0\t1\ts\xff\td\n",
               "cat.tsv:2: seed: not valid UTF-8 text (or contains a control character)");
  expect_error(HEADER "x\tX\tcount\tcount\tlower_is_better\t0\t1\ts\td\x01\n",
               "cat.tsv:2: description: not valid UTF-8 text (or contains a control "
               "character)");
}

static void test_columns_by_header_name(void **state) {
  /* Any order; seed, description and measure_url optional. */
  const char *buf = "max\tmin\tdirection\tkind\tunit\tname\tcode\n"
                    "1\t0\thigher_is_better\tratio\t1\tCPOE rate\tcpoe_rate\n";
  const char *with_url = "code\tname\tunit\tkind\tdirection\tmin\tmax\tmeasure_url\n"
                         "cms130\tColorectal cancer screening\t1\tratio\thigher_is_better\t0\t1\t"
                         "https://ecqi.example.org/Measure/CMS130\n"
                         "er_visits\tER visits\t{count}\tcount\tlower_is_better\t0\t1e9\t\n";
  oc_catalog_t *cat = NULL;
  const oc_metric_t *m;
  oc_err_t err;
  (void)state;

  oc_err_clear(&err);
  assert_int_equal(oc_catalog_parse(buf, strlen(buf), "t.tsv", &cat, &err), 0);
  m = oc_catalog_find(cat, "cpoe_rate");
  assert_non_null(m);
  assert_string_equal(m->name, "CPOE rate");
  assert_string_equal(m->unit, "1");
  assert_int_equal(m->kind, OC_KIND_RATIO);
  assert_true(m->min == 0 && m->max == 1);
  assert_string_equal(m->seed, "");
  assert_string_equal(m->description, "");
  assert_string_equal(m->measure_url, "");
  oc_catalog_destroy(cat);

  assert_int_equal(oc_catalog_parse(with_url, strlen(with_url), "u.tsv", &cat, &err), 0);
  assert_int_equal(oc_catalog_count(cat), 2);
  m = oc_catalog_find_measure(cat, "https://ecqi.example.org/Measure/CMS130", 39);
  assert_non_null(m);
  assert_string_equal(m->code, "cms130");
  assert_string_equal(m->measure_url, "https://ecqi.example.org/Measure/CMS130");
  /* Exact match on the given bytes: a prefix, a longer text, a version
   * suffix, another case or nothing at all find nothing. */
  assert_null(oc_catalog_find_measure(cat, "https://ecqi.example.org/Measure/CMS130|1.0", 43));
  assert_ptr_equal(oc_catalog_find_measure(cat, "https://ecqi.example.org/Measure/CMS130|1.0", 39),
                   m);
  assert_null(oc_catalog_find_measure(cat, "https://ecqi.example.org/Measure/CMS13", 38));
  assert_null(oc_catalog_find_measure(cat, "https://ecqi.example.org/measure/CMS130", 39));
  assert_null(oc_catalog_find_measure(cat, "", 0));
  assert_null(oc_catalog_find_measure(cat, NULL, 0));
  assert_null(oc_catalog_find_measure(NULL, "https://x.org/M", 15));
  assert_string_equal(oc_catalog_find(cat, "er_visits")->measure_url, "");
  oc_catalog_destroy(cat);
}

static void test_measure_url_errors(void **state) {
  (void)state;
  expect_error("code\tname\tunit\tkind\tdirection\tmin\tmax\tmeasure_url\n"
               "a\tA\t1\tratio\thigher_is_better\t0\t1\thttp://x.org/Measure/m\n"
               "b\tB\t1\tratio\thigher_is_better\t0\t1\thttp://x.org/Measure/m\n",
               "cat.tsv:3: measure_url: 'http://x.org/Measure/m' is also the measure of metric "
               "'a' (line 2)");
  expect_error("code\tname\tunit\tkind\tdirection\tmin\tmax\tmeasure_url\n"
               "a\tA\t1\tratio\thigher_is_better\t0\t1\thttp://x.org/Measure/m|2.0.0\n",
               "cat.tsv:2: measure_url: 'http://x.org/Measure/m|2.0.0' has a version suffix: "
               "give the canonical URL without '|version'");
  expect_error("code\tname\tunit\tkind\tdirection\tmin\tmax\tmeasure_url\n"
               "a\tA\t1\tratio\thigher_is_better\t0\t1\tMeasure/m\n",
               "cat.tsv:2: measure_url: not an absolute http(s) URL 'Measure/m' (printable "
               "ASCII, at most 1024 bytes)");
}

static void test_measure_url_syntax(void **state) {
  static const char *const good[] = {
      "http://x.org",
      "https://ecqi.healthit.gov/ecqm/ec/2024/cms0130v12/Measure/CMS130",
      "http://localhost:8080/fhir/Measure/abc-1",
      "https://x.org/Measure/m?x=1",
  };
  static const char *const bad[] = {
      "",
      "ftp://x.org/m",
      "HTTP://x.org/m",
      "https://",
      "https:///m",
      "https://x.org:/m",
      "https://x.org:123456/m",
      "https://x.org/a b",
      "https://x.org/m|1",
      "https://x.org#m",
      "https://us\xc3\xa9r.org/m",
      "urn:uuid:0c3ffb57-5a0b-4b0e-9d1c-3ce2d8bd1f1a",
  };
  char longurl[OC_MEASURE_URL_MAX + 2];
  (void)state;

  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
    if (!oc_measure_url_valid(good[i], strlen(good[i])))
      fail_msg("refused '%s'", good[i]);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (oc_measure_url_valid(bad[i], strlen(bad[i])))
      fail_msg("accepted '%s'", bad[i]);
  memset(longurl, 'a', sizeof(longurl));
  memcpy(longurl, "http://x.org/", 13);
  assert_true(oc_measure_url_valid(longurl, OC_MEASURE_URL_MAX));
  assert_false(oc_measure_url_valid(longurl, OC_MEASURE_URL_MAX + 1));
}

static void test_unit_syntax(void **state) {
  static const char *const good[] = {
      "d",         "1",       "{count}", "[USD]",      "{FTE}",  "%",      "mg/dL",
      "kg/(m2.d)", "10*3/uL", "/[HPF]",  "{visits}/a", "[in_i]", "mm[Hg]", "((s))",
  };
  static const char *const bad[] = {
      "",       "per cent", "[USD", "{a", "a]", "}",         "{}",   "[]",
      "[a{b}]", "{a[b]}",   "(",    "a)", ")(", "\xc2\xb5g", "a\tb",
  };
  char longunit[OC_UNIT_MAX + 2];
  (void)state;

  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
    if (!oc_unit_valid(good[i]))
      fail_msg("refused '%s'", good[i]);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (oc_unit_valid(bad[i]))
      fail_msg("accepted '%s'", bad[i]);
  assert_false(oc_unit_valid(NULL));
  memset(longunit, 'g', sizeof(longunit));
  longunit[OC_UNIT_MAX] = '\0';
  assert_true(oc_unit_valid(longunit));
  longunit[OC_UNIT_MAX] = 'g';
  longunit[OC_UNIT_MAX + 1] = '\0';
  assert_false(oc_unit_valid(longunit));
}

static void test_add_checks_measure_url_and_diff(void **state) {
  oc_catalog_t *cat = oc_catalog_new();
  oc_metric_t a, b;
  oc_err_t err;
  (void)state;

  memset(&a, 0, sizeof(a));
  snprintf(a.code, sizeof(a.code), "a");
  a.name = "A";
  a.unit = "{count}";
  a.kind = OC_KIND_COUNT;
  a.max = 10;
  a.measure_url = "https://x.org/Measure/a";
  assert_int_equal(oc_catalog_add(cat, &a, &err), 0);
  b = a;
  snprintf(b.code, sizeof(b.code), "b");
  assert_int_equal(oc_catalog_add(cat, &b, &err), OC_ERR_CONFIG);
  assert_string_equal(err.msg,
                      "measure_url: 'https://x.org/Measure/a' is also the measure of metric 'a'");
  b.measure_url = NULL; /* stored as "" */
  assert_int_equal(oc_catalog_add(cat, &b, &err), 0);
  assert_string_equal(oc_catalog_find(cat, "b")->measure_url, "");
  assert_string_equal(oc_catalog_find(cat, "b")->seed, "");
  assert_ptr_equal(oc_catalog_find_measure(cat, a.measure_url, strlen(a.measure_url)),
                   oc_catalog_find(cat, "a"));

  /* NULL and "" are the same text; each column is told apart. */
  assert_int_equal(oc_metric_diff(oc_catalog_find(cat, "b"), &b), 0);
  b.seed = "";
  b.unit = "1";
  b.max = 1;
  b.measure_url = "http://y.org/M";
  assert_int_equal(oc_metric_diff(oc_catalog_find(cat, "b"), &b),
                   (1u << OC_COL_UNIT) | (1u << OC_COL_MAX) | (1u << OC_COL_MEASURE_URL));
  assert_int_equal(oc_metric_diff(&a, &b), (1u << OC_COL_CODE) | (1u << OC_COL_UNIT) |
                                               (1u << OC_COL_MAX) | (1u << OC_COL_MEASURE_URL));
  assert_string_equal(oc_metric_col_name(OC_COL_MEASURE_URL), "measure_url");
  assert_string_equal(oc_metric_col_name(OC_COL_MIN), "min");
  assert_string_equal(oc_metric_col_name(OC_COL_COUNT), "?");
  oc_catalog_destroy(cat);
}

static void test_changes_between_catalogs(void **state) {
  const char *a =
      HEADER GOOD "er_visits\tER visits\t{count}\tcount\tlower_is_better\t0\t1e9\ts\td\n"
                  "gone\tGone\t1\tratio\thigher_is_better\t0\t1\ts\td\n";
  const char *b = "code\tname\tunit\tkind\tdirection\tmin\tmax\tmeasure_url\n"
                  "er_visits\tER visits\t{count}\tcount\tlower_is_better\t0\t1e9\t\n"
                  "new_one\tNew\t1\tratio\thigher_is_better\t0\t1\t\n"
                  "cpoe_rate\tCPOE rate\t1\tratio\thigher_is_better\t0\t1\thttp://x.org/M\n"
                  "new_two\tNew\t1\tratio\thigher_is_better\t0\t1\t\n";
  oc_catalog_t *ca = NULL, *cb = NULL;
  oc_catalog_changes_t c;
  oc_err_t err;
  (void)state;

  assert_int_equal(oc_catalog_parse(a, strlen(a), "a", &ca, &err), 0);
  assert_int_equal(oc_catalog_parse(b, strlen(b), "b", &cb, &err), 0);
  assert_int_equal(oc_catalog_changes(ca, cb, &c, &err), 0);
  /* er_visits lost its seed and description: changed too. */
  assert_string_equal(c.added.p, "new_one,new_two");
  assert_string_equal(c.removed.p, "gone");
  assert_string_equal(c.changed.p, "er_visits,cpoe_rate");
  assert_int_equal(c.n_added + c.n_removed + c.n_changed, 5);
  oc_catalog_changes_release(&c);

  assert_int_equal(oc_catalog_changes(cb, cb, &c, &err), 0);
  assert_string_equal(c.added.p, "");
  assert_string_equal(c.removed.p, "");
  assert_string_equal(c.changed.p, "");
  oc_catalog_changes_release(&c);
  assert_int_equal(oc_catalog_changes(NULL, ca, &c, &err), 0);
  assert_string_equal(c.added.p, "cpoe_rate,er_visits,gone");
  oc_catalog_changes_release(&c);
  oc_catalog_destroy(ca);
  oc_catalog_destroy(cb);
}

static void test_nul_byte_and_missing_file(void **state) {
  static const char buf[] = "code\0name";
  oc_catalog_t *cat = NULL;
  oc_err_t err;
  (void)state;

  assert_int_equal(oc_catalog_parse(buf, sizeof(buf) - 1, "nul.tsv", &cat, &err), OC_ERR_CONFIG);
  assert_string_equal(err.msg, "nul.tsv: contains a NUL byte");
  assert_int_equal(oc_catalog_load_file("/nonexistent/catalog.tsv", &cat, &err), OC_ERR_IO);
  assert_string_equal(err.msg, "open '/nonexistent/catalog.tsv': No such file or directory");
  assert_null(cat);
}

static void test_names_round_trip(void **state) {
  oc_kind_t k;
  oc_direction_t d;
  (void)state;
  for (int i = 0; i <= 3; i++) {
    assert_int_equal(oc_kind_from_name(oc_kind_name((oc_kind_t)i), &k), 0);
    assert_int_equal(k, i);
  }
  assert_int_equal(oc_kind_from_name("Ratio", &k), OC_ERR_CONFIG);
  assert_int_equal(oc_direction_from_name("higher_is_better", &d), 0);
  assert_int_equal(d, OC_DIR_HIGHER_IS_BETTER);
  assert_int_equal(oc_direction_from_name("", &d), OC_ERR_CONFIG);
  assert_non_null(strstr(oc_catalog_default_path(), "/outcomes/catalog.tsv"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shipped_catalog_has_every_design_metric),
      cmocka_unit_test(test_shipped_rates_are_ratios_in_unit_interval),
      cmocka_unit_test(test_find_and_at_keep_file_order),
      cmocka_unit_test(test_many_metrics_stay_findable),
      cmocka_unit_test(test_malformed_lines_name_line_and_column),
      cmocka_unit_test(test_columns_by_header_name),
      cmocka_unit_test(test_measure_url_errors),
      cmocka_unit_test(test_measure_url_syntax),
      cmocka_unit_test(test_unit_syntax),
      cmocka_unit_test(test_add_checks_measure_url_and_diff),
      cmocka_unit_test(test_changes_between_catalogs),
      cmocka_unit_test(test_nul_byte_and_missing_file),
      cmocka_unit_test(test_names_round_trip),
  };
  return cmocka_run_group_tests_name("catalog", tests, NULL, NULL);
}
