/*
 * input.c - CSV and JSON Lines rows into validated observations (input.h);
 * FHIR input is read by fhir_input.c, chosen here.
 *
 * Both formats go through one mapping: each row yields, per record field,
 * either nothing (absent) or a byte string; set_field() parses it into the
 * observation, in the record's field order so that the first error
 * reported is the same whatever the column order.
 */
#include "outcomes/input.h"

#include <errno.h>
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "input_internal.h"
#include "outcomes/fhir.h"
#include "outcomes/csv.h"
#include "outcomes/date.h"

enum {
  COL_ORG = 0,
  COL_FACILITY,
  COL_METRIC,
  COL_GRAIN,
  COL_PERIOD,
  COL_VALUE,
  COL_NUMERATOR,
  COL_DENOMINATOR,
  COL_SOURCE,
  COL_OBSERVED,
  COL_COUNT
};

static const char *const col_names[COL_COUNT] = {
    "org_id", "facility_id", "metric",      "grain",  "period_start",
    "value",  "numerator",   "denominator", "source", "observed_at",
};

#define BIT(c) (1u << (c))
#define IDENTITY_COLS \
  (BIT(COL_ORG) | BIT(COL_FACILITY) | BIT(COL_METRIC) | BIT(COL_GRAIN) | BIT(COL_PERIOD))
#define ALL_COLS ((1u << COL_COUNT) - 1)
#define REQUIRED_COLS \
  (BIT(COL_ORG) | BIT(COL_METRIC) | BIT(COL_GRAIN) | BIT(COL_PERIOD) | BIT(COL_VALUE) | \
   BIT(COL_SOURCE))
#define REQUIRED_RETRACT (REQUIRED_COLS & IDENTITY_COLS)

struct oc_input_s {
  FILE *in; /* borrowed */
  oc_input_format_t fmt;
  unsigned flags;
  const oc_catalog_t *cat; /* borrowed, may be NULL */
  oc_timestamp_t default_observed_at;
  unsigned allowed, required;

  /* CSV */
  oc_csv_t *csv;
  int col_of[COL_COUNT];                   /* CSV column index of each field, or -1 */
  size_t ncols;                            /* columns in the header */
  const char *hdr_name[OC_CSV_FIELDS_MAX]; /* column names, for errors */
  char *hdr_names;                         /* storage of hdr_name */

  /* JSON Lines */
  oc_lines_t lines;
  bool pending;      /* lines.buf holds a line read to tell JSON Lines from FHIR */
  bool pending_over; /* that line was longer than a row may be */
  size_t pending_len;

  /* FHIR */
  oc_fhir_reader_t *fhir;
};

/* One field's text for set_field(): s == NULL means absent. */
typedef struct {
  const char *s;
  size_t len;
} field_text_t;

int oc_input_format_from_name(const char *name, oc_input_format_t *out, oc_err_t *err) {
  if (strcmp(name, "csv") == 0)
    *out = OC_INPUT_CSV;
  else if (strcmp(name, "jsonl") == 0 || strcmp(name, "ndjson") == 0)
    *out = OC_INPUT_JSONL;
  else if (strcmp(name, "fhir") == 0)
    *out = OC_INPUT_FHIR;
  else
    return oc_err_set(err, OC_ERR_USAGE, "unknown format '%s' (csv, jsonl or fhir)", name);
  return 0;
}

int oc_input_format_from_path(const char *path, oc_input_format_t *out, oc_err_t *err) {
  const char *dot = strrchr(path, '.');
  const char *slash = strrchr(path, '/');

  if (dot && (!slash || dot > slash)) {
    if (strcasecmp(dot, ".csv") == 0) {
      *out = OC_INPUT_CSV;
      return 0;
    }
    if (strcasecmp(dot, ".jsonl") == 0 || strcasecmp(dot, ".ndjson") == 0) {
      *out = OC_INPUT_JSON_LINES_ANY;
      return 0;
    }
    if (strcasecmp(dot, ".json") == 0) {
      *out = OC_INPUT_FHIR;
      return 0;
    }
  }
  return oc_err_set(err, OC_ERR_USAGE,
                    "'%s': cannot tell the format from the name (.csv, .jsonl, .ndjson, .json): "
                    "use --format",
                    path);
}

