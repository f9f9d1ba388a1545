/* test_date.c - dates, ISO weekdays, periods, grains and timestamps
 * (lib/date.c). */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "outcomes/date.h"

/* Parse a date that must be valid. */
static oc_date_t day(const char *s) {
  oc_date_t d = 0;
  oc_err_t err;
  oc_err_clear(&err);
  if (oc_date_parse(s, &d, &err) != 0)
    fail_msg("oc_date_parse('%s'): %s", s, err.msg);
  return d;
}

/* Format a date into a static buffer (one at a time). */
static const char *fmt(oc_date_t d) {
  static char buf[11];
  oc_date_format(d, buf);
  return buf;
}

static void assert_date_refused(const char *s, const char *msg) {
  oc_date_t d = 12345;
  oc_err_t err;
  oc_err_clear(&err);
  assert_int_equal(oc_date_parse(s, &d, &err), OC_ERR_BAD_FIELD);
  assert_int_equal(err.code, OC_ERR_BAD_FIELD);
  assert_string_equal(err.msg, msg);
  assert_int_equal(d, 12345); /* untouched on failure */
}

static int naive_days_in_month(int y, int m) {
  static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : dim[m - 1];
}

/* Walk the calendar day by day from y0-01-01 through y1-12-31, starting
 * the day counter at first, checking every conversion both ways. Returns
 * the counter after the last day. */
static long walk_calendar(int y0, int y1, long first, bool text) {
  long n = first;
  oc_err_t err;
  oc_err_clear(&err);
  for (int y = y0; y <= y1; y++) {
    for (int m = 1; m <= 12; m++) {
      for (int d = 1; d <= naive_days_in_month(y, m); d++, n++) {
        oc_date_t got = 0;
        int yy, mm, dd;
        if (oc_date_from_ymd(y, m, d, &got, &err) != 0 || got != n)
          fail_msg("%04d-%02d-%02d: got %ld, want %ld (%s)", y, m, d, (long)got, n, err.msg);
        oc_date_to_ymd((oc_date_t)n, &yy, &mm, &dd);
        if (yy != y || mm != m || dd != d)
          fail_msg("day %ld: got %d-%d-%d, want %d-%d-%d", n, yy, mm, dd, y, m, d);
        if (text) {
          char want[32], buf[11];
          snprintf(want, sizeof(want), "%04d-%02d-%02d", y, m, d);
          oc_date_format((oc_date_t)n, buf);
          assert_string_equal(buf, want);
          assert_int_equal(day(buf), n);
        }
      }
    }
  }
  return n;
}

static void test_epoch_is_day_zero(void **state) {
  (void)state;
  int y, m, d;
  assert_int_equal(day("1970-01-01"), 0);
  oc_date_to_ymd(0, &y, &m, &d);
  assert_int_equal(y, 1970);
  assert_int_equal(m, 1);
  assert_int_equal(d, 1);
  assert_int_equal(day("1969-12-31"), -1);
}

static void test_every_day_1900_to_2100_round_trips(void **state) {
  (void)state;
  assert_int_equal(day("1900-01-01"), -25567);
  assert_int_equal(walk_calendar(1900, 2100, -25567, true), 47846 + 1);
  assert_int_equal(day("2100-12-31"), 47846);
}

static void test_whole_range_matches_naive_calendar(void **state) {
  (void)state;
  assert_int_equal(walk_calendar(1, 9999, OC_DATE_MIN, false), OC_DATE_MAX + 1L);
}

static void test_known_anchors(void **state) {
  (void)state;
  assert_int_equal(day("2000-03-01"), 11017);
  assert_int_equal(day("2000-02-29"), 11016); /* 2000 is a leap year (÷400) */
  assert_int_equal(day("2024-02-29"), 19782);
  assert_int_equal(day("2024-03-01"), 19783);
  assert_int_equal(day("1600-02-29"), -135081);
  assert_int_equal(day("0001-01-01"), OC_DATE_MIN);
  assert_int_equal(day("9999-12-31"), OC_DATE_MAX);
  assert_string_equal(fmt(OC_DATE_MIN), "0001-01-01");
  assert_string_equal(fmt(OC_DATE_MAX), "9999-12-31");
  assert_string_equal(fmt(19782), "2024-02-29");
}

