/*
 * fhir.h - HL7 FHIR R4 MeasureReport resources into observations
 * (docs/fhir.md).
 *
 * One summary MeasureReport yields one observation per group: the metric is
 * the catalog metric whose measure_url is the report's `measure` (its
 * "|version" suffix ignored), or, for a report of several groups,
 * "<measure>#<group code>"; org_id is the reporter, facility_id the subject
 * (absent: an org-level figure); grain and period_start come from `period`,
 * which must be one whole calendar day, ISO week, month, quarter or year in
 * the report's own offset; value from group.measureScore (unit checked
 * against the catalog's UCUM unit), numerator and denominator from the
 * measure-population counts; observed_at from meta.lastUpdated, else date;
 * source from id, else identifier.
 *
 * A report is taken whole or rejected whole. Errors read "<path>: reason"
 * with the FHIR path of the element, e.g.
 *   MeasureReport.group[0].measureScore: unit 'mg' is not the catalog's '%'
 */
#ifndef OUTCOMES_FHIR_H
#define OUTCOMES_FHIR_H

#include <stddef.h>

#include <jansson.h>

#include "outcomes/catalog.h"
#include "outcomes/date.h"
#include "outcomes/err.h"
#include "outcomes/record.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest FHIR JSON document (a Bundle, or one NDJSON line) read, bytes. */
#define OC_FHIR_DOC_MAX ((size_t)64 * 1024 * 1024)
/* Most groups, hence observations, taken from one MeasureReport. */
#define OC_FHIR_GROUPS_MAX 64
/* Longest FHIR path in an error ("Bundle.entry[N].resource.group[M]..."). */
#define OC_FHIR_PATH_MAX 96

/* The system of measure-population codes. */
#define OC_FHIR_POPULATION_SYSTEM "http://terminology.hl7.org/CodeSystem/measure-population"
#define OC_FHIR_UCUM_SYSTEM "http://unitsofmeasure.org"

/* Map one MeasureReport (report, borrowed) to observations out[0..*n),
 * each validated against cat (borrowed, not NULL). bundle (may be NULL) is
 * the Bundle the report came in, where its references may point. path
 * names the report
 * in errors ("MeasureReport", "Bundle.entry[3].resource"). A missing
 * observed_at takes default_observed_at. On an error (OC_ERR_BAD_FIELD,
 * OC_ERR_UNKNOWN_METRIC, or a validation code of record.h) *n is 0 and
 * err->msg reads "<path>: reason". */
int oc_fhir_measure_report(const json_t *report, const json_t *bundle, const char *path,
                           const oc_catalog_t *cat, oc_timestamp_t default_observed_at,
                           oc_observation_t out[OC_FHIR_GROUPS_MAX], size_t *n, oc_err_t *err);

/* The calendar period a FHIR Period covers: start and end are FHIR date or
 * dateTime texts (end inclusive: a date covers its whole day, a dateTime
 * ends at 23:59:59[.999...]). 0 with *grain and *start when they span one
 * whole DAY, WEEK (ISO), MONTH, QUARTER or YEAR in the report's offset;
 * OC_ERR_BAD_FIELD otherwise, with a reason naming the period. */
int oc_fhir_period(const char *start, const char *end, oc_grain_t *grain, oc_date_t *period_start,
                   oc_err_t *err);

/* A FHIR instant or dateTime ("2024-03-01", "2024-03-01T10:00:00+01:00",
 * "2024", "2024-03") as a timestamp; a date means its first instant in UTC. */
int oc_fhir_datetime(const char *s, oc_timestamp_t *out, oc_err_t *err);

#ifdef __cplusplus
}
#endif
#endif
