/* metrics.c - metrics registry and Prometheus text format; see
 * include/outcomes/metrics.h. */
#include "outcomes/metrics.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "outcomes/buf.h"

#define DROPPED_NAME "outcomes_metrics_series_dropped_total"
#define DROPPED_HELP "Label sets refused because their family was at its series limit."

const double oc_metrics_latency_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                             0.25,  0.5,    1,     2.5,  5,     10};
const size_t oc_metrics_latency_bucket_count =
    sizeof(oc_metrics_latency_buckets) / sizeof(oc_metrics_latency_buckets[0]);

typedef enum kind_e { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM } kind_t;

/* One time series (or one histogram). Allocated in one block with its
 * buckets and label values; immutable except for the atomics. */
typedef struct child_s {
  const struct oc_metrics_family_s *fam; /* borrowed: kind, bounds */
  const char **values;                   /* nlabels label values */
  _Atomic uint64_t value;                /* counter: count; gauge, histogram sum: double bits */
  _Atomic uint64_t *buckets;             /* histogram: nbounds + 1 counts, not cumulative */
} child_t;

/* The public child types are views of child_t, so that a counter cannot be
 * passed where a gauge is expected. */
struct oc_metrics_counter_s {
  child_t c;
};
struct oc_metrics_gauge_s {
  child_t c;
};
struct oc_metrics_histogram_s {
  child_t c;
};

struct oc_metrics_family_s {
  oc_metrics_t *reg;
  kind_t kind;
  char *name;
  char *help;
  size_t nlabels;
  char *labels[OC_METRICS_MAX_LABELS];
  double bounds[OC_METRICS_MAX_BUCKETS];
  size_t nbounds;
  pthread_mutex_t mu; /* guards children and nchildren, cap */
  child_t **children; /* owned; sorted by label values */
  size_t nchildren;
  size_t cap;
  _Atomic uint64_t dropped; /* lookups refused at the limit or out of memory */
  struct oc_metrics_family_s *next;
};

struct oc_metrics_s {
  pthread_mutex_t mu; /* guards the family list */
  oc_metrics_family_t *head;
  oc_metrics_family_t *tail;
  _Atomic size_t child_limit;
};

/* ---- values ------------------------------------------------------------ */

static uint64_t dbits(double v) {
  uint64_t u;
  memcpy(&u, &v, sizeof(u));
  return u;
}

static double bitsd(uint64_t u) {
  double v;
  memcpy(&v, &u, sizeof(v));
  return v;
}

static void atomic_add_double(_Atomic uint64_t *p, double delta) {
  uint64_t old = atomic_load_explicit(p, memory_order_relaxed);
  while (!atomic_compare_exchange_weak_explicit(p, &old, dbits(bitsd(old) + delta),
                                                memory_order_relaxed, memory_order_relaxed)) {
  }
}

void oc_metrics_counter_inc(oc_metrics_counter_t *c) { oc_metrics_counter_add(c, 1); }

void oc_metrics_counter_add(oc_metrics_counter_t *c, uint64_t n) {
  if (c)
    atomic_fetch_add_explicit(&c->c.value, n, memory_order_relaxed);
}

uint64_t oc_metrics_counter_value(const oc_metrics_counter_t *c) {
  return c ? atomic_load_explicit(&c->c.value, memory_order_relaxed) : 0;
}

void oc_metrics_gauge_set(oc_metrics_gauge_t *g, double v) {
  if (g)
    atomic_store_explicit(&g->c.value, dbits(v), memory_order_relaxed);
}

void oc_metrics_gauge_set_int(oc_metrics_gauge_t *g, int64_t v) {
  oc_metrics_gauge_set(g, (double)v);
}

void oc_metrics_gauge_add(oc_metrics_gauge_t *g, double delta) {
  if (g)
    atomic_add_double(&g->c.value, delta);
}

double oc_metrics_gauge_value(const oc_metrics_gauge_t *g) {
  return g ? bitsd(atomic_load_explicit(&g->c.value, memory_order_relaxed)) : 0.0;
}

