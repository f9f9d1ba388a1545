/*
 * catalog.h - the metric catalog (schemas/catalog.tsv).
 *
 * The catalog is the single source of truth for metrics: the producer
 * validates with it, the migrations load it into outcomes.metric_catalog and
 * the consumer validates with the copy in PostgreSQL.
 *
 * File format: UTF-8, tab-separated, one metric per line, '#' comments and
 * blank lines ignored, a header line naming the columns, in any order:
 *   code name unit kind direction min max [seed] [description] [measure_url]
 * The first seven are required; a file without seed, description or
 * measure_url gives "" for them. Every line has as many fields as the header.
 *   code         [a-z][a-z0-9_]*, at most OC_METRIC_CODE_MAX bytes, unique
 *   unit         a UCUM code (https://ucum.org): `d` (days), `1` (a
 *                proportion), `{count}`, `[USD]`, `{FTE}`, or any code a
 *                measure reports; checked for syntax only (oc_unit_valid)
 *   kind         ratio, count, amount or gauge
 *   direction    lower_is_better or higher_is_better
 *   min, max     decimal numbers bounding `value` (inclusive)
 *   seed         the published figure the metric makes computable (optional)
 *   measure_url  the canonical URL of the HL7 FHIR Measure whose
 *                MeasureReports carry this metric, without "|version":
 *                an absolute http(s) URL, unique in the catalog (optional)
 */
#ifndef OUTCOMES_CATALOG_H
#define OUTCOMES_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "outcomes/buf.h"
#include "outcomes/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OC_METRIC_CODE_MAX 64
#define OC_UNIT_MAX 64          /* bytes of a unit code */
#define OC_MEASURE_URL_MAX 1024 /* bytes of a measure URL */

typedef enum oc_kind_e {
  OC_KIND_RATIO = 0,  /* numerator / denominator, both carried */
  OC_KIND_COUNT = 1,  /* additive flow of events */
  OC_KIND_AMOUNT = 2, /* additive flow of money or effort */
  OC_KIND_GAUGE = 3,  /* level at a point in time */
} oc_kind_t;

typedef enum oc_direction_e {
  OC_DIR_LOWER_IS_BETTER = 0,
  OC_DIR_HIGHER_IS_BETTER = 1,
} oc_direction_t;

typedef struct oc_metric_s {
  char code[OC_METRIC_CODE_MAX + 1]; /* [a-z][a-z0-9_]* */
  char *name;
  char *unit; /* a UCUM code: d, 1, {count}, [USD], {FTE}, ... */
  oc_kind_t kind;
  oc_direction_t direction;
  double min; /* inclusive bounds of value */
  double max;
  char *seed; /* the seed figure this metric serves ("" or NULL: none) */
  char *description;
  /* The canonical URL of the FHIR Measure whose MeasureReports carry this
   * metric, without a version; NULL or "" when none. */
  char *measure_url;
} oc_metric_t;

/* The columns of a metric, named as in the file's header. */
typedef enum oc_metric_col_e {
  OC_COL_CODE,
  OC_COL_NAME,
  OC_COL_UNIT,
  OC_COL_KIND,
  OC_COL_DIRECTION,
  OC_COL_MIN,
  OC_COL_MAX,
  OC_COL_SEED,
  OC_COL_DESCRIPTION,
  OC_COL_MEASURE_URL,
  OC_COL_COUNT
} oc_metric_col_t;

typedef struct oc_catalog_s oc_catalog_t;

/* "code", "name", ..., "measure_url"; "?" out of range. */
const char *oc_metric_col_name(oc_metric_col_t col);

/* An empty catalog. Caller frees with oc_catalog_destroy(). */
oc_catalog_t *oc_catalog_new(void);

/* Add a metric (copied; NULL text is stored as ""). Fails with
 * OC_ERR_CONFIG on a duplicate or invalid code, an invalid unit, kind,
 * direction or range (min > max, not finite), text that is not UTF-8, or
 * an invalid or duplicate measure_url. */
