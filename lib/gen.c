/*
 * gen.c - the seeded synthetic generator; see include/outcomes/gen.h.
 *
 * Determinism: every draw comes from splitmix64 streams seeded from the
 * seed and an index (the identity's, or the series'), and values are made
 * with +, -, *, / and round() only, so the same options give the same bytes
 * on every IEEE 754 machine. No libm function whose last bit may vary
 * between C libraries (pow, sin, log) is used.
 *
 * Memory: the rows of identity i are placed in a ring of OC_GEN_WINDOW
 * slots at i + offset; slot i is written out once identity i is planned,
 * since no later identity writes there. The ring's arrays are reused.
 */
#include "outcomes/gen.h"

#include "gen_internal.h"
#include "outcomes/date.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define US_PER_SEC INT64_C(1000000)
#define US_PER_HOUR (INT64_C(3600) * US_PER_SEC)
#define US_PER_DAY (INT64_C(86400) * US_PER_SEC)
#define STEP_MAX 40        /* largest slot distance between related rows */
#define RESTATE_MAX 3      /* restatements per identity, at most */
#define EXTRA_RESTATE 0.25 /* chance of each restatement after the first */
#define ORGS_MAX 999999u

static const char *const sources[] = {"gen-ehr", "gen-pm", "gen-rcm", "gen-erp"};

/* ---- PRNG ----------------------------------------------------------- */

static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

static uint64_t rng_next(uint64_t *s) {
  *s += UINT64_C(0x9E3779B97F4A7C15);
  return mix64(*s);
}

/* Uniform in [0, 1), 53 bits. */
static double rng_unit(uint64_t *s) { return (double)(rng_next(s) >> 11) * 0x1.0p-53; }

/* Uniform in [0, n); n > 0. The modulo bias is below 2^-40 for our n. */
static uint64_t rng_below(uint64_t *s, uint64_t n) { return rng_next(s) % n; }

static bool rng_chance(uint64_t *s, double p) { return rng_unit(s) < p; }

/* A stream for a tuple of indexes, independent of every other tuple's. */
static uint64_t rng_seed(uint64_t seed, uint64_t a, uint64_t b, uint64_t c) {
  return mix64(mix64(mix64(seed ^ UINT64_C(0x6A09E667F3BCC909)) + a) + b) + c;
}

/* ---- state ---------------------------------------------------------- */

typedef struct gen_row_s {
  oc_observation_t obs;
  int invalid;       /* -1 for a valid row, else an oc_gen_invalid_t */
  int code;          /* the code it must be rejected with */
  const char *field; /* the field it must be rejected for */
} gen_row_t;

typedef struct gen_slot_s {
  gen_row_t *rows;
  size_t n, cap;
} gen_slot_t;

typedef struct gen_s {
  const oc_gen_opts_t *opts;
  const oc_catalog_t *cat;
  const oc_gen_sinks_t *sinks;
  const oc_metric_t **metrics; /* borrowed from cat */
  size_t nmetrics;
  oc_grain_t grains[OC_GRAIN_COUNT];
  size_t ngrains;
  unsigned orgs, slots; /* facility slots per org, org level first */
  gen_slot_t ring[OC_GEN_WINDOW];
  oc_gen_stats_t st;
} gen_t;

/* ---- options -------------------------------------------------------- */

void oc_gen_opts_init(oc_gen_opts_t *opts) {
  memset(opts, 0, sizeof(*opts));
  opts->seed = 1;
  opts->orgs = 3;
  opts->facilities = 2;
  opts->grains = 1u << OC_GRAIN_MONTH;
  opts->start = 19358; /* 2023-01-01 */
  opts->periods = 12;
  opts->format = OC_GEN_CSV;
}

int oc_gen_parse_grains(const char *list, unsigned *mask_out, oc_err_t *err) {
  unsigned mask = 0;
  const char *p = list ? list : "";

  for (;;) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    char name[16];
    oc_grain_t g;
    size_t i;

    if (len == 0 || len >= sizeof(name))
      return oc_err_set(err, OC_ERR_USAGE, "grains: empty or unknown name in '%s'",
                        list ? list : "");
    for (i = 0; i < len; i++)
      name[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] - 'A' + 'a' : p[i]);
    name[len] = '\0';
    if (oc_grain_from_name(name, &g, NULL) < 0)
      return oc_err_set(err, OC_ERR_USAGE,
                        "grains: unknown grain '%s' (day, week, month, quarter, year)", name);
    mask |= 1u << g;
    if (!end)
      break;
    p = end + 1;
  }
  *mask_out = mask;
  return 0;
}