void oc_metrics_histogram_observe_n(oc_metrics_histogram_t *h, double v, uint64_t n) {
  if (!h)
    return;
  const double *bounds = h->c.fam->bounds; /* immutable after declaration */
  size_t nbounds = h->c.fam->nbounds;
  /* First bound >= v; NaN compares false everywhere and lands in +Inf. */
  size_t lo = 0, hi = nbounds;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (v <= bounds[mid])
      hi = mid;
    else
      lo = mid + 1;
  }
  if (isnan(v))
    lo = nbounds;
  atomic_fetch_add_explicit(&h->c.buckets[lo], n, memory_order_relaxed);
  atomic_add_double(&h->c.value, v * (double)n);
}

void oc_metrics_histogram_observe(oc_metrics_histogram_t *h, double v) {
  oc_metrics_histogram_observe_n(h, v, 1);
}

double oc_metrics_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- registry and families --------------------------------------------- */

oc_metrics_t *oc_metrics_new(void) {
  oc_metrics_t *reg = calloc(1, sizeof(*reg));
  if (!reg)
    return NULL;
  if (pthread_mutex_init(&reg->mu, NULL) != 0) {
    free(reg);
    return NULL;
  }
  atomic_init(&reg->child_limit, (size_t)OC_METRICS_CHILD_LIMIT);
  return reg;
}

void oc_metrics_set_child_limit(oc_metrics_t *reg, size_t limit) {
  if (reg)
    atomic_store(&reg->child_limit, limit ? limit : 1);
}

static void family_free(oc_metrics_family_t *fam) {
  if (!fam)
    return;
  for (size_t i = 0; i < fam->nchildren; i++)
    free(fam->children[i]);
  free(fam->children);
  for (size_t i = 0; i < fam->nlabels; i++)
    free(fam->labels[i]);
  free(fam->name);
  free(fam->help);
  pthread_mutex_destroy(&fam->mu);
  free(fam);
}

void oc_metrics_destroy(oc_metrics_t *reg) {
  if (!reg)
    return;
  oc_metrics_family_t *fam = reg->head;
  while (fam) {
    oc_metrics_family_t *next = fam->next;
    family_free(fam);
    fam = next;
  }
  pthread_mutex_destroy(&reg->mu);
  free(reg);
}

static bool valid_name(const char *s, bool colon_ok) {
  if (!s || !*s)
    return false;
  for (const char *p = s; *p; p++) {
    char c = *p;
    bool alpha =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon_ok && c == ':');
    if (!alpha && !(p > s && c >= '0' && c <= '9'))
      return false;
  }
  return true;
}

/* A child with its label values (copied) and, for histograms, its
 * buckets, in one zeroed block. Caller frees with free(). */
static child_t *child_alloc(const oc_metrics_family_t *fam, const char *const *values) {
  size_t size = sizeof(child_t);
  size_t nb = fam->kind == KIND_HISTOGRAM ? fam->nbounds + 1 : 0;
  size_t lens[OC_METRICS_MAX_LABELS];

  size += nb * sizeof(_Atomic uint64_t);
  size += fam->nlabels * sizeof(char *);
  for (size_t i = 0; i < fam->nlabels; i++) {
    lens[i] = strlen(values[i]) + 1;
    size += lens[i];
  }
  child_t *c = calloc(1, size);
  if (!c)
    return NULL;
  char *p = (char *)(c + 1);
  c->fam = fam;
  if (nb) {
    c->buckets = (_Atomic uint64_t *)(void *)p;
    for (size_t i = 0; i < nb; i++)
      atomic_init(&c->buckets[i], 0);
    p += nb * sizeof(_Atomic uint64_t);
  }
  atomic_init(&c->value, fam->kind == KIND_COUNTER ? 0 : dbits(0.0));
  c->values = (const char **)(void *)p;
  p += fam->nlabels * sizeof(char *);
  for (size_t i = 0; i < fam->nlabels; i++) {
    memcpy(p, values[i], lens[i]);
    c->values[i] = p;
    p += lens[i];
  }
  return c;
}