static void test_invalid_calendar_dates_are_refused(void **state) {
  (void)state;
  oc_date_t d;
  oc_err_t err;

  assert_date_refused("2023-02-29", "'2023-02-29' is not a valid date");
  assert_date_refused("1900-02-29", "'1900-02-29' is not a valid date");
  assert_date_refused("2024-02-30", "'2024-02-30' is not a valid date");
  assert_date_refused("2024-04-31", "'2024-04-31' is not a valid date");
  assert_date_refused("2024-13-01", "'2024-13-01' is not a valid date");
  assert_date_refused("2024-00-10", "'2024-00-10' is not a valid date");
  assert_date_refused("2024-01-00", "'2024-01-00' is not a valid date");
  assert_date_refused("0000-12-31", "'0000-12-31' is not a valid date");

  oc_err_clear(&err);
  assert_int_equal(oc_date_from_ymd(2023, 2, 29, &d, &err), OC_ERR_BAD_FIELD);
  assert_string_equal(err.msg, "'2023-02-29' is not a valid date");
  assert_int_equal(oc_date_from_ymd(10000, 1, 1, &d, &err), OC_ERR_BAD_FIELD);
  assert_string_equal(err.msg, "'10000-01-01' is not a valid date");
  assert_int_equal(oc_date_from_ymd(0, 12, 31, &d, NULL), OC_ERR_BAD_FIELD);
  assert_int_equal(oc_date_from_ymd(2024, 2, 29, &d, NULL), 0);
  assert_int_equal(d, 19782);
}

static void test_date_parse_is_strict(void **state) {
  (void)state;
  const char *shape = "' is not a date (expected YYYY-MM-DD)";
  const char *bad[] = {"2024-3-01",     "2024-03-1",   " 2024-03-01", "2024-03-01 ",
                       "2024/03/01",    "+024-03-01",  "2024-03-0a",  "",
                       "20240301",      "2024-03-01T", "2024--03-01", "-024-03-01",
                       "２０２４-03-01"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char want[128];
    snprintf(want, sizeof(want), "'%s%s", bad[i], shape);
    assert_date_refused(bad[i], want);
  }
  /* Input is quoted safely: control bytes are escaped in the message. */
  assert_date_refused("2024-03\n01", "'2024-03\\x0A01' is not a date (expected YYYY-MM-DD)");
  oc_date_t d;
  assert_int_equal(oc_date_parse(NULL, &d, NULL), OC_ERR_BAD_FIELD);
}

static void test_date_format_outside_range_is_refusable(void **state) {
  (void)state;
  oc_date_t d;
  assert_string_equal(fmt(OC_DATE_MIN - 1), "0000-00-00");
  assert_string_equal(fmt(OC_DATE_MAX + 1), "0000-00-00");
  assert_int_equal(oc_date_parse("0000-00-00", &d, NULL), OC_ERR_BAD_FIELD);
}

static void test_iso_weekday_anchors(void **state) {
  (void)state;
  assert_int_equal(oc_date_iso_weekday(day("2024-01-01")), 1); /* Monday */
  assert_int_equal(oc_date_iso_weekday(day("2024-01-07")), 7); /* Sunday */
  assert_int_equal(oc_date_iso_weekday(day("1970-01-01")), 4); /* Thursday */
  assert_int_equal(oc_date_iso_weekday(day("1969-12-31")), 3);
  assert_int_equal(oc_date_iso_weekday(day("1969-12-29")), 1);
  assert_int_equal(oc_date_iso_weekday(day("2000-03-01")), 3);
  assert_int_equal(oc_date_iso_weekday(OC_DATE_MIN), 1); /* 0001-01-01 */
  assert_int_equal(oc_date_iso_weekday(OC_DATE_MAX), 5); /* 9999-12-31 */
  for (oc_date_t d = OC_DATE_MIN; d < OC_DATE_MIN + 3000; d++)
    assert_int_equal(oc_date_iso_weekday(d), (d - OC_DATE_MIN) % 7 + 1);
  for (oc_date_t d = -3000; d < 3000; d++)
    assert_int_equal(oc_date_iso_weekday(d + 1), oc_date_iso_weekday(d) % 7 + 1);
}

