/* test_record.c - UTF-8 and id checks, message quoting, observation
 * validation against a small catalog, fact identity (lib/record.c). */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "outcomes/catalog.h"
#include "outcomes/date.h"
#include "outcomes/record.h"

/* ---- fixtures ------------------------------------------------------- */

static void add_metric(oc_catalog_t *cat, const char *code, const char *unit, oc_kind_t kind,
                       double min, double max) {
  oc_metric_t m;
  oc_err_t err;
  memset(&m, 0, sizeof(m));
  snprintf(m.code, sizeof(m.code), "%s", code);
  char name[] = "test metric", empty[] = "", unit_buf[16];
  snprintf(unit_buf, sizeof(unit_buf), "%s", unit);
  m.name = name;
  m.unit = unit_buf;
  m.kind = kind;
  m.direction = OC_DIR_HIGHER_IS_BETTER;
  m.min = min;
  m.max = max;
  m.seed = empty;
  m.description = empty;
  oc_err_clear(&err);
  if (oc_catalog_add(cat, &m, &err) != 0)
    fail_msg("oc_catalog_add(%s): %s", code, err.msg);
}

static int setup_catalog(void **state) {
  oc_catalog_t *cat = oc_catalog_new();
  assert_non_null(cat);
  add_metric(cat, "cpoe_rate", "1", OC_KIND_RATIO, 0, 1);
  add_metric(cat, "ar_days", "d", OC_KIND_RATIO, 0, 365);
  add_metric(cat, "days_shift", "d", OC_KIND_RATIO, -365, 365);
  add_metric(cat, "er_visits", "{count}", OC_KIND_COUNT, 0, 1e9);
  add_metric(cat, "supply_cost", "[USD]", OC_KIND_AMOUNT, 0, 1e12);
  add_metric(cat, "ar_balance", "[USD]", OC_KIND_GAUGE, 0, 1e12);
  *state = cat;
  return 0;
}

static int teardown_catalog(void **state) {
  oc_catalog_destroy(*state);
  return 0;
}

static oc_date_t day(const char *s) {
  oc_date_t d = 0;
  assert_int_equal(oc_date_parse(s, &d, NULL), 0);
  return d;
}

/* A valid count observation: er_visits for a facility, MONTH 2024-03. */
static oc_observation_t count_obs(void) {
  oc_observation_t o;
  memset(&o, 0, sizeof(o));
  strcpy(o.id.org_id, "Kaleida Health");
  strcpy(o.id.facility_id, "Buffalo General");
  strcpy(o.id.metric, "er_visits");
  o.id.grain = OC_GRAIN_MONTH;
  o.id.period_start = day("2024-03-01");
  o.value = 1234;
  strcpy(o.source, "epic-clarity");
  o.observed_at = INT64_C(1709281800000000);
  return o;
}

/* A valid ratio observation: cpoe_rate = 995/1000 for an org, QUARTER. */
static oc_observation_t ratio_obs(void) {
  oc_observation_t o = count_obs();
  strcpy(o.id.metric, "cpoe_rate");
  o.id.facility_id[0] = '\0';
  o.id.grain = OC_GRAIN_QUARTER;
  o.id.period_start = day("2024-04-01");
  o.value = 0.995;
  o.has_numerator = o.has_denominator = true;
  o.numerator = 995;
  o.denominator = 1000;
  return o;
}

static void assert_valid(const oc_observation_t *o, const oc_catalog_t *cat) {
  oc_err_t err;
  oc_err_clear(&err);
  if (oc_observation_validate(o, cat, &err) != 0)
    fail_msg("expected valid, got %s: %s", oc_err_code_name(err.code), err.msg);
}

static void assert_invalid(const oc_observation_t *o, const oc_catalog_t *cat, int code,
                           const char *msg) {
  oc_err_t err;
  oc_err_clear(&err);
  int rc = oc_observation_validate(o, cat, &err);
  if (rc != code || err.code != code || strcmp(err.msg, msg) != 0)
    fail_msg("expected %s '%s', got %s (%d) '%s'", oc_err_code_name(code), msg,
             oc_err_code_name(err.code), rc, err.msg);
}

/* ---- UTF-8 ---------------------------------------------------------- */