static int col_from_name(const char *s, size_t len) {
  for (int c = 0; c < COL_COUNT; c++)
    if (strlen(col_names[c]) == len && memcmp(col_names[c], s, len) == 0)
      return c;
  return -1;
}

/* ---- field parsing ---------------------------------------------------- */

/* Powers of ten that a double holds exactly. */
static const double exact_pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* The common case without strtod: [+-]digits[.digits] whose digits, point
 * removed, are below 2^53, with at most 22 after the point. The significand
 * and the power of ten are then exact doubles, and one IEEE division rounds
 * their quotient correctly: the double strtod returns (Clinger's fast path).
 * False for anything else, which strtod then reads. */
static bool fast_decimal(const char *s, size_t len, double *out) {
#if FLT_EVAL_METHOD == 0
  const uint64_t limit = UINT64_C(1) << 53;
  uint64_t m = 0;
  size_t i = 0, ndigits = 0, nfrac = 0;
  bool point = false, neg = false;

  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    i = 1;
  }
  for (; i < len; i++) {
    char c = s[i];
    if (c >= '0' && c <= '9') {
      m = m * 10 + (uint64_t)(c - '0');
      if (m >= limit)
        return false;
      ndigits++;
      nfrac += point;
    } else if (c == '.' && !point) {
      point = true;
    } else {
      return false;
    }
  }
  if (ndigits == 0 || nfrac >= sizeof(exact_pow10) / sizeof(exact_pow10[0]))
    return false;
  double v = (double)m / exact_pow10[nfrac];
  *out = neg ? -v : v;
  return true;
#else
  (void)s;
  (void)len;
  (void)out;
  return false;
#endif
}

/* Strict decimal number: what strtod reads, but no spaces, hex, inf, nan. */
static int parse_number(int col, const char *s, size_t len, double *out, oc_err_t *err) {
  char q[80];
  char tmp[128];
  char *end = NULL;

  if (len == 0 || len >= sizeof(tmp))
    goto bad;
  if (fast_decimal(s, len, out)) /* its bytes are all in the set below */
    return 0;
  if (strspn(s, "0123456789+-.eE") != len)
    goto bad;
  memcpy(tmp, s, len);
  tmp[len] = '\0';
  errno = 0;
  *out = strtod(tmp, &end);
  if (end != tmp + len || errno == ERANGE)
    goto bad;
  return 0;
bad:
  return oc_err_set(err, OC_ERR_BAD_FIELD, "%s: '%s' is not a number", col_names[col],
                    oc_utf8_quote(s, len, q, sizeof(q)));
}

/* Copy an id-like field into dst (OC_ID_MAX + 1 bytes). Text that cannot be
 * held (too long, an embedded NUL) fails here with oc_id_check's message;
 * the rest is left to oc_observation_validate(). */
static int set_id(int col, const char *s, size_t len, char *dst, oc_err_t *err) {
  if (len > OC_ID_MAX || memchr(s, '\0', len)) {
    int rc = oc_id_check(col_names[col], s, len, err);
    return rc < 0 ? rc : oc_err_set(err, OC_ERR_BAD_FIELD, "%s: invalid", col_names[col]);
  }
  memcpy(dst, s, len);
  dst[len] = '\0';
  return 0;
}

/* A field's text as a C string for the date/grain/timestamp parsers, which
 * need one; refuses an embedded NUL. */
static int cstr(int col, const char *s, size_t len, char *buf, size_t cap, oc_err_t *err) {
  char q[80];

  if (len >= cap || memchr(s, '\0', len))
    return oc_err_set(err, OC_ERR_BAD_FIELD, "%s: '%s' is not valid", col_names[col],
                      oc_utf8_quote(s, len, q, sizeof(q)));
  memcpy(buf, s, len);
  buf[len] = '\0';
  return 0;
}

