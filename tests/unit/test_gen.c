/* test_gen.c - the synthetic generator (lib/gen.c) and the demo data
 * (deploy/demo/): determinism, shares, validity of every row, and the
 * expected facts against an independent brute-force fold of the stream. */
#include "testutil.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outcomes/catalog.h"
#include "outcomes/date.h"
#include "outcomes/gen.h"
#include "outcomes/record.h"

#define MAX_FIELDS 16

static oc_catalog_t *load_catalog(void) {
  oc_catalog_t *cat = NULL;
  oc_err_t err;
  if (oc_catalog_load_file(oc_test_source_path("schemas/catalog.tsv"), &cat, &err) < 0)
    fail_msg("catalog: %s", err.msg);
  return cat;
}

/* A fresh directory under /tmp; returns a static buffer. */
static const char *tmp_dir(void) {
  static char path[64];
  strcpy(path, "/tmp/oc_test_gen_XXXXXX");
  assert_non_null(mkdtemp(path));
  return path;
}

static void remove_dir(const char *dir) {
  static const char *const names[] = {"stream.csv",          "stream.jsonl",         "retract.csv",
                                      "expected_facts.csv",  "expected_invalid.csv", "manifest.txt",
                                      "observations.csv",    "claims.csv",           "CLAIMS.md",
                                      "readmissions.ndjson", "catalog.tsv"};
  char path[256];
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
    unlink(path);
  }
  rmdir(dir);
}

/* Generate into a memory buffer (the stream only). Caller frees. */
/* The stream in a malloc'd buffer. The buffer pointer open_memstream()
 * updates lives on the heap: gcc 12 takes a local one for dangling once the
 * function returns. */
static char *gen_to_memory(const oc_gen_opts_t *opts, const oc_catalog_t *cat, size_t *len,
                           oc_gen_stats_t *st) {
  char **bufp = calloc(1, sizeof(*bufp));
  char *buf;
  oc_err_t err;

  assert_non_null(bufp);
  FILE *f = open_memstream(bufp, len);
  oc_gen_sinks_t sinks = {f, NULL, NULL, NULL};
  assert_non_null(f);
  if (oc_gen_run(opts, cat, &sinks, st, &err) < 0)
    fail_msg("oc_gen_run: %s", err.msg);
  fclose(f);
  buf = *bufp;
  free(bufp);
  return buf;
}

static void busy_opts(oc_gen_opts_t *o, uint64_t seed) {
  oc_gen_opts_init(o);
  o->seed = seed;
  o->duplicates = 0.1;
  o->restatements = 0.2;
  o->late = 0.1;
  o->ties = 0.05;
  o->tombstones = 0.05;
  o->invalid = 0.1;
}

/* ---- a minimal RFC 4180 reader for one line ------------------------- */

/* Split line (modified in place, no newline) into at most MAX_FIELDS
 * fields; returns the count. Quoted fields may hold commas and "". */
static int split_csv(char *line, char *fields[MAX_FIELDS]) {
  int n = 0;
  char *p = line;

  for (;;) {
    char *out = p;
    assert_true(n < MAX_FIELDS);
    fields[n++] = p;
    if (*p == '"') {
      char *q = p + 1;
      for (;;) {
        assert_true(*q != '\0'); /* unterminated quote */
        if (*q == '"' && q[1] == '"') {
          *out++ = '"';
          q += 2;
        } else if (*q == '"') {
          q++;
          break;
        } else {
          *out++ = *q++;
        }
      }
      assert_true(*q == ',' || *q == '\0');
      int last = *q == '\0';
      *out = '\0';
      if (last)
        return n;
      p = q + 1;
    } else {
      char *comma = strchr(p, ',');
      if (!comma)
        return n;
      *comma = '\0';
      p = comma + 1;
    }
  }
}

/* Each line of a CSV file (header skipped), in a malloc'd array of
 * malloc'd strings; *n gets the count. */
