/*
 * metrics.h - a thread-safe metrics registry rendered in the Prometheus text
 * exposition format 0.0.4.
 *
 * A registry holds families, declared once at start-up with a name, a HELP
 * text and, optionally, label names. Each family has children, one per set
 * of label values: an unlabelled family has exactly one, created with it; a
 * labelled family creates its children on first use, up to a limit (10,000
 * by default). Lookups past the limit return NULL and are counted in the
 * registry's own counter family outcomes_metrics_series_dropped_total
 * {family="..."}; every update function accepts NULL and does nothing, so
 * callers need no special case.
 *
 * Updating a child is a few atomic operations: no lock, no allocation. A
 * lookup (oc_metrics_counter() etc. with label values) takes the family's
 * mutex and a binary search; on hot paths look the child up once and keep
 * the pointer. Children live as long as the registry.
 *
 * Rendering writes families in declaration order and each family's children
 * sorted by their label values (byte-wise, first label first), so the text is
 * deterministic. Names follow docs/metrics.md: prefix outcomes_, counters end
 * in _total, base units (seconds, bytes).
 */
#ifndef OUTCOMES_METRICS_H
#define OUTCOMES_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "outcomes/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct oc_metrics_s oc_metrics_t;               /* the registry */
typedef struct oc_metrics_family_s oc_metrics_family_t; /* one metric name */
typedef struct oc_metrics_counter_s oc_metrics_counter_t;
typedef struct oc_metrics_gauge_s oc_metrics_gauge_t;
typedef struct oc_metrics_histogram_s oc_metrics_histogram_t;

/* Default limit of children per labelled family. */
#define OC_METRICS_CHILD_LIMIT 10000
/* Most label names a family may have. */
#define OC_METRICS_MAX_LABELS 8
/* Most finite bucket bounds a histogram may have. */
#define OC_METRICS_MAX_BUCKETS 64

/* Bucket upper bounds (seconds) for latencies, 1 ms to 10 s:
 * 0.001 0.0025 0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10. */
extern const double oc_metrics_latency_buckets[];
extern const size_t oc_metrics_latency_bucket_count;

/* An empty registry. Caller frees with oc_metrics_destroy(). NULL when out
 * of memory. */
oc_metrics_t *oc_metrics_new(void);

/* Frees the registry, its families and children: every pointer obtained
 * from it becomes invalid. No other thread may use it any more (stop the
 * HTTP server first). Accepts NULL. */
void oc_metrics_destroy(oc_metrics_t *reg);

/* Limit the children of each labelled family (at least 1); applies to
 * lookups made afterwards. Default OC_METRICS_CHILD_LIMIT. */
void oc_metrics_set_child_limit(oc_metrics_t *reg, size_t limit);

/*
 * Declare a family. name matches [a-zA-Z_:][a-zA-Z0-9_:]* and is unique in
 * the registry; help is any UTF-8 text (escaped on output); label_names
 * (nlabels of them, up to OC_METRICS_MAX_LABELS, may be NULL when nlabels is
 * 0) match [a-zA-Z_][a-zA-Z0-9_]*, do not start with "__", are distinct and,
 * for histograms, are not "le". All strings are copied.
 *
 * Histogram bounds are the finite bucket upper bounds, strictly increasing
 * (at most OC_METRICS_MAX_BUCKETS); the +Inf bucket is implicit. bounds NULL
 * selects oc_metrics_latency_buckets.
 *
 * On success *out (may be NULL) is the family, borrowed from reg. Errors:
 * OC_ERR_USAGE for an invalid or duplicate name, label or bound;
 * OC_ERR_NOMEM.
 */
int oc_metrics_add_counter(oc_metrics_t *reg, const char *name, const char *help,
                           const char *const *label_names, size_t nlabels,
                           oc_metrics_family_t **out, oc_err_t *err);
int oc_metrics_add_gauge(oc_metrics_t *reg, const char *name, const char *help,
                         const char *const *label_names, size_t nlabels, oc_metrics_family_t **out,
                         oc_err_t *err);
int oc_metrics_add_histogram(oc_metrics_t *reg, const char *name, const char *help,
                             const char *const *label_names, size_t nlabels, const double *bounds,
                             size_t nbounds, oc_metrics_family_t **out, oc_err_t *err);

/*
 * The child of fam for the given label values (one per label name, in
 * declaration order, any UTF-8; copied on creation). For an unlabelled
 * family pass NULL: this returns its only child without locking.
 *
 * Returns NULL, doing nothing else, when fam is NULL or of another type or a
 * value is NULL; returns NULL and counts it in
 * outcomes_metrics_series_dropped_total when the family is at its child
 * limit or memory runs out. The child is borrowed from the registry.
 */
oc_metrics_counter_t *oc_metrics_counter(oc_metrics_family_t *fam, const char *const *label_values);
oc_metrics_gauge_t *oc_metrics_gauge(oc_metrics_family_t *fam, const char *const *label_values);
oc_metrics_histogram_t *oc_metrics_histogram(oc_metrics_family_t *fam,
                                             const char *const *label_values);

/* Updates: lock-free, allocation-free, callable from any thread; a NULL
 * child is ignored. */
void oc_metrics_counter_inc(oc_metrics_counter_t *c);
void oc_metrics_counter_add(oc_metrics_counter_t *c, uint64_t n);
uint64_t oc_metrics_counter_value(const oc_metrics_counter_t *c); /* 0 for NULL */

/* A gauge holds a double; integers up to 2^53 in magnitude are exact. */
void oc_metrics_gauge_set(oc_metrics_gauge_t *g, double v);
void oc_metrics_gauge_set_int(oc_metrics_gauge_t *g, int64_t v);
void oc_metrics_gauge_add(oc_metrics_gauge_t *g, double delta);
double oc_metrics_gauge_value(const oc_metrics_gauge_t *g); /* 0 for NULL */

/* Count v into the first bucket whose bound is >= v (NaN only into +Inf)
 * and add it to the sum. */
void oc_metrics_histogram_observe(oc_metrics_histogram_t *h, double v);

/* As n observations of v at once. */
void oc_metrics_histogram_observe_n(oc_metrics_histogram_t *h, double v, uint64_t n);

/* CLOCK_MONOTONIC in seconds, for latencies:
 *   double t0 = oc_metrics_now();  ...
 *   oc_metrics_histogram_observe(h, oc_metrics_now() - t0); */
double oc_metrics_now(void);

/*
 * Render every family in the text exposition format 0.0.4 into a new
 * NUL-terminated buffer: *out (caller frees with free()) and *len (may be
 * NULL; excludes the NUL). Safe while other threads update and look up
 * children; each value is read atomically, a histogram's _count is the sum
 * of the bucket counts read. Errors: OC_ERR_NOMEM.
 */
int oc_metrics_render(oc_metrics_t *reg, char **out, size_t *len, oc_err_t *err);

#ifdef __cplusplus
}
#endif
#endif