static oc_metrics_family_t *find_family(const oc_metrics_t *reg, const char *name) {
  for (oc_metrics_family_t *f = reg->head; f; f = f->next)
    if (strcmp(f->name, name) == 0)
      return f;
  return NULL;
}

static int add_family(oc_metrics_t *reg, kind_t kind, const char *name, const char *help,
                      const char *const *label_names, size_t nlabels, const double *bounds,
                      size_t nbounds, oc_metrics_family_t **out, oc_err_t *err) {
  oc_metrics_family_t *fam = NULL;
  bool locked = false;
  int rc = 0;

  if (!reg || !help)
    return oc_err_set(err, OC_ERR_USAGE, "metrics: registry and help are required");
  if (!valid_name(name, true))
    return oc_err_set(err, OC_ERR_USAGE, "metric name '%s' is not valid", name ? name : "(null)");
  if (nlabels > OC_METRICS_MAX_LABELS || (nlabels && !label_names))
    return oc_err_set(err, OC_ERR_USAGE, "metric '%s': at most %d label names", name,
                      OC_METRICS_MAX_LABELS);
  for (size_t i = 0; i < nlabels; i++) {
    const char *l = label_names[i];
    if (!valid_name(l, false) || strncmp(l, "__", 2) == 0)
      return oc_err_set(err, OC_ERR_USAGE, "metric '%s': label name '%s' is not valid", name,
                        l ? l : "(null)");
    if (kind == KIND_HISTOGRAM && strcmp(l, "le") == 0)
      return oc_err_set(err, OC_ERR_USAGE,
                        "metric '%s': label name 'le' is reserved for histograms", name);
    for (size_t j = 0; j < i; j++)
      if (strcmp(label_names[j], l) == 0)
        return oc_err_set(err, OC_ERR_USAGE, "metric '%s': label name '%s' repeated", name, l);
  }
  if (kind == KIND_HISTOGRAM) {
    if (!bounds) {
      bounds = oc_metrics_latency_buckets;
      nbounds = oc_metrics_latency_bucket_count;
    }
    if (nbounds == 0 || nbounds > OC_METRICS_MAX_BUCKETS)
      return oc_err_set(err, OC_ERR_USAGE, "metric '%s': 1 to %d bucket bounds needed", name,
                        OC_METRICS_MAX_BUCKETS);
    for (size_t i = 0; i < nbounds; i++)
      if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1])))
        return oc_err_set(err, OC_ERR_USAGE,
                          "metric '%s': bucket bounds must be finite and increasing", name);
  }

  fam = calloc(1, sizeof(*fam));
  if (!fam)
    return oc_err_set(err, OC_ERR_NOMEM, "metric '%s': out of memory", name);
  if (pthread_mutex_init(&fam->mu, NULL) != 0) {
    free(fam);
    return oc_err_set(err, OC_ERR_NOMEM, "metric '%s': mutex", name);
  }
  fam->reg = reg;
  fam->kind = kind;
  atomic_init(&fam->dropped, 0);
  fam->name = strdup(name);
  fam->help = strdup(help);
  if (!fam->name || !fam->help) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "metric '%s': out of memory", name);
    goto out;
  }
  for (size_t i = 0; i < nlabels; i++) {
    fam->labels[i] = strdup(label_names[i]);
    if (!fam->labels[i]) {
      rc = oc_err_set(err, OC_ERR_NOMEM, "metric '%s': out of memory", name);
      goto out;
    }
    fam->nlabels = i + 1;
  }
  if (kind == KIND_HISTOGRAM) {
    memcpy(fam->bounds, bounds, nbounds * sizeof(double));
    fam->nbounds = nbounds;
  }
  if (nlabels == 0) {
    /* The only child exists from the start, so lookups need no lock. */
    fam->children = malloc(sizeof(child_t *));
    if (fam->children)
      fam->children[0] = child_alloc(fam, NULL);
    if (!fam->children || !fam->children[0]) {
      rc = oc_err_set(err, OC_ERR_NOMEM, "metric '%s': out of memory", name);
      goto out;
    }
    fam->nchildren = fam->cap = 1;
  }

  pthread_mutex_lock(&reg->mu);
  locked = true;
  if (strcmp(name, DROPPED_NAME) == 0 || find_family(reg, name)) {
    rc = oc_err_set(err, OC_ERR_USAGE, "metric '%s' declared twice", name);
    goto out;
  }
  if (reg->tail)
    reg->tail->next = fam;
  else
    reg->head = fam;
  reg->tail = fam;
  if (out)
    *out = fam;
  fam = NULL; /* owned by reg */

