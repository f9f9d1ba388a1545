/* test_key.c - the Kafka key codec (lib/key.c, include/outcomes/key.h). */
#include "testutil.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "outcomes/date.h"
#include "outcomes/key.h"

static oc_date_t day(const char *s) {
  oc_date_t d = 0;
  assert_int_equal(oc_date_parse(s, &d, NULL), 0);
  return d;
}

static oc_fact_id_t make_id(const char *org, const char *fac, const char *metric, oc_grain_t g,
                            const char *date) {
  oc_fact_id_t id;
  memset(&id, 0, sizeof(id));
  assert_true(strlen(org) <= OC_ID_MAX && strlen(fac) <= OC_ID_MAX);
  strcpy(id.org_id, org);
  strcpy(id.facility_id, fac);
  strcpy(id.metric, metric);
  id.grain = g;
  id.period_start = day(date);
  return id;
}

/* Encode id, check the exact key, decode it back and compare. */
static void assert_encodes_to(const oc_fact_id_t *id, const char *want) {
  char buf[OC_KEY_MAX + 1];
  size_t len = 0;
  oc_fact_id_t back;
  oc_err_t err;

  oc_err_clear(&err);
  if (oc_key_encode(id, buf, sizeof(buf), &len, &err) != 0)
    fail_msg("encode: %s", err.msg);
  assert_string_equal(buf, want);
  assert_int_equal(len, strlen(want));
  memset(&back, 0x5A, sizeof(back));
  if (oc_key_decode(buf, len, &back, &err) != 0)
    fail_msg("decode '%s': %s", buf, err.msg);
  assert_true(oc_fact_id_equal(id, &back));
}

static void assert_decode_refused(const char *key, size_t len, const char *msg) {
  oc_fact_id_t out;
  oc_err_t err;
  oc_err_clear(&err);
  int rc = oc_key_decode(key, len, &out, &err);
  if (rc != OC_ERR_BAD_KEY || err.code != OC_ERR_BAD_KEY || strcmp(err.msg, msg) != 0)
    fail_msg("decode: expected bad_key '%s', got %s (%d) '%s'", msg, oc_err_code_name(err.code), rc,
             err.msg);
}

static void refuse(const char *key, const char *msg) {
  assert_decode_refused(key, strlen(key), msg);
}

static void assert_encode_refused(const oc_fact_id_t *id, int code, const char *msg) {
  char buf[OC_KEY_MAX + 1];
  size_t len = 777;
  oc_err_t err;
  oc_err_clear(&err);
  int rc = oc_key_encode(id, buf, sizeof(buf), &len, &err);
  if (rc != code || err.code != code || strcmp(err.msg, msg) != 0)
    fail_msg("encode: expected %s '%s', got %s (%d) '%s'", oc_err_code_name(code), msg,
             oc_err_code_name(err.code), rc, err.msg);
  assert_int_equal(len, 777);
}

static void test_documented_example(void **state) {
  (void)state;
  oc_fact_id_t id =
      make_id("Kaleida Health", "Buffalo|General", "supply_cost", OC_GRAIN_MONTH, "2024-03-01");
  assert_encodes_to(&id, "Kaleida Health|Buffalo%7CGeneral|supply_cost|MONTH|2024-03-01");
}

static void test_org_level_key_has_empty_facility(void **state) {
  (void)state;
  oc_fact_id_t id = make_id("Kaleida Health", "", "er_visits", OC_GRAIN_YEAR, "2024-01-01");
  assert_encodes_to(&id, "Kaleida Health||er_visits|YEAR|2024-01-01");
  oc_fact_id_t out;
  assert_int_equal(oc_key_decode("o||m|DAY|2024-01-02", 19, &out, NULL), 0);
  assert_string_equal(out.facility_id, "");
  assert_string_equal(out.org_id, "o");
}