static void test_utf8_valid_sequences(void **state) {
  (void)state;
  static const struct {
    const char *s;
    size_t len;
  } ok[] = {
      {"", 0},
      {"plain ascii", 11},
      {"\x00", 1},             /* NUL is well-formed (oc_id_check refuses it) */
      {"\xC2\x80", 2},         /* U+0080, smallest 2-byte */
      {"\xDF\xBF", 2},         /* U+07FF */
      {"\xE0\xA0\x80", 3},     /* U+0800, smallest 3-byte */
      {"\xED\x9F\xBF", 3},     /* U+D7FF, just below the surrogates */
      {"\xEE\x80\x80", 3},     /* U+E000, just above them */
      {"\xEF\xBF\xBF", 3},     /* U+FFFF */
      {"\xF0\x90\x80\x80", 4}, /* U+10000, smallest 4-byte */
      {"\xF0\x9F\x8F\xA5", 4}, /* U+1F3E5 HOSPITAL */
      {"\xF4\x8F\xBF\xBF", 4}, /* U+10FFFF, the last code point */
      {"H\xC3\xB4pital \xE7\x97\x85\xE9\x99\xA2", 15},
  };
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
    if (!oc_utf8_valid(ok[i].s, ok[i].len))
      fail_msg("case %zu should be valid", i);
}