const char *oc_gen_invalid_name(oc_gen_invalid_t kind) {
  static const char *const names[OC_GEN_INVALID_KINDS] = {
      "unknown_metric", "out_of_range",       "misaligned_period",
      "ratio_missing",  "ratio_inconsistent", "bad_id",
  };
  return (unsigned)kind < OC_GEN_INVALID_KINDS ? names[kind] : "invalid";
}

/* Resolve opts->metrics into gen->metrics (catalog order when NULL). */
static int resolve_metrics(gen_t *gen, oc_err_t *err) {
  const oc_gen_opts_t *o = gen->opts;
  size_t n = oc_catalog_count(gen->cat);

  gen->metrics = calloc(n ? n : 1, sizeof(*gen->metrics));
  if (!gen->metrics)
    return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  if (!o->metrics) {
    for (size_t i = 0; i < n; i++)
      gen->metrics[gen->nmetrics++] = oc_catalog_at(gen->cat, i);
  } else {
    const char *p = o->metrics;
    for (;;) {
      const char *end = strchr(p, ',');
      size_t len = end ? (size_t)(end - p) : strlen(p);
      char code[OC_METRIC_CODE_MAX + 1];
      const oc_metric_t *m;

      if (len == 0 || len > OC_METRIC_CODE_MAX)
        return oc_err_set(err, OC_ERR_USAGE, "metrics: empty or overlong code in '%s'", o->metrics);
      memcpy(code, p, len);
      code[len] = '\0';
      if (!(m = oc_catalog_find(gen->cat, code)))
        return oc_err_set(err, OC_ERR_USAGE, "metrics: unknown metric '%s'", code);
      for (size_t i = 0; i < gen->nmetrics; i++)
        if (gen->metrics[i] == m)
          return oc_err_set(err, OC_ERR_USAGE, "metrics: '%s' given twice", code);
      if (gen->nmetrics == n)
        return oc_err_set(err, OC_ERR_USAGE, "metrics: too many codes");
      gen->metrics[gen->nmetrics++] = m;
      if (!end)
        break;
      p = end + 1;
    }
  }
  if (gen->nmetrics == 0)
    return oc_err_set(err, OC_ERR_USAGE, "metrics: the catalog has no metric");
  if (oc_catalog_find(gen->cat, OC_GEN_UNKNOWN_METRIC))
    return oc_err_set(err, OC_ERR_USAGE,
                      "the catalog defines '%s', which the generator "
                      "uses as an unknown metric",
                      OC_GEN_UNKNOWN_METRIC);
  return 0;
}

/* Mean rows per identity for the shares (restatements come 1..3 at a time). */
static double rows_per_identity(const oc_gen_opts_t *o) {
  double restate_rows = 1 + EXTRA_RESTATE + EXTRA_RESTATE * EXTRA_RESTATE;
  return 1 + o->restatements * restate_rows + o->ties + o->late + o->duplicates + o->invalid;
}