static int set_field(oc_input_t *in, int col, field_text_t t, oc_observation_t *obs,
                     oc_err_t *err) {
  char buf[128];
  char q[80];
  int rc;

  if (!t.s) {
    if (in->required & BIT(col))
      return oc_err_set(err, OC_ERR_BAD_FIELD, "%s: missing", col_names[col]);
    return 0;
  }
  switch (col) {
  case COL_ORG: return set_id(col, t.s, t.len, obs->id.org_id, err);
  case COL_FACILITY: return set_id(col, t.s, t.len, obs->id.facility_id, err);
  case COL_SOURCE: return set_id(col, t.s, t.len, obs->source, err);
  case COL_METRIC:
    if (t.len > OC_METRIC_CODE_MAX || memchr(t.s, '\0', t.len))
      return oc_err_set(err, in->cat ? OC_ERR_UNKNOWN_METRIC : OC_ERR_BAD_FIELD,
                        "metric: unknown metric '%s'", oc_utf8_quote(t.s, t.len, q, sizeof(q)));
    memcpy(obs->id.metric, t.s, t.len);
    obs->id.metric[t.len] = '\0';
    return 0;
  case COL_GRAIN:
    if ((rc = cstr(col, t.s, t.len, buf, sizeof(buf), err)) < 0)
      return rc;
    if ((rc = oc_grain_from_name(buf, &obs->id.grain, err)) < 0)
      return oc_err_prefix(err, "grain: ");
    return 0;
  case COL_PERIOD:
    if ((rc = cstr(col, t.s, t.len, buf, sizeof(buf), err)) < 0)
      return rc;
    if ((rc = oc_date_parse(buf, &obs->id.period_start, err)) < 0)
      return oc_err_prefix(err, "period_start: ");
    return 0;
  case COL_VALUE: return parse_number(col, t.s, t.len, &obs->value, err);
  case COL_NUMERATOR:
    obs->has_numerator = true;
    return parse_number(col, t.s, t.len, &obs->numerator, err);
  case COL_DENOMINATOR:
    obs->has_denominator = true;
    return parse_number(col, t.s, t.len, &obs->denominator, err);
  case COL_OBSERVED:
    if ((rc = cstr(col, t.s, t.len, buf, sizeof(buf), err)) < 0)
      return rc;
    if ((rc = oc_timestamp_parse(buf, &obs->observed_at, err)) < 0)
      return oc_err_prefix(err, "observed_at: ");
    return 0;
  }
  return oc_err_set(err, OC_ERR_INTERNAL, "bad column %d", col);
}

/* Identity checks for a retraction (oc_observation_validate needs a whole
 * observation). */
static int validate_identity(const oc_input_t *in, const oc_fact_id_t *id, oc_err_t *err) {
  char d[11], q[80];
  int rc;

  if ((rc = oc_id_check("org_id", id->org_id, strlen(id->org_id), err)) < 0)
    return rc;
  if (id->facility_id[0] &&
      (rc = oc_id_check("facility_id", id->facility_id, strlen(id->facility_id), err)) < 0)
    return rc;
  if (!id->metric[0])
    return oc_err_set(err, OC_ERR_BAD_FIELD, "metric: must not be empty");
  if (in->cat && !oc_catalog_find(in->cat, id->metric))
    return oc_err_set(err, OC_ERR_UNKNOWN_METRIC, "metric: unknown metric '%s'",
                      oc_utf8_quote(id->metric, strlen(id->metric), q, sizeof(q)));
  if (!oc_period_is_aligned(id->grain, id->period_start)) {
    oc_date_format(id->period_start, d);
    return oc_err_set(err, OC_ERR_MISALIGNED, "period_start: %s is not the start of a %s", d,
                      oc_grain_name(id->grain));
  }
  return 0;
}