static void test_utf8_ill_formed_sequences(void **state) {
  (void)state;
  static const struct {
    const char *s;
    size_t len;
  } bad[] = {
      {"\x80", 1}, /* lone continuation */
      {"\xBF", 1},
      {"\xC0\xAF", 2},                 /* overlong '/' */
      {"\xC1\xBF", 2},                 /* overlong U+007F */
      {"\xE0\x80\xAF", 3},             /* overlong '/' in 3 bytes */
      {"\xE0\x9F\xBF", 3},             /* overlong U+07FF */
      {"\xF0\x80\x80\xAF", 4},         /* overlong '/' in 4 bytes */
      {"\xF0\x8F\xBF\xBF", 4},         /* overlong U+FFFF */
      {"\xED\xA0\x80", 3},             /* U+D800, high surrogate */
      {"\xED\xBF\xBF", 3},             /* U+DFFF, low surrogate */
      {"\xED\xA0\xBD\xED\xB2\xA9", 6}, /* CESU-8 surrogate pair */
      {"\xF4\x90\x80\x80", 4},         /* U+110000 */
      {"\xF5\x80\x80\x80", 4},
      {"\xFE", 1},
      {"\xFF", 1},
      {"\xC3", 1},         /* truncated 2-byte */
      {"\xE7\x97", 2},     /* truncated 3-byte */
      {"\xF0\x9F\x8F", 3}, /* truncated 4-byte */
      {"ab\xE7\x97", 4},   /* truncated at the end of text */
      {"\xC3\x28", 2},     /* bad continuation */
      {"\xE7\x28\x85", 3},
      {"\xF0\x9F\x28\xA5", 4},
      {"\xF0\x9F\x8F\x28", 4},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (oc_utf8_valid(bad[i].s, bad[i].len))
      fail_msg("case %zu should be ill-formed", i);
  /* The length bounds the check: a valid prefix of a longer buffer. */
  assert_true(oc_utf8_valid("\xE7\x97\x85", 3));
  assert_false(oc_utf8_valid("\xE7\x97\x85", 2));
}

/* ---- ids ------------------------------------------------------------ */

static void assert_id_refused(const char *s, size_t len, const char *msg) {
  oc_err_t err;
  oc_err_clear(&err);
  assert_int_equal(oc_id_check("org_id", s, len, &err), OC_ERR_BAD_FIELD);
  assert_int_equal(err.code, OC_ERR_BAD_FIELD);
  assert_string_equal(err.msg, msg);
}

static void test_id_length_bounds(void **state) {
  (void)state;
  char buf[OC_ID_MAX + 2];
  memset(buf, 'a', sizeof(buf));
  assert_int_equal(oc_id_check("org_id", buf, 1, NULL), 0);
  assert_int_equal(oc_id_check("org_id", buf, OC_ID_MAX, NULL), 0);
  assert_id_refused(buf, OC_ID_MAX + 1, "org_id: 257 bytes, more than 256");
  assert_id_refused("", 0, "org_id: must not be empty");
  /* 256 bytes of 4-byte characters (64 of them) is fine. */
  for (int i = 0; i < 64; i++)
    memcpy(buf + 4 * i, "\xF0\x9F\x8F\xA5", 4);
  assert_int_equal(oc_id_check("org_id", buf, 256, NULL), 0);
}

static void test_id_control_characters(void **state) {
  (void)state;
  assert_id_refused("a\tb", 3, "org_id: control character U+0009 at byte 1");
  assert_id_refused("ab\n", 3, "org_id: control character U+000A at byte 2");
  assert_id_refused("a\0b", 3, "org_id: control character U+0000 at byte 1");
  assert_id_refused("\x1F", 1, "org_id: control character U+001F at byte 0");
  assert_id_refused("x\x7F", 2, "org_id: control character U+007F at byte 1");
  assert_id_refused("\xC2\x80", 2, "org_id: control character U+0080 at byte 0");
  assert_id_refused("ok \xC2\x85", 5, "org_id: control character U+0085 at byte 3");
  assert_id_refused("\xC2\x9F", 2, "org_id: control character U+009F at byte 0");
  /* The first character past C1 and ordinary punctuation pass. */
  assert_int_equal(oc_id_check("org_id", "\xC2\xA0", 2, NULL), 0);
  assert_int_equal(oc_id_check("org_id", " '\"|%~", 6, NULL), 0);
}

static void test_id_invalid_utf8(void **state) {
  (void)state;
  assert_id_refused("ab\xC0\xAF", 4, "org_id: invalid UTF-8 at byte 2");
  assert_id_refused("\xED\xA0\x80", 3, "org_id: invalid UTF-8 at byte 0");
  assert_id_refused("x\xF4\x90\x80\x80", 5, "org_id: invalid UTF-8 at byte 1");
  assert_id_refused("abc\xE7\x97", 5, "org_id: invalid UTF-8 at byte 3");
  assert_int_equal(oc_id_check("facility_id", "\xE7\x97\x85\xE9\x99\xA2", 6, NULL), 0);
  oc_err_t err;
  assert_int_equal(oc_id_check(NULL, "", 0, &err), OC_ERR_BAD_FIELD);
  assert_string_equal(err.msg, "id: must not be empty");
}

/* ---- quoting -------------------------------------------------------- */

static void assert_quote(const char *s, size_t len, size_t cap, const char *want) {
  char buf[128];
  assert_true(cap <= sizeof(buf));
  assert_ptr_equal(oc_utf8_quote(s, len, buf, cap), buf);
  assert_string_equal(buf, want);
  assert_true(oc_utf8_valid(buf, strlen(buf)));
}

static void test_quote_escapes_what_is_not_text(void **state) {
  (void)state;
  assert_quote("plain", 5, 64, "plain");
  assert_quote("H\xC3\xB4pital", 8, 64, "H\xC3\xB4pital");
  assert_quote("a\nb", 3, 64, "a\\x0Ab");
  assert_quote("a\0b", 3, 64, "a\\x00b");
  assert_quote("\xC2\x85", 2, 64, "\\xC2\\x85");
  assert_quote("\xC0\xAF", 2, 64, "\\xC0\\xAF");
  assert_quote("\xFF", 1, 64, "\\xFF");
  assert_quote("\xE7\x97", 2, 64, "\\xE7\\x97");
  assert_quote("back\\slash", 10, 64, "back\\\\slash");
  /* Cut at a character boundary, with "..." */
  assert_quote("abcdefghij", 10, 8, "abcd...");
  assert_quote("abcdefg", 7, 8, "abcdefg");
  assert_quote("\xE7\x97\x85\xE9\x99\xA2\xE7\x97\x85", 9, 8, "\xE7\x97\x85...");
  assert_quote("\x01\x02", 2, 8, "\\x01...");
  assert_quote("\x01\x02", 2, 7, "...");
  assert_quote("abc", 3, 3, "");
  assert_quote("", 0, 1, "");
}

/* ---- validation ----------------------------------------------------- */

static void test_valid_observations_pass(void **state) {
  const oc_catalog_t *cat = *state;
  oc_observation_t o = count_obs();
  assert_valid(&o, cat);
  o.id.facility_id[0] = '\0'; /* org level */
  assert_valid(&o, cat);

  o = ratio_obs();
  assert_valid(&o, cat);
  o.value = 0; /* bounds are inclusive */
  o.numerator = 0;
  assert_valid(&o, cat);
  o.value = 1;
  o.numerator = 1000;
  assert_valid(&o, cat);

  o = count_obs();
  strcpy(o.id.metric, "supply_cost");
  o.id.grain = OC_GRAIN_YEAR;
  o.id.period_start = day("2023-01-01");
  o.value = 4e6;
  assert_valid(&o, cat);
  strcpy(o.id.metric, "ar_balance");
  o.id.grain = OC_GRAIN_WEEK;
  o.id.period_start = day("2020-12-28");
  assert_valid(&o, cat);
  o.id.grain = OC_GRAIN_DAY;
  o.id.period_start = day("2024-02-29");
  assert_valid(&o, cat);
  o.observed_at = OC_TIMESTAMP_MAX;
  assert_valid(&o, cat);
}

static void test_org_id_refusals(void **state) {
  const oc_catalog_t *cat = *state;
  oc_observation_t o = count_obs();
  o.id.org_id[0] = '\0';
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD, "org_id: must not be empty");
  strcpy(o.id.org_id, "bad\x01");
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD, "org_id: control character U+0001 at byte 3");
  strcpy(o.id.org_id, "bad\xC3");
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD, "org_id: invalid UTF-8 at byte 3");
  memset(o.id.org_id, 'x', OC_ID_MAX);
  o.id.org_id[OC_ID_MAX] = '\0';
  assert_valid(&o, cat);
  /* No NUL anywhere in the array: read as too long, never past the end. */
  memset(o.id.org_id, 'x', sizeof(o.id.org_id));
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD, "org_id: 257 bytes, more than 256");
}