static char **read_lines(const char *path, size_t *n) {
  size_t len;
  char *buf = oc_test_read_file(path, &len), *p = buf, **lines = NULL;
  size_t cap = 0, count = 0;
  int first = 1;

  while (*p) {
    char *nl = strchr(p, '\n');
    assert_non_null(nl); /* every line ends with a newline */
    *nl = '\0';
    if (!first) {
      if (count == cap) {
        cap = cap ? cap * 2 : 256;
        lines = realloc(lines, cap * sizeof(*lines));
        assert_non_null(lines);
      }
      lines[count++] = strdup(p);
    }
    first = 0;
    p = nl + 1;
  }
  free(buf);
  *n = count;
  return lines;
}

static void free_lines(char **lines, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(lines[i]);
  free(lines);
}

/* A parsed row of the stream's CSV format. */
typedef struct row_s {
  char key[1200]; /* org|facility|metric|grain|period_start as written */
  oc_observation_t obs;
  size_t pos; /* 0-based position in the stream */
} row_t;

/* Parse the ten columns of the producer's format into r. Only what a row
 * of ours can hold: the test fails on anything else. */
static void parse_row(char *line, row_t *r, size_t pos) {
  char *f[MAX_FIELDS];
  oc_err_t err;

  assert_int_equal(split_csv(line, f), 10);
  memset(r, 0, sizeof(*r));
  r->pos = pos;
  snprintf(r->key, sizeof(r->key), "%s|%s|%s|%s|%s", f[0], f[1], f[2], f[3], f[4]);
  snprintf(r->obs.id.org_id, sizeof(r->obs.id.org_id), "%s", f[0]);
  snprintf(r->obs.id.facility_id, sizeof(r->obs.id.facility_id), "%s", f[1]);
  snprintf(r->obs.id.metric, sizeof(r->obs.id.metric), "%s", f[2]);
  if (oc_grain_from_name(f[3], &r->obs.id.grain, &err) < 0)
    fail_msg("row %zu: grain: %s", pos + 1, err.msg);
  if (oc_date_parse(f[4], &r->obs.id.period_start, &err) < 0)
    fail_msg("row %zu: period_start: %s", pos + 1, err.msg);
  r->obs.value = strtod(f[5], NULL);
  if ((r->obs.has_numerator = f[6][0] != '\0'))
    r->obs.numerator = strtod(f[6], NULL);
  if ((r->obs.has_denominator = f[7][0] != '\0'))
    r->obs.denominator = strtod(f[7], NULL);
  snprintf(r->obs.source, sizeof(r->obs.source), "%s", f[8]);
  if (oc_timestamp_parse(f[9], &r->obs.observed_at, &err) < 0)
    fail_msg("row %zu: observed_at: %s", pos + 1, err.msg);
}

