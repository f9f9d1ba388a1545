/*
 * fhir.c - one HL7 FHIR R4 MeasureReport into observations (fhir.h); the
 * mapping is documented field by field in docs/fhir.md.
 *
 * Only summary reports are taken: individual and subject-list reports
 * carry patient data, which this pipeline never ingests. A report is taken
 * whole or rejected whole, with the FHIR path of the element at fault.
 */
#include "outcomes/fhir.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Longest measure canonical URL, with "#<group code>", bytes. */
#define MEASURE_URL_MAX 1024
/* Room for ".group[N]", the start of a path within a report. */
#define GROUP_PATH_MAX 32

typedef struct {
  const json_t *mr;     /* the report */
  const json_t *bundle; /* the Bundle it came in, or NULL */
  const char *path;     /* its FHIR path in errors */
  const oc_catalog_t *cat;
  oc_err_t *err;
} ctx_t;

/* Fail with "<report path><at>: <reason>". */
__attribute__((format(printf, 4, 5))) static int fail(ctx_t *cx, int code, const char *at,
                                                      const char *fmt, ...) {
  char reason[OC_ERR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, sizeof(reason), fmt, ap);
  va_end(ap);
  return oc_err_set(cx->err, code, "%s%s: %s", cx->path, at, reason);
}

static const char *quote(const char *s, char *buf, size_t cap) {
  return oc_utf8_quote(s, strlen(s), buf, cap);
}

/* obj[key] as a string: 1 with *out, 0 when absent or null, < 0 when it
 * is there but no string. */
static int get_str(ctx_t *cx, const json_t *obj, const char *key, const char *at,
                   const char **out) {
  const json_t *v = json_object_get(obj, key);
  *out = NULL;
  if (!v || json_is_null(v))
    return 0;
  if (!json_is_string(v))
    return fail(cx, OC_ERR_BAD_FIELD, at, "must be a string");
  *out = json_string_value(v);
  return 1;
}

/* ---- references ------------------------------------------------------- */

/* Copy an id after oc_id_check (UTF-8, no control characters, bounded). */
static int take_id(ctx_t *cx, const char *at, const char *s, size_t len, char id[OC_ID_MAX + 1]) {
  if (oc_id_check("id", s, len, cx->err) < 0)
    return fail(cx, OC_ERR_BAD_FIELD, at, "%s", cx->err->msg);
  memcpy(id, s, len);
  id[len] = '\0';
  return 0;
}

/* A resource the report carries (contained, or in its Bundle): its type,
 * and the first identifier.value as its id, since its own id is local. */
static int named_resource(ctx_t *cx, const json_t *res, const char *at, const char *where,
                          char *type, size_t tcap, char id[OC_ID_MAX + 1]) {
  char q[80];
  const char *rt = json_string_value(json_object_get(res, "resourceType"));
  const char *rid = json_string_value(json_object_get(res, "id"));
  const json_t *v = json_object_get(json_array_get(json_object_get(res, "identifier"), 0), "value");

  char qt[80];
  snprintf(type, tcap, "%s", rt ? rt : "");
  if (!json_is_string(v))
    return fail(cx, OC_ERR_BAD_FIELD, at, "the %s %s '%s' has no identifier.value to name it",
                where, rt ? quote(rt, qt, sizeof(qt)) : "resource",
                rid ? quote(rid, q, sizeof(q)) : "");
  return take_id(cx, at, json_string_value(v), json_string_length(v), id);
}

/* The id a Reference names, and the type it names when it says:
 * "Type/id", "http://host/fhir/Type/id[/_history/n]", "#contained" or the
 * fullUrl of another entry of the Bundle (then that resource's first
 * identifier.value), or an identifier (Reference.identifier.value, type
 * from Reference.type). */