static void test_grain_names(void **state) {
  (void)state;
  const char *names[] = {"DAY", "WEEK", "MONTH", "QUARTER", "YEAR"};
  const char *lower[] = {"day", "week", "month", "quarter", "year"};
  oc_grain_t g;
  oc_err_t err;

  for (int i = 0; i < OC_GRAIN_COUNT; i++) {
    assert_string_equal(oc_grain_name((oc_grain_t)i), names[i]);
    g = (oc_grain_t)99;
    assert_int_equal(oc_grain_from_name(names[i], &g, NULL), 0);
    assert_int_equal(g, i);
    g = (oc_grain_t)99;
    assert_int_equal(oc_grain_from_name(lower[i], &g, NULL), 0);
    assert_int_equal(g, i);
  }
  assert_string_equal(oc_grain_name((oc_grain_t)5), "INVALID");
  oc_err_clear(&err);
  assert_int_equal(oc_grain_from_name("Month", &g, &err), OC_ERR_BAD_FIELD);
  assert_string_equal(err.msg,
                      "unknown grain 'Month' (expected DAY, WEEK, MONTH, QUARTER or YEAR)");
  assert_int_equal(oc_grain_from_name("", &g, &err), OC_ERR_BAD_FIELD);
  assert_int_equal(oc_grain_from_name("MONTHS", &g, &err), OC_ERR_BAD_FIELD);
}

static void assert_floor(oc_grain_t g, const char *date, const char *want) {
  char got[11];
  oc_date_format(oc_period_floor(g, day(date)), got);
  if (strcmp(got, want) != 0)
    fail_msg("floor %s of %s: got %s, want %s", oc_grain_name(g), date, got, want);
}

static void assert_next(oc_grain_t g, const char *start, const char *want) {
  char got[11];
  oc_date_format(oc_period_next(g, day(start)), got);
  if (strcmp(got, want) != 0)
    fail_msg("next %s after %s: got %s, want %s", oc_grain_name(g), start, got, want);
}

static void test_period_floor_each_grain(void **state) {
  (void)state;
  assert_floor(OC_GRAIN_DAY, "2024-03-05", "2024-03-05");

  assert_floor(OC_GRAIN_WEEK, "2024-03-05", "2024-03-04");
  assert_floor(OC_GRAIN_WEEK, "2024-03-04", "2024-03-04");
  assert_floor(OC_GRAIN_WEEK, "2024-03-10", "2024-03-04"); /* Sunday */
  /* ISO weeks crossing years: 2020-W53 starts Mon 2020-12-28 and ends Sun
   * 2021-01-03; 2025-W01 starts Mon 2024-12-30. */
  assert_floor(OC_GRAIN_WEEK, "2020-12-31", "2020-12-28");
  assert_floor(OC_GRAIN_WEEK, "2021-01-01", "2020-12-28");
  assert_floor(OC_GRAIN_WEEK, "2021-01-03", "2020-12-28");
  assert_floor(OC_GRAIN_WEEK, "2021-01-04", "2021-01-04");
  assert_floor(OC_GRAIN_WEEK, "2025-01-01", "2024-12-30");
  assert_floor(OC_GRAIN_WEEK, "1970-01-01", "1969-12-29");
  assert_floor(OC_GRAIN_WEEK, "0001-01-07", "0001-01-01");

  assert_floor(OC_GRAIN_MONTH, "2024-02-29", "2024-02-01");
  assert_floor(OC_GRAIN_MONTH, "2024-03-01", "2024-03-01");
  assert_floor(OC_GRAIN_MONTH, "2023-12-31", "2023-12-01");
  assert_floor(OC_GRAIN_MONTH, "1969-12-31", "1969-12-01");

  assert_floor(OC_GRAIN_QUARTER, "2024-01-01", "2024-01-01");
  assert_floor(OC_GRAIN_QUARTER, "2024-03-31", "2024-01-01");
  assert_floor(OC_GRAIN_QUARTER, "2024-04-01", "2024-04-01");
  assert_floor(OC_GRAIN_QUARTER, "2024-06-30", "2024-04-01");
  assert_floor(OC_GRAIN_QUARTER, "2024-08-15", "2024-07-01");
  assert_floor(OC_GRAIN_QUARTER, "2024-12-31", "2024-10-01");

  assert_floor(OC_GRAIN_YEAR, "2024-12-31", "2024-01-01");
  assert_floor(OC_GRAIN_YEAR, "2024-01-01", "2024-01-01");
  assert_floor(OC_GRAIN_YEAR, "9999-12-31", "9999-01-01");
  assert_floor(OC_GRAIN_YEAR, "0001-06-30", "0001-01-01");
}