int oc_catalog_add(oc_catalog_t *cat, const oc_metric_t *m, oc_err_t *err);

/* Parse the TSV format above. Errors name "<name>:<line>: <column>: reason".
 * On success *out is a new catalog the caller frees. */
int oc_catalog_parse(const char *buf, size_t len, const char *name, oc_catalog_t **out,
                     oc_err_t *err);
int oc_catalog_load_file(const char *path, oc_catalog_t **out, oc_err_t *err);

/* Load the catalog from outcomes.metric_catalog on conn (statement
 * catalog_load, prepared by oc_stmt_prepare). Caller frees *out with
 * oc_catalog_destroy(). */
int oc_catalog_load_pg(PGconn *conn, oc_catalog_t **out, oc_err_t *err);

/* True when s[0..len) is a well-formed metric code: 1..OC_METRIC_CODE_MAX
 * bytes of [a-z][a-z0-9_]*. */
bool oc_metric_code_valid(const char *s, size_t len);

/* True when s is a unit code of conservative UCUM syntax: 1..OC_UNIT_MAX
 * bytes of printable ASCII without spaces, where [...] and {...} are
 * non-empty, closed and do not nest, and parentheses balance. */
bool oc_unit_valid(const char *s);

/* True when s[0..len) is an absolute http:// or https:// URL (a host of
 * [A-Za-z0-9.-], an optional port, a path of printable ASCII) without '|'
 * (no version suffix), at most OC_MEASURE_URL_MAX bytes. */
bool oc_measure_url_valid(const char *s, size_t len);

/* Lookup by code; NULL when unknown. The metric is borrowed from cat. */
const oc_metric_t *oc_catalog_find(const oc_catalog_t *cat, const char *code);
/* Lookup by canonical measure URL url[0..len), exact match (no version
 * suffix); NULL if no metric has it (or len is 0). Borrowed from cat. */
const oc_metric_t *oc_catalog_find_measure(const oc_catalog_t *cat, const char *url, size_t len);
size_t oc_catalog_count(const oc_catalog_t *cat);
const oc_metric_t *oc_catalog_at(const oc_catalog_t *cat, size_t i);

/* The columns where a and b differ: bit (1u << col) for each. Text
 * columns compare NULL as "", numbers by value. */
unsigned oc_metric_diff(const oc_metric_t *a, const oc_metric_t *b);

/* What changed from old to cat (either may be NULL: empty): the codes
 * added (in cat, not in old), removed (in old, not in cat) and changed
 * (oc_metric_diff non-zero), each list comma-separated, in catalog order,
 * "" when empty. Release with oc_catalog_changes_release(). */
typedef struct oc_catalog_changes_s {
  oc_buf_t added, removed, changed;
  size_t n_added, n_removed, n_changed;
} oc_catalog_changes_t;
int oc_catalog_changes(const oc_catalog_t *old, const oc_catalog_t *cat, oc_catalog_changes_t *out,
                       oc_err_t *err);
void oc_catalog_changes_release(oc_catalog_changes_t *c);

/* Log (info) "catalog_reloaded added=<codes> removed=<codes>
 * changed=<codes> metrics=<n> trigger=<trigger>": a daemon took cat in
 * place of old. Each list is cut after 600 bytes ("...(+N more)"). */
void oc_catalog_log_reloaded(const oc_catalog_t *old, const oc_catalog_t *cat, const char *trigger);

/* Accepts NULL. */
void oc_catalog_destroy(oc_catalog_t *cat);

const char *oc_kind_name(oc_kind_t kind);             /* "ratio", ... */
int oc_kind_from_name(const char *s, oc_kind_t *out); /* 0 or OC_ERR_CONFIG */
const char *oc_direction_name(oc_direction_t dir);
int oc_direction_from_name(const char *s, oc_direction_t *out);

/* Default path of the installed catalog (…/share/outcomes/catalog.tsv). */
const char *oc_catalog_default_path(void);

#ifdef __cplusplus
}
#endif
#endif