static int reference_id(ctx_t *cx, const json_t *ref, const char *at, char *type, size_t tcap,
                        char id[OC_ID_MAX + 1]) {
  char q[80];
  const char *r = NULL, *t = NULL;
  int rc;

  type[0] = id[0] = '\0';
  if (!json_is_object(ref))
    return fail(cx, OC_ERR_BAD_FIELD, at, "must be a Reference object");
  if ((rc = get_str(cx, ref, "type", at, &t)) < 0 ||
      (rc = get_str(cx, ref, "reference", at, &r)) < 0)
    return rc;
  if (r && r[0] == '#') {
    const json_t *res;
    size_t i;
    json_array_foreach(json_object_get(cx->mr, "contained"), i, res) {
      const json_t *rid = json_object_get(res, "id");
      if (json_is_string(rid) && strcmp(json_string_value(rid), r + 1) == 0)
        return named_resource(cx, res, at, "contained", type, tcap, id);
    }
    return fail(cx, OC_ERR_BAD_FIELD, at, "no contained resource '%s'", quote(r + 1, q, sizeof(q)));
  }
  if (r && cx->bundle) {
    /* A reference to another entry of the Bundle, by its fullUrl. */
    const json_t *e;
    size_t i;
    json_array_foreach(json_object_get(cx->bundle, "entry"), i, e) {
      const json_t *full = json_object_get(e, "fullUrl");
      if (json_is_string(full) && strcmp(json_string_value(full), r) == 0)
        return named_resource(cx, json_object_get(e, "resource"), at, "Bundle's", type, tcap, id);
    }
  }
  if (r) {
    /* The last "Type/id" of a relative or absolute reference. */
    char buf[MEASURE_URL_MAX];
    if (strlen(r) >= sizeof(buf))
      return fail(cx, OC_ERR_BAD_FIELD, at, "reference longer than %d bytes", MEASURE_URL_MAX - 1);
    snprintf(buf, sizeof(buf), "%s", r);
    char *hist = strstr(buf, "/_history/");
    if (hist)
      *hist = '\0';
    char *slash = strrchr(buf, '/');
    if (!slash || slash == buf || !slash[1])
      return fail(cx, OC_ERR_BAD_FIELD, at, "'%s' is not a Type/id reference",
                  quote(r, q, sizeof(q)));
    *slash = '\0';
    char *tstart = strrchr(buf, '/');
    tstart = tstart ? tstart + 1 : buf;
    size_t tl = strlen(tstart);
    if (tl >= tcap)
      return fail(cx, OC_ERR_BAD_FIELD, at, "'%s' is not a Type/id reference",
                  quote(r, q, sizeof(q)));
    memcpy(type, tstart, tl + 1);
    return take_id(cx, at, slash + 1, strlen(slash + 1), id);
  }
  const json_t *ident = json_object_get(ref, "identifier");
  const json_t *v = json_object_get(ident, "value");
  if (!json_is_string(v))
    return fail(cx, OC_ERR_BAD_FIELD, at, "neither a reference nor an identifier.value");
  snprintf(type, tcap, "%s", t ? t : "");
  return take_id(cx, at, json_string_value(v), json_string_length(v), id);
}

/* reporter -> org_id: an Organization. */
static int map_reporter(ctx_t *cx, oc_fact_id_t *fid) {
  char type[64], q[80];
  int rc;
  const json_t *ref = json_object_get(cx->mr, "reporter");

  if (!ref)
    return fail(cx, OC_ERR_BAD_FIELD, ".reporter", "missing: the Organization the figure is of");
  if ((rc = reference_id(cx, ref, ".reporter", type, sizeof(type), fid->org_id)) < 0)
    return rc;
  if (type[0] && strcmp(type, "Organization") != 0)
    return fail(cx, OC_ERR_BAD_FIELD, ".reporter", "a %s is not an Organization",
                quote(type, q, sizeof(q)));
  return 0;
}

/* subject -> facility_id: a Location, or an Organization other than the
 * reporter; none, or the reporter itself, is an org-level figure. */
static int map_subject(ctx_t *cx, oc_fact_id_t *fid) {
  char type[64], id[OC_ID_MAX + 1], q[80];
  int rc;
  const json_t *ref = json_object_get(cx->mr, "subject");

  fid->facility_id[0] = '\0';
  if (!ref || json_is_null(ref))
    return 0;
  if ((rc = reference_id(cx, ref, ".subject", type, sizeof(type), id)) < 0)
    return rc;
  if (strcmp(type, "Location") != 0 && strcmp(type, "Organization") != 0)
    return fail(cx, OC_ERR_BAD_FIELD, ".subject",
                "a %s is not a facility: a summary of a Location or an Organization only",
                type[0] ? quote(type, q, sizeof(q)) : "reference without a type");
  if (strcmp(type, "Organization") == 0 && strcmp(id, fid->org_id) == 0)
    return 0;
  memcpy(fid->facility_id, id, sizeof(id));
  return 0;
}