/* Validate opts and fill the shape fields of gen (metrics, grains, orgs). */
static int prepare(gen_t *gen, oc_err_t *err) {
  const oc_gen_opts_t *o = gen->opts;
  const double shares[] = {o->duplicates, o->restatements, o->late,
                           o->ties,       o->tombstones,   o->invalid};
  unsigned mask = o->grains ? o->grains : 1u << OC_GRAIN_MONTH;
  int rc;

  for (size_t i = 0; i < sizeof(shares) / sizeof(shares[0]); i++)
    if (!(shares[i] >= 0 && shares[i] <= 1))
      return oc_err_set(err, OC_ERR_USAGE, "shares must be within [0, 1]");
  if (o->format != OC_GEN_CSV && o->format != OC_GEN_JSONL)
    return oc_err_set(err, OC_ERR_USAGE, "unknown format %d", (int)o->format);
  if (o->facilities > 99)
    return oc_err_set(err, OC_ERR_USAGE, "facilities: at most 99 per org");
  gen->slots = o->facilities + (o->org_level ? 1 : 0);
  if (gen->slots == 0)
    return oc_err_set(err, OC_ERR_USAGE, "no facilities and no org level: nothing to do");
  if (o->periods == 0)
    return oc_err_set(err, OC_ERR_USAGE, "periods: must be at least 1");
  if (mask >> OC_GRAIN_COUNT)
    return oc_err_set(err, OC_ERR_USAGE, "grains: invalid mask 0x%x", mask);
  if (o->start < OC_DATE_MIN || o->start > OC_DATE_MAX)
    return oc_err_set(err, OC_ERR_USAGE, "start: outside 0001-01-01..9999-12-31");
  for (int g = 0; g < OC_GRAIN_COUNT; g++) {
    if (!(mask & (1u << g)))
      continue;
    gen->grains[gen->ngrains++] = (oc_grain_t)g;
    /* The last period must end, plus the observation lag, before 9999. */
    oc_date_t d = oc_period_floor((oc_grain_t)g, o->start);
    for (unsigned k = 0; k < o->periods && d < OC_DATE_MAX - 366; k++)
      d = oc_period_next((oc_grain_t)g, d);
    if (d >= OC_DATE_MAX - 366)
      return oc_err_set(err, OC_ERR_USAGE,
                        "%u %s periods from the start go past 9998: fewer periods or "
                        "more orgs",
                        o->periods, oc_grain_name((oc_grain_t)g));
  }
  if ((rc = resolve_metrics(gen, err)) < 0)
    return rc;

  gen->orgs = o->orgs;
  if (o->rows > 0) {
    double per_org = (double)gen->slots * (double)gen->nmetrics * (double)gen->ngrains *
                     (double)o->periods * rows_per_identity(o);
    double n = round((double)o->rows / per_org);
    if (n > ORGS_MAX)
      return oc_err_set(err, OC_ERR_USAGE,
                        "rows: %" PRIu64 " rows need more than %u orgs: more periods", o->rows,
                        ORGS_MAX);
    gen->orgs = n < 1 ? 1 : (unsigned)n;
  }
  if (gen->orgs == 0 || gen->orgs > ORGS_MAX)
    return oc_err_set(err, OC_ERR_USAGE, "orgs: must be within 1..%u", ORGS_MAX);
  return 0;
}

static void gen_release(gen_t *gen) {
  for (size_t i = 0; i < OC_GEN_WINDOW; i++)
    free(gen->ring[i].rows);
  free(gen->metrics);
}

int oc_gen_check(const oc_gen_opts_t *opts, const oc_catalog_t *cat, unsigned *orgs_out,
                 oc_err_t *err) {
  gen_t gen;
  int rc;

  memset(&gen, 0, sizeof(gen));
  gen.opts = opts;
  gen.cat = cat;
  rc = prepare(&gen, err);
  if (rc == 0 && orgs_out)
    *orgs_out = gen.orgs;
  gen_release(&gen);
  return rc;
}

/* ---- values --------------------------------------------------------- */

static double round_to(double x, double scale) { return round(x * scale) / scale; }

/* The unit step of a metric's values: what a perturbation changes at least. */
static double unit_scale(const oc_metric_t *m) {
  if (strcmp(m->unit, "{count}") == 0)
    return 1;
  if (strcmp(m->unit, "{FTE}") == 0)
    return 10;
  return 100; /* [USD], d and anything else: cents */
}

static bool is_rate(const oc_metric_t *m) { return m->kind == OC_KIND_RATIO && m->max <= 1; }

/* A series (org, facility slot, metric) has a level and a trend. */
typedef struct series_s {
  double level; /* rate, days, or magnitude of the value */
  double slope; /* relative change per period */
  const char *source;
} series_t;

static series_t series_for(const gen_t *gen, unsigned org, unsigned slot, size_t mi) {
  const oc_metric_t *m = gen->metrics[mi];
  uint64_t s = rng_seed(gen->opts->seed, 0x5e51e5, (uint64_t)org * 128 + slot, mi);
  series_t sr;
  double u = rng_unit(&s);

  if (is_rate(m))
    sr.level = m->direction == OC_DIR_HIGHER_IS_BETTER ? 0.70 + 0.28 * u : 0.02 + 0.23 * u;
  else if (m->kind == OC_KIND_RATIO)
    sr.level = 20 + 70 * u; /* days */
  else if (strcmp(m->unit, "{count}") == 0)
    sr.level = 10 + u * u * 99990;
  else if (strcmp(m->unit, "{FTE}") == 0)
    sr.level = 5 + 495 * u;
  else
    sr.level = 1e4 + u * u * 2e6;
  sr.slope = (rng_unit(&s) - 0.5) * 0.01;
  sr.source = sources[rng_below(&s, sizeof(sources) / sizeof(sources[0]))];
  return sr;
}