static void test_facility_id_refusals(void **state) {
  const oc_catalog_t *cat = *state;
  oc_observation_t o = count_obs();
  strcpy(o.id.facility_id, "\xC2\x9F");
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD, "facility_id: control character U+009F at byte 0");
  memset(o.id.facility_id, 'f', sizeof(o.id.facility_id));
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD, "facility_id: 257 bytes, more than 256");
}

static void test_metric_refusals(void **state) {
  const oc_catalog_t *cat = *state;
  oc_observation_t o = count_obs();
  strcpy(o.id.metric, "foo");
  assert_invalid(&o, cat, OC_ERR_UNKNOWN_METRIC, "metric: unknown metric 'foo'");
  strcpy(o.id.metric, "ER_VISITS");
  assert_invalid(&o, cat, OC_ERR_UNKNOWN_METRIC, "metric: unknown metric 'ER_VISITS'");
  strcpy(o.id.metric, "er\nvisits\xFF");
  assert_invalid(&o, cat, OC_ERR_UNKNOWN_METRIC, "metric: unknown metric 'er\\x0Avisits\\xFF'");
  o.id.metric[0] = '\0';
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD, "metric: must not be empty");
  memset(o.id.metric, 'a', sizeof(o.id.metric)); /* unterminated */
  char want[128], a65[66];
  memset(a65, 'a', 65);
  a65[65] = '\0';
  snprintf(want, sizeof(want), "metric: unknown metric '%s'", a65);
  assert_invalid(&o, cat, OC_ERR_UNKNOWN_METRIC, want);
}