/* ---- groups ----------------------------------------------------------- */

enum { P_NUM, P_NUM_EXCL, P_DEN, P_DEN_EXCL, P_DEN_EXCEP, P_INIT, P_COUNT };
static const char *const pop_codes[P_COUNT] = {"numerator",
                                               "numerator-exclusion",
                                               "denominator",
                                               "denominator-exclusion",
                                               "denominator-exception",
                                               "initial-population"};

/* The counts of one group's measure populations. */
typedef struct {
  double count[P_COUNT];
  int index[P_COUNT]; /* population[] index, -1 when absent */
} pops_t;

/* The measure-population code of a CodeableConcept: a coding whose system
 * is the measure-population system, or has none (as the R4 examples). */
static const char *population_code(const json_t *cc) {
  const json_t *c;
  size_t i;
  json_array_foreach(json_object_get(cc, "coding"), i, c) {
    const json_t *sys = json_object_get(c, "system");
    const json_t *code = json_object_get(c, "code");
    if (json_is_string(code) &&
        (!sys ||
         (json_is_string(sys) && strcmp(json_string_value(sys), OC_FHIR_POPULATION_SYSTEM) == 0)))
      return json_string_value(code);
  }
  return NULL;
}

static int read_populations(ctx_t *cx, const json_t *group, const char gat[GROUP_PATH_MAX],
                            pops_t *p) {
  char at[OC_FHIR_PATH_MAX];
  const json_t *pop;
  size_t i;

  memset(p, 0, sizeof(*p));
  for (int k = 0; k < P_COUNT; k++)
    p->index[k] = -1;
  json_array_foreach(json_object_get(group, "population"), i, pop) {
    const char *code = population_code(json_object_get(pop, "code"));
    for (int k = 0; code && k < P_COUNT; k++) {
      if (strcmp(code, pop_codes[k]) != 0)
        continue;
      snprintf(at, sizeof(at), "%s.population[%zu]", gat, i);
      if (p->index[k] >= 0)
        return fail(cx, OC_ERR_BAD_FIELD, at, "a second '%s' population", code);
      const json_t *n = json_object_get(pop, "count");
      if (!n)
        break; /* a population without a count says nothing */
      double v = json_number_value(n);
      if (!json_is_number(n) || v < 0 || v != floor(v) || v > 9007199254740992.0)
        return fail(cx, OC_ERR_BAD_FIELD, at, "count must be a non-negative integer");
      p->count[k] = v;
      p->index[k] = (int)i;
    }
  }
  return 0;
}

/* The catalog metric of group g: "<measure>" for a report of one group,
 * "<measure>#<group code>" (code.coding[0].code, else the group's id) for
 * one group of several, or of one. */
static const oc_metric_t *group_metric(ctx_t *cx, const char *url, size_t url_len,
                                       const json_t *group, bool single, char *tried, size_t tcap) {
  const char *code = json_string_value(json_object_get(
      json_array_get(json_object_get(json_object_get(group, "code"), "coding"), 0), "code"));
  if (!code)
    code = json_string_value(json_object_get(group, "id"));
  const oc_metric_t *m = single ? oc_catalog_find_measure(cx->cat, url, url_len) : NULL;
  snprintf(tried, tcap, "%.*s", (int)url_len, url);
  if (!m && code) {
    char key[MEASURE_URL_MAX + 80];
    int n = snprintf(key, sizeof(key), "%.*s#%s", (int)url_len, url, code);
    if (n > 0 && (size_t)n < sizeof(key)) {
      m = oc_catalog_find_measure(cx->cat, key, (size_t)n);
      if (!single) /* one group is named by the measure alone */
        snprintf(tried, tcap, "%s", key);
    }
  }
  return m;
}