static double clamp(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

/* Fill value (and numerator/denominator) of row for period index k. */
static void make_value(const oc_metric_t *m, const series_t *sr, unsigned k, uint64_t *rng,
                       oc_observation_t *obs) {
  double factor = clamp(1 + sr->slope * (double)k, 0.5, 1.5);
  double noise = 1 + (rng_unit(rng) - 0.5) * 0.1;

  if (m->kind == OC_KIND_RATIO) {
    obs->has_numerator = obs->has_denominator = true;
    if (is_rate(m)) {
      double den = (double)(50 + rng_below(rng, 4951));
      double p = clamp(sr->level * factor * noise, m->min > 0 ? m->min : 0, m->max);
      obs->denominator = den;
      obs->numerator = round(den * p);
    } else {
      double den = round_to(500 + 49500 * rng_unit(rng), 100);
      double p = clamp(sr->level * factor * noise, 0, m->max);
      obs->denominator = den;
      obs->numerator = round_to(den * p, 100);
    }
    obs->value = obs->numerator / obs->denominator;
    return;
  }
  obs->has_numerator = obs->has_denominator = false;
  obs->value = clamp(round_to(sr->level * factor * noise, unit_scale(m)), m->min, m->max);
}

/* Change the figure of obs by 1-8% (at least one unit step), in range. */
static void perturb(const oc_metric_t *m, uint64_t *rng, oc_observation_t *obs) {
  double s = (0.01 + 0.07 * rng_unit(rng)) * (rng_chance(rng, 0.5) ? 1 : -1);

  if (m->kind == OC_KIND_RATIO) {
    double scale = is_rate(m) ? 1 : 100;
    double hi = is_rate(m) ? obs->denominator : obs->denominator * m->max;
    double old = obs->numerator;
    double num = clamp(round_to(old * (1 + s), scale), 0, hi);
    if (num == old)
      num = old + 1 / scale <= hi ? round_to(old + 1 / scale, scale)
                                  : round_to(old - 1 / scale, scale);
    obs->numerator = num;
    obs->value = num / obs->denominator;
    return;
  }
  double scale = unit_scale(m), old = obs->value;
  double v = clamp(round_to(old * (1 + s), scale), m->min, m->max);
  if (v == old)
    v = old + 1 / scale <= m->max ? round_to(old + 1 / scale, scale)
                                  : round_to(old - 1 / scale, scale);
  obs->value = v;
}

/* Turn row (a copy of a valid version) into an invalid one. */
static void make_invalid(const oc_metric_t *m, uint64_t *rng, gen_row_t *row) {
  oc_observation_t *obs = &row->obs;
  oc_gen_invalid_t kinds[OC_GEN_INVALID_KINDS];
  size_t nk = 0;

  kinds[nk++] = OC_GEN_INVALID_UNKNOWN_METRIC;
  kinds[nk++] = OC_GEN_INVALID_RANGE;
  kinds[nk++] = OC_GEN_INVALID_MISALIGNED;
  if (m->kind == OC_KIND_RATIO) {
    kinds[nk++] = OC_GEN_INVALID_RATIO_MISSING;
    kinds[nk++] = OC_GEN_INVALID_RATIO_MISMATCH;
  }
  kinds[nk++] = OC_GEN_INVALID_BAD_ID;
  row->invalid = (int)kinds[rng_below(rng, nk)];

  switch ((oc_gen_invalid_t)row->invalid) {
  case OC_GEN_INVALID_UNKNOWN_METRIC:
    snprintf(obs->id.metric, sizeof(obs->id.metric), "%s", OC_GEN_UNKNOWN_METRIC);
    row->code = OC_ERR_UNKNOWN_METRIC;
    row->field = "metric";
    break;
  case OC_GEN_INVALID_RANGE:
    if (m->kind == OC_KIND_RATIO) {
      /* Consistent with its numerator/denominator, but above the maximum. */
      obs->denominator = 4;
      obs->numerator = m->max * 5;
      obs->value = obs->numerator / obs->denominator;
    } else {
      obs->value = m->min > -1e300 ? m->min - 5 : m->max * 2;
    }
    row->code = OC_ERR_RANGE;
    row->field = "value";
    break;
  case OC_GEN_INVALID_MISALIGNED:
    if (obs->id.grain == OC_GRAIN_DAY) {
      obs->id.grain = OC_GRAIN_WEEK; /* every date starts a DAY */
      obs->id.period_start = oc_period_floor(OC_GRAIN_WEEK, obs->id.period_start) + 2;
    } else {
      obs->id.period_start += 1 + (oc_date_t)rng_below(rng, 3);
    }
    row->code = OC_ERR_MISALIGNED;
    row->field = "period_start";
    break;
  case OC_GEN_INVALID_RATIO_MISSING:
    if (rng_chance(rng, 0.5)) {
      obs->has_numerator = false;
      obs->has_denominator = rng_chance(rng, 0.5);
      row->field = "numerator";
    } else {
      obs->has_denominator = false;
      row->field = "denominator";
    }
    row->code = OC_ERR_RATIO_MISSING;
    break;
  case OC_GEN_INVALID_RATIO_MISMATCH: {
    double q = obs->numerator / obs->denominator;
    obs->value = q * 1.1 <= m->max && q > 0 ? q * 1.1 : (q > 0 ? q * 0.9 : 0.5 * m->max);
    if (obs->value == q) /* q == 0 and max == 0 cannot happen for a real ratio */
      obs->value = m->max;
    row->code = OC_ERR_RATIO_MISMATCH;
    row->field = "value";
    break;
  }
  case OC_GEN_INVALID_BAD_ID:
    if (obs->id.facility_id[0] && rng_chance(rng, 0.5)) {
      size_t len = strlen(obs->id.facility_id);
      obs->id.facility_id[len - 1] = '\t'; /* a control character */
      row->field = "facility_id";
    } else {
      obs->id.org_id[0] = '\0';
      row->field = "org_id";
    }
    row->code = OC_ERR_BAD_FIELD;
    break;
  }
}

/* ---- output --------------------------------------------------------- */

/* Write out slot s of the ring and empty it. */
static int flush_slot(gen_t *gen, gen_slot_t *s, oc_err_t *err) {
  const oc_gen_sinks_t *k = gen->sinks;

  for (size_t i = 0; i < s->n; i++) {
    gen_row_t *row = &s->rows[i];
    oc_err_t verr;
    uint64_t no = ++gen->st.rows;
    int rc = oc_observation_validate(&row->obs, gen->cat, &verr);

    if (gen->opts->format == OC_GEN_JSONL)
      oc_gen_write_jsonl_row(k->stream, &row->obs);
    else
      oc_gen_write_csv_row(k->stream, &row->obs);
    if (row->invalid < 0) {
      if (rc < 0)
        return oc_err_set(err, OC_ERR_INTERNAL, "row %" PRIu64 ": a valid row failed: %s", no,
                          verr.msg);
      continue;
    }
    size_t flen = strlen(row->field);
    if (rc != row->code || strncmp(verr.msg, row->field, flen) != 0 || verr.msg[flen] != ':')
      return oc_err_set(err, OC_ERR_INTERNAL,
                        "row %" PRIu64 ": invalid row (%s) expected %s on %s, got %s: %s", no,
                        oc_gen_invalid_name((oc_gen_invalid_t)row->invalid),
                        oc_err_code_name(row->code), row->field, oc_err_code_name(rc), verr.msg);
    gen->st.invalid++;
    gen->st.invalid_by_kind[row->invalid]++;
    if (k->invalid) {
      fprintf(k->invalid, "%" PRIu64 ",%" PRIu64 ",%s,%s,", no,
              gen->opts->format == OC_GEN_CSV ? no + 1 : no, row->field,
              oc_err_code_name(row->code));
      oc_gen_put_csv(k->invalid, verr.msg);
      fputc('\n', k->invalid);
    }
  }
  s->n = 0;
  return 0;
}

static int push_row(gen_t *gen, uint64_t index, unsigned offset, const gen_row_t *row,
                    oc_err_t *err) {
  gen_slot_t *s;

  if (offset >= OC_GEN_WINDOW)
    return oc_err_set(err, OC_ERR_INTERNAL, "row offset %u beyond the window", offset);
  s = &gen->ring[(index + offset) % OC_GEN_WINDOW];
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 4;
    gen_row_t *rows = realloc(s->rows, cap * sizeof(*rows));
    if (!rows)
      return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
    s->rows = rows;
    s->cap = cap;
  }
  s->rows[s->n++] = *row;
  return 0;
}

