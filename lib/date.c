/*
 * date.c - calendar dates, periods, grains and timestamps; see
 * include/outcomes/date.h.
 *
 * Dates are days since 1970-01-01 in the proleptic Gregorian calendar,
 * converted with Howard Hinnant's days_from_civil / civil_from_days
 * (http://howardhinnant.github.io/date_algorithms.html), which are exact for
 * every date and need no tables. Nothing here allocates: these functions run
 * once or more per record.
 */
#include "outcomes/date.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "outcomes/record.h" /* oc_utf8_quote */

#define US_PER_SEC INT64_C(1000000)
#define US_PER_DAY (INT64_C(86400) * US_PER_SEC)

/* Room for a quoted input in an error message (see oc_utf8_quote). */
#define QUOTE_MAX 80

static const char *const grain_names[OC_GRAIN_COUNT] = {
    "DAY", "WEEK", "MONTH", "QUARTER", "YEAR",
};
static const char *const grain_lower[OC_GRAIN_COUNT] = {
    "day", "week", "month", "quarter", "year",
};

const char *oc_grain_name(oc_grain_t g) {
  if ((unsigned)g >= OC_GRAIN_COUNT)
    return "INVALID";
  return grain_names[g];
}

int oc_grain_from_name(const char *s, oc_grain_t *out, oc_err_t *err) {
  char q[QUOTE_MAX];

  for (int i = 0; s && i < OC_GRAIN_COUNT; i++) {
    /* The first letter rules out the other grains without a call. */
    if ((s[0] == grain_names[i][0] || s[0] == grain_lower[i][0]) &&
        (strcmp(s, grain_names[i]) == 0 || strcmp(s, grain_lower[i]) == 0)) {
      *out = (oc_grain_t)i;
      return 0;
    }
  }
  return oc_err_set(err, OC_ERR_BAD_FIELD,
                    "unknown grain '%s' (expected DAY, WEEK, MONTH, QUARTER or YEAR)",
                    s ? oc_utf8_quote(s, strlen(s), q, sizeof(q)) : "");
}

/* ---- calendar arithmetic -------------------------------------------- */

static bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int days_in_month(int64_t y, int m) {
  static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Hinnant's days_from_civil: days since 1970-01-01 of y-m-d (m 1..12,
 * d 1..31), valid for any year that fits. */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;                                   /* [0, 399] */
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
  return era * 146097 + doe - 719468;
}

/* Hinnant's civil_from_days, the inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;                                      /* [0, 146096] */
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
  const int64_t mp = (5 * doy + 2) / 153;                                    /* [0, 11] */
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

