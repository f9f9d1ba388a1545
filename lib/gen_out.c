/*
 * gen_out.c - how the generator writes rows and files: CSV and JSON Lines
 * rows, the manifest, and the output directory (include/outcomes/gen.h).
 */
#include "outcomes/gen.h"

#include "gen_internal.h"
#include "outcomes/date.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* The shortest decimal that reads back as exactly v. */
const char *oc_gen_fmt_num(double v, char buf[NUM_MAX]) {
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, NUM_MAX, "%.*g", prec, v);
    if (strtod(buf, NULL) == v)
      break;
  }
  return buf;
}

void oc_gen_put_csv(FILE *f, const char *s) {
  if (!strpbrk(s, ",\"\r\n")) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"')
      fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

static void put_json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c == '\t')
      fputs("\\t", f);
    else if (c < 0x20)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

void oc_gen_write_csv_identity(FILE *f, const oc_fact_id_t *id) {
  char date[11];
  oc_date_format(id->period_start, date);
  oc_gen_put_csv(f, id->org_id);
  fputc(',', f);
  oc_gen_put_csv(f, id->facility_id);
  fputc(',', f);
  oc_gen_put_csv(f, id->metric);
  fprintf(f, ",%s,%s", oc_grain_name(id->grain), date);
}

void oc_gen_write_csv_row(FILE *f, const oc_observation_t *obs) {
  char a[NUM_MAX], ts[32];

  oc_gen_write_csv_identity(f, &obs->id);
  fprintf(f, ",%s,", oc_gen_fmt_num(obs->value, a));
  if (obs->has_numerator)
    fputs(oc_gen_fmt_num(obs->numerator, a), f);
  fputc(',', f);
  if (obs->has_denominator)
    fputs(oc_gen_fmt_num(obs->denominator, a), f);
  fputc(',', f);
  oc_gen_put_csv(f, obs->source);
  oc_timestamp_format(obs->observed_at, ts);
  fprintf(f, ",%s\n", ts);
}

void oc_gen_write_jsonl_row(FILE *f, const oc_observation_t *obs) {
  char a[NUM_MAX], ts[32], date[11];

  fputs("{\"org_id\":", f);
  put_json_str(f, obs->id.org_id);
  if (obs->id.facility_id[0]) {
    fputs(",\"facility_id\":", f);
    put_json_str(f, obs->id.facility_id);
  }
  fputs(",\"metric\":", f);
  put_json_str(f, obs->id.metric);
  oc_date_format(obs->id.period_start, date);
  fprintf(f, ",\"grain\":\"%s\",\"period_start\":\"%s\",\"value\":%s", oc_grain_name(obs->id.grain),
          date, oc_gen_fmt_num(obs->value, a));
  if (obs->has_numerator)
    fprintf(f, ",\"numerator\":%s", oc_gen_fmt_num(obs->numerator, a));
  if (obs->has_denominator)
    fprintf(f, ",\"denominator\":%s", oc_gen_fmt_num(obs->denominator, a));
  fputs(",\"source\":", f);
  put_json_str(f, obs->source);
  oc_timestamp_format(obs->observed_at, ts);
  fprintf(f, ",\"observed_at\":\"%s\"}\n", ts);
}

/* ---- directory ------------------------------------------------------ */

static int open_in(const char *dir, const char *name, FILE **out, oc_err_t *err) {
  char path[4096];

  if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
    return oc_err_set(err, OC_ERR_USAGE, "path too long: '%s/%s'", dir, name);
  if (!(*out = fopen(path, "w")))
    return oc_err_set(err, OC_ERR_IO, "open '%s': %s", path, strerror(errno));
  return 0;
}

static int close_in(const char *dir, const char *name, FILE **f, oc_err_t *err) {
  int bad = *f && fclose(*f) != 0;

  *f = NULL;
  if (bad)
    return oc_err_set(err, OC_ERR_IO, "close '%s/%s': %s", dir, name, strerror(errno));
  return 0;
}