static void test_period_next_each_grain(void **state) {
  (void)state;
  assert_next(OC_GRAIN_DAY, "2024-02-28", "2024-02-29");
  assert_next(OC_GRAIN_DAY, "2023-12-31", "2024-01-01");
  assert_next(OC_GRAIN_WEEK, "2020-12-28", "2021-01-04");
  assert_next(OC_GRAIN_WEEK, "2024-12-30", "2025-01-06");
  assert_next(OC_GRAIN_MONTH, "2024-01-01", "2024-02-01");
  assert_next(OC_GRAIN_MONTH, "2024-02-01", "2024-03-01");
  assert_next(OC_GRAIN_MONTH, "2024-12-01", "2025-01-01");
  assert_next(OC_GRAIN_QUARTER, "2024-01-01", "2024-04-01");
  assert_next(OC_GRAIN_QUARTER, "2024-07-01", "2024-10-01");
  assert_next(OC_GRAIN_QUARTER, "2024-10-01", "2025-01-01");
  assert_next(OC_GRAIN_YEAR, "2024-01-01", "2025-01-01");
  /* Unaligned start: the period after the one containing it. */
  assert_next(OC_GRAIN_MONTH, "2024-01-31", "2024-02-01");
  assert_next(OC_GRAIN_WEEK, "2021-01-03", "2021-01-04");
  /* After the last period of 9999: the exclusive bound OC_DATE_MAX + 1. */
  assert_int_equal(oc_period_next(OC_GRAIN_YEAR, day("9999-01-01")), OC_DATE_MAX + 1);
  assert_int_equal(oc_period_next(OC_GRAIN_MONTH, day("9999-12-01")), OC_DATE_MAX + 1);
  assert_int_equal(oc_period_next(OC_GRAIN_QUARTER, day("9999-10-01")), OC_DATE_MAX + 1);
  assert_int_equal(oc_period_next(OC_GRAIN_DAY, OC_DATE_MAX), OC_DATE_MAX + 1);
}

static void test_period_aligned_each_grain(void **state) {
  (void)state;
  assert_true(oc_period_is_aligned(OC_GRAIN_DAY, day("2024-03-05")));
  assert_true(oc_period_is_aligned(OC_GRAIN_WEEK, day("2020-12-28")));
  assert_false(oc_period_is_aligned(OC_GRAIN_WEEK, day("2021-01-01")));
  assert_true(oc_period_is_aligned(OC_GRAIN_MONTH, day("2024-03-01")));
  assert_false(oc_period_is_aligned(OC_GRAIN_MONTH, day("2024-03-05")));
  assert_true(oc_period_is_aligned(OC_GRAIN_QUARTER, day("2024-10-01")));
  assert_false(oc_period_is_aligned(OC_GRAIN_QUARTER, day("2024-02-01")));
  assert_true(oc_period_is_aligned(OC_GRAIN_YEAR, day("2024-01-01")));
  assert_false(oc_period_is_aligned(OC_GRAIN_YEAR, day("2024-07-01")));
  assert_false(oc_period_is_aligned((oc_grain_t)7, day("2024-01-01")));
}

/* Properties over 2019..2026, every grain and every day: the floor is
 * aligned, contains the day, and next() walks the periods without gaps. */
static void test_periods_tile_the_calendar(void **state) {
  (void)state;
  for (int g = 0; g < OC_GRAIN_COUNT; g++) {
    oc_date_t start = oc_period_floor((oc_grain_t)g, day("2019-01-01"));
    oc_date_t end = day("2026-12-31");
    for (oc_date_t d = start; d <= end; d++) {
      oc_date_t f = oc_period_floor((oc_grain_t)g, d);
      oc_date_t next = oc_period_next((oc_grain_t)g, f);
      assert_true(oc_period_is_aligned((oc_grain_t)g, f));
      assert_true(f <= d && d < next);
      assert_int_equal(oc_period_is_aligned((oc_grain_t)g, d), f == d);
      if (d + 1 == next)
        assert_int_equal(oc_period_floor((oc_grain_t)g, d + 1), next);
    }
  }
}

/* Garbage dates far outside the range give some answer, never undefined
 * behaviour (the sanitizer build aborts on signed overflow). */