/* measureScore -> value in the catalog's unit. *has is false without one. */
static int read_score(ctx_t *cx, const json_t *group, const char *gat, const oc_metric_t *m,
                      bool *has, double *value) {
  char at[OC_FHIR_PATH_MAX], q[80];
  const json_t *score = json_object_get(group, "measureScore");
  const char *unit = NULL, *sys = NULL, *code = NULL;
  int rc;

  *has = false;
  if (!score || json_is_null(score))
    return 0;
  snprintf(at, sizeof(at), "%s.measureScore", gat);
  const json_t *v = json_object_get(score, "value");
  if (!json_is_number(v))
    return v ? fail(cx, OC_ERR_BAD_FIELD, at, "value must be a decimal")
             : fail(cx, OC_ERR_BAD_FIELD, at, "no value");
  if ((rc = get_str(cx, score, "system", at, &sys)) < 0 ||
      (rc = get_str(cx, score, "code", at, &code)) < 0 ||
      (rc = get_str(cx, score, "unit", at, &unit)) < 0)
    return rc;
  if (sys && code && strcmp(sys, OC_FHIR_UCUM_SYSTEM) != 0)
    return fail(cx, OC_ERR_BAD_FIELD, at, "unit system '%s' is not UCUM (%s)",
                quote(sys, q, sizeof(q)), OC_FHIR_UCUM_SYSTEM);
  *value = json_number_value(v);
  *has = true;
  const char *u = code ? code : unit;
  if (!u || strcmp(u, m->unit) == 0)
    return 0;
  /* UCUM: % is 1/100 of the unit 1. */
  if (strcmp(u, "%") == 0 && strcmp(m->unit, "1") == 0) {
    *value /= 100.0;
    return 0;
  }
  if (strcmp(u, "1") == 0 && strcmp(m->unit, "%") == 0) {
    *value *= 100.0;
    return 0;
  }
  return fail(cx, OC_ERR_BAD_FIELD, at, "unit '%s' is not the catalog's '%s'",
              quote(u, q, sizeof(q)), m->unit);
}

/* Put the FHIR path in place of the record field that starts a validation
 * message ("value: ..." -> "<path>.group[0].measureScore: ..."). */
static int revalidate_msg(ctx_t *cx, int rc, const char *gat, const pops_t *p,
                          const char *observed_from) {
  static const struct {
    const char *field;
    const char *at;
  } map[] = {{"org_id", ".reporter"},     {"facility_id", ".subject"},
             {"metric", ".measure"},      {"grain", ".period"},
             {"period_start", ".period"}, {"source", ".id"},
             {"observed_at", NULL},       {"value", NULL},
             {"numerator", NULL},         {"denominator", NULL}};
  char msg[OC_ERR_MSG_MAX], at[OC_FHIR_PATH_MAX];
  const char *colon = strstr(cx->err->msg, ": ");

  snprintf(msg, sizeof(msg), "%s", cx->err->msg);
  if (!colon)
    return fail(cx, rc, "", "%s", msg);
  size_t flen = (size_t)(colon - cx->err->msg);
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
    if (strlen(map[i].field) != flen || memcmp(map[i].field, msg, flen) != 0)
      continue;
    if (map[i].at)
      snprintf(at, sizeof(at), "%s", map[i].at);
    else if (strcmp(map[i].field, "observed_at") == 0)
      snprintf(at, sizeof(at), "%s", observed_from);
    else if (strcmp(map[i].field, "value") == 0)
      snprintf(at, sizeof(at), "%s.measureScore", gat);
    else
      snprintf(at, sizeof(at), "%s.population[%d].count", gat,
               p->index[strcmp(map[i].field, "numerator") == 0 ? P_NUM : P_DEN]);
    return fail(cx, rc, at, "%s", msg + flen + 2);
  }
  return fail(cx, rc, "", "%s", msg);
}

/* ---- the report ------------------------------------------------------- */

static int check_header(ctx_t *cx) {
  char q[80];
  const char *status = NULL, *type = NULL;
  int rc;

  if (json_array_size(json_object_get(cx->mr, "modifierExtension")) > 0)
    return fail(cx, OC_ERR_BAD_FIELD, ".modifierExtension",
                "present: a modifier extension changes the meaning of the report");
  if ((rc = get_str(cx, cx->mr, "status", ".status", &status)) < 0 ||
      (rc = get_str(cx, cx->mr, "type", ".type", &type)) < 0)
    return rc;
  if (!status || strcmp(status, "complete") != 0)
    return fail(cx, OC_ERR_BAD_FIELD, ".status", "'%s' is not 'complete'",
                status ? quote(status, q, sizeof(q)) : "(missing)");
  if (!type || strcmp(type, "summary") != 0)
    return fail(cx, OC_ERR_BAD_FIELD, ".type",
                "'%s' is not 'summary': individual, subject-list and data-collection reports "
                "carry patient data, which is never taken",
                type ? quote(type, q, sizeof(q)) : "(missing)");
  return 0;
}