/* Map the fields of one row (texts[col]) and validate the result. */
static int map_row(oc_input_t *in, const field_text_t texts[COL_COUNT], oc_observation_t *obs,
                   oc_err_t *err) {
  int rc;

  memset(obs, 0, sizeof(*obs));
  obs->observed_at = in->default_observed_at;
  for (int c = 0; c < COL_COUNT; c++)
    if ((rc = set_field(in, c, texts[c], obs, err)) < 0)
      return rc;
  if (in->flags & OC_INPUT_RETRACT)
    return validate_identity(in, &obs->id, err);
  if (in->cat)
    return oc_observation_validate(obs, in->cat, err);
  return 0;
}

/* ---- CSV -------------------------------------------------------------- */

/* Room for one unknown column's name in the header error: a short escaped
 * prefix (24 bytes and "..."), since the "header" may be any file's first
 * line. */
#define HEADER_QUOTE_MAX 28

static int csv_header(oc_input_t *in, oc_err_t *err) {
  char list[400];
  char q[HEADER_QUOTE_MAX];
  size_t used = 0;
  int rc;
  unsigned seen = 0;

  for (int c = 0; c < COL_COUNT; c++)
    in->col_of[c] = -1;
  rc = oc_csv_next(in->csv, err);
  if (rc == 0)
    return oc_err_set(err, OC_ERR_BAD_FIELD, "line 1: no header row");
  if (rc < 0) {
    if (rc == OC_ERR_IO)
      return rc;
    return oc_err_prefix(err, "line %ld: header: ", oc_csv_line(in->csv));
  }
  in->ncols = oc_csv_count(in->csv);

  size_t total = 0;
  for (size_t i = 0; i < in->ncols; i++) {
    size_t len;
    oc_csv_field(in->csv, i, &len);
    total += len + 1;
  }
  in->hdr_names = malloc(total ? total : 1);
  if (!in->hdr_names)
    return oc_err_set(err, OC_ERR_NOMEM, "out of memory");

  /* Unknown columns first (all named), then duplicates, then missing. */
  list[0] = '\0';
  char *p = in->hdr_names;
  int unknown = 0;
  for (size_t i = 0; i < in->ncols; i++) {
    size_t len;
    const char *s = oc_csv_field(in->csv, i, &len);
    memcpy(p, s, len + 1);
    in->hdr_name[i] = p;
    p += len + 1;
    int c = col_from_name(s, len);
    if (c < 0 || !(in->allowed & BIT(c))) {
      unknown++;
      used += (size_t)snprintf(list + used, used < sizeof(list) ? sizeof(list) - used : 0, "%s'%s'",
                               unknown > 1 ? ", " : "", oc_utf8_quote(s, len, q, sizeof(q)));
      if (used >= sizeof(list))
        used = sizeof(list) - 1;
      continue;
    }
    if (seen & BIT(c))
      return oc_err_set(err, OC_ERR_BAD_FIELD, "line %ld: duplicate column '%s'",
                        oc_csv_line(in->csv), col_names[c]);
    seen |= BIT(c);
    in->col_of[c] = (int)i;
  }
  if (unknown)
    return oc_err_set(err, OC_ERR_BAD_FIELD, "line %ld: unknown column%s %s", oc_csv_line(in->csv),
                      unknown > 1 ? "s" : "", list);
  if ((seen & in->required) != in->required) {
    int missing = 0;
    used = 0;
    for (int c = 0; c < COL_COUNT; c++) {
      if (!(in->required & BIT(c)) || (seen & BIT(c)))
        continue;
      missing++;
      used += (size_t)snprintf(list + used, sizeof(list) - used, "%s'%s'", missing > 1 ? ", " : "",
                               col_names[c]);
    }
    return oc_err_set(err, OC_ERR_BAD_FIELD, "line %ld: missing column%s %s", oc_csv_line(in->csv),
                      missing > 1 ? "s" : "", list);
  }
  return 0;
}