static void test_extreme_dates_are_defined(void **state) {
  (void)state;
  const oc_date_t extremes[] = {INT32_MIN, INT32_MIN + 1, -1, INT32_MAX - 1, INT32_MAX};
  for (size_t i = 0; i < sizeof(extremes) / sizeof(extremes[0]); i++) {
    int y, m, d, wd = oc_date_iso_weekday(extremes[i]);
    assert_true(wd >= 1 && wd <= 7);
    oc_date_to_ymd(extremes[i], &y, &m, &d);
    assert_true(m >= 1 && m <= 12 && d >= 1 && d <= 31);
    for (int g = 0; g < OC_GRAIN_COUNT; g++) {
      (void)oc_period_floor((oc_grain_t)g, extremes[i]);
      (void)oc_period_next((oc_grain_t)g, extremes[i]);
      (void)oc_period_is_aligned((oc_grain_t)g, extremes[i]);
    }
  }
  assert_string_equal(fmt(INT32_MIN), "0000-00-00");
  assert_string_equal(fmt(INT32_MAX), "0000-00-00");
}

/* ---- timestamps ----------------------------------------------------- */

static oc_timestamp_t ts(const char *s) {
  oc_timestamp_t t = 0;
  oc_err_t err;
  oc_err_clear(&err);
  if (oc_timestamp_parse(s, &t, &err) != 0)
    fail_msg("oc_timestamp_parse('%s'): %s", s, err.msg);
  return t;
}

static void assert_ts_refused(const char *s, const char *why) {
  oc_timestamp_t t = 42;
  oc_err_t err;
  char want[256];
  oc_err_clear(&err);
  assert_int_equal(oc_timestamp_parse(s, &t, &err), OC_ERR_BAD_FIELD);
  snprintf(want, sizeof(want), "'%s' is not an RFC 3339 timestamp: %s", s, why);
  assert_string_equal(err.msg, want);
  assert_int_equal(t, 42);
}

static void test_timestamp_parse_forms(void **state) {
  (void)state;
  const int64_t base = INT64_C(1709281800000000); /* 2024-03-01T08:30:00Z */
  assert_int_equal(ts("2024-03-01T08:30:00Z"), base);
  assert_int_equal(ts("2024-03-01t08:30:00z"), base);
  assert_int_equal(ts("2024-03-01 08:30:00Z"), base);
  assert_int_equal(ts("2024-03-01T08:30:00+00:00"), base);
  assert_int_equal(ts("2024-03-01T08:30:00-00:00"), base);
  assert_int_equal(ts("2024-03-01T10:30:00+02:00"), base);
  assert_int_equal(ts("2024-03-01T03:00:00-05:30"), base);
  assert_int_equal(ts("2024-03-01T00:30:00-08:00"), base);
  assert_int_equal(ts("2024-03-01T08:30:00.5Z"), base + 500000);
  assert_int_equal(ts("2024-03-01T08:30:00.000001Z"), base + 1);
  assert_int_equal(ts("2024-03-01T08:30:00.123456+00:00"), base + 123456);
  assert_int_equal(ts("2024-03-01T08:30:00.120Z"), base + 120000);
  /* A bare date is its midnight UTC. */
  assert_int_equal(ts("2024-03-01"), INT64_C(19783) * 86400 * 1000000);
  assert_int_equal(ts("1970-01-01"), 0);
  assert_int_equal(ts("1970-01-01T00:00:00Z"), 0);
  assert_int_equal(ts("1969-12-31T23:59:59.999999Z"), -1);
  /* Offsets can move the instant across a day, month and year. */
  assert_int_equal(ts("2024-01-01T01:00:00+02:00"), ts("2023-12-31T23:00:00Z"));
  assert_int_equal(ts("2023-12-31T23:30:00-01:00"), ts("2024-01-01T00:30:00Z"));
  assert_int_equal(ts("0001-01-01T00:00:00Z"), INT64_C(-62135596800000000));
  assert_int_equal(ts("9999-12-31T23:59:59.999999Z"), OC_TIMESTAMP_MAX);
}

