/* catalog.c - the metric catalog; see include/outcomes/catalog.h.
 *
 * Metrics live in an array of heap-allocated entries (so pointers handed out
 * by oc_catalog_find stay valid while more are added), in file order, with
 * two open-addressing hash tables of indices: by code, and by measure URL
 * for the metrics that have one.
 */
#include "outcomes/catalog.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes/buf.h"

#ifndef OC_DATADIR
#define OC_DATADIR "/usr/local/share/outcomes"
#endif

#define CAT_FILE_MAX (16u * 1024u * 1024u) /* refuse absurd catalog files */

/* The columns of the file, by header name; the first OC_COL_SEED are
 * required, the rest optional. */
static const char *const cat_columns[OC_COL_COUNT] = {
    [OC_COL_CODE] = "code",
    [OC_COL_NAME] = "name",
    [OC_COL_UNIT] = "unit",
    [OC_COL_KIND] = "kind",
    [OC_COL_DIRECTION] = "direction",
    [OC_COL_MIN] = "min",
    [OC_COL_MAX] = "max",
    [OC_COL_SEED] = "seed",
    [OC_COL_DESCRIPTION] = "description",
    [OC_COL_MEASURE_URL] = "measure_url",
};

typedef struct cat_entry_s {
  oc_metric_t m;
  unsigned line; /* line in the parsed file, 0 when added directly */
} cat_entry_t;

typedef enum { BY_CODE = 0, BY_MEASURE = 1 } cat_key_t;

struct oc_catalog_s {
  cat_entry_t **v; /* file order */
  size_t n, cap;
  size_t *slots[2]; /* hash slots by cat_key_t: index + 1, 0 = empty */
  size_t nslots;    /* power of two, kept at least 2 * n */
};

/* ---- names ---------------------------------------------------------- */

const char *oc_kind_name(oc_kind_t kind) {
  switch (kind) {
  case OC_KIND_RATIO: return "ratio";
  case OC_KIND_COUNT: return "count";
  case OC_KIND_AMOUNT: return "amount";
  case OC_KIND_GAUGE: return "gauge";
  }
  return "unknown";
}

int oc_kind_from_name(const char *s, oc_kind_t *out) {
  static const oc_kind_t kinds[] = {OC_KIND_RATIO, OC_KIND_COUNT, OC_KIND_AMOUNT, OC_KIND_GAUGE};
  for (size_t i = 0; s && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
    if (strcmp(s, oc_kind_name(kinds[i])) == 0) {
      *out = kinds[i];
      return 0;
    }
  }
  return OC_ERR_CONFIG;
}

const char *oc_direction_name(oc_direction_t dir) {
  switch (dir) {
  case OC_DIR_LOWER_IS_BETTER: return "lower_is_better";
  case OC_DIR_HIGHER_IS_BETTER: return "higher_is_better";
  }
  return "unknown";
}

int oc_direction_from_name(const char *s, oc_direction_t *out) {
  if (s && strcmp(s, "lower_is_better") == 0) {
    *out = OC_DIR_LOWER_IS_BETTER;
    return 0;
  }
  if (s && strcmp(s, "higher_is_better") == 0) {
    *out = OC_DIR_HIGHER_IS_BETTER;
    return 0;
  }
  return OC_ERR_CONFIG;
}

const char *oc_metric_col_name(oc_metric_col_t col) {
  return (int)col >= 0 && col < OC_COL_COUNT ? cat_columns[col] : "?";
}

const char *oc_catalog_default_path(void) { return OC_DATADIR "/catalog.tsv"; }

/* ---- container ------------------------------------------------------ */

static uint64_t hash_bytes(const char *s, size_t n) {
  uint64_t h = 1469598103934665603u; /* FNV-1a */
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211u;
  }
  return h;
}

static const char *key_of(const cat_entry_t *e, cat_key_t k) {
  return k == BY_CODE ? e->m.code : e->m.measure_url;
}

static void entry_free(cat_entry_t *e) {
  if (!e)
    return;
  free(e->m.name);
  free(e->m.unit);
  free(e->m.seed);
  free(e->m.description);
  free(e->m.measure_url);
  free(e);
}

oc_catalog_t *oc_catalog_new(void) { return calloc(1, sizeof(oc_catalog_t)); }

void oc_catalog_destroy(oc_catalog_t *cat) {
  if (!cat)
    return;
  for (size_t i = 0; i < cat->n; i++)
    entry_free(cat->v[i]);
  free(cat->v);
  free(cat->slots[BY_CODE]);
  free(cat->slots[BY_MEASURE]);
  free(cat);
}