/* Nullable columns: an empty CSV field means absent. */
#define NULLABLE_COLS \
  (BIT(COL_FACILITY) | BIT(COL_NUMERATOR) | BIT(COL_DENOMINATOR) | BIT(COL_OBSERVED))

static int csv_next(oc_input_t *in, oc_observation_t *obs, long *line_out, oc_err_t *err) {
  field_text_t texts[COL_COUNT];
  int rc = oc_csv_next(in->csv, err);

  if (line_out)
    *line_out = oc_csv_line(in->csv);
  if (rc == 0)
    return 0;
  if (rc < 0) {
    if (rc == OC_ERR_IO) {
      err->fatal = true;
      return rc;
    }
    long bad = oc_csv_bad_field(in->csv);
    if (bad >= 0 && (size_t)bad < in->ncols)
      return oc_err_prefix(err, "%s: ", in->hdr_name[bad]);
    return oc_err_prefix(err, "row: ");
  }
  size_t n = oc_csv_count(in->csv);
  if (n != in->ncols)
    return oc_err_set(err, OC_ERR_BAD_FIELD, "row: %zu field%s, the header has %zu", n,
                      n == 1 ? "" : "s", in->ncols);
  for (int c = 0; c < COL_COUNT; c++) {
    texts[c].s = NULL;
    texts[c].len = 0;
    if (in->col_of[c] < 0)
      continue;
    texts[c].s = oc_csv_field(in->csv, (size_t)in->col_of[c], &texts[c].len);
    if (texts[c].len == 0 && ((NULLABLE_COLS & BIT(c)) || (in->required & BIT(c))))
      texts[c].s = NULL; /* absent, or "missing" when required */
  }
  rc = map_row(in, texts, obs, err);
  return rc < 0 ? rc : 1;
}

/* ---- JSON Lines ------------------------------------------------------- */

int oc_lines_read(oc_lines_t *l, size_t max, size_t *len, oc_err_t *err) {
  size_t n = 0;
  bool over = false;
  int c;

  if (!l->buf) {
    if (!(l->buf = malloc(4096)))
      return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
    l->cap = 4096;
  }
  for (;;) {
    c = getc(l->f);
    if (c == EOF) {
      if (ferror(l->f))
        return oc_err_set(err, OC_ERR_IO, "read: %s", strerror(errno ? errno : EIO));
      if (n == 0 && !over)
        return 0;
      break;
    }
    if (c == '\n')
      break;
    if (over)
      continue;
    if (n >= max) {
      over = true;
      continue;
    }
    if (n + 1 >= l->cap) {
      size_t cap = l->cap * 2;
      char *nl = realloc(l->buf, cap);
      if (!nl)
        return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
      l->buf = nl;
      l->cap = cap;
    }
    l->buf[n++] = (char)c;
  }
  l->lineno++;
  if (over)
    return oc_err_set(err, OC_ERR_LIMIT, "row: line longer than %zu bytes", max);
  if (n > 0 && l->buf[n - 1] == '\r')
    n--;
  if (l->lineno == 1 && n >= 3 && memcmp(l->buf, "\xEF\xBB\xBF", 3) == 0) {
    memmove(l->buf, l->buf + 3, n - 3);
    n -= 3;
  }
  l->buf[n] = '\0';
  *len = n;
  return 1;
}

/* The next line of JSON Lines: the one read to tell the format, then
 * the file's. */
static int read_line(oc_input_t *in, size_t *len, oc_err_t *err) {
  if (in->pending_over) {
    in->pending_over = false;
    return oc_err_set(err, OC_ERR_LIMIT, "row: line longer than %zu bytes",
                      OC_INPUT_JSONL_LINE_MAX);
  }
  if (in->pending) {
    in->pending = false;
    *len = in->pending_len;
    return 1;
  }
  return oc_lines_read(&in->lines, OC_INPUT_JSONL_LINE_MAX, len, err);
}

/* The text of a JSON value for set_field(): strings as they are, numbers
 * printed back exactly, null as absent. nbuf holds a number's text. */
