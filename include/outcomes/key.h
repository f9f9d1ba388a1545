/*
 * key.h - the Kafka message key: a deterministic text encoding of a fact
 * identity (docs/design.md §3.2), so that all versions of a fact land in one
 * partition and topics can be compacted.
 *
 * Format (version 1), five fields joined by '|':
 *
 *     org_id|facility_id|metric|GRAIN|YYYY-MM-DD
 *
 * facility_id is empty for an org-level fact (ids are never empty). In the
 * id fields, '%' is written "%25" and '|' is written "%7C"; every other byte
 * is written as is, so UTF-8 text, spaces and quotes pass unchanged. Exactly
 * one key exists per identity: the decoder refuses any other escape,
 * lower-case hex, a missing or extra field, an unknown grain, a bad or
 * misaligned date, and ids that fail oc_id_check().
 *
 * Example: org "Kaleida Health", facility "Buffalo|General", metric
 * "supply_cost", MONTH, 2024-03-01 →
 *     Kaleida Health|Buffalo%7CGeneral|supply_cost|MONTH|2024-03-01
 */
#ifndef OUTCOMES_KEY_H
#define OUTCOMES_KEY_H

#include <stddef.h>

#include "outcomes/err.h"
#include "outcomes/record.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest encoded key: two ids fully escaped, metric, grain, date, bars.
 * A buffer of OC_KEY_MAX + 1 bytes (with the NUL) fits every key. */
#define OC_KEY_MAX (2 * 3 * OC_ID_MAX + OC_METRIC_CODE_MAX + 7 + 10 + 4)

/* Encode id into buf (capacity cap, NUL-terminated); *len_out gets the
 * length without the NUL. Fails with OC_ERR_LIMIT when cap is too small and
 * OC_ERR_BAD_KEY when the identity itself is invalid. */
int oc_key_encode(const oc_fact_id_t *id, char *buf, size_t cap, size_t *len_out, oc_err_t *err);

/* Decode key[0..len) (not necessarily NUL-terminated) into *out.
 * Every failure is OC_ERR_BAD_KEY with the reason, naming the field first,
 * e.g. "key: 4 fields, expected 5 (...)", "org_id: must not be empty",
 * "facility_id: invalid escape '%7c' (only %25 and %7C)",
 * "metric: 'Foo' is not a metric code (...)", "grain: unknown grain 'month'
 * (...)", "period_start: '2024-02-30' is not a valid date",
 * "period_start: 2024-03-05 is not the start of a MONTH". On failure *out
 * is partly written and must not be used. Nothing is allocated. */
int oc_key_decode(const char *key, size_t len, oc_fact_id_t *out, oc_err_t *err);

#ifdef __cplusplus
}
#endif
#endif