static void test_grain_and_period_refusals(void **state) {
  const oc_catalog_t *cat = *state;
  oc_observation_t o = count_obs();

  o.id.grain = (oc_grain_t)5;
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD, "grain: invalid value 5");
  o.id.grain = (oc_grain_t)-1;
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD, "grain: invalid value -1");

  o.id.grain = OC_GRAIN_MONTH;
  o.id.period_start = day("2024-03-05");
  assert_invalid(&o, cat, OC_ERR_MISALIGNED,
                 "period_start: 2024-03-05 is not the start of a MONTH");
  o.id.grain = OC_GRAIN_WEEK;
  o.id.period_start = day("2021-01-01");
  assert_invalid(&o, cat, OC_ERR_MISALIGNED, "period_start: 2021-01-01 is not the start of a WEEK");
  o.id.grain = OC_GRAIN_QUARTER;
  o.id.period_start = day("2024-02-01");
  assert_invalid(&o, cat, OC_ERR_MISALIGNED,
                 "period_start: 2024-02-01 is not the start of a QUARTER");
  o.id.grain = OC_GRAIN_YEAR;
  o.id.period_start = day("2024-12-01");
  assert_invalid(&o, cat, OC_ERR_MISALIGNED, "period_start: 2024-12-01 is not the start of a YEAR");

  o.id.grain = OC_GRAIN_DAY;
  o.id.period_start = OC_DATE_MIN;
  assert_valid(&o, cat);
  o.id.period_start = OC_DATE_MAX;
  assert_valid(&o, cat);
  o.id.period_start = OC_DATE_MAX + 1;
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD,
                 "period_start: day 2932897 is outside 0001-01-01..9999-12-31");
  o.id.period_start = OC_DATE_MIN - 1;
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD,
                 "period_start: day -719163 is outside 0001-01-01..9999-12-31");
}

static void test_value_refusals(void **state) {
  const oc_catalog_t *cat = *state;
  oc_observation_t o = ratio_obs();

  o.value = NAN;
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD, "value: not a finite number (nan)");
  o.value = INFINITY;
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD, "value: not a finite number (inf)");
  o.value = -INFINITY;
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD, "value: not a finite number (-inf)");
  o.value = 1.2;
  assert_invalid(&o, cat, OC_ERR_RANGE, "value: 1.2 outside [0, 1] for metric 'cpoe_rate'");
  o.value = -0.1;
  assert_invalid(&o, cat, OC_ERR_RANGE, "value: -0.1 outside [0, 1] for metric 'cpoe_rate'");
  o.value = 1 + 0x1p-52; /* the double after 1: the message must show it */
  assert_invalid(&o, cat, OC_ERR_RANGE,
                 "value: 1.0000000000000002 outside [0, 1] for metric 'cpoe_rate'");

  o = count_obs();
  o.value = 1e9 + 1;
  assert_invalid(&o, cat, OC_ERR_RANGE,
                 "value: 1000000001 outside [0, 1000000000] for metric 'er_visits'");
  o.value = -(0.1 + 0.2);
  assert_invalid(&o, cat, OC_ERR_RANGE,
                 "value: -0.30000000000000004 outside [0, 1000000000] for metric 'er_visits'");
}

static void test_ratio_refusals(void **state) {
  const oc_catalog_t *cat = *state;
  oc_observation_t o = ratio_obs();

  o.has_numerator = false;
  assert_invalid(&o, cat, OC_ERR_RATIO_MISSING, "numerator: required for ratio metric 'cpoe_rate'");
  o.has_numerator = true;
  o.has_denominator = false;
  assert_invalid(&o, cat, OC_ERR_RATIO_MISSING,
                 "denominator: required for ratio metric 'cpoe_rate'");
  o.has_numerator = false;
  assert_invalid(&o, cat, OC_ERR_RATIO_MISSING, "numerator: required for ratio metric 'cpoe_rate'");

  o = ratio_obs();
  o.numerator = NAN;
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD, "numerator: not a finite number (nan)");
  o = ratio_obs();
  o.denominator = INFINITY;
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD, "denominator: not a finite number (inf)");

  o = ratio_obs();
  o.denominator = 0;
  assert_invalid(&o, cat, OC_ERR_RANGE, "denominator: 0 is not greater than 0");
  o.denominator = -1000;
  assert_invalid(&o, cat, OC_ERR_RANGE, "denominator: -1000 is not greater than 0");
  o = ratio_obs();
  o.value = 0;
  o.numerator = -1e-300;
  assert_invalid(&o, cat, OC_ERR_RANGE, "numerator: -1e-300 is negative for metric 'cpoe_rate'");

  /* Negative numerators are fine where the metric's values may be < 0. */
  o = ratio_obs();
  strcpy(o.id.metric, "days_shift");
  o.value = -2.5;
  o.numerator = -10;
  o.denominator = 4;
  assert_valid(&o, cat);
  o.denominator = -4;
  o.numerator = 10;
  assert_invalid(&o, cat, OC_ERR_RANGE, "denominator: -4 is not greater than 0");
}