out:
  if (locked)
    pthread_mutex_unlock(&reg->mu);
  family_free(fam);
  return rc;
}

int oc_metrics_add_counter(oc_metrics_t *reg, const char *name, const char *help,
                           const char *const *label_names, size_t nlabels,
                           oc_metrics_family_t **out, oc_err_t *err) {
  return add_family(reg, KIND_COUNTER, name, help, label_names, nlabels, NULL, 0, out, err);
}

int oc_metrics_add_gauge(oc_metrics_t *reg, const char *name, const char *help,
                         const char *const *label_names, size_t nlabels, oc_metrics_family_t **out,
                         oc_err_t *err) {
  return add_family(reg, KIND_GAUGE, name, help, label_names, nlabels, NULL, 0, out, err);
}

int oc_metrics_add_histogram(oc_metrics_t *reg, const char *name, const char *help,
                             const char *const *label_names, size_t nlabels, const double *bounds,
                             size_t nbounds, oc_metrics_family_t **out, oc_err_t *err) {
  return add_family(reg, KIND_HISTOGRAM, name, help, label_names, nlabels, bounds, nbounds, out,
                    err);
}

/* ---- children ---------------------------------------------------------- */

static int compare_values(const char *const *a, const char *const *b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    int d = strcmp(a[i], b[i]);
    if (d)
      return d;
  }
  return 0;
}