static bool ymd_valid(int64_t y, int m, int d) {
  return y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

int oc_date_from_ymd(int y, int m, int d, oc_date_t *out, oc_err_t *err) {
  if (!ymd_valid(y, m, d))
    return oc_err_set(err, OC_ERR_BAD_FIELD, "'%04d-%02d-%02d' is not a valid date", y, m, d);
  *out = (oc_date_t)days_from_civil(y, m, d);
  return 0;
}

void oc_date_to_ymd(oc_date_t date, int *y, int *m, int *d) {
  int64_t yy;
  civil_from_days(date, &yy, m, d);
  *y = (int)yy;
}

/* Value of n decimal digits at s, or -1 when one of them is not a digit. */
static int digits(const char *s, int n) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

/* Parse the 10 bytes "YYYY-MM-DD" at s (the caller checked there are 10).
 * Returns 0, 1 when the shape is wrong, 2 when the date does not exist. */
static int parse_ymd10(const char *s, int *y, int *m, int *d) {
  if (s[4] != '-' || s[7] != '-')
    return 1;
  *y = digits(s, 4);
  *m = digits(s + 5, 2);
  *d = digits(s + 8, 2);
  if (*y < 0 || *m < 0 || *d < 0)
    return 1;
  return ymd_valid(*y, *m, *d) ? 0 : 2;
}

int oc_date_parse(const char *s, oc_date_t *out, oc_err_t *err) {
  char q[QUOTE_MAX];
  size_t len = s ? strlen(s) : 0;
  int y, m, d, rc = 1;

  if (len == 10)
    rc = parse_ymd10(s, &y, &m, &d);
  if (rc == 0) {
    *out = (oc_date_t)days_from_civil(y, m, d);
    return 0;
  }
  oc_utf8_quote(s ? s : "", len, q, sizeof(q));
  if (rc == 2)
    return oc_err_set(err, OC_ERR_BAD_FIELD, "'%s' is not a valid date", q);
  return oc_err_set(err, OC_ERR_BAD_FIELD, "'%s' is not a date (expected YYYY-MM-DD)", q);
}

/* Write n decimal digits of v (0 <= v < 10^n) at p. */
static void put_digits(char *p, int64_t v, int n) {
  for (int i = n - 1; i >= 0; i--) {
    p[i] = (char)('0' + v % 10);
    v /= 10;
  }
}

void oc_date_format(oc_date_t date, char buf[11]) {
  int64_t y;
  int m, d;

  if (date < OC_DATE_MIN || date > OC_DATE_MAX) {
    memcpy(buf, "0000-00-00", 11); /* oc_date_parse refuses it */
    return;
  }
  civil_from_days(date, &y, &m, &d);
  put_digits(buf, y, 4);
  buf[4] = '-';
  put_digits(buf + 5, m, 2);
  buf[7] = '-';
  put_digits(buf + 8, d, 2);
  buf[10] = '\0';
}

int oc_date_iso_weekday(oc_date_t date) {
  /* 1970-01-01 was a Thursday (4); floor modulo keeps earlier dates right. */
  int r = (int)(((int64_t)date + 3) % 7);
  if (r < 0)
    r += 7;
  return r + 1;
}

/* ---- periods -------------------------------------------------------- */

oc_date_t oc_period_floor(oc_grain_t g, oc_date_t date) {
  int64_t y;
  int m, d;

  switch (g) {
  case OC_GRAIN_DAY: return date;
  case OC_GRAIN_WEEK:
    /* In 64 bits: far outside OC_DATE_MIN..MAX (garbage in) must not be UB. */
    return (oc_date_t)((int64_t)date - (oc_date_iso_weekday(date) - 1));
  case OC_GRAIN_MONTH:
    civil_from_days(date, &y, &m, &d);
    return (oc_date_t)days_from_civil(y, m, 1);
  case OC_GRAIN_QUARTER:
    civil_from_days(date, &y, &m, &d);
    return (oc_date_t)days_from_civil(y, (m - 1) / 3 * 3 + 1, 1);
  case OC_GRAIN_YEAR: civil_from_days(date, &y, &m, &d); return (oc_date_t)days_from_civil(y, 1, 1);
  }
  return date;
}

bool oc_period_is_aligned(oc_grain_t g, oc_date_t date) {
  if ((unsigned)g >= OC_GRAIN_COUNT)
    return false;
  return oc_period_floor(g, date) == date;
}

oc_date_t oc_period_next(oc_grain_t g, oc_date_t start) {
  int64_t y;
  int m, d;

  start = oc_period_floor(g, start);
  switch (g) {
  case OC_GRAIN_DAY: return (oc_date_t)((int64_t)start + 1);
  case OC_GRAIN_WEEK: return (oc_date_t)((int64_t)start + 7);
  case OC_GRAIN_MONTH:
    civil_from_days(start, &y, &m, &d);
    return (oc_date_t)(m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1));
  case OC_GRAIN_QUARTER:
    civil_from_days(start, &y, &m, &d);
    return (oc_date_t)(m >= 10 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 3, 1));
  case OC_GRAIN_YEAR:
    civil_from_days(start, &y, &m, &d);
    return (oc_date_t)days_from_civil(y + 1, 1, 1);
  }
  return start;
}

/* ---- timestamps ----------------------------------------------------- */

/* Fill err for a timestamp that does not parse: quotes the input. */
static int ts_error(oc_err_t *err, const char *s, size_t len, const char *why) {
  char q[QUOTE_MAX];
  return oc_err_set(err, OC_ERR_BAD_FIELD, "'%s' is not an RFC 3339 timestamp: %s",
                    oc_utf8_quote(s, len, q, sizeof(q)), why);
}

