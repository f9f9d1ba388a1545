/*
 * record.h - the observation record, its fact identity, dates, periods and
 * validation against the catalog (docs/design.md §3.1).
 *
 * Dates are calendar dates in the reporting organisation's own calendar,
 * carried as days since 1970-01-01 (the Avro `date` logical type); no time
 * zone ever applies to them. Timestamps are microseconds since the Unix
 * epoch, UTC (Avro `timestamp-micros`).
 */
#ifndef OUTCOMES_RECORD_H
#define OUTCOMES_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "outcomes/catalog.h"
#include "outcomes/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OC_ID_MAX 256 /* ids are 1..OC_ID_MAX bytes of UTF-8 */

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

/* Fact identity (docs/design.md §3.1). facility_id[0] == '\0' means org
 * level. */
typedef struct oc_fact_id_s {
  char org_id[OC_ID_MAX + 1];
  char facility_id[OC_ID_MAX + 1];
  char metric[OC_METRIC_CODE_MAX + 1];
  oc_grain_t grain;
  oc_date_t period_start;
} oc_fact_id_t;

typedef struct oc_observation_s {
  oc_fact_id_t id;
  double value;
  bool has_numerator;
  bool has_denominator;
  double numerator;
  double denominator;
  char source[OC_ID_MAX + 1];
  oc_timestamp_t observed_at;
} oc_observation_t;

/* True when s[0..len) is well-formed UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF, no truncated sequence). */
bool oc_utf8_valid(const char *s, size_t len);

/* Copy s[0..len) into buf (capacity cap >= 4, always NUL-terminated) so that
 * it can be quoted in an error message: well-formed UTF-8 other than control
 * characters is copied, a backslash is doubled, every other byte becomes
 * "\xHH", and what does not fit is cut at a character boundary and ends
 * with "...". The result is valid UTF-8 without control characters, safe
 * for a PostgreSQL text column. Returns buf. */
const char *oc_utf8_quote(const char *s, size_t len, char *buf, size_t cap);

/* Check an id: 1..OC_ID_MAX bytes, valid UTF-8, no control characters
 * (C0 including NUL, DEL, C1 = U+0080..U+009F). Fails with
 * OC_ERR_BAD_FIELD and a message that starts with "<field>: ", e.g.
 * "org_id: must not be empty", "org_id: 257 bytes, more than 256",
 * "org_id: invalid UTF-8 at byte 3",
 * "org_id: control character U+0085 at byte 0". */
int oc_id_check(const char *field, const char *s, size_t len, oc_err_t *err);

/* Validate an observation against the catalog: ids, metric known, grain,
 * period aligned, value finite and in range, ratio rules (ratio metrics
 * need numerator and denominator > 0 with value == numerator/denominator
 * within a relative 1e-9; other kinds must not carry them), observed_at
 * set. Returns the first failure, with a message "<field>: reason" and the
 * code the dead letters use (OC_ERR_UNKNOWN_METRIC, OC_ERR_RANGE,
 * OC_ERR_MISALIGNED, OC_ERR_RATIO_MISSING, OC_ERR_RATIO_MISMATCH,
 * OC_ERR_BAD_FIELD).
 *
 * The checks, in this order (numbers in messages are printed so that they
 * read back exactly, e.g. 1.2 not 1.1999999999999999):
 *   org_id       oc_id_check                                    BAD_FIELD
 *   facility_id  empty, or oc_id_check                          BAD_FIELD
 *   metric       non-empty                                      BAD_FIELD
 *                "metric: unknown metric 'foo'"                 UNKNOWN_METRIC
 *   grain        a valid oc_grain_t                             BAD_FIELD
 *   period_start within OC_DATE_MIN..OC_DATE_MAX                BAD_FIELD
 *                "period_start: 2024-03-05 is not the start of a MONTH"
 *                                                               MISALIGNED
 *   value        finite                                         BAD_FIELD
 *                "value: 1.2 outside [0, 1] for metric 'cpoe_rate'"  RANGE
 *   numerator,   kind ratio: "numerator: required for ratio metric 'x'"
 *   denominator  (then denominator)                             RATIO_MISSING
 *                numerator finite                               BAD_FIELD
 *                numerator >= 0 when the metric's min >= 0      RANGE
 *                denominator finite                             BAD_FIELD
 *                denominator > 0                                RANGE
 *                "value: 0.5 is not numerator/denominator (0.25)"
 *                                                               RATIO_MISMATCH
 *                other kinds: "numerator: not allowed for count metric 'x'"
 *                                                               BAD_FIELD
 *   source       oc_id_check (required, like the ids)           BAD_FIELD
 *   observed_at  not 0 ("not set"), within 1970-01-01..OC_TIMESTAMP_MAX
 *                                                               BAD_FIELD
 * obs and cat are borrowed; nothing is allocated. */
int oc_observation_validate(const oc_observation_t *obs, const oc_catalog_t *cat,
                            oc_err_t *err);

/* Fact identities compare equal when every component does. */
bool oc_fact_id_equal(const oc_fact_id_t *a, const oc_fact_id_t *b);

#ifdef __cplusplus
}
#endif
#endif