/* What keeps a report out whatever it says: no group, too many, strata. */
static int check_groups(ctx_t *cx) {
  const json_t *groups = json_object_get(cx->mr, "group");
  const json_t *group;
  size_t gi;

  if (json_array_size(groups) == 0)
    return fail(cx, OC_ERR_BAD_FIELD, ".group", "no group: nothing was measured");
  if (json_array_size(groups) > OC_FHIR_GROUPS_MAX)
    return fail(cx, OC_ERR_LIMIT, ".group", "%zu groups, more than %d", json_array_size(groups),
                OC_FHIR_GROUPS_MAX);
  json_array_foreach(groups, gi, group) {
    if (json_array_size(json_object_get(group, "stratifier")) > 0) {
      char gat[OC_FHIR_PATH_MAX];
      snprintf(gat, sizeof(gat), ".group[%zu].stratifier", gi);
      return fail(cx, OC_ERR_BAD_FIELD, gat,
                  "a stratified report: strata are not supported yet (docs/fhir.md)");
    }
  }
  return 0;
}

/* id (as "MeasureReport/<id>"), else identifier[0] ("system|value" or
 * "value"), into source. */
static int map_source(ctx_t *cx, char source[OC_ID_MAX + 1]) {
  const char *id = json_string_value(json_object_get(cx->mr, "id"));
  const json_t *ident = json_array_get(json_object_get(cx->mr, "identifier"), 0);
  const char *sys = json_string_value(json_object_get(ident, "system"));
  const char *val = json_string_value(json_object_get(ident, "value"));
  int n;

  if (id)
    n = snprintf(source, OC_ID_MAX + 1, "MeasureReport/%s", id);
  else if (val && sys)
    n = snprintf(source, OC_ID_MAX + 1, "%s|%s", sys, val);
  else if (val)
    n = snprintf(source, OC_ID_MAX + 1, "%s", val);
  else
    return fail(cx, OC_ERR_BAD_FIELD, ".id", "missing, and no identifier.value: no source to name");
  if (n < 0 || n > OC_ID_MAX)
    return fail(cx, OC_ERR_BAD_FIELD, id ? ".id" : ".identifier[0]", "longer than %d bytes",
                OC_ID_MAX - (id ? 14 : 0));
  return 0;
}

/* meta.lastUpdated, else date, else the default. */
static int map_observed(ctx_t *cx, oc_timestamp_t dflt, oc_timestamp_t *out, const char **from) {
  const char *s =
      json_string_value(json_object_get(json_object_get(cx->mr, "meta"), "lastUpdated"));
  *from = ".meta.lastUpdated";
  if (!s) {
    s = json_string_value(json_object_get(cx->mr, "date"));
    *from = ".date";
  }
  *out = dflt;
  if (s && oc_fhir_datetime(s, out, cx->err) < 0)
    return fail(cx, OC_ERR_BAD_FIELD, *from, "%s", cx->err->msg);
  return 0;
}