static void test_tricky_ids_round_trip(void **state) {
  (void)state;
  static const struct {
    const char *id, *enc;
  } cases[] = {
      {"a|b", "a%7Cb"},
      {"|", "%7C"},
      {"%", "%25"},
      {"100%", "100%25"},
      {"%7C", "%257C"}, /* a literal "%7C" is not a bar */
      {"%25", "%2525"},
      {"%%||", "%25%25%7C%7C"},
      {"it's \"quoted\"", "it's \"quoted\""},
      {" leading and trailing ", " leading and trailing "},
      {"H\xC3\xB4pital Saint-\xC3\x89loi", "H\xC3\xB4pital Saint-\xC3\x89loi"},
      {"\xE7\x97\x85\xE9\x99\xA2", "\xE7\x97\x85\xE9\x99\xA2"}, /* 病院 */
      {"\xF0\x9F\x8F\xA5|ER", "\xF0\x9F\x8F\xA5%7CER"},
      {"back\\slash", "back\\slash"},
      {"7C", "7C"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char want[256];
    oc_fact_id_t id = make_id(cases[i].id, cases[i].id, "cpoe_rate", OC_GRAIN_WEEK, "2020-12-28");
    snprintf(want, sizeof(want), "%s|%s|cpoe_rate|WEEK|2020-12-28", cases[i].enc, cases[i].enc);
    assert_encodes_to(&id, want);
    id = make_id("org", cases[i].id, "ar_days", OC_GRAIN_QUARTER, "2024-10-01");
    snprintf(want, sizeof(want), "org|%s|ar_days|QUARTER|2024-10-01", cases[i].enc);
    assert_encodes_to(&id, want);
  }
}

static void test_every_grain_encodes_its_name(void **state) {
  (void)state;
  static const char *dates[] = {"2024-03-05", "2024-03-04", "2024-03-01", "2024-01-01",
                                "2024-01-01"};
  static const char *names[] = {"DAY", "WEEK", "MONTH", "QUARTER", "YEAR"};
  for (int g = 0; g < OC_GRAIN_COUNT; g++) {
    char want[64];
    oc_fact_id_t id = make_id("o", "f", "m", (oc_grain_t)g, dates[g]);
    snprintf(want, sizeof(want), "o|f|m|%s|%s", names[g], dates[g]);
    assert_encodes_to(&id, want);
  }
  oc_fact_id_t id = make_id("o", "", "m", OC_GRAIN_DAY, "0001-01-01");
  assert_encodes_to(&id, "o||m|DAY|0001-01-01");
  id = make_id("o", "", "m", OC_GRAIN_DAY, "9999-12-31");
  assert_encodes_to(&id, "o||m|DAY|9999-12-31");
}

static void test_encoding_is_deterministic_and_distinct(void **state) {
  (void)state;
  char a[OC_KEY_MAX + 1], b[OC_KEY_MAX + 1];
  size_t la, lb;
  /* Identities that a naive join would confuse: "a|b"+"c" vs "a"+"b|c". */
  oc_fact_id_t x = make_id("a|b", "c", "m", OC_GRAIN_DAY, "2024-01-01");
  oc_fact_id_t y = make_id("a", "b|c", "m", OC_GRAIN_DAY, "2024-01-01");
  oc_fact_id_t z = make_id("a%7Cb", "c", "m", OC_GRAIN_DAY, "2024-01-01");

  assert_int_equal(oc_key_encode(&x, a, sizeof(a), &la, NULL), 0);
  assert_int_equal(oc_key_encode(&x, b, sizeof(b), &lb, NULL), 0);
  assert_int_equal(la, lb);
  assert_memory_equal(a, b, la + 1);
  assert_int_equal(oc_key_encode(&y, b, sizeof(b), &lb, NULL), 0);
  assert_string_not_equal(a, b);
  assert_int_equal(oc_key_encode(&z, b, sizeof(b), &lb, NULL), 0);
  assert_string_not_equal(a, b);
  /* Bytes after an id's NUL do not leak into the key. */
  y = x;
  strcpy(y.facility_id + 2, "junk");
  assert_int_equal(oc_key_encode(&y, b, sizeof(b), &lb, NULL), 0);
  assert_string_equal(a, b);
  /* len_out may be NULL. */
  assert_int_equal(oc_key_encode(&x, b, sizeof(b), NULL, NULL), 0);
  assert_string_equal(a, b);
}

static void test_longest_key_fits_key_max(void **state) {
  (void)state;
  char buf[OC_KEY_MAX + 1];
  size_t len = 0;
  oc_fact_id_t id, back;
  oc_err_t err;

  memset(&id, 0, sizeof(id));
  memset(id.org_id, '|', OC_ID_MAX);
  memset(id.facility_id, '%', OC_ID_MAX);
  memset(id.metric, 'q', OC_METRIC_CODE_MAX);
  id.grain = OC_GRAIN_QUARTER;
  id.period_start = day("2024-07-01");
  oc_err_clear(&err);
  assert_int_equal(oc_key_encode(&id, buf, sizeof(buf), &len, &err), 0);
  assert_int_equal(len, OC_KEY_MAX);
  assert_int_equal(strlen(buf), OC_KEY_MAX);
  assert_int_equal(oc_key_decode(buf, len, &back, &err), 0);
  assert_true(oc_fact_id_equal(&id, &back));

  /* One byte short of room for the NUL. */
  assert_int_equal(oc_key_encode(&id, buf, OC_KEY_MAX, &len, &err), OC_ERR_LIMIT);
  assert_string_equal(err.msg, "key: needs 1622 bytes, the buffer has 1621");
  oc_fact_id_t small = make_id("o", "", "m", OC_GRAIN_DAY, "2024-01-01");
  assert_int_equal(oc_key_encode(&small, buf, 19, &len, &err), OC_ERR_LIMIT);
  assert_string_equal(err.msg, "key: needs 20 bytes, the buffer has 19");
  assert_int_equal(oc_key_encode(&small, buf, 20, &len, &err), 0);
  assert_string_equal(buf, "o||m|DAY|2024-01-01");
  assert_int_equal(oc_key_encode(&small, buf, 0, &len, &err), OC_ERR_LIMIT);
}

static void test_encode_refuses_invalid_identities(void **state) {
  (void)state;
  oc_fact_id_t id = make_id("", "f", "m", OC_GRAIN_DAY, "2024-01-01");
  assert_encode_refused(&id, OC_ERR_BAD_KEY, "org_id: must not be empty");
  id = make_id("o\n", "f", "m", OC_GRAIN_DAY, "2024-01-01");
  assert_encode_refused(&id, OC_ERR_BAD_KEY, "org_id: control character U+000A at byte 1");
  memset(id.org_id, 'x', sizeof(id.org_id)); /* no NUL */
  assert_encode_refused(&id, OC_ERR_BAD_KEY, "org_id: 257 bytes, more than 256");
  id = make_id("o", "f\xC0\xAF", "m", OC_GRAIN_DAY, "2024-01-01");
  assert_encode_refused(&id, OC_ERR_BAD_KEY, "facility_id: invalid UTF-8 at byte 1");
  id = make_id("o", "f", "Supply_cost", OC_GRAIN_DAY, "2024-01-01");
  assert_encode_refused(&id, OC_ERR_BAD_KEY,
                        "metric: 'Supply_cost' is not a metric code ([a-z][a-z0-9_]*, 1-64 bytes)");
  id = make_id("o", "f", "", OC_GRAIN_DAY, "2024-01-01");
  assert_encode_refused(&id, OC_ERR_BAD_KEY,
                        "metric: '' is not a metric code ([a-z][a-z0-9_]*, 1-64 bytes)");
  id = make_id("o", "f", "m", (oc_grain_t)5, "2024-01-01");
  assert_encode_refused(&id, OC_ERR_BAD_KEY, "grain: invalid value 5");
  id = make_id("o", "f", "m", OC_GRAIN_MONTH, "2024-03-05");
  assert_encode_refused(&id, OC_ERR_BAD_KEY,
                        "period_start: 2024-03-05 is not the start of a MONTH");
  id = make_id("o", "f", "m", OC_GRAIN_WEEK, "2021-01-01");
  assert_encode_refused(&id, OC_ERR_BAD_KEY, "period_start: 2021-01-01 is not the start of a WEEK");
  id.grain = OC_GRAIN_DAY;
  id.period_start = OC_DATE_MAX + 1;
  assert_encode_refused(&id, OC_ERR_BAD_KEY,
                        "period_start: day 2932897 is outside 0001-01-01..9999-12-31");
}

static void test_decode_refuses_malformed_keys(void **state) {
  (void)state;
  const char *shape = "(org_id|facility_id|metric|GRAIN|YYYY-MM-DD)";
  char want[256];

  refuse("", "key: empty");
  snprintf(want, sizeof(want), "key: 1 fields, expected 5 %s", shape);
  refuse("no bars at all", want);
  snprintf(want, sizeof(want), "key: 4 fields, expected 5 %s", shape);
  refuse("o|f|m|DAY", want);
  refuse("o|f|m|DAY2024-01-01", want);
  snprintf(want, sizeof(want), "key: more than 5 fields %s", shape);
  refuse("o|f|m|DAY|2024-01-01|", want);
  refuse("o|f|m|DAY|2024-01-01|extra", want);
  refuse("o|f|x|y|m|DAY|2024-01-01", want);
  refuse("|f|m|DAY|2024-01-01", "org_id: must not be empty");
  refuse("||m|DAY|2024-01-01", "org_id: must not be empty");
}

static void test_decode_refuses_non_canonical_escapes(void **state) {
  (void)state;
  refuse("a%7cb||m|DAY|2024-01-01", "org_id: invalid escape '%7c' (only %25 and %7C)");
  refuse("a%||m|DAY|2024-01-01", "org_id: invalid escape '%' (only %25 and %7C)");
  refuse("ab%2||m|DAY|2024-01-01", "org_id: invalid escape '%2' (only %25 and %7C)");
  refuse("a%20b||m|DAY|2024-01-01", "org_id: invalid escape '%20' (only %25 and %7C)");
  refuse("a%41||m|DAY|2024-01-01", "org_id: invalid escape '%41' (only %25 and %7C)");
  refuse("a%%25||m|DAY|2024-01-01", "org_id: invalid escape '%%2' (only %25 and %7C)");
  refuse("o|f%2F|m|DAY|2024-01-01", "facility_id: invalid escape '%2F' (only %25 and %7C)");
  refuse("o|f%7c|m|DAY|2024-01-01", "facility_id: invalid escape '%7c' (only %25 and %7C)");
  refuse("o|f%0A|m|DAY|2024-01-01", "facility_id: invalid escape '%0A' (only %25 and %7C)");
  refuse("o|%\xC3\xA9|m|DAY|2024-01-01",
         "facility_id: invalid escape '%\xC3\xA9' (only %25 and %7C)");
  refuse("o|%\xE7\x97\x85|m|DAY|2024-01-01",
         "facility_id: invalid escape '%\\xE7\\x97' (only %25 and %7C)");
}

static void test_decode_refuses_bad_ids(void **state) {
  (void)state;
  char key[1024];
  int n;

  refuse("a\tb||m|DAY|2024-01-01", "org_id: control character U+0009 at byte 1");
  refuse("o|\xC2\x85|m|DAY|2024-01-01", "facility_id: control character U+0085 at byte 0");
  refuse("o|\x7F|m|DAY|2024-01-01", "facility_id: control character U+007F at byte 0");
  refuse("\xFF||m|DAY|2024-01-01", "org_id: invalid UTF-8 at byte 0");
  refuse("o|\xED\xA0\x80|m|DAY|2024-01-01", "facility_id: invalid UTF-8 at byte 0");
  refuse("o|ab\xE7\x97|m|DAY|2024-01-01", "facility_id: invalid UTF-8 at byte 2");
  /* A NUL inside an id is a control character, not the end of the key. */
  assert_decode_refused("o\0x||m|DAY|2024-01-01", sizeof("o\0x||m|DAY|2024-01-01") - 1,
                        "org_id: control character U+0000 at byte 1");

  /* 256 decoded bytes pass, 257 do not, however they are escaped. */
  n = snprintf(key, sizeof(key), "%0256d||m|DAY|2024-01-01", 0);
  assert_int_equal(n, 256 + 18);
  oc_fact_id_t out;
  assert_int_equal(oc_key_decode(key, (size_t)n, &out, NULL), 0);
  assert_int_equal(strlen(out.org_id), 256);
  n = snprintf(key, sizeof(key), "%0257d||m|DAY|2024-01-01", 0);
  assert_decode_refused(key, (size_t)n, "org_id: more than 256 bytes");
  n = 0;
  for (int i = 0; i < 256; i++)
    n += snprintf(key + n, sizeof(key) - (size_t)n, "%%25");
  n += snprintf(key + n, sizeof(key) - (size_t)n, "|%%7C|m|DAY|2024-01-01");
  assert_int_equal(oc_key_decode(key, (size_t)n, &out, NULL), 0);
  assert_int_equal(strlen(out.org_id), 256);
  assert_string_equal(out.facility_id, "|");
  n = snprintf(key, sizeof(key), "o|%0256d%%7C|m|DAY|2024-01-01", 0);
  assert_decode_refused(key, (size_t)n, "facility_id: more than 256 bytes");
}

static void test_decode_refuses_bad_metric_grain_and_date(void **state) {
  (void)state;
  const char *met = "' is not a metric code ([a-z][a-z0-9_]*, 1-64 bytes)";
  const char *grains = " (expected DAY, WEEK, MONTH, QUARTER or YEAR)";
  char want[256], key[256];

  snprintf(want, sizeof(want), "metric: '%s", met);
  refuse("o|f||DAY|2024-01-01", want);
  snprintf(want, sizeof(want), "metric: 'Supply_cost%s", met);
  refuse("o|f|Supply_cost|DAY|2024-01-01", want);
  snprintf(want, sizeof(want), "metric: '1st%s", met);
  refuse("o|f|1st|DAY|2024-01-01", want);
  snprintf(want, sizeof(want), "metric: '_x%s", met);
  refuse("o|f|_x|DAY|2024-01-01", want);
  snprintf(want, sizeof(want), "metric: 'a-b%s", met);
  refuse("o|f|a-b|DAY|2024-01-01", want);
  snprintf(want, sizeof(want), "metric: 'a%%25b%s", met);
  refuse("o|f|a%25b|DAY|2024-01-01", want);
  snprintf(key, sizeof(key), "o|f|%065d|DAY|2024-01-01", 0);
  key[4] = 'a';
  snprintf(want, sizeof(want), "metric: 'a%064d%s", 0, met);
  refuse(key, want);
  snprintf(key, sizeof(key), "o|f|a%063d|DAY|2024-01-01", 0);
  oc_fact_id_t out;
  assert_int_equal(oc_key_decode(key, strlen(key), &out, NULL), 0);

  snprintf(want, sizeof(want), "grain: unknown grain 'month'%s", grains);
  refuse("o|f|m|month|2024-03-01", want);
  snprintf(want, sizeof(want), "grain: unknown grain 'Month'%s", grains);
  refuse("o|f|m|Month|2024-03-01", want);
  snprintf(want, sizeof(want), "grain: unknown grain ''%s", grains);
  refuse("o|f|m||2024-03-01", want);
  snprintf(want, sizeof(want), "grain: unknown grain 'MONTH '%s", grains);
  refuse("o|f|m|MONTH |2024-03-01", want);
  snprintf(want, sizeof(want), "grain: unknown grain 'DA'%s", grains);
  refuse("o|f|m|DA|2024-03-01", want);

  refuse("o|f|m|DAY|2024-02-30", "period_start: '2024-02-30' is not a valid date");
  refuse("o|f|m|DAY|2023-02-29", "period_start: '2023-02-29' is not a valid date");
  refuse("o|f|m|DAY|0000-01-01", "period_start: '0000-01-01' is not a valid date");
  refuse("o|f|m|DAY|2024-3-01", "period_start: '2024-3-01' is not a date (expected YYYY-MM-DD)");
  refuse("o|f|m|DAY|2024-03-01 ",
         "period_start: '2024-03-01 ' is not a date (expected YYYY-MM-DD)");
  refuse("o|f|m|DAY|", "period_start: '' is not a date (expected YYYY-MM-DD)");
  refuse("o|f|m|DAY|2024/03/01", "period_start: '2024/03/01' is not a date (expected YYYY-MM-DD)");
  assert_decode_refused("o|f|m|DAY|2024-03\0"
                        "01",
                        20, "period_start: '2024-03\\x0001' is not a date (expected YYYY-MM-DD)");
  refuse("o|f|m|MONTH|2024-03-05", "period_start: 2024-03-05 is not the start of a MONTH");
  refuse("o|f|m|WEEK|2021-01-03", "period_start: 2021-01-03 is not the start of a WEEK");
  refuse("o|f|m|QUARTER|2024-02-01", "period_start: 2024-02-01 is not the start of a QUARTER");
  refuse("o|f|m|YEAR|2024-12-01", "period_start: 2024-12-01 is not the start of a YEAR");
}

static void test_decode_refuses_overlong_key(void **state) {
  (void)state;
  static char key[OC_KEY_MAX + 2];
  memset(key, 'a', sizeof(key));
  assert_decode_refused(key, OC_KEY_MAX + 1, "key: 1622 bytes, more than 1621");
  /* Only the given length is read: a prefix of a longer buffer decodes. */
  oc_fact_id_t out;
  assert_int_equal(oc_key_decode("o|f|m|DAY|2024-01-01garbage", 20, &out, NULL), 0);
  assert_int_equal(out.period_start, day("2024-01-01"));
  assert_decode_refused("o|f|m|DAY|2024-01-01garbage", 21,
                        "period_start: '2024-01-01g' is not a date (expected YYYY-MM-DD)");
}

/* ---- randomized round trip ------------------------------------------ */

/* xorshift64*: small, seeded, the same sequence everywhere. */
static uint64_t rng_state = UINT64_C(0x9E3779B97F4A7C15);
static uint64_t rng(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * UINT64_C(2685821657736338717);
}

/* Pieces an id is built from: the escape characters and text that looks
 * like escapes, quotes, spaces, backslashes, 2-, 3- and 4-byte UTF-8. */
static const char *const tricky[] = {
    "|",
    "%",
    "%7C",
    "%25",
    "%7c",
    "7C",
    "25",
    "C",
    " ",
    "'",
    "\"",
    "a",
    "Z",
    "0",
    "\\",
    ",",
    "=",
    ":",
    "\xC3\xB4",
    "\xE7\x97\x85",
    "\xF0\x9F\x8F\xA5",
    "\xC2\xA0",
    "~",
    "%%",
    "||",
};
#define N_TRICKY (sizeof(tricky) / sizeof(tricky[0]))

static void random_id(char *dst, bool may_be_empty) {
  size_t target = (size_t)(rng() % 40);
  size_t len = 0;
  if (rng() % 50 == 0)
    target = OC_ID_MAX; /* sometimes as long as allowed */
  if (!may_be_empty && target == 0)
    target = 1;
  while (len < target) {
    const char *p = tricky[rng() % N_TRICKY];
    size_t n = strlen(p);
    if (len + n > OC_ID_MAX) {
      p = "|";
      n = 1;
    }
    memcpy(dst + len, p, n);
    len += n;
  }
  dst[len] = '\0';
}

static void test_random_identities_round_trip(void **state) {
  (void)state;
  static const char *metrics[] = {"ar_days", "cpoe_rate", "x", "a0_", "hie_users"};
  char buf[OC_KEY_MAX + 1], again[OC_KEY_MAX + 1];
  size_t len, len2;
  oc_err_t err;

  oc_err_clear(&err);
  for (int i = 0; i < 10000; i++) {
    oc_fact_id_t id, back;
    memset(&id, 0, sizeof(id));
    random_id(id.org_id, false);
    if (rng() % 4)
      random_id(id.facility_id, true);
    strcpy(id.metric, metrics[rng() % 5]);
    id.grain = (oc_grain_t)(rng() % OC_GRAIN_COUNT);
    oc_date_t d = (oc_date_t)(OC_DATE_MIN + 7 + (int64_t)(rng() % (OC_DATE_MAX - OC_DATE_MIN - 7)));
    id.period_start = oc_period_floor(id.grain, d);

    if (oc_key_encode(&id, buf, sizeof(buf), &len, &err) != 0)
      fail_msg("iteration %d: encode: %s", i, err.msg);
    assert_true(len <= OC_KEY_MAX);
    assert_int_equal(strlen(buf), len);
    memset(&back, 0x5A, sizeof(back));
    if (oc_key_decode(buf, len, &back, &err) != 0)
      fail_msg("iteration %d: decode '%s': %s", i, buf, err.msg);
    assert_true(oc_fact_id_equal(&id, &back));
    assert_int_equal(oc_key_encode(&back, again, sizeof(again), &len2, &err), 0);
    assert_int_equal(len, len2);
    assert_memory_equal(buf, again, len);
    /* Exactly five fields: the bars in the key are the four separators. */
    size_t bars = 0;
    for (size_t k = 0; k < len; k++)
      bars += buf[k] == '|';
    assert_int_equal(bars, 4);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_documented_example),
      cmocka_unit_test(test_org_level_key_has_empty_facility),
      cmocka_unit_test(test_tricky_ids_round_trip),
      cmocka_unit_test(test_every_grain_encodes_its_name),
      cmocka_unit_test(test_encoding_is_deterministic_and_distinct),
      cmocka_unit_test(test_longest_key_fits_key_max),
      cmocka_unit_test(test_encode_refuses_invalid_identities),
      cmocka_unit_test(test_decode_refuses_malformed_keys),
      cmocka_unit_test(test_decode_refuses_non_canonical_escapes),
      cmocka_unit_test(test_decode_refuses_bad_ids),
      cmocka_unit_test(test_decode_refuses_bad_metric_grain_and_date),
      cmocka_unit_test(test_decode_refuses_overlong_key),
      cmocka_unit_test(test_random_identities_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
