/*
 * fhir_period.c - FHIR date, dateTime and Period values: which calendar
 * period a MeasureReport covers, and when it was made (fhir.h).
 *
 * FHIR's date and dateTime grammar (R4 §2.24.0.1):
 *   YYYY[-MM[-DD[Thh:mm:ss[.fff...](Z|(+|-)hh:mm)]]]
 * A time always carries an offset. Period.end is inclusive: a date covers
 * its whole day, so a month is 2024-03-01..2024-03-31, or
 * 2024-03-01T00:00:00+01:00..2024-03-31T23:59:59+01:00.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "outcomes/fhir.h"
#include "outcomes/record.h"

typedef struct {
  int y, m, d;    /* m and d are 0 when the text stops before them */
  bool has_time;  /* hh:mm:ss and an offset follow the date */
  int hh, mi, ss; /* the time */
  long usec;      /* the fraction's first six digits, as microseconds */
  bool frac_zero; /* no fraction, or only zeros */
  bool frac_nine; /* no fraction, or only nines */
  int off_min;    /* the offset east of UTC, minutes */
} fdt_t;

static bool digits(const char *s, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

/* Parse FHIR date/dateTime text; false when it does not match the grammar
 * or names no real day or time. */
static bool parse_fdt(const char *s, fdt_t *t) {
  size_t len = strlen(s);
  const char *p;
  oc_date_t unused;

  memset(t, 0, sizeof(*t));
  t->frac_zero = t->frac_nine = true;
  if (len < 4 || !digits(s, 4, &t->y) || t->y < 1)
    return false;
  if (len == 4)
    return true;
  if (s[4] != '-' || len < 7 || !digits(s + 5, 2, &t->m) || t->m < 1 || t->m > 12)
    return false;
  if (len == 7)
    return true;
  if (s[7] != '-' || len < 10 || !digits(s + 8, 2, &t->d) ||
      oc_date_from_ymd(t->y, t->m, t->d, &unused, NULL) < 0)
    return false;
  if (len == 10)
    return true;
  /* Thh:mm:ss */
  p = s + 10;
  if (strlen(p) < 9 || p[0] != 'T' || !digits(p + 1, 2, &t->hh) || p[3] != ':' ||
      !digits(p + 4, 2, &t->mi) || p[6] != ':' || !digits(p + 7, 2, &t->ss) || t->hh > 23 ||
      t->mi > 59 || t->ss > 59)
    return false;
  t->has_time = true;
  p += 9;
  if (*p == '.') {
    int nd = 0;
    long scale = 100000;
    for (p++; *p >= '0' && *p <= '9'; p++, nd++) {
      if (*p != '0')
        t->frac_zero = false;
      if (*p != '9')
        t->frac_nine = false;
      if (scale > 0) {
        t->usec += (*p - '0') * scale;
        scale /= 10;
      }
    }
    if (nd == 0 || nd > 9)
      return false;
  }
  if (p[0] == 'Z' && p[1] == '\0')
    return true;
  int oh, om;
  if ((p[0] != '+' && p[0] != '-') || strlen(p) != 6 || !digits(p + 1, 2, &oh) || p[3] != ':' ||
      !digits(p + 4, 2, &om) || oh > 14 || om > 59)
    return false;
  t->off_min = (p[0] == '-' ? -1 : 1) * (oh * 60 + om);
  return true;
}

static int days_in_month(int y, int m) {
  static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : dm[m - 1];
}

int oc_fhir_datetime(const char *s, oc_timestamp_t *out, oc_err_t *err) {
  char q[80];
  fdt_t t;
  oc_date_t day;

  if (!parse_fdt(s, &t) || oc_date_from_ymd(t.y, t.m ? t.m : 1, t.d ? t.d : 1, &day, NULL) < 0)
    return oc_err_set(err, OC_ERR_BAD_FIELD, "'%s' is not a FHIR date or dateTime",
                      oc_utf8_quote(s, strlen(s), q, sizeof(q)));
  int64_t sec = (int64_t)day * 86400 + t.hh * 3600 + t.mi * 60 + t.ss - (int64_t)t.off_min * 60;
  *out = sec * 1000000 + t.usec;
  return 0;
}

int oc_fhir_period(const char *start, const char *end, oc_grain_t *grain, oc_date_t *period_start,
                   oc_err_t *err) {
  static const char *const what = "one whole day, ISO week, month, quarter or year";
  char q[80], a[11], b[11];
  fdt_t s, e;
  oc_date_t first, last;

  if (!start || !end)
    return oc_err_set(err, OC_ERR_BAD_FIELD, "period.%s: missing: a report covers %s",
                      start ? "end" : "start", what);
  if (!parse_fdt(start, &s))
    return oc_err_set(err, OC_ERR_BAD_FIELD, "period.start: '%s' is not a FHIR date or dateTime",
                      oc_utf8_quote(start, strlen(start), q, sizeof(q)));
  if (!parse_fdt(end, &e))
    return oc_err_set(err, OC_ERR_BAD_FIELD, "period.end: '%s' is not a FHIR date or dateTime",
                      oc_utf8_quote(end, strlen(end), q, sizeof(q)));
  if (s.has_time && (s.hh || s.mi || s.ss || !s.frac_zero))
    return oc_err_set(err, OC_ERR_BAD_FIELD, "period.start: %s does not begin a day", start);
  if (e.has_time && (e.hh != 23 || e.mi != 59 || e.ss != 59 || !e.frac_nine))
    return oc_err_set(err, OC_ERR_BAD_FIELD,
                      "period.end: %s does not end a day (the end is inclusive: 23:59:59)", end);
  if (s.has_time && e.has_time && s.off_min != e.off_min)
    return oc_err_set(err, OC_ERR_BAD_FIELD, "period: %s and %s are in different offsets", start,
                      end);
  /* Partial dates cover their whole month or year. */
  int em = e.m ? e.m : 12;
  if (oc_date_from_ymd(s.y, s.m ? s.m : 1, s.d ? s.d : 1, &first, NULL) < 0 ||
      oc_date_from_ymd(e.y, em, e.d ? e.d : days_in_month(e.y, em), &last, NULL) < 0)
    return oc_err_set(err, OC_ERR_BAD_FIELD, "period: %s..%s is out of range", start, end);
  if (last < first)
    return oc_err_set(err, OC_ERR_BAD_FIELD, "period: %s..%s ends before it starts", start, end);
  for (int g = 0; g < OC_GRAIN_COUNT; g++) {
    if (oc_period_is_aligned((oc_grain_t)g, first) &&
        oc_period_next((oc_grain_t)g, first) == last + 1) {
      *grain = (oc_grain_t)g;
      *period_start = first;
      return 0;
    }
  }
  oc_date_format(first, a);
  oc_date_format(last, b);
  long days = (long)(last - first + 1);
  if (strcmp(start, a) == 0 && strcmp(end, b) == 0)
    return oc_err_set(err, OC_ERR_BAD_FIELD,
                      "period: %s..%s is %ld day%s (the end is inclusive), not %s", start, end,
                      days, days == 1 ? "" : "s", what);
  return oc_err_set(err, OC_ERR_BAD_FIELD, "period: %s..%s is %s..%s, %ld day%s, not %s", start,
                    end, a, b, days, days == 1 ? "" : "s", what);
}
