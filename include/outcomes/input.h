/*
 * input.h - rows of CSV or JSON Lines into observations (docs/design.md
 * §3.1).
 *
 * Both formats use the record's field names:
 *
 *   org_id facility_id metric grain period_start value numerator
 *   denominator source observed_at
 *
 * CSV: a header row names the columns, in any order; an unknown or
 * duplicate column, or a missing required one (org_id, metric, grain,
 * period_start, value, source), is an error of the whole input. An empty
 * facility_id, numerator, denominator or observed_at means absent.
 *
 * JSON Lines: one object per line (blank lines skipped), the same names as
 * keys; numbers may be given as JSON numbers or strings; null means absent;
 * an unknown key is an error of that row.
 *
 * Formats: dates YYYY-MM-DD; grain DAY, WEEK, MONTH, QUARTER, YEAR (or
 * lower case); numbers decimal ("0.97", "1e6"); observed_at RFC 3339 as
 * oc_timestamp_parse() reads it, defaulting to the time given at open
 * (the run's start).
 *
 * FHIR (OC_INPUT_FHIR): HL7 FHIR R4 MeasureReports, mapped by fhir.h; a
 * report of several groups yields several observations in a row, each
 * with the report's line. Errors carry the FHIR path as the field.
 *
 * Retraction mode (OC_INPUT_RETRACT) reads the identity only: org_id,
 * facility_id, metric, grain, period_start; any other column is an error.
 *
 * Row errors carry "field: reason" (or "row: reason") without the file and
 * line: the caller prints "file:line: " before them.
 */
#ifndef OUTCOMES_INPUT_H
#define OUTCOMES_INPUT_H

#include <stdbool.h>
#include <stdio.h>

#include "outcomes/catalog.h"
#include "outcomes/date.h"
#include "outcomes/err.h"
#include "outcomes/record.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum oc_input_format_e {
  OC_INPUT_AUTO = 0, /* from the file name's extension */
  OC_INPUT_CSV,
  OC_INPUT_JSONL,
  OC_INPUT_FHIR,           /* MeasureReports: a resource, a Bundle, or NDJSON (fhir.h) */
  OC_INPUT_JSON_LINES_ANY, /* JSONL or FHIR NDJSON: the first line's resourceType tells */
} oc_input_format_t;

/* Longest JSON line accepted (bytes, without the line break). */
#define OC_INPUT_JSONL_LINE_MAX ((size_t)1024 * 1024)

#define OC_INPUT_RETRACT 0x1u /* identity columns only */

/* "csv", "jsonl" (also "ndjson"), "fhir" → format. OC_ERR_USAGE otherwise. */
int oc_input_format_from_name(const char *name, oc_input_format_t *out, oc_err_t *err);

/* Format from a path's extension (any case): .csv → CSV; .jsonl, .ndjson →
 * JSON Lines or FHIR NDJSON, told apart by the first line; .json → FHIR.
 * OC_ERR_USAGE naming the path when there is none of them. */
int oc_input_format_from_path(const char *path, oc_input_format_t *out, oc_err_t *err);

typedef struct oc_input_s oc_input_t;

/* A reader of rows from in (borrowed; the caller closes it after
 * oc_input_destroy()). fmt must not be OC_INPUT_AUTO. cat (borrowed, may be
 * NULL to skip the catalog checks) validates each row. default_observed_at
 * fills a missing observed_at. For CSV the header is read here: its errors
 * (unknown, duplicate or missing columns, a bad or empty header) fail with
 * OC_ERR_BAD_FIELD and a message "line N: reason". Caller frees *out with
 * oc_input_destroy(). */
int oc_input_open(FILE *in, oc_input_format_t fmt, unsigned flags, const oc_catalog_t *cat,
                  oc_timestamp_t default_observed_at, oc_input_t **out, oc_err_t *err);

/* The format being read: after OC_INPUT_JSON_LINES_ANY, the one found. */
oc_input_format_t oc_input_format(const oc_input_t *in);

/* Read, map and validate the next row.
 *   1   *obs holds a valid observation (in retraction mode only obs->id is
 *       meaningful)
 *   0   end of input
 *   < 0 and err->fatal false: this row is bad (err: "field: reason"); the
 *       next call reads the next row
 *   < 0 and err->fatal true: the input cannot be read further (I/O error)
 * *line_out (may be NULL) gets the line where the row starts. */
int oc_input_next(oc_input_t *in, oc_observation_t *obs, long *line_out, oc_err_t *err);

/* Accepts NULL. */
void oc_input_destroy(oc_input_t *in);

#ifdef __cplusplus
}
#endif
#endif