static void test_ratio_mismatch(void **state) {
  const oc_catalog_t *cat = *state;
  oc_observation_t o = ratio_obs();

  o.value = 0.5;
  o.numerator = 1;
  o.denominator = 4;
  assert_invalid(&o, cat, OC_ERR_RATIO_MISMATCH, "value: 0.5 is not numerator/denominator (0.25)");

  /* Within a relative 1e-9 passes; 1e-8 does not. */
  o.value = 0.25 * (1 + 1e-10);
  assert_valid(&o, cat);
  o.value = 0.25 * (1 - 1e-10);
  assert_valid(&o, cat);
  o.value = 0.25 * (1 + 1e-8);
  assert_invalid(&o, cat, OC_ERR_RATIO_MISMATCH,
                 "value: 0.2500000025 is not numerator/denominator (0.25)");

  /* 1/3 as computed by the producer, and the A/R days seed. */
  o.value = 1.0 / 3;
  o.numerator = 1;
  o.denominator = 3;
  assert_valid(&o, cat);
  o = ratio_obs();
  strcpy(o.id.metric, "ar_days");
  o.numerator = 12345678.9;
  o.denominator = 301234.5;
  o.value = 12345678.9 / 301234.5;
  assert_valid(&o, cat);
  o.value = 41;
  assert_invalid(&o, cat, OC_ERR_RATIO_MISMATCH,
                 "value: 41 is not numerator/denominator (40.98361542253627)");

  /* A quotient that overflows makes the tolerance infinite: still refused. */
  o = ratio_obs();
  o.numerator = 1e10;
  o.denominator = 1e-300;
  o.value = 0.5;
  assert_invalid(&o, cat, OC_ERR_RATIO_MISMATCH, "value: 0.5 is not numerator/denominator (inf)");
}

static void test_non_ratio_kinds_refuse_parts(void **state) {
  const oc_catalog_t *cat = *state;
  oc_observation_t o = count_obs();

  o.has_numerator = true;
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD, "numerator: not allowed for count metric 'er_visits'");
  o.has_numerator = false;
  o.has_denominator = true;
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD,
                 "denominator: not allowed for count metric 'er_visits'");
  strcpy(o.id.metric, "ar_balance");
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD,
                 "denominator: not allowed for gauge metric 'ar_balance'");
  strcpy(o.id.metric, "supply_cost");
  o.has_numerator = true;
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD,
                 "numerator: not allowed for amount metric 'supply_cost'");
}

static void test_source_and_observed_at_refusals(void **state) {
  const oc_catalog_t *cat = *state;
  oc_observation_t o = count_obs();

  o.source[0] = '\0';
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD, "source: must not be empty");
  strcpy(o.source, "csv\r");
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD, "source: control character U+000D at byte 3");

  o = count_obs();
  o.observed_at = 0;
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD, "observed_at: not set");
  o.observed_at = -1;
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD,
                 "observed_at: 1969-12-31T23:59:59.999999Z is outside 1970-01-01..9999-12-31");
  o.observed_at = OC_TIMESTAMP_MAX + 1;
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD,
                 "observed_at: 10000-01-01T00:00:00.000000Z is outside 1970-01-01..9999-12-31");
  o.observed_at = 1;
  assert_valid(&o, cat);
}

/* Everything wrong at once: the documented order decides which failure is
 * reported; fixing each in turn reveals the next. */
