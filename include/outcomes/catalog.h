/*
 * catalog.h - the metric catalog (schemas/catalog.tsv).
 *
 * The catalog is the single source of truth for metrics: the producer
 * validates with it, the migrations load it into outcomes.metric_catalog and
 * the consumer validates with the copy in PostgreSQL.
 *
 * File format: UTF-8, tab-separated, one metric per line, '#' comments and
 * blank lines ignored, a header line naming the columns:
 *   code name unit kind direction min max seed description
 * unit is one of days, ratio, count, usd, fte; kind one of ratio, count,
 * amount, gauge; direction lower_is_better or higher_is_better; min and max
 * are decimal numbers bounding `value` (inclusive).
 */
#ifndef OUTCOMES_CATALOG_H
#define OUTCOMES_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "outcomes/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OC_METRIC_CODE_MAX 64

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
  char *unit; /* days, ratio, count, usd, fte */
  oc_kind_t kind;
  oc_direction_t direction;
  double min; /* inclusive bounds of value */
  double max;
  char *seed; /* the seed figure this metric serves */
  char *description;
} oc_metric_t;

typedef struct oc_catalog_s oc_catalog_t;

/* An empty catalog. Caller frees with oc_catalog_destroy(). */
oc_catalog_t *oc_catalog_new(void);

/* Add a metric (copied). Fails with OC_ERR_CONFIG on a duplicate or invalid
 * code, kind, direction or range (min > max, not finite). */
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

/* Lookup by code; NULL when unknown. The metric is borrowed from cat. */
const oc_metric_t *oc_catalog_find(const oc_catalog_t *cat, const char *code);
size_t oc_catalog_count(const oc_catalog_t *cat);
const oc_metric_t *oc_catalog_at(const oc_catalog_t *cat, size_t i);

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