/* ---- one identity --------------------------------------------------- */

typedef struct identity_s {
  uint64_t index;
  unsigned org, slot, k;
  size_t mi;
  oc_grain_t grain;
  oc_date_t period;
} identity_t;

/* Draw the plan of one identity, put its rows in the ring, and write its
 * expected fact or retraction. */
static int plan_identity(gen_t *gen, const identity_t *it, oc_err_t *err) {
  const oc_gen_opts_t *o = gen->opts;
  const oc_metric_t *m = gen->metrics[it->mi];
  uint64_t rng = rng_seed(o->seed, 0x1de17, it->index, 0);
  series_t sr = series_for(gen, it->org, it->slot, it->mi);
  /* versions: base, restatements, tie, late; offs: their slot offsets */
  gen_row_t v[RESTATE_MAX + 3], row;
  unsigned offs[RESTATE_MAX + 3];
  size_t nv = 0, nrest = 0, final, tie = SIZE_MAX, late = SIZE_MAX;
  int rc;

  memset(&v[0], 0, sizeof(v[0]));
  v[0].invalid = -1;
  snprintf(v[0].obs.id.org_id, sizeof(v[0].obs.id.org_id), "org-%06u", it->org + 1);
  if (!(o->org_level && it->slot == 0))
    snprintf(v[0].obs.id.facility_id, sizeof(v[0].obs.id.facility_id), "org-%06u-f%02u",
             it->org + 1, it->slot + (o->org_level ? 0 : 1));
  snprintf(v[0].obs.id.metric, sizeof(v[0].obs.id.metric), "%s", m->code);
  v[0].obs.id.grain = it->grain;
  v[0].obs.id.period_start = it->period;
  snprintf(v[0].obs.source, sizeof(v[0].obs.source), "%s", sr.source);
  make_value(m, &sr, it->k, &rng, &v[0].obs);
  /* Observed some time within 20 days after the period ends. */
  v[0].obs.observed_at = (int64_t)oc_period_next(it->grain, it->period) * US_PER_DAY +
                         (int64_t)rng_below(&rng, (uint64_t)(20 * US_PER_DAY));
  offs[0] = (unsigned)rng_below(&rng, 4);
  nv = 1;

  if (rng_chance(&rng, o->restatements)) {
    nrest = 1;
    while (nrest < RESTATE_MAX && rng_chance(&rng, EXTRA_RESTATE))
      nrest++;
  }
  for (size_t r = 0; r < nrest; r++, nv++) {
    v[nv] = v[nv - 1];
    perturb(m, &rng, &v[nv].obs);
    v[nv].obs.observed_at += US_PER_HOUR + (int64_t)rng_below(&rng, (uint64_t)(15 * US_PER_DAY));
    offs[nv] = offs[nv - 1] + (unsigned)rng_below(&rng, STEP_MAX + 1);
  }
  final = nv - 1;
  if (rng_chance(&rng, o->ties)) {
    tie = nv++;
    v[tie] = v[final];
    perturb(m, &rng, &v[tie].obs); /* same observed_at, another value */
    offs[tie] = offs[final] + (unsigned)rng_below(&rng, STEP_MAX + 1);
  }
  if (rng_chance(&rng, o->late)) {
    late = nv++;
    v[late] = v[0];
    perturb(m, &rng, &v[late].obs);
    int64_t back = 1 * US_PER_SEC + (int64_t)rng_below(&rng, (uint64_t)(10 * US_PER_DAY));
    v[late].obs.observed_at = v[0].obs.observed_at > back ? v[0].obs.observed_at - back : 1;
    offs[late] = offs[tie != SIZE_MAX ? tie : final] + (unsigned)rng_below(&rng, STEP_MAX + 1);
  }
  for (size_t i = 0; i < nv; i++) {
    if ((rc = push_row(gen, it->index, offs[i], &v[i], err)) < 0)
      return rc;
    if (i >= 1 && i <= nrest)
      gen->st.restatements++;
  }
  if (nrest)
    gen->st.restated++;
  if (tie != SIZE_MAX)
    gen->st.ties++;
  if (late != SIZE_MAX)
    gen->st.late++;

  if (rng_chance(&rng, o->duplicates)) {
    /* Any version but the one a tie ties with: a copy of that one placed
     * after the tie would win by offset. */
    size_t pick = (size_t)rng_below(&rng, tie != SIZE_MAX ? nv - 1 : nv);
    if (tie != SIZE_MAX && pick >= final)
      pick++;
    if ((rc = push_row(gen, it->index, offs[pick] + (unsigned)rng_below(&rng, STEP_MAX + 1),
                       &v[pick], err)) < 0)
      return rc;
    gen->st.duplicates++;
  }
  if (rng_chance(&rng, o->invalid)) {
    row = v[0];
    make_invalid(m, &rng, &row);
    if ((rc = push_row(gen, it->index, (unsigned)rng_below(&rng, STEP_MAX + 1), &row, err)) < 0)
      return rc;
  }

  if (rng_chance(&rng, o->tombstones)) {
    gen->st.tombstones++;
    if (gen->sinks->retract) {
      oc_gen_write_csv_identity(gen->sinks->retract, &v[0].obs.id);
      fputc('\n', gen->sinks->retract);
    }
  } else {
    gen->st.facts++;
    if (gen->sinks->facts)
      oc_gen_write_csv_row(gen->sinks->facts, &v[tie != SIZE_MAX ? tie : final].obs);
  }
  gen->st.identities++;
  return 0;
}

