/*
 * record.h - the observation record, its fact identity, ids and validation
 * against the catalog (docs/design.md §3.1). Dates, grains, periods and
 * timestamps are in date.h (included here).
 */
#ifndef OUTCOMES_RECORD_H
#define OUTCOMES_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "outcomes/catalog.h"
#include "outcomes/date.h"
#include "outcomes/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OC_ID_MAX 256 /* ids are 1..OC_ID_MAX bytes of UTF-8 */

/* Fact identity (docs/design.md §3.1). facility_id[0] == '\0' means org level. */
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
int oc_observation_validate(const oc_observation_t *obs, const oc_catalog_t *cat, oc_err_t *err);

/* Fact identities compare equal when every component does. */
bool oc_fact_id_equal(const oc_fact_id_t *a, const oc_fact_id_t *b);

#ifdef __cplusplus
}
#endif
#endif