static int json_text(int col, json_t *v, char *nbuf, size_t cap, field_text_t *t, oc_err_t *err) {
  t->s = NULL;
  t->len = 0;
  if (!v || json_is_null(v))
    return 0;
  if (json_is_string(v)) {
    t->s = json_string_value(v);
    t->len = json_string_length(v);
    return 0;
  }
  if (json_is_number(v) && (col == COL_VALUE || col == COL_NUMERATOR || col == COL_DENOMINATOR)) {
    double d = json_number_value(v);
    int n = snprintf(nbuf, cap, "%.17g", d);
    t->s = nbuf;
    t->len = (size_t)n;
    return 0;
  }
  return oc_err_set(err, OC_ERR_BAD_FIELD, "%s: must be a %s", col_names[col],
                    (col == COL_VALUE || col == COL_NUMERATOR || col == COL_DENOMINATOR)
                        ? "number or a string"
                        : "string");
}

static int jsonl_next(oc_input_t *in, oc_observation_t *obs, long *line_out, oc_err_t *err) {
  field_text_t texts[COL_COUNT];
  char nbuf[COL_COUNT][40];
  json_error_t jerr;
  json_t *root = NULL;
  size_t len = 0;
  int rc;

  for (;;) {
    rc = read_line(in, &len, err);
    if (line_out)
      *line_out = in->lines.lineno;
    if (rc == OC_ERR_IO || rc == OC_ERR_NOMEM) {
      err->fatal = true;
      return rc;
    }
    if (rc <= 0)
      return rc;
    if (strspn(in->lines.buf, " \t") != len)
      break; /* not blank */
  }
  root = json_loadb(in->lines.buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &jerr);
  if (!root) {
    rc = oc_err_set(err, OC_ERR_BAD_FIELD, "row: invalid JSON at column %d: %s", jerr.column,
                    jerr.text);
    goto out;
  }
  if (!json_is_object(root)) {
    rc = oc_err_set(err, OC_ERR_BAD_FIELD, "row: not a JSON object");
    goto out;
  }
  const char *key;
  json_t *v;
  json_object_foreach(root, key, v) {
    int c = col_from_name(key, strlen(key));
    if (c < 0 || !(in->allowed & BIT(c))) {
      char q[80];
      rc = oc_err_set(err, OC_ERR_BAD_FIELD, "%s: unknown field",
                      oc_utf8_quote(key, strlen(key), q, sizeof(q)));
      goto out;
    }
  }
  for (int c = 0; c < COL_COUNT; c++) {
    if ((rc = json_text(c, json_object_get(root, col_names[c]), nbuf[c], sizeof(nbuf[c]), &texts[c],
                        err)) < 0)
      goto out;
  }
  rc = map_row(in, texts, obs, err);
  if (rc == 0)
    rc = 1;
out:
  json_decref(root);
  return rc;
}

/* ---- API -------------------------------------------------------------- */

static const char retract_fhir[] =
    "retractions are read from CSV or JSON Lines: a FHIR MeasureReport carries figures";
static const char fhir_no_catalog[] = "FHIR input needs the catalog: it maps measures";

/* JSON Lines of observations, or NDJSON of FHIR resources: the first
 * non-blank line tells, by a "resourceType" key. The line is kept for the
 * reader chosen. */