static child_t *get_child(oc_metrics_family_t *fam, kind_t kind, const char *const *values) {
  child_t *found = NULL;

  if (!fam || fam->kind != kind)
    return NULL;
  if (fam->nlabels == 0)
    return fam->children[0];
  if (!values)
    return NULL;
  for (size_t i = 0; i < fam->nlabels; i++)
    if (!values[i])
      return NULL;

  pthread_mutex_lock(&fam->mu);
  size_t lo = 0, hi = fam->nchildren;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int d = compare_values(fam->children[mid]->values, values, fam->nlabels);
    if (d == 0) {
      found = fam->children[mid];
      goto out;
    }
    if (d < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (fam->nchildren >= atomic_load(&fam->reg->child_limit))
    goto out;
  if (fam->nchildren == fam->cap) {
    size_t cap = fam->cap ? fam->cap * 2 : 8;
    child_t **grown = realloc(fam->children, cap * sizeof(*grown));
    if (!grown)
      goto out;
    fam->children = grown;
    fam->cap = cap;
  }
  found = child_alloc(fam, values);
  if (!found)
    goto out;
  memmove(&fam->children[lo + 1], &fam->children[lo],
          (fam->nchildren - lo) * sizeof(*fam->children));
  fam->children[lo] = found;
  fam->nchildren++;

out:
  pthread_mutex_unlock(&fam->mu);
  if (!found)
    atomic_fetch_add_explicit(&fam->dropped, 1, memory_order_relaxed);
  return found;
}

oc_metrics_counter_t *oc_metrics_counter(oc_metrics_family_t *fam,
                                         const char *const *label_values) {
  return (oc_metrics_counter_t *)(void *)get_child(fam, KIND_COUNTER, label_values);
}

oc_metrics_gauge_t *oc_metrics_gauge(oc_metrics_family_t *fam, const char *const *label_values) {
  return (oc_metrics_gauge_t *)(void *)get_child(fam, KIND_GAUGE, label_values);
}

oc_metrics_histogram_t *oc_metrics_histogram(oc_metrics_family_t *fam,
                                             const char *const *label_values) {
  return (oc_metrics_histogram_t *)(void *)get_child(fam, KIND_HISTOGRAM, label_values);
}

/* ---- rendering --------------------------------------------------------- */

/* Escape backslash and newline, and the double quote when in_label. */
static void buf_escaped(oc_buf_t *b, const char *s, bool in_label) {
  const char *run = s;
  for (const char *p = s; *p; p++) {
    const char *rep = NULL;
    if (*p == '\\')
      rep = "\\\\";
    else if (*p == '\n')
      rep = "\\n";
    else if (*p == '"' && in_label)
      rep = "\\\"";
    if (rep) {
      oc_buf_put(b, run, (size_t)(p - run));
      oc_buf_puts(b, rep);
      run = p + 1;
    }
  }
  oc_buf_puts(b, run);
}

/* Shortest of %.15g / %.17g that reads back as v; Prometheus spellings for
 * the special values. */
static void format_double(char out[32], double v) {
  if (isnan(v)) {
    strcpy(out, "NaN");
    return;
  }
  if (isinf(v)) {
    strcpy(out, v > 0 ? "+Inf" : "-Inf");
    return;
  }
  snprintf(out, 32, "%.15g", v);
  if (strtod(out, NULL) != v)
    snprintf(out, 32, "%.17g", v);
}

/* name{l1="v1",...,extra_name="extra_value"} value\n; extra may be NULL. */
static void put_sample(oc_buf_t *b, const oc_metrics_family_t *fam, const char *suffix,
                       const child_t *c, const char *extra_name, const char *extra_value,
                       const char *value) {
  oc_buf_puts(b, fam->name);
  oc_buf_puts(b, suffix);
  if (fam->nlabels || extra_name) {
    oc_buf_puts(b, "{");
    for (size_t i = 0; i < fam->nlabels; i++) {
      if (i)
        oc_buf_puts(b, ",");
      oc_buf_puts(b, fam->labels[i]);
      oc_buf_puts(b, "=\"");
      buf_escaped(b, c->values[i], true);
      oc_buf_puts(b, "\"");
    }
    if (extra_name) {
      if (fam->nlabels)
        oc_buf_puts(b, ",");
      oc_buf_puts(b, extra_name);
      oc_buf_puts(b, "=\"");
      buf_escaped(b, extra_value, true);
      oc_buf_puts(b, "\"");
    }
    oc_buf_puts(b, "}");
  }
  oc_buf_puts(b, " ");
  oc_buf_puts(b, value);
  oc_buf_puts(b, "\n");
}

static void put_header(oc_buf_t *b, const char *name, const char *help, const char *type) {
  oc_buf_puts(b, "# HELP ");
  oc_buf_puts(b, name);
  oc_buf_puts(b, " ");
  buf_escaped(b, help, false);
  oc_buf_puts(b, "\n# TYPE ");
  oc_buf_puts(b, name);
  oc_buf_puts(b, " ");
  oc_buf_puts(b, type);
  oc_buf_puts(b, "\n");
}

static void put_child(oc_buf_t *b, const oc_metrics_family_t *fam, const child_t *c) {
  char num[32];
  uint64_t raw = atomic_load_explicit(&c->value, memory_order_relaxed);

  if (fam->kind == KIND_COUNTER) {
    snprintf(num, sizeof(num), "%" PRIu64, raw);
    put_sample(b, fam, "", c, NULL, NULL, num);
    return;
  }
  if (fam->kind == KIND_GAUGE) {
    format_double(num, bitsd(raw));
    put_sample(b, fam, "", c, NULL, NULL, num);
    return;
  }
  uint64_t cumulative = 0;
  char le[32];
  for (size_t i = 0; i <= fam->nbounds; i++) {
    cumulative += atomic_load_explicit(&c->buckets[i], memory_order_relaxed);
    if (i < fam->nbounds)
      format_double(le, fam->bounds[i]);
    else
      strcpy(le, "+Inf");
    snprintf(num, sizeof(num), "%" PRIu64, cumulative);
    put_sample(b, fam, "_bucket", c, "le", le, num);
  }
  format_double(num, bitsd(raw));
  put_sample(b, fam, "_sum", c, NULL, NULL, num);
  snprintf(num, sizeof(num), "%" PRIu64, cumulative);
  put_sample(b, fam, "_count", c, NULL, NULL, num);
}

static const char *kind_name(kind_t k) {
  return k == KIND_COUNTER ? "counter" : k == KIND_GAUGE ? "gauge" : "histogram";
}

/* Renders one family. Children are snapshotted under the family's lock and
 * formatted outside it, so a scrape does not stall lookups for long; they
 * are never freed before the registry. */
static void render_family(oc_buf_t *b, oc_metrics_family_t *fam) {
  child_t **snap = NULL;
  size_t n = 0;

  pthread_mutex_lock(&fam->mu);
  if (fam->nchildren) {
    snap = malloc(fam->nchildren * sizeof(*snap));
    if (snap) {
      n = fam->nchildren;
      memcpy(snap, fam->children, n * sizeof(*snap));
    } else {
      b->failed = true;
    }
  }
  pthread_mutex_unlock(&fam->mu);

  put_header(b, fam->name, fam->help, kind_name(fam->kind));
  for (size_t i = 0; i < n; i++)
    put_child(b, fam, snap[i]);
  free(snap);
}

static int compare_family_names(const void *a, const void *b) {
  const oc_metrics_family_t *fa = *(const oc_metrics_family_t *const *)a;
  const oc_metrics_family_t *fb = *(const oc_metrics_family_t *const *)b;
  return strcmp(fa->name, fb->name);
}

/* outcomes_metrics_series_dropped_total{family=...} for every labelled
 * family, sorted by family name; nothing when there is none. */
static void render_dropped(oc_buf_t *b, const oc_metrics_t *reg) {
  size_t n = 0;
  const oc_metrics_family_t **labelled = NULL;

  for (const oc_metrics_family_t *f = reg->head; f; f = f->next)
    n += f->nlabels > 0;
  if (n == 0)
    return;
  labelled = malloc(n * sizeof(*labelled));
  if (!labelled) {
    b->failed = true;
    return;
  }
  n = 0;
  for (const oc_metrics_family_t *f = reg->head; f; f = f->next)
    if (f->nlabels)
      labelled[n++] = f;
  qsort(labelled, n, sizeof(*labelled), compare_family_names);

  put_header(b, DROPPED_NAME, DROPPED_HELP, "counter");
  for (size_t i = 0; i < n; i++) {
    char num[32];
    snprintf(num, sizeof(num), "%" PRIu64,
             atomic_load_explicit(&labelled[i]->dropped, memory_order_relaxed));
    oc_buf_puts(b, DROPPED_NAME "{family=\"");
    buf_escaped(b, labelled[i]->name, true);
    oc_buf_puts(b, "\"} ");
    oc_buf_puts(b, num);
    oc_buf_puts(b, "\n");
  }
  free(labelled);
}

int oc_metrics_render(oc_metrics_t *reg, char **out, size_t *len, oc_err_t *err) {
  oc_buf_t b;

  if (!reg || !out)
    return oc_err_set(err, OC_ERR_USAGE, "metrics render: registry and output required");
  oc_buf_init(&b, 0);
  oc_buf_puts(&b, ""); /* an empty registry still renders "" */
  pthread_mutex_lock(&reg->mu);
  for (oc_metrics_family_t *f = reg->head; f; f = f->next)
    render_family(&b, f);
  render_dropped(&b, reg);
  pthread_mutex_unlock(&reg->mu);
  if (!(*out = oc_buf_detach(&b, len))) /* caller frees */
    return oc_err_set(err, OC_ERR_NOMEM, "metrics render: out of memory");
  return 0;
}
