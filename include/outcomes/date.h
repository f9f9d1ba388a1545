/*
 * date.h - calendar dates, grains, periods and timestamps (docs/design.md §3.1).
 *
 * Dates are calendar dates in the reporting organisation's own calendar,
 * carried as days since 1970-01-01 (the Avro `date` logical type); no time
 * zone ever applies to them. Timestamps are microseconds since the Unix
 * epoch, UTC (Avro `timestamp-micros`). Nothing here allocates.
 */
#ifndef OUTCOMES_DATE_H
#define OUTCOMES_DATE_H

#include <stdbool.h>
#include <stdint.h>

#include "outcomes/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum oc_grain_e {
  OC_GRAIN_DAY = 0,
  OC_GRAIN_WEEK = 1, /* ISO week: starts on Monday */
  OC_GRAIN_MONTH = 2,
  OC_GRAIN_QUARTER = 3,
  OC_GRAIN_YEAR = 4,
} oc_grain_t;
#define OC_GRAIN_COUNT 5

typedef int32_t oc_date_t;      /* days since 1970-01-01 */
typedef int64_t oc_timestamp_t; /* microseconds since 1970-01-01T00:00:00Z */

/* Smallest and largest dates accepted anywhere: 0001-01-01 .. 9999-12-31. */
#define OC_DATE_MIN (-719162)
#define OC_DATE_MAX 2932896
/* Last microsecond of OC_DATE_MAX: 9999-12-31T23:59:59.999999Z. */
#define OC_TIMESTAMP_MAX INT64_C(253402300799999999)

const char *oc_grain_name(oc_grain_t g); /* "DAY", "WEEK", ... */
/* Accepts the upper-case names, and lower case ("month").
 *
 * The parsers below (grain, date, timestamp) fail with OC_ERR_BAD_FIELD and
 * a message that quotes the input but names no field, e.g.
 * "'2024-02-30' is not a valid date": the caller knows the field and
 * prefixes it with oc_err_prefix(err, "period_start: "). */
int oc_grain_from_name(const char *s, oc_grain_t *out, oc_err_t *err);

/* Dates. ymd are validated (month 1-12, day within the month, leap years). */
int oc_date_from_ymd(int y, int m, int d, oc_date_t *out, oc_err_t *err);
void oc_date_to_ymd(oc_date_t date, int *y, int *m, int *d);
/* Strict YYYY-MM-DD. */
int oc_date_parse(const char *s, oc_date_t *out, oc_err_t *err);
/* Writes "YYYY-MM-DD" and a NUL into buf (at least 11 bytes). A date
 * outside OC_DATE_MIN..OC_DATE_MAX is written "0000-00-00", which
 * oc_date_parse refuses. */
void oc_date_format(oc_date_t date, char buf[11]);
/* ISO weekday: 1 = Monday .. 7 = Sunday. */
int oc_date_iso_weekday(oc_date_t date);

/* Periods: the start of the period of grain g containing date (WEEK: the
 * ISO week's Monday, QUARTER: Jan/Apr/Jul/Oct 1). An invalid grain returns
 * date unchanged and is never aligned. Meant for dates within
 * OC_DATE_MIN..OC_DATE_MAX; others give unspecified (but defined) results. */
oc_date_t oc_period_floor(oc_grain_t g, oc_date_t date);
bool oc_period_is_aligned(oc_grain_t g, oc_date_t date);
/* The start of the period after the one starting at (aligned) start; for
 * an unaligned start, the period after the one containing it. After the
 * last period of 9999 this is OC_DATE_MAX + 1, an exclusive bound. */
oc_date_t oc_period_next(oc_grain_t g, oc_date_t start);

/* Timestamps. Parse RFC 3339: "2024-03-01T08:30:00Z", with optional
 * fraction of up to 6 digits and a "Z" or "+hh:mm"/"-hh:mm" offset; a space
 * may replace the 'T'. A bare date "2024-03-01" means its midnight UTC.
 * Refused: more than 6 fraction digits, a missing offset, leap second 60,
 * out-of-range fields, trailing text. RFC 3339 also allows a lower-case
 * 't' and 'z'; they are accepted. */
int oc_timestamp_parse(const char *s, oc_timestamp_t *out, oc_err_t *err);
/* Writes "YYYY-MM-DDTHH:MM:SS.ffffffZ" (28 bytes with the NUL). Years
 * outside 0000..9999, which only absurd timestamps reach, keep their sign
 * and all their digits (at most 31 bytes). */
void oc_timestamp_format(oc_timestamp_t ts, char buf[32]);
oc_timestamp_t oc_timestamp_now(void);

#ifdef __cplusplus
}
#endif
#endif