static int detect_json_lines(oc_input_t *in, oc_err_t *err) {
  size_t len = 0;
  int rc;

  in->fmt = OC_INPUT_JSONL;
  for (;;) {
    /* As long as a FHIR line may be; JSON Lines' bound is applied below. */
    rc = oc_lines_read(&in->lines, OC_FHIR_DOC_MAX, &len, err);
    if (rc == OC_ERR_LIMIT) {
      in->pending_over = true;
      return 0;
    }
    if (rc <= 0)
      return rc;
    if (strspn(in->lines.buf, " \t") != len)
      break;
  }
  json_t *root = json_loadb(in->lines.buf, len, JSON_DECODE_INT_AS_REAL, NULL);
  bool fhir = json_is_string(json_object_get(root, "resourceType"));
  json_decref(root);
  if (fhir && (in->flags & OC_INPUT_RETRACT))
    return oc_err_set(err, OC_ERR_USAGE, "%s", retract_fhir);
  if (fhir && !in->cat)
    return oc_err_set(err, OC_ERR_USAGE, "%s", fhir_no_catalog);
  if (fhir) {
    in->fmt = OC_INPUT_FHIR;
    in->fhir = oc_fhir_reader_new(in->in, in->cat, in->default_observed_at, in->lines.buf, len,
                                  in->lines.lineno);
    return in->fhir ? 0 : oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  }
  if (len > OC_INPUT_JSONL_LINE_MAX)
    in->pending_over = true;
  else
    in->pending = true;
  in->pending_len = len;
  return 0;
}

int oc_input_open(FILE *f, oc_input_format_t fmt, unsigned flags, const oc_catalog_t *cat,
                  oc_timestamp_t default_observed_at, oc_input_t **out, oc_err_t *err) {
  oc_input_t *in = NULL;
  int rc = 0;

  *out = NULL;
  if (fmt != OC_INPUT_CSV && fmt != OC_INPUT_JSONL && fmt != OC_INPUT_FHIR &&
      fmt != OC_INPUT_JSON_LINES_ANY)
    return oc_err_set(err, OC_ERR_USAGE, "input format not chosen");
  if (fmt == OC_INPUT_FHIR && (flags & OC_INPUT_RETRACT))
    return oc_err_set(err, OC_ERR_USAGE, "%s", retract_fhir);
  if (fmt == OC_INPUT_FHIR && !cat)
    return oc_err_set(err, OC_ERR_USAGE, "%s", fhir_no_catalog);
  in = calloc(1, sizeof(*in));
  if (!in)
    return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  in->in = f;
  in->lines.f = f;
  in->fmt = fmt;
  in->flags = flags;
  in->cat = cat;
  in->default_observed_at = default_observed_at;
  in->allowed = (flags & OC_INPUT_RETRACT) ? IDENTITY_COLS : ALL_COLS;
  in->required = (flags & OC_INPUT_RETRACT) ? REQUIRED_RETRACT : REQUIRED_COLS;
  if (fmt == OC_INPUT_CSV) {
    in->csv = oc_csv_new(f);
    if (!in->csv) {
      rc = oc_err_set(err, OC_ERR_NOMEM, "out of memory");
      goto out;
    }
    if ((rc = csv_header(in, err)) < 0)
      goto out;
  } else if (fmt == OC_INPUT_FHIR) {
    if (!(in->fhir = oc_fhir_reader_new(f, cat, default_observed_at, NULL, 0, 0))) {
      rc = oc_err_set(err, OC_ERR_NOMEM, "out of memory");
      goto out;
    }
  } else if (fmt == OC_INPUT_JSON_LINES_ANY) {
    if ((rc = detect_json_lines(in, err)) < 0)
      goto out;
  }
  *out = in;
  in = NULL;
out:
  oc_input_destroy(in);
  return rc;
}

oc_input_format_t oc_input_format(const oc_input_t *in) { return in->fmt; }

int oc_input_next(oc_input_t *in, oc_observation_t *obs, long *line_out, oc_err_t *err) {
  oc_err_t local;

  if (!err)
    err = &local;
  oc_err_clear(err);
  if (in->fmt == OC_INPUT_CSV)
    return csv_next(in, obs, line_out, err);
  if (in->fmt == OC_INPUT_FHIR)
    return oc_fhir_reader_next(in->fhir, obs, line_out, err);
  return jsonl_next(in, obs, line_out, err);
}

void oc_input_destroy(oc_input_t *in) {
  if (!in)
    return;
  oc_csv_destroy(in->csv);
  free(in->hdr_names);
  free(in->lines.buf);
  oc_fhir_reader_destroy(in->fhir);
  free(in);
}