size_t oc_catalog_count(const oc_catalog_t *cat) { return cat ? cat->n : 0; }

const oc_metric_t *oc_catalog_at(const oc_catalog_t *cat, size_t i) {
  return cat && i < cat->n ? &cat->v[i]->m : NULL;
}

static size_t find_index(const oc_catalog_t *cat, cat_key_t k, const char *key, size_t len) {
  if (!cat || !cat->nslots || !key || len == 0)
    return SIZE_MAX;
  size_t mask = cat->nslots - 1;
  for (size_t s = (size_t)hash_bytes(key, len) & mask;; s = (s + 1) & mask) {
    size_t ix = cat->slots[k][s];
    if (ix == 0)
      return SIZE_MAX;
    const char *have = key_of(cat->v[ix - 1], k);
    if (strncmp(have, key, len) == 0 && have[len] == '\0')
      return ix - 1;
  }
}

const oc_metric_t *oc_catalog_find(const oc_catalog_t *cat, const char *code) {
  size_t ix = code ? find_index(cat, BY_CODE, code, strlen(code)) : SIZE_MAX;
  return ix == SIZE_MAX ? NULL : &cat->v[ix]->m;
}

const oc_metric_t *oc_catalog_find_measure(const oc_catalog_t *cat, const char *url, size_t len) {
  size_t ix = url && !memchr(url, '\0', len) ? find_index(cat, BY_MEASURE, url, len) : SIZE_MAX;
  return ix == SIZE_MAX ? NULL : &cat->v[ix]->m;
}

static void slot_insert(size_t *slots, size_t nslots, const char *key, size_t ix) {
  size_t mask = nslots - 1;
  size_t s = (size_t)hash_bytes(key, strlen(key)) & mask;
  while (slots[s] != 0)
    s = (s + 1) & mask;
  slots[s] = ix + 1;
}

static void index_entry(oc_catalog_t *cat, size_t ix) {
  const cat_entry_t *e = cat->v[ix];
  slot_insert(cat->slots[BY_CODE], cat->nslots, e->m.code, ix);
  if (e->m.measure_url[0])
    slot_insert(cat->slots[BY_MEASURE], cat->nslots, e->m.measure_url, ix);
}

/* Make room for one more entry: grow the array and, past half load, rehash
 * into tables twice the size. */
static int reserve_one(oc_catalog_t *cat, oc_err_t *err) {
  if (cat->n == cat->cap) {
    size_t ncap = cat->cap ? cat->cap * 2 : 32;
    cat_entry_t **nv = realloc(cat->v, ncap * sizeof(*nv));
    if (!nv)
      return oc_err_set(err, OC_ERR_NOMEM, "catalog: out of memory");
    cat->v = nv;
    cat->cap = ncap;
  }
  if (2 * (cat->n + 1) > cat->nslots) {
    size_t nslots = cat->nslots ? cat->nslots * 2 : 64;
    size_t *by_code = calloc(nslots, sizeof(*by_code));
    size_t *by_measure = calloc(nslots, sizeof(*by_measure));
    if (!by_code || !by_measure) {
      free(by_code);
      free(by_measure);
      return oc_err_set(err, OC_ERR_NOMEM, "catalog: out of memory");
    }
    free(cat->slots[BY_CODE]);
    free(cat->slots[BY_MEASURE]);
    cat->slots[BY_CODE] = by_code;
    cat->slots[BY_MEASURE] = by_measure;
    cat->nslots = nslots;
    for (size_t i = 0; i < cat->n; i++)
      index_entry(cat, i);
  }
  return 0;
}

/* ---- validation ----------------------------------------------------- */

/* Bytes of a metric code after the first: [a-z0-9_]. Runs per record (in
 * the key codec): a table, not three comparisons a byte. */