int oc_timestamp_parse(const char *s, oc_timestamp_t *out, oc_err_t *err) {
  size_t len = s ? strlen(s) : 0;
  const char *p;
  int y, mo, d, hh, mi, ss, rc;
  int64_t frac = 0, offset_min = 0;

  if (!s)
    s = "";
  if (len < 10)
    return ts_error(err, s, len, "expected YYYY-MM-DD[THH:MM:SS[.ffffff](Z|+hh:mm)]");
  rc = parse_ymd10(s, &y, &mo, &d);
  if (rc == 1)
    return ts_error(err, s, len, "expected YYYY-MM-DD[THH:MM:SS[.ffffff](Z|+hh:mm)]");
  if (rc == 2)
    return ts_error(err, s, len, "not a valid date");
  if (len == 10) {
    *out = days_from_civil(y, mo, d) * US_PER_DAY;
    return 0;
  }
  p = s + 10;
  if ((*p != 'T' && *p != 't' && *p != ' ') || len < 19 || p[3] != ':' || p[6] != ':')
    return ts_error(err, s, len, "expected a time THH:MM:SS after the date");
  hh = digits(p + 1, 2);
  mi = digits(p + 4, 2);
  ss = digits(p + 7, 2);
  if (hh < 0 || mi < 0 || ss < 0)
    return ts_error(err, s, len, "expected a time THH:MM:SS after the date");
  if (hh > 23 || mi > 59 || ss > 59)
    return ts_error(err, s, len,
                    ss == 60 && hh <= 23 && mi <= 59 ? "leap seconds are not supported"
                                                     : "time of day out of range");
  p += 9;
  if (*p == '.') {
    int n = 0;
    p++;
    while (*p >= '0' && *p <= '9') {
      if (++n > 6)
        return ts_error(err, s, len, "fraction has more than 6 digits");
      frac = frac * 10 + (*p++ - '0');
    }
    if (n == 0)
      return ts_error(err, s, len, "expected digits after '.'");
    while (n++ < 6)
      frac *= 10;
  }
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int oh = -1, om = -1;
    if (strlen(p) >= 6 && p[3] == ':') {
      oh = digits(p + 1, 2);
      om = digits(p + 4, 2);
    }
    if (oh < 0 || om < 0)
      return ts_error(err, s, len, "expected an offset +hh:mm or -hh:mm");
    if (oh > 23 || om > 59)
      return ts_error(err, s, len, "offset out of range");
    offset_min = (oh * 60 + om) * (*p == '-' ? -1 : 1);
    p += 6;
  } else if (*p == '\0') {
    return ts_error(err, s, len, "missing time zone (Z or +hh:mm)");
  } else {
    return ts_error(err, s, len, "expected Z or an offset +hh:mm after the time");
  }
  if (*p != '\0')
    return ts_error(err, s, len, "unexpected text after the time zone");
  /* Local time minus its offset is UTC. */
  *out = days_from_civil(y, mo, d) * US_PER_DAY +
         ((int64_t)hh * 3600 + mi * 60 + ss - offset_min * 60) * US_PER_SEC + frac;
  return 0;
}

void oc_timestamp_format(oc_timestamp_t ts, char buf[32]) {
  int64_t days = ts / US_PER_DAY, rem = ts % US_PER_DAY, y;
  int m, d;
  char *p = buf;

  if (rem < 0) {
    rem += US_PER_DAY;
    days--;
  }
  civil_from_days(days, &y, &m, &d);
  /* Years outside 0000..9999 (only from absurd timestamps) keep their sign
   * and every digit; that is not RFC 3339 but it is not a lie either. */
  if (y < 0) {
    *p++ = '-';
    y = -y;
  }
  int ny = 4;
  for (int64_t t = y; t >= 10000; t /= 10)
    ny++;
  put_digits(p, y, ny);
  p += ny;
  *p++ = '-';
  put_digits(p, m, 2);
  p += 2;
  *p++ = '-';
  put_digits(p, d, 2);
  p += 2;
  *p++ = 'T';
  put_digits(p, rem / (3600 * US_PER_SEC), 2);
  p += 2;
  *p++ = ':';
  put_digits(p, rem / (60 * US_PER_SEC) % 60, 2);
  p += 2;
  *p++ = ':';
  put_digits(p, rem / US_PER_SEC % 60, 2);
  p += 2;
  *p++ = '.';
  put_digits(p, rem % US_PER_SEC, 6);
  p += 6;
  *p++ = 'Z';
  *p = '\0';
}

oc_timestamp_t oc_timestamp_now(void) {
  struct timespec ts;
  /* timespec_get is C11; CLOCK_REALTIME via clock_gettime would do too. */
  if (timespec_get(&ts, TIME_UTC) != TIME_UTC)
    return 0;
  return (int64_t)ts.tv_sec * US_PER_SEC + ts.tv_nsec / 1000;
}