static int cmp_key_pos(const void *a, const void *b) {
  const row_t *x = a, *y = b;
  int c = strcmp(x->key, y->key);
  if (c)
    return c;
  return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void assert_same_observation(const oc_observation_t *a, const oc_observation_t *b,
                                    const char *key) {
  if (!oc_fact_id_equal(&a->id, &b->id) || a->value != b->value ||
      a->has_numerator != b->has_numerator || a->has_denominator != b->has_denominator ||
      (a->has_numerator && a->numerator != b->numerator) ||
      (a->has_denominator && a->denominator != b->denominator) ||
      strcmp(a->source, b->source) != 0 || a->observed_at != b->observed_at)
    fail_msg("fact %s differs: value %.17g vs %.17g, observed_at %lld vs %lld", key, a->value,
             b->value, (long long)a->observed_at, (long long)b->observed_at);
}

/* ---- tests ---------------------------------------------------------- */

static void test_same_seed_gives_same_bytes(void **state) {
  (void)state;
  oc_catalog_t *cat = load_catalog();
  oc_gen_opts_t o;
  size_t la, lb, lc;
  oc_gen_stats_t st;

  busy_opts(&o, 42);
  char *a = gen_to_memory(&o, cat, &la, &st);
  char *b = gen_to_memory(&o, cat, &lb, &st);
  assert_true(la > 10000);
  assert_int_equal(la, lb);
  assert_memory_equal(a, b, la);
  o.seed = 43;
  char *c = gen_to_memory(&o, cat, &lc, &st);
  assert_false(lc == la && memcmp(a, c, la) == 0);
  free(a);
  free(b);
  free(c);
  oc_catalog_destroy(cat);
}

static void test_shares_within_tolerance(void **state) {
  (void)state;
  oc_catalog_t *cat = load_catalog();
  oc_gen_opts_t o;
  oc_gen_stats_t st;
  size_t len;

  busy_opts(&o, 7);
  o.orgs = 50; /* 50 orgs x 2 facilities x every metric x 12 months */
  char *buf = gen_to_memory(&o, cat, &len, &st);
  double n = (double)st.identities;
  assert_int_equal(st.identities, 50 * 2 * 12 * oc_catalog_count(cat));

  /* Four standard deviations of a binomial share, at least 0.005. */
#define ASSERT_SHARE(count, p) \
  do { \
    double got = (double)(count) / n, tol = 4 * sqrt((p) * (1 - (p)) / n); \
    if (tol < 0.005) \
      tol = 0.005; \
    if (fabs(got - (p)) > tol) \
      fail_msg("%s: share %.4f, expected %.4f +- %.4f", #count, got, (double)(p), tol); \
  } while (0)
  ASSERT_SHARE(st.restated, o.restatements);
  ASSERT_SHARE(st.duplicates, o.duplicates);
  ASSERT_SHARE(st.late, o.late);
  ASSERT_SHARE(st.ties, o.ties);
  ASSERT_SHARE(st.tombstones, o.tombstones);
  ASSERT_SHARE(st.invalid, o.invalid);
#undef ASSERT_SHARE
  /* Restatements come 1 to 3 at a time. */
  assert_true(st.restatements >= st.restated && st.restatements <= 3 * st.restated);
  assert_true(st.restatements > st.restated);
  /* Every kind of invalid row shows up. */
  for (int k = 0; k < OC_GEN_INVALID_KINDS; k++)
    assert_true(st.invalid_by_kind[k] > 0);
  assert_int_equal(st.facts + st.tombstones, st.identities);
  assert_int_equal(st.rows, st.identities + st.restatements + st.ties + st.late + st.duplicates +
                                st.invalid);
  /* The stream has exactly those rows, plus the header. */
  size_t lines = 0;
  for (size_t i = 0; i < len; i++)
    lines += buf[i] == '\n';
  assert_int_equal(lines, st.rows + 1);
  free(buf);
  oc_catalog_destroy(cat);
}

static void test_rows_option_sets_the_size(void **state) {
  (void)state;
  oc_catalog_t *cat = load_catalog();
  oc_gen_opts_t o;
  oc_gen_stats_t st;
  unsigned orgs = 0;
  size_t len;
  oc_err_t err;

  busy_opts(&o, 3);
  o.rows = 50000;
  assert_int_equal(oc_gen_check(&o, cat, &orgs, &err), 0);
  assert_true(orgs > 3);
  char *buf = gen_to_memory(&o, cat, &len, &st);
  assert_true(st.rows > 45000 && st.rows < 55000);
  free(buf);

  /* Bad options are usage errors, not crashes. */
  o.rows = 0;
  o.metrics = "er_visits,no_such_metric";
  assert_int_equal(oc_gen_check(&o, cat, NULL, &err), OC_ERR_USAGE);
  o.metrics = NULL;
  o.late = 1.5;
  assert_int_equal(oc_gen_check(&o, cat, NULL, &err), OC_ERR_USAGE);
  o.late = 0;
  o.grains = 1u << OC_GRAIN_YEAR;
  o.periods = 9000;
  assert_int_equal(oc_gen_check(&o, cat, NULL, &err), OC_ERR_USAGE);
  unsigned mask;
  assert_int_equal(oc_gen_parse_grains("day,WEEK,month", &mask, &err), 0);
  assert_int_equal(mask, 1u << OC_GRAIN_DAY | 1u << OC_GRAIN_WEEK | 1u << OC_GRAIN_MONTH);
  assert_int_equal(oc_gen_parse_grains("day,,month", &mask, &err), OC_ERR_USAGE);
  assert_int_equal(oc_gen_parse_grains("fortnight", &mask, &err), OC_ERR_USAGE);
  oc_catalog_destroy(cat);
}

/* Generate a small busy data set in every grain into a directory, then
 * check it row by row, independently of the generator's own logic. */
static void test_stream_rows_validate_and_facts_equal_a_brute_force_fold(void **state) {
  (void)state;
  oc_catalog_t *cat = load_catalog();
  const char *dir = tmp_dir();
  char path[256];
  oc_gen_opts_t o;
  oc_gen_stats_t st;
  oc_err_t err;
  size_t nstream, ninvalid, nretract, nfacts;

  busy_opts(&o, 2024);
  o.orgs = 2;
  o.org_level = 1;
  o.periods = 5;
  o.grains = (1u << OC_GRAIN_COUNT) - 1;
  o.start = 19768; /* 2024-02-15: floored per grain */
  if (oc_gen_write_dir(&o, cat, dir, &st, &err) < 0)
    fail_msg("oc_gen_write_dir: %s", err.msg);

  snprintf(path, sizeof(path), "%s/stream.csv", dir);
  char **stream = read_lines(path, &nstream);
  snprintf(path, sizeof(path), "%s/expected_invalid.csv", dir);
  char **invalid = read_lines(path, &ninvalid);
  snprintf(path, sizeof(path), "%s/retract.csv", dir);
  char **retract = read_lines(path, &nretract);
  snprintf(path, sizeof(path), "%s/expected_facts.csv", dir);
  char **facts = read_lines(path, &nfacts);
  assert_int_equal(nstream, st.rows);
  assert_int_equal(ninvalid, st.invalid);
  assert_int_equal(nretract, st.tombstones);
  assert_int_equal(nfacts, st.facts);
  assert_true(st.invalid > 10 && st.tombstones > 5 && st.ties > 5 && st.late > 5);

  /* Valid rows pass oc_observation_validate; each invalid one fails with
   * the code and field expected_invalid.csv lists for its row and line. */
  row_t *rows = calloc(nstream, sizeof(*rows));
  size_t nvalid = 0, next_invalid = 0;
  assert_non_null(rows);
  for (size_t i = 0; i < nstream; i++) {
    row_t r;
    char *inv[MAX_FIELDS];
    parse_row(stream[i], &r, i);
    int rc = oc_observation_validate(&r.obs, cat, &err);
    if (next_invalid < ninvalid && (size_t)atol(invalid[next_invalid]) == i + 1) {
      char line[1024];
      snprintf(line, sizeof(line), "%s", invalid[next_invalid++]);
      assert_int_equal(split_csv(line, inv), 5);
      assert_int_equal(atol(inv[1]), (long)i + 2); /* the header is line 1 */
      assert_true(rc < 0);
      assert_string_equal(oc_err_code_name(rc), inv[3]);
      assert_int_equal(strncmp(err.msg, inv[2], strlen(inv[2])), 0);
      assert_string_equal(err.msg, inv[4]);
      continue;
    }
    if (rc < 0)
      fail_msg("stream row %zu (%s) is valid by expected_invalid.csv but fails: %s", i + 1, r.key,
               err.msg);
    rows[nvalid++] = r;
  }
  assert_int_equal(next_invalid, ninvalid);

  /* Fold: per identity the greatest observed_at wins, ties to the later
   * position; then the retractions remove facts. */
  qsort(rows, nvalid, sizeof(*rows), cmp_key_pos);
  qsort(retract, nretract, sizeof(*retract), cmp_str);
  row_t *winners = calloc(nvalid ? nvalid : 1, sizeof(*winners));
  size_t nwin = 0;
  assert_non_null(winners);
  for (size_t i = 0; i < nvalid;) {
    size_t j = i, best = i;
    for (; j < nvalid && strcmp(rows[j].key, rows[i].key) == 0; j++)
      if (rows[j].obs.observed_at >= rows[best].obs.observed_at)
        best = j; /* sorted by position, so >= keeps the later of a tie */
    const char *k = rows[i].key;
    char ident[1200], *kp = ident;
    /* retract.csv lines are the key with ',' for '|' */
    snprintf(ident, sizeof(ident), "%s", k);
    for (; *kp; kp++)
      if (*kp == '|')
        *kp = ',';
    kp = ident;
    if (!bsearch(&kp, retract, nretract, sizeof(*retract), cmp_str))
      winners[nwin++] = rows[best];
    i = j;
  }
  assert_int_equal(nwin, nfacts);

  row_t *expected = calloc(nfacts ? nfacts : 1, sizeof(*expected));
  assert_non_null(expected);
  for (size_t i = 0; i < nfacts; i++)
    parse_row(facts[i], &expected[i], i);
  qsort(expected, nfacts, sizeof(*expected), cmp_key_pos);
  for (size_t i = 0; i < nfacts; i++) {
    assert_string_equal(expected[i].key, winners[i].key);
    assert_same_observation(&expected[i].obs, &winners[i].obs, expected[i].key);
    assert_int_equal(oc_observation_validate(&expected[i].obs, cat, &err), 0);
  }

  free(expected);
  free(winners);
  free(rows);
  free_lines(stream, nstream);
  free_lines(invalid, ninvalid);
  free_lines(retract, nretract);
  free_lines(facts, nfacts);
  remove_dir(dir);
  oc_catalog_destroy(cat);
}

/* Read a JSON Lines row into an observation, as the producer would. */
static void parse_json_row(const char *line, oc_observation_t *obs) {
  json_error_t jerr;
  json_t *j = json_loads(line, 0, &jerr), *v;
  oc_err_t err;

  if (!j)
    fail_msg("bad JSON line: %s: %s", jerr.text, line);
  memset(obs, 0, sizeof(*obs));
  snprintf(obs->id.org_id, sizeof(obs->id.org_id), "%s",
           json_string_value(json_object_get(j, "org_id")));
  if ((v = json_object_get(j, "facility_id")))
    snprintf(obs->id.facility_id, sizeof(obs->id.facility_id), "%s", json_string_value(v));
  snprintf(obs->id.metric, sizeof(obs->id.metric), "%s",
           json_string_value(json_object_get(j, "metric")));
  assert_int_equal(
      oc_grain_from_name(json_string_value(json_object_get(j, "grain")), &obs->id.grain, &err), 0);
  assert_int_equal(oc_date_parse(json_string_value(json_object_get(j, "period_start")),
                                 &obs->id.period_start, &err),
                   0);
  obs->value = json_number_value(json_object_get(j, "value"));
  if ((v = json_object_get(j, "numerator"))) {
    obs->has_numerator = true;
    obs->numerator = json_number_value(v);
  }
  if ((v = json_object_get(j, "denominator"))) {
    obs->has_denominator = true;
    obs->denominator = json_number_value(v);
  }
  snprintf(obs->source, sizeof(obs->source), "%s", json_string_value(json_object_get(j, "source")));
  assert_int_equal(oc_timestamp_parse(json_string_value(json_object_get(j, "observed_at")),
                                      &obs->observed_at, &err),
                   0);
  json_decref(j);
}

static void test_jsonl_carries_the_same_rows_as_csv(void **state) {
  (void)state;
  oc_catalog_t *cat = load_catalog();
  oc_gen_opts_t o;
  oc_gen_stats_t st_csv, st_json;
  size_t lc, lj;

  busy_opts(&o, 99);
  o.org_level = 1;
  char *csv = gen_to_memory(&o, cat, &lc, &st_csv);
  o.format = OC_GEN_JSONL;
  char *jsonl = gen_to_memory(&o, cat, &lj, &st_json);
  assert_int_equal(st_csv.rows, st_json.rows);

  char *cp = strchr(csv, '\n') + 1, *jp = jsonl;
  for (size_t i = 0; i < st_csv.rows; i++) {
    char *cn = strchr(cp, '\n'), *jn = strchr(jp, '\n');
    row_t r;
    oc_observation_t obs;
    assert_non_null(cn);
    assert_non_null(jn);
    *cn = *jn = '\0';
    parse_row(cp, &r, i);
    parse_json_row(jp, &obs);
    assert_same_observation(&r.obs, &obs, r.key);
    cp = cn + 1;
    jp = jn + 1;
  }
  assert_int_equal(*cp, '\0');
  assert_int_equal(*jp, '\0');
  free(csv);
  free(jsonl);
  oc_catalog_destroy(cat);
}

/* ---- demo data ------------------------------------------------------ */

static void test_demo_rows_all_validate(void **state) {
  (void)state;
  oc_catalog_t *cat = load_catalog();
  size_t n;
  char **lines = read_lines(oc_test_source_path("deploy/demo/observations.csv"), &n);
  oc_err_t err;
  size_t orgs_seen = 0;
  int seen[10] = {0};
  const char *orgs[] = {"university-health-systems",
                        "kaleida-health",
                        "family-practice-associates",
                        "coastal-carolina-health",
                        "fraser-health",
                        "communitycare",
                        "altamed",
                        "lasis-healthcare",
                        "healthcare-partners",
                        "cockerell-mcintosh"};

  assert_true(n > 1000);
  for (size_t i = 0; i < n; i++) {
    row_t r;
    parse_row(lines[i], &r, i);
    if (oc_observation_validate(&r.obs, cat, &err) < 0)
      fail_msg("deploy/demo/observations.csv:%zu: %s", i + 2, err.msg);
    for (size_t k = 0; k < sizeof(orgs) / sizeof(orgs[0]); k++)
      if (strcmp(r.obs.id.org_id, orgs[k]) == 0)
        seen[k] = 1;
  }
  for (size_t k = 0; k < sizeof(orgs) / sizeof(orgs[0]); k++)
    orgs_seen += seen[k];
  assert_int_equal(orgs_seen, sizeof(orgs) / sizeof(orgs[0]));
  free_lines(lines, n);
  oc_catalog_destroy(cat);
}

static void assert_files_equal(const char *a, const char *b) {
  size_t la, lb;
  char *x = oc_test_read_file(a, &la), *y = oc_test_read_file(b, &lb);
  if (la != lb || memcmp(x, y, la) != 0)
    fail_msg("'%s' and '%s' differ: re-run deploy/demo/make-demo.py", a, b);
  free(x);
  free(y);
}

static void test_demo_is_reproduced_byte_for_byte_by_its_script(void **state) {
  (void)state;
  const char *dir = tmp_dir();
  char cmd[1024], path[256];

  snprintf(cmd, sizeof(cmd), "python3 '%s' --out-dir '%s'",
           oc_test_source_path("deploy/demo/make-demo.py"), dir);
  assert_int_equal(system(cmd), 0);
  snprintf(path, sizeof(path), "%s/observations.csv", dir);
  assert_files_equal(path, oc_test_source_path("deploy/demo/observations.csv"));
  snprintf(path, sizeof(path), "%s/readmissions.ndjson", dir);
  assert_files_equal(path, oc_test_source_path("deploy/demo/readmissions.ndjson"));
  snprintf(path, sizeof(path), "%s/catalog.tsv", dir);
  assert_files_equal(path, oc_test_source_path("deploy/demo/catalog.tsv"));
  snprintf(path, sizeof(path), "%s/claims.csv", dir);
  assert_files_equal(path, oc_test_source_path("deploy/demo/claims.csv"));
  snprintf(path, sizeof(path), "%s/CLAIMS.md", dir);
  assert_files_equal(path, oc_test_source_path("deploy/demo/CLAIMS.md"));
  remove_dir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_same_seed_gives_same_bytes),
      cmocka_unit_test(test_shares_within_tolerance),
      cmocka_unit_test(test_rows_option_sets_the_size),
      cmocka_unit_test(test_stream_rows_validate_and_facts_equal_a_brute_force_fold),
      cmocka_unit_test(test_jsonl_carries_the_same_rows_as_csv),
      cmocka_unit_test(test_demo_rows_all_validate),
      cmocka_unit_test(test_demo_is_reproduced_byte_for_byte_by_its_script),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