/* ---- the run -------------------------------------------------------- */

static int check_sink(FILE *f, const char *what, oc_err_t *err) {
  if (f && (fflush(f) != 0 || ferror(f)))
    return oc_err_set(err, OC_ERR_IO, "writing the %s: %s", what, strerror(errno));
  return 0;
}

int oc_gen_run(const oc_gen_opts_t *opts, const oc_catalog_t *cat, const oc_gen_sinks_t *sinks,
               oc_gen_stats_t *stats, oc_err_t *err) {
  gen_t gen;
  oc_date_t cur[OC_GRAIN_COUNT];
  identity_t it;
  int rc;

  memset(&gen, 0, sizeof(gen));
  gen.opts = opts;
  gen.cat = cat;
  gen.sinks = sinks;
  if (!sinks || !sinks->stream) {
    rc = oc_err_set(err, OC_ERR_USAGE, "no stream to write to");
    goto out;
  }
  if ((rc = prepare(&gen, err)) < 0)
    goto out;

  if (opts->format == OC_GEN_CSV)
    fputs(OC_GEN_CSV_HEADER, sinks->stream);
  if (sinks->facts)
    fputs(OC_GEN_CSV_HEADER, sinks->facts);
  if (sinks->retract)
    fputs("org_id,facility_id,metric,grain,period_start\n", sinks->retract);
  if (sinks->invalid)
    fputs("row,line,field,code,message\n", sinks->invalid);

  for (size_t gi = 0; gi < gen.ngrains; gi++)
    cur[gi] = oc_period_floor(gen.grains[gi], opts->start);
  memset(&it, 0, sizeof(it));
  for (it.k = 0; it.k < opts->periods; it.k++) {
    for (size_t gi = 0; gi < gen.ngrains; gi++) {
      it.grain = gen.grains[gi];
      it.period = cur[gi];
      for (it.org = 0; it.org < gen.orgs; it.org++) {
        for (it.slot = 0; it.slot < gen.slots; it.slot++) {
          for (it.mi = 0; it.mi < gen.nmetrics; it.mi++, it.index++) {
            if ((rc = plan_identity(&gen, &it, err)) < 0)
              goto out;
            if ((rc = flush_slot(&gen, &gen.ring[it.index % OC_GEN_WINDOW], err)) < 0)
              goto out;
          }
        }
      }
      cur[gi] = oc_period_next(gen.grains[gi], cur[gi]);
    }
  }
  for (size_t i = 1; i < OC_GEN_WINDOW; i++)
    if ((rc = flush_slot(&gen, &gen.ring[(it.index - 1 + i) % OC_GEN_WINDOW], err)) < 0)
      goto out;

  if ((rc = check_sink(sinks->stream, "stream", err)) < 0 ||
      (rc = check_sink(sinks->facts, "expected facts", err)) < 0 ||
      (rc = check_sink(sinks->retract, "retractions", err)) < 0 ||
      (rc = check_sink(sinks->invalid, "expected invalid rows", err)) < 0)
    goto out;
  if (stats)
    *stats = gen.st;
  rc = 0;
out:
  gen_release(&gen);
  return rc;
}