static void test_checks_run_in_documented_order(void **state) {
  const oc_catalog_t *cat = *state;
  oc_observation_t o = ratio_obs();
  strcpy(o.id.org_id, "");
  strcpy(o.id.facility_id, "\x7F");
  strcpy(o.id.metric, "nope");
  o.id.grain = (oc_grain_t)9;
  o.id.period_start = OC_DATE_MAX + 10;
  o.value = NAN;
  o.has_numerator = false;
  o.source[0] = '\0';
  o.observed_at = 0;

  assert_invalid(&o, cat, OC_ERR_BAD_FIELD, "org_id: must not be empty");
  strcpy(o.id.org_id, "org");
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD, "facility_id: control character U+007F at byte 0");
  strcpy(o.id.facility_id, "fac");
  assert_invalid(&o, cat, OC_ERR_UNKNOWN_METRIC, "metric: unknown metric 'nope'");
  strcpy(o.id.metric, "cpoe_rate");
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD, "grain: invalid value 9");
  o.id.grain = OC_GRAIN_MONTH;
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD,
                 "period_start: day 2932906 is outside 0001-01-01..9999-12-31");
  o.id.period_start = day("2024-03-02");
  assert_invalid(&o, cat, OC_ERR_MISALIGNED,
                 "period_start: 2024-03-02 is not the start of a MONTH");
  o.id.period_start = day("2024-03-01");
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD, "value: not a finite number (nan)");
  o.value = 2;
  assert_invalid(&o, cat, OC_ERR_RANGE, "value: 2 outside [0, 1] for metric 'cpoe_rate'");
  o.value = 0.5;
  assert_invalid(&o, cat, OC_ERR_RATIO_MISSING, "numerator: required for ratio metric 'cpoe_rate'");
  o.has_numerator = true;
  o.numerator = 3;
  assert_invalid(&o, cat, OC_ERR_RATIO_MISMATCH, "value: 0.5 is not numerator/denominator (0.003)");
  o.numerator = 500;
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD, "source: must not be empty");
  strcpy(o.source, "src");
  assert_invalid(&o, cat, OC_ERR_BAD_FIELD, "observed_at: not set");
  o.observed_at = 1;
  assert_valid(&o, cat);
}

static void test_validate_without_err_returns_code(void **state) {
  const oc_catalog_t *cat = *state;
  oc_observation_t o = count_obs();
  strcpy(o.id.metric, "foo");
  assert_int_equal(oc_observation_validate(&o, cat, NULL), OC_ERR_UNKNOWN_METRIC);
}

/* ---- identity ------------------------------------------------------- */

static void test_fact_id_equal(void **state) {
  (void)state;
  oc_observation_t a = count_obs(), b = count_obs();
  assert_true(oc_fact_id_equal(&a.id, &b.id));
  /* Bytes after the NUL do not matter. */
  strcpy(b.id.org_id + strlen(b.id.org_id) + 1, "junk");
  assert_true(oc_fact_id_equal(&a.id, &b.id));
  b = count_obs();
  b.id.facility_id[0] = '\0';
  assert_false(oc_fact_id_equal(&a.id, &b.id));
  b = count_obs();
  strcpy(b.id.metric, "er_visit");
  assert_false(oc_fact_id_equal(&a.id, &b.id));
  b = count_obs();
  b.id.grain = OC_GRAIN_DAY;
  assert_false(oc_fact_id_equal(&a.id, &b.id));
  b = count_obs();
  b.id.period_start++;
  assert_false(oc_fact_id_equal(&a.id, &b.id));
  b = count_obs();
  strcpy(b.id.org_id, "Kaleida health");
  assert_false(oc_fact_id_equal(&a.id, &b.id));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_utf8_valid_sequences),
      cmocka_unit_test(test_utf8_ill_formed_sequences),
      cmocka_unit_test(test_id_length_bounds),
      cmocka_unit_test(test_id_control_characters),
      cmocka_unit_test(test_id_invalid_utf8),
      cmocka_unit_test(test_quote_escapes_what_is_not_text),
      cmocka_unit_test(test_valid_observations_pass),
      cmocka_unit_test(test_org_id_refusals),
      cmocka_unit_test(test_facility_id_refusals),
      cmocka_unit_test(test_metric_refusals),
      cmocka_unit_test(test_grain_and_period_refusals),
      cmocka_unit_test(test_value_refusals),
      cmocka_unit_test(test_ratio_refusals),
      cmocka_unit_test(test_ratio_mismatch),
      cmocka_unit_test(test_non_ratio_kinds_refuse_parts),
      cmocka_unit_test(test_source_and_observed_at_refusals),
      cmocka_unit_test(test_checks_run_in_documented_order),
      cmocka_unit_test(test_validate_without_err_returns_code),
      cmocka_unit_test(test_fact_id_equal),
  };
  return cmocka_run_group_tests(tests, setup_catalog, teardown_catalog);
}