static const bool code_tail[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
    ['8'] = 1, ['9'] = 1, ['_'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1,
    ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1,
    ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

bool oc_metric_code_valid(const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  bool ok = true;

  if (n == 0 || n > OC_METRIC_CODE_MAX || !(s[0] >= 'a' && s[0] <= 'z'))
    return false;
  for (size_t i = 1; i < n; i++)
    ok &= code_tail[u[i]];
  return ok;
}

bool oc_unit_valid(const char *s) {
  char close = 0; /* ']' or '}' inside brackets or an annotation */
  size_t n, inside = 0;
  int parens = 0;

  if (!s)
    return false;
  for (n = 0; s[n]; n++) {
    char c = s[n];
    if (n >= OC_UNIT_MAX || c < 0x21 || c > 0x7e)
      return false;
    if (close) {
      if (c == close) {
        if (inside == 0)
          return false; /* "[]" or "{}" */
        close = 0;
      } else if (c == '[' || c == '{' || c == ']' || c == '}') {
        return false; /* nothing nests in brackets or annotations */
      } else {
        inside++;
      }
      continue;
    }
    if (c == '[' || c == '{') {
      close = c == '[' ? ']' : '}';
      inside = 0;
    } else if (c == ']' || c == '}') {
      return false;
    } else if (c == '(') {
      parens++;
    } else if (c == ')' && --parens < 0) {
      return false;
    }
  }
  return n > 0 && !close && parens == 0;
}

/* "http://" or "https://", a host of [A-Za-z0-9.-], an optional port, an
 * optional path of printable ASCII: an absolute URL, with no '|' (the
 * separator of a canonical URL's version). */
bool oc_measure_url_valid(const char *s, size_t len) {
  size_t i, host;

  if (!s || len > OC_MEASURE_URL_MAX || memchr(s, '\0', len))
    return false;
  if (len >= 7 && memcmp(s, "http://", 7) == 0)
    i = 7;
  else if (len >= 8 && memcmp(s, "https://", 8) == 0)
    i = 8;
  else
    return false;
  for (host = i; i < len && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                             (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '-');
       i++)
    ;
  if (i == host)
    return false;
  if (i < len && s[i] == ':') {
    size_t port = ++i;
    while (i < len && s[i] >= '0' && s[i] <= '9' && i - port < 5)
      i++;
    if (i == port)
      return false;
  }
  if (i < len && s[i] != '/')
    return false;
  for (; i < len; i++)
    if (s[i] < 0x21 || s[i] > 0x7e || s[i] == '|')
      return false;
  return true;
}

/* Strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF) and no ASCII
 * control characters: text columns go to PostgreSQL and into reports. */
static bool text_valid(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    unsigned c = *p;
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f)
        return false;
      p++;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      n = 1, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    for (size_t i = 1; i <= n; i++) {
      if ((p[i] & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    p += n + 1;
  }
  return true;
}

static int check_text(const char *col, const char *v, bool required, oc_err_t *err) {
  if (!v && !required)
    return 0; /* stored as "" */
  if (!v || (required && !*v))
    return oc_err_set(err, OC_ERR_CONFIG, "%s: must not be empty", col);
  if (!text_valid(v))
    return oc_err_set(err, OC_ERR_CONFIG,
                      "%s: not valid UTF-8 text (or contains a control character)", col);
  return 0;
}

static int check_measure_url(const char *url, oc_err_t *err) {
  size_t len = url ? strlen(url) : 0;
  if (len == 0 || oc_measure_url_valid(url, len))
    return 0;
  if (memchr(url, '|', len) &&
      oc_measure_url_valid(url, (size_t)((char *)memchr(url, '|', len) - url)))
    return oc_err_set(err, OC_ERR_CONFIG,
                      "measure_url: '%.200s' has a version suffix: give the canonical URL "
                      "without '|version'",
                      url);
  return oc_err_set(err, OC_ERR_CONFIG,
                    "measure_url: not an absolute http(s) URL '%.200s' (printable ASCII, at "
                    "most %d bytes)",
                    url, OC_MEASURE_URL_MAX);
}

static int metric_check(const oc_metric_t *m, oc_err_t *err) {
  int rc;

  if (!oc_metric_code_valid(m->code, strlen(m->code)))
    return oc_err_set(err, OC_ERR_CONFIG,
                      "code: invalid code '%.80s' (expected [a-z][a-z0-9_]*, at most %d bytes)",
                      m->code, OC_METRIC_CODE_MAX);
  if ((rc = check_text("name", m->name, true, err)) < 0)
    return rc;
  if (!m->unit || !*m->unit)
    return oc_err_set(err, OC_ERR_CONFIG, "unit: must not be empty");
  if (!oc_unit_valid(m->unit))
    return oc_err_set(err, OC_ERR_CONFIG,
                      "unit: not a UCUM code '%.80s' (printable ASCII without spaces, at most %d "
                      "bytes, [] and {} and () balanced)",
                      m->unit, OC_UNIT_MAX);
  if (strcmp(oc_kind_name(m->kind), "unknown") == 0)
    return oc_err_set(err, OC_ERR_CONFIG, "kind: invalid kind %d", (int)m->kind);
  if (strcmp(oc_direction_name(m->direction), "unknown") == 0)
    return oc_err_set(err, OC_ERR_CONFIG, "direction: invalid direction %d", (int)m->direction);
  if (!isfinite(m->min))
    return oc_err_set(err, OC_ERR_CONFIG, "min: must be a finite number");
  if (!isfinite(m->max))
    return oc_err_set(err, OC_ERR_CONFIG, "max: must be a finite number");
  if (m->min > m->max)
    return oc_err_set(err, OC_ERR_CONFIG, "max: %.17g is less than min %.17g", m->max, m->min);
  if ((rc = check_text("seed", m->seed, false, err)) < 0 ||
      (rc = check_text("description", m->description, false, err)) < 0)
    return rc;
  return check_measure_url(m->measure_url, err);
}

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

static int catalog_add_line(oc_catalog_t *cat, const oc_metric_t *m, unsigned line, oc_err_t *err) {
  cat_entry_t *e = NULL;
  const oc_metric_t *other;
  int rc;

  if (!cat || !m)
    return oc_err_set(err, OC_ERR_USAGE, "catalog: NULL argument");
  if ((rc = metric_check(m, err)) < 0)
    return rc;
  if (oc_catalog_find(cat, m->code))
    return oc_err_set(err, OC_ERR_CONFIG, "code: duplicate code '%s'", m->code);
  if (m->measure_url && *m->measure_url &&
      (other = oc_catalog_find_measure(cat, m->measure_url, strlen(m->measure_url))))
    return oc_err_set(err, OC_ERR_CONFIG,
                      "measure_url: '%.200s' is also the measure of metric '%s'", m->measure_url,
                      other->code);
  if ((rc = reserve_one(cat, err)) < 0)
    return rc;
  if (!(e = calloc(1, sizeof(*e))))
    return oc_err_set(err, OC_ERR_NOMEM, "catalog: out of memory");
  e->m = *m;
  e->m.name = dup_or_empty(m->name);
  e->m.unit = dup_or_empty(m->unit);
  e->m.seed = dup_or_empty(m->seed);
  e->m.description = dup_or_empty(m->description);
  e->m.measure_url = dup_or_empty(m->measure_url);
  e->line = line;
  if (!e->m.name || !e->m.unit || !e->m.seed || !e->m.description || !e->m.measure_url) {
    entry_free(e);
    return oc_err_set(err, OC_ERR_NOMEM, "catalog: out of memory");
  }
  cat->v[cat->n] = e;
  index_entry(cat, cat->n);
  cat->n++;
  return 0;
}

int oc_catalog_add(oc_catalog_t *cat, const oc_metric_t *m, oc_err_t *err) {
  return catalog_add_line(cat, m, 0, err);
}

/* ---- comparison ----------------------------------------------------- */

static bool str_eq(const char *a, const char *b) { return strcmp(a ? a : "", b ? b : "") == 0; }

unsigned oc_metric_diff(const oc_metric_t *a, const oc_metric_t *b) {
  unsigned d = 0;
  if (strcmp(a->code, b->code) != 0)
    d |= 1u << OC_COL_CODE;
  if (!str_eq(a->name, b->name))
    d |= 1u << OC_COL_NAME;
  if (!str_eq(a->unit, b->unit))
    d |= 1u << OC_COL_UNIT;
  if (a->kind != b->kind)
    d |= 1u << OC_COL_KIND;
  if (a->direction != b->direction)
    d |= 1u << OC_COL_DIRECTION;
  if (a->min != b->min)
    d |= 1u << OC_COL_MIN;
  if (a->max != b->max)
    d |= 1u << OC_COL_MAX;
  if (!str_eq(a->seed, b->seed))
    d |= 1u << OC_COL_SEED;
  if (!str_eq(a->description, b->description))
    d |= 1u << OC_COL_DESCRIPTION;
  if (!str_eq(a->measure_url, b->measure_url))
    d |= 1u << OC_COL_MEASURE_URL;
  return d;
}

/* ---- parsing -------------------------------------------------------- */

/* A decimal number: optional sign, digits with an optional fraction and an
 * optional exponent. Refuses what strtod would also take (hex, inf, nan,
 * leading blanks), so the file means the same thing everywhere. */
static int parse_number(const char *col, const char *s, double *out, oc_err_t *err) {
  const char *p = s;
  bool digits = false;
  char *end = NULL;

  if (*p == '+' || *p == '-')
    p++;
  while (*p >= '0' && *p <= '9')
    p++, digits = true;
  if (*p == '.') {
    p++;
    while (*p >= '0' && *p <= '9')
      p++, digits = true;
  }
  if (digits && (*p == 'e' || *p == 'E')) {
    const char *q = p + 1;
    if (*q == '+' || *q == '-')
      q++;
    if (*q >= '0' && *q <= '9') {
      while (*q >= '0' && *q <= '9')
        q++;
      p = q;
    }
  }
  if (!digits || *p != '\0')
    return oc_err_set(err, OC_ERR_CONFIG, "%s: not a decimal number '%.80s'", col, s);
  errno = 0;
  *out = strtod(s, &end);
  if (errno == ERANGE || !isfinite(*out))
    return oc_err_set(err, OC_ERR_CONFIG, "%s: number out of range '%.80s'", col, s);
  return 0;
}

/* Split line (modified in place) on tabs into at most OC_COL_COUNT fields;
 * returns the number of fields found (which may exceed OC_COL_COUNT, in
 * which case only the first OC_COL_COUNT are stored). */
static size_t split_tabs(char *line, char **f) {
  size_t n = 0;
  char *p = line;
  for (;;) {
    char *tab = strchr(p, '\t');
    if (n < OC_COL_COUNT)
      f[n] = p;
    n++;
    if (!tab)
      return n;
    *tab = '\0';
    p = tab + 1;
  }
}

/* The header line: pos[col] is the field of each column, -1 when the file
 * does not have it; *ncols the number of fields of every line. */
typedef struct cat_header_s {
  int pos[OC_COL_COUNT];
  int field_col[OC_COL_COUNT]; /* the column of each field */
  size_t ncols;
} cat_header_t;

static int parse_header(cat_header_t *h, char **f, size_t nf, oc_err_t *err) {
  for (int c = 0; c < OC_COL_COUNT; c++)
    h->pos[c] = -1;
  if (nf > OC_COL_COUNT)
    return oc_err_set(err, OC_ERR_CONFIG, "header: %zu columns, at most %d", nf, OC_COL_COUNT);
  for (size_t i = 0; i < nf; i++) {
    int c = 0;
    while (c < OC_COL_COUNT && strcmp(f[i], cat_columns[c]) != 0)
      c++;
    if (c == OC_COL_COUNT)
      return oc_err_set(err, OC_ERR_CONFIG,
                        "header: column %zu: unknown column '%.80s' (expected code, name, unit, "
                        "kind, direction, min, max, seed, description, measure_url)",
                        i + 1, f[i]);
    if (h->pos[c] >= 0)
      return oc_err_set(err, OC_ERR_CONFIG, "header: column %zu: '%s' again (first column %d)",
                        i + 1, cat_columns[c], h->pos[c] + 1);
    h->pos[c] = (int)i;
    h->field_col[i] = c;
  }
  for (int c = 0; c < OC_COL_SEED; c++)
    if (h->pos[c] < 0)
      return oc_err_set(err, OC_ERR_CONFIG, "header: missing column '%s'", cat_columns[c]);
  h->ncols = nf;
  return 0;
}

static char *field(const cat_header_t *h, char **f, oc_metric_col_t c) {
  static char none[] = "";
  return h->pos[c] >= 0 ? f[h->pos[c]] : none;
}

static int parse_metric(oc_catalog_t *cat, const cat_header_t *h, char **f, size_t nf,
                        unsigned line, oc_err_t *err) {
  oc_metric_t m;
  const char *code;
  size_t ix;
  int rc;

  memset(&m, 0, sizeof(m));
  if (nf < h->ncols)
    return oc_err_set(err, OC_ERR_CONFIG, "%s: missing column (%zu columns, expected %zu)",
                      cat_columns[h->field_col[nf]], nf, h->ncols);
  if (nf > h->ncols)
    return oc_err_set(err, OC_ERR_CONFIG, "%s: %zu columns, expected %zu (a TAB inside a field?)",
                      cat_columns[h->field_col[h->ncols - 1]], nf, h->ncols);
  code = f[h->pos[OC_COL_CODE]];
  if (!oc_metric_code_valid(code, strlen(code)))
    return oc_err_set(err, OC_ERR_CONFIG,
                      "code: invalid code '%.80s' (expected [a-z][a-z0-9_]*, at most %d bytes)",
                      code, OC_METRIC_CODE_MAX);
  if ((ix = find_index(cat, BY_CODE, code, strlen(code))) != SIZE_MAX)
    return oc_err_set(err, OC_ERR_CONFIG, "code: duplicate code '%s' (first at line %u)", code,
                      cat->v[ix]->line);
  memcpy(m.code, code, strlen(code) + 1);
  m.name = field(h, f, OC_COL_NAME);
  m.unit = field(h, f, OC_COL_UNIT);
  if (oc_kind_from_name(field(h, f, OC_COL_KIND), &m.kind) < 0)
    return oc_err_set(err, OC_ERR_CONFIG,
                      "kind: unknown kind '%.80s' (expected ratio, count, amount or gauge)",
                      field(h, f, OC_COL_KIND));
  if (oc_direction_from_name(field(h, f, OC_COL_DIRECTION), &m.direction) < 0)
    return oc_err_set(err, OC_ERR_CONFIG,
                      "direction: unknown direction '%.80s' (expected lower_is_better or "
                      "higher_is_better)",
                      field(h, f, OC_COL_DIRECTION));
  if ((rc = parse_number("min", field(h, f, OC_COL_MIN), &m.min, err)) < 0 ||
      (rc = parse_number("max", field(h, f, OC_COL_MAX), &m.max, err)) < 0)
    return rc;
  m.seed = field(h, f, OC_COL_SEED);
  m.description = field(h, f, OC_COL_DESCRIPTION);
  m.measure_url = field(h, f, OC_COL_MEASURE_URL);
  if ((ix = find_index(cat, BY_MEASURE, m.measure_url, strlen(m.measure_url))) != SIZE_MAX)
    return oc_err_set(err, OC_ERR_CONFIG,
                      "measure_url: '%.200s' is also the measure of metric '%s' (line %u)",
                      m.measure_url, cat->v[ix]->m.code, cat->v[ix]->line);
  return catalog_add_line(cat, &m, line, err);
}

int oc_catalog_parse(const char *buf, size_t len, const char *name, oc_catalog_t **out,
                     oc_err_t *err) {
  oc_catalog_t *cat = NULL;
  char *copy = NULL;
  char *fields[OC_COL_COUNT];
  cat_header_t header;
  bool have_header = false;
  unsigned lineno = 0;
  size_t pos = 0;
  int rc = 0;

  if (!name)
    name = "catalog";
  if (!buf || !out) {
    rc = oc_err_set(err, OC_ERR_USAGE, "%s: NULL argument", name);
    goto out;
  }
  *out = NULL;
  if (memchr(buf, '\0', len)) {
    rc = oc_err_set(err, OC_ERR_CONFIG, "%s: contains a NUL byte", name);
    goto out;
  }
  if (!(copy = malloc(len + 1)) || !(cat = oc_catalog_new())) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "%s: out of memory", name);
    goto out;
  }
  memcpy(copy, buf, len);
  copy[len] = '\0';
  if (len >= 3 && memcmp(copy, "\xef\xbb\xbf", 3) == 0)
    pos = 3; /* a UTF-8 byte order mark */

  while (pos < len) {
    char *line = copy + pos;
    char *nl = strchr(line, '\n');
    size_t ll = nl ? (size_t)(nl - line) : strlen(line);
    size_t nf;

    pos += ll + (nl ? 1 : 0);
    lineno++;
    line[ll] = '\0';
    if (ll > 0 && line[ll - 1] == '\r')
      line[--ll] = '\0';
    if (ll == 0 || line[0] == '#')
      continue;
    nf = split_tabs(line, fields);
    rc = have_header ? parse_metric(cat, &header, fields, nf, lineno, err)
                     : parse_header(&header, fields, nf, err);
    if (rc < 0) {
      oc_err_prefix(err, "%s:%u: ", name, lineno);
      goto out;
    }
    have_header = true;
  }
  if (!have_header) {
    rc = oc_err_set(err, OC_ERR_CONFIG, "%s:%u: header: missing header line", name, lineno);
    goto out;
  }
  *out = cat;
  cat = NULL;
out:
  oc_catalog_destroy(cat);
  free(copy);
  return rc;
}

int oc_catalog_load_file(const char *path, oc_catalog_t **out, oc_err_t *err) {
  oc_buf_t text;
  int rc;

  if (!path || !out)
    return oc_err_set(err, OC_ERR_USAGE, "catalog: NULL argument");
  *out = NULL;
  oc_buf_init(&text, CAT_FILE_MAX);
  if ((rc = oc_buf_read_file(&text, path, err)) == 0)
    rc = oc_catalog_parse(text.p, text.len, path, out, err);
  oc_buf_release(&text);
  return rc;
}