static void test_timestamp_parse_errors(void **state) {
  (void)state;
  const char *shape = "expected YYYY-MM-DD[THH:MM:SS[.ffffff](Z|+hh:mm)]";
  const char *time = "expected a time THH:MM:SS after the date";
  assert_ts_refused("", shape);
  assert_ts_refused("2024-03", shape);
  assert_ts_refused("2024/03/01T08:30:00Z", shape);
  assert_ts_refused("2024-02-30T08:30:00Z", "not a valid date");
  assert_ts_refused("2024-03-01T08:30Z", time);
  assert_ts_refused("2024-03-01X08:30:00Z", time);
  assert_ts_refused("2024-03-01T8:30:00Z", time);
  assert_ts_refused("2024-03-01T08:30:0aZ", time);
  assert_ts_refused("2024-03-01T", time);
  assert_ts_refused("2024-03-01T24:00:00Z", "time of day out of range");
  assert_ts_refused("2024-03-01T08:60:00Z", "time of day out of range");
  assert_ts_refused("2024-03-01T08:30:61Z", "time of day out of range");
  assert_ts_refused("2024-06-30T23:59:60Z", "leap seconds are not supported");
  assert_ts_refused("2024-03-01T08:30:00.1234567Z", "fraction has more than 6 digits");
  assert_ts_refused("2024-03-01T08:30:00.Z", "expected digits after '.'");
  assert_ts_refused("2024-03-01T08:30:00", "missing time zone (Z or +hh:mm)");
  assert_ts_refused("2024-03-01T08:30:00.5", "missing time zone (Z or +hh:mm)");
  assert_ts_refused("2024-03-01T08:30:00 UTC", "expected Z or an offset +hh:mm after the time");
  assert_ts_refused("2024-03-01T08:30:00+0200", "expected an offset +hh:mm or -hh:mm");
  assert_ts_refused("2024-03-01T08:30:00+02", "expected an offset +hh:mm or -hh:mm");
  assert_ts_refused("2024-03-01T08:30:00+24:00", "offset out of range");
  assert_ts_refused("2024-03-01T08:30:00+02:60", "offset out of range");
  assert_ts_refused("2024-03-01T08:30:00ZZ", "unexpected text after the time zone");
  assert_ts_refused("2024-03-01T08:30:00+02:00 ", "unexpected text after the time zone");
  assert_ts_refused("2024-03-01 ", time);
  oc_timestamp_t t;
  assert_int_equal(oc_timestamp_parse(NULL, &t, NULL), OC_ERR_BAD_FIELD);
}

static void assert_ts_format(oc_timestamp_t t, const char *want) {
  char buf[32];
  oc_timestamp_format(t, buf);
  assert_string_equal(buf, want);
}

static void test_timestamp_format(void **state) {
  (void)state;
  assert_ts_format(0, "1970-01-01T00:00:00.000000Z");
  assert_ts_format(-1, "1969-12-31T23:59:59.999999Z");
  assert_ts_format(INT64_C(1709281800000000), "2024-03-01T08:30:00.000000Z");
  assert_ts_format(INT64_C(1709274600123456), "2024-03-01T06:30:00.123456Z");
  assert_ts_format(OC_TIMESTAMP_MAX, "9999-12-31T23:59:59.999999Z");
  assert_ts_format(INT64_C(-62135596800000000), "0001-01-01T00:00:00.000000Z");
  /* Absurd instants keep every digit of the year and fit the buffer. */
  assert_ts_format(INT64_MAX, "294247-01-10T04:00:54.775807Z");
  assert_ts_format(INT64_MIN, "-290308-12-21T19:59:05.224192Z");
}

static void test_timestamp_round_trips(void **state) {
  (void)state;
  const oc_timestamp_t step = INT64_C(86400000000) * 37 + 123457;
  char buf[32];
  for (oc_timestamp_t t = INT64_C(-62135596800000000); t <= OC_TIMESTAMP_MAX - step; t += step) {
    oc_timestamp_format(t, buf);
    assert_int_equal(ts(buf), t);
  }
  assert_true(oc_timestamp_now() > ts("2024-01-01T00:00:00Z"));
  assert_true(oc_timestamp_now() < ts("2200-01-01T00:00:00Z"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_epoch_is_day_zero),
      cmocka_unit_test(test_every_day_1900_to_2100_round_trips),
      cmocka_unit_test(test_whole_range_matches_naive_calendar),
      cmocka_unit_test(test_known_anchors),
      cmocka_unit_test(test_invalid_calendar_dates_are_refused),
      cmocka_unit_test(test_date_parse_is_strict),
      cmocka_unit_test(test_date_format_outside_range_is_refusable),
      cmocka_unit_test(test_iso_weekday_anchors),
      cmocka_unit_test(test_grain_names),
      cmocka_unit_test(test_period_floor_each_grain),
      cmocka_unit_test(test_period_next_each_grain),
      cmocka_unit_test(test_period_aligned_each_grain),
      cmocka_unit_test(test_periods_tile_the_calendar),
      cmocka_unit_test(test_extreme_dates_are_defined),
      cmocka_unit_test(test_timestamp_parse_forms),
      cmocka_unit_test(test_timestamp_parse_errors),
      cmocka_unit_test(test_timestamp_format),
      cmocka_unit_test(test_timestamp_round_trips),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