static void write_manifest(FILE *f, const oc_gen_opts_t *o, unsigned orgs, const char *stream,
                           const oc_gen_stats_t *st) {
  char date[11], a[NUM_MAX], b[NUM_MAX], c[NUM_MAX], d[NUM_MAX], e[NUM_MAX], g[NUM_MAX];

  fprintf(f,
          "# outcomes-gen manifest: publish %s in file order as one stream, then\n"
          "# retract.csv (tombstones); the standing facts are then expected_facts.csv.\n",
          stream);
  fprintf(f, "stream=%s\nformat=%s\nseed=%" PRIu64 "\norgs=%u\nfacilities=%u\norg_level=%d\n",
          stream, o->format == OC_GEN_JSONL ? "jsonl" : "csv", o->seed, orgs, o->facilities,
          o->org_level ? 1 : 0);
  fprintf(f, "metrics=%s\ngrains=", o->metrics ? o->metrics : "(catalog)");
  for (int gr = 0, first = 1; gr < OC_GRAIN_COUNT; gr++)
    if ((o->grains ? o->grains : 1u << OC_GRAIN_MONTH) & (1u << gr)) {
      fprintf(f, "%s%s", first ? "" : ",", oc_grain_name((oc_grain_t)gr));
      first = 0;
    }
  oc_date_format(o->start, date);
  fprintf(f, "\nstart=%s\nperiods=%u\n", date, o->periods);
  fprintf(f,
          "share.duplicates=%s\nshare.restatements=%s\nshare.late=%s\n"
          "share.ties=%s\nshare.tombstones=%s\nshare.invalid=%s\n",
          oc_gen_fmt_num(o->duplicates, a), oc_gen_fmt_num(o->restatements, b),
          oc_gen_fmt_num(o->late, c), oc_gen_fmt_num(o->ties, d), oc_gen_fmt_num(o->tombstones, e),
          oc_gen_fmt_num(o->invalid, g));
  fprintf(f,
          "identities=%" PRIu64 "\nrows=%" PRIu64 "\nvalid_rows=%" PRIu64 "\n"
          "restated_identities=%" PRIu64 "\nrestatements=%" PRIu64 "\nties=%" PRIu64 "\n"
          "late=%" PRIu64 "\nduplicates=%" PRIu64 "\ninvalid=%" PRIu64 "\n",
          st->identities, st->rows, st->rows - st->invalid, st->restated, st->restatements,
          st->ties, st->late, st->duplicates, st->invalid);
  for (int i = 0; i < OC_GEN_INVALID_KINDS; i++)
    fprintf(f, "invalid.%s=%" PRIu64 "\n", oc_gen_invalid_name((oc_gen_invalid_t)i),
            st->invalid_by_kind[i]);
  fprintf(f, "tombstones=%" PRIu64 "\nfacts=%" PRIu64 "\n", st->tombstones, st->facts);
}

int oc_gen_write_dir(const oc_gen_opts_t *opts, const oc_catalog_t *cat, const char *dir,
                     oc_gen_stats_t *stats, oc_err_t *err) {
  const char *stream = opts->format == OC_GEN_JSONL ? "stream.jsonl" : "stream.csv";
  oc_gen_sinks_t k = {NULL, NULL, NULL, NULL};
  FILE *manifest = NULL;
  oc_gen_stats_t st;
  unsigned orgs = 0;
  int rc;

  if ((rc = oc_gen_check(opts, cat, &orgs, err)) < 0)
    goto out;
  if ((rc = open_in(dir, stream, &k.stream, err)) < 0 ||
      (rc = open_in(dir, "retract.csv", &k.retract, err)) < 0 ||
      (rc = open_in(dir, "expected_facts.csv", &k.facts, err)) < 0 ||
      (rc = open_in(dir, "expected_invalid.csv", &k.invalid, err)) < 0 ||
      (rc = open_in(dir, "manifest.txt", &manifest, err)) < 0)
    goto out;
  if ((rc = oc_gen_run(opts, cat, &k, &st, err)) < 0)
    goto out;
  write_manifest(manifest, opts, orgs, stream, &st);
  if ((rc = close_in(dir, stream, &k.stream, err)) < 0 ||
      (rc = close_in(dir, "retract.csv", &k.retract, err)) < 0 ||
      (rc = close_in(dir, "expected_facts.csv", &k.facts, err)) < 0 ||
      (rc = close_in(dir, "expected_invalid.csv", &k.invalid, err)) < 0 ||
      (rc = close_in(dir, "manifest.txt", &manifest, err)) < 0)
    goto out;
  if (stats)
    *stats = st;
out:
  if (k.stream)
    fclose(k.stream);
  if (k.retract)
    fclose(k.retract);
  if (k.facts)
    fclose(k.facts);
  if (k.invalid)
    fclose(k.invalid);
  if (manifest)
    fclose(manifest);
  return rc;
}