static int map_group(ctx_t *cx, const json_t *group, size_t gi, bool single, const char *url,
                     size_t url_len, const oc_observation_t *base, const char *observed_from,
                     oc_observation_t *obs) {
  char gat[GROUP_PATH_MAX], tried[MEASURE_URL_MAX + 80], q[160];
  pops_t p;
  bool has_score;
  int rc;

  snprintf(gat, sizeof(gat), ".group[%zu]", gi);
  const oc_metric_t *m = group_metric(cx, url, url_len, group, single, tried, sizeof(tried));
  if (!m)
    return single ? fail(cx, OC_ERR_UNKNOWN_METRIC, ".measure",
                         "unknown measure '%s': no catalog metric has this measure_url",
                         quote(tried, q, sizeof(q)))
                  : fail(cx, OC_ERR_UNKNOWN_METRIC, gat,
                         "no catalog metric has measure_url '%s': each group of a report of "
                         "several needs one",
                         quote(tried, q, sizeof(q)));
  *obs = *base;
  snprintf(obs->id.metric, sizeof(obs->id.metric), "%s", m->code);
  if ((rc = read_populations(cx, group, gat, &p)) < 0 ||
      (rc = read_score(cx, group, gat, m, &has_score, &obs->value)) < 0)
    return rc;
  if (m->kind == OC_KIND_RATIO) {
    if (p.index[P_NUM] < 0 || p.index[P_DEN] < 0)
      return fail(cx, OC_ERR_RATIO_MISSING, gat,
                  "no '%s' population count, which ratio metric '%s' needs",
                  p.index[P_NUM] < 0 ? "numerator" : "denominator", m->code);
    obs->has_numerator = obs->has_denominator = true;
    obs->numerator = p.count[P_NUM] - p.count[P_NUM_EXCL];
    obs->denominator = p.count[P_DEN] - p.count[P_DEN_EXCL] - p.count[P_DEN_EXCEP];
    if (!has_score) {
      if (!(obs->denominator > 0))
        return fail(cx, OC_ERR_BAD_FIELD, gat,
                    "no measureScore, and the denominator after exclusions is %.17g",
                    obs->denominator);
      obs->value = obs->numerator / obs->denominator;
      has_score = true;
    }
  }
  if (!has_score && m->kind == OC_KIND_COUNT && p.index[P_INIT] >= 0) {
    obs->value = p.count[P_INIT]; /* a cohort measure: its count */
    has_score = true;
  }
  if (!has_score)
    return fail(cx, OC_ERR_BAD_FIELD, gat,
                "no measureScore: %s metric '%s' takes its value from it", oc_kind_name(m->kind),
                m->code);
  if ((rc = oc_observation_validate(obs, cx->cat, cx->err)) < 0)
    return revalidate_msg(cx, rc, gat, &p, observed_from);
  return 0;
}

int oc_fhir_measure_report(const json_t *report, const json_t *bundle, const char *path,
                           const oc_catalog_t *cat, oc_timestamp_t default_observed_at,
                           oc_observation_t out[OC_FHIR_GROUPS_MAX], size_t *n, oc_err_t *err) {
  ctx_t cx = {report, bundle, path, cat, err};
  oc_observation_t base;
  const char *url = NULL, *observed_from = NULL;
  const json_t *group, *period;
  size_t gi;
  int rc;

  *n = 0;
  if ((rc = check_header(&cx)) < 0 || (rc = check_groups(&cx)) < 0)
    return rc;
  memset(&base, 0, sizeof(base));
  if ((rc = map_reporter(&cx, &base.id)) < 0 || (rc = map_subject(&cx, &base.id)) < 0)
    return rc;
  period = json_object_get(report, "period");
  if ((rc = oc_fhir_period(json_string_value(json_object_get(period, "start")),
                           json_string_value(json_object_get(period, "end")), &base.id.grain,
                           &base.id.period_start, err)) < 0)
    return oc_err_prefix(err, "%s.", path);
  if ((rc = map_observed(&cx, default_observed_at, &base.observed_at, &observed_from)) < 0 ||
      (rc = map_source(&cx, base.source)) < 0 ||
      (rc = get_str(&cx, report, "measure", ".measure", &url)) < 0)
    return rc;
  if (!url)
    return fail(&cx, OC_ERR_BAD_FIELD, ".measure", "missing: the canonical URL of the Measure");
  size_t url_len = strcspn(url, "|"); /* the version suffix is not part of it */
  if (url_len >= MEASURE_URL_MAX)
    return fail(&cx, OC_ERR_BAD_FIELD, ".measure", "longer than %d bytes", MEASURE_URL_MAX - 1);
  const json_t *groups = json_object_get(report, "group");
  size_t ng = json_array_size(groups);
  json_array_foreach(groups, gi, group) {
    if ((rc = map_group(&cx, group, gi, ng == 1, url, url_len, &base, observed_from, &out[gi])) < 0)
      return rc;
  }
  *n = ng;
  return 0;
}
