/* catalog.c - the metric catalog; see include/outcomes/catalog.h.
 *
 * Metrics live in an array of heap-allocated entries (so pointers handed out
 * by oc_catalog_find stay valid while more are added), in file order, with
 * an open-addressing hash table of indices for O(1) lookup by code.
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

#define CAT_NCOLS 9
#define CAT_FILE_MAX (16u * 1024u * 1024u) /* refuse absurd catalog files */

static const char *const cat_columns[CAT_NCOLS] = {
    "code", "name", "unit", "kind", "direction", "min", "max", "seed", "description"};

static const char *const cat_units[] = {"days", "ratio", "count", "usd", "fte"};

typedef struct cat_entry_s {
  oc_metric_t m;
  unsigned line; /* line in the parsed file, 0 when added directly */
} cat_entry_t;

struct oc_catalog_s {
  cat_entry_t **v; /* file order */
  size_t n, cap;
  size_t *slots; /* hash slots: index + 1, 0 = empty */
  size_t nslots; /* power of two, kept at least 2 * n */
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

const char *oc_catalog_default_path(void) { return OC_DATADIR "/catalog.tsv"; }

/* ---- container ------------------------------------------------------ */

static uint64_t hash_code(const char *s) {
  uint64_t h = 1469598103934665603u; /* FNV-1a */
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211u;
  }
  return h;
}

static void entry_free(cat_entry_t *e) {
  if (!e)
    return;
  free(e->m.name);
  free(e->m.unit);
  free(e->m.seed);
  free(e->m.description);
  free(e);
}

oc_catalog_t *oc_catalog_new(void) { return calloc(1, sizeof(oc_catalog_t)); }

void oc_catalog_destroy(oc_catalog_t *cat) {
  if (!cat)
    return;
  for (size_t i = 0; i < cat->n; i++)
    entry_free(cat->v[i]);
  free(cat->v);
  free(cat->slots);
  free(cat);
}

size_t oc_catalog_count(const oc_catalog_t *cat) { return cat ? cat->n : 0; }

const oc_metric_t *oc_catalog_at(const oc_catalog_t *cat, size_t i) {
  return cat && i < cat->n ? &cat->v[i]->m : NULL;
}

static size_t find_index(const oc_catalog_t *cat, const char *code) {
  if (!cat || !cat->nslots || !code)
    return SIZE_MAX;
  size_t mask = cat->nslots - 1;
  for (size_t s = (size_t)hash_code(code) & mask;; s = (s + 1) & mask) {
    size_t ix = cat->slots[s];
    if (ix == 0)
      return SIZE_MAX;
    if (strcmp(cat->v[ix - 1]->m.code, code) == 0)
      return ix - 1;
  }
}

const oc_metric_t *oc_catalog_find(const oc_catalog_t *cat, const char *code) {
  size_t ix = find_index(cat, code);
  return ix == SIZE_MAX ? NULL : &cat->v[ix]->m;
}

static void slot_insert(size_t *slots, size_t nslots, const char *code, size_t ix) {
  size_t mask = nslots - 1;
  size_t s = (size_t)hash_code(code) & mask;
  while (slots[s] != 0)
    s = (s + 1) & mask;
  slots[s] = ix + 1;
}

/* Make room for one more entry: grow the array and, past half load, rehash
 * into a table twice the size. */
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
    size_t *slots = calloc(nslots, sizeof(*slots));
    if (!slots)
      return oc_err_set(err, OC_ERR_NOMEM, "catalog: out of memory");
    for (size_t i = 0; i < cat->n; i++)
      slot_insert(slots, nslots, cat->v[i]->m.code, i);
    free(cat->slots);
    cat->slots = slots;
    cat->nslots = nslots;
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

static bool unit_valid(const char *s) {
  for (size_t i = 0; i < sizeof(cat_units) / sizeof(cat_units[0]); i++)
    if (strcmp(s, cat_units[i]) == 0)
      return true;
  return false;
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

static int metric_check(const oc_metric_t *m, oc_err_t *err) {
  int rc;

  if (!oc_metric_code_valid(m->code, strlen(m->code)))
    return oc_err_set(err, OC_ERR_CONFIG,
                      "code: invalid code '%.80s' (expected [a-z][a-z0-9_]*, at most %d bytes)",
                      m->code, OC_METRIC_CODE_MAX);
  if ((rc = check_text("name", m->name, true, err)) < 0)
    return rc;
  if (!m->unit || !unit_valid(m->unit))
    return oc_err_set(err, OC_ERR_CONFIG,
                      "unit: unknown unit '%.80s' (expected days, ratio, count, usd or fte)",
                      m->unit ? m->unit : "");
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
  if (strcmp(m->unit, "ratio") == 0 && (m->min < 0 || m->max > 1))
    return oc_err_set(err, OC_ERR_CONFIG,
                      "%s: unit ratio needs a range within [0, 1], got [%.17g, %.17g]",
                      m->min < 0 ? "min" : "max", m->min, m->max);
  if ((rc = check_text("seed", m->seed, false, err)) < 0)
    return rc;
  return check_text("description", m->description, false, err);
}

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

static int catalog_add_line(oc_catalog_t *cat, const oc_metric_t *m, unsigned line, oc_err_t *err) {
  cat_entry_t *e = NULL;
  int rc;

  if (!cat || !m)
    return oc_err_set(err, OC_ERR_USAGE, "catalog: NULL argument");
  if ((rc = metric_check(m, err)) < 0)
    return rc;
  if (oc_catalog_find(cat, m->code))
    return oc_err_set(err, OC_ERR_CONFIG, "code: duplicate code '%s'", m->code);
  if ((rc = reserve_one(cat, err)) < 0)
    return rc;
  if (!(e = calloc(1, sizeof(*e))))
    return oc_err_set(err, OC_ERR_NOMEM, "catalog: out of memory");
  e->m = *m;
  e->m.name = dup_or_empty(m->name);
  e->m.unit = dup_or_empty(m->unit);
  e->m.seed = dup_or_empty(m->seed);
  e->m.description = dup_or_empty(m->description);
  e->line = line;
  if (!e->m.name || !e->m.unit || !e->m.seed || !e->m.description) {
    entry_free(e);
    return oc_err_set(err, OC_ERR_NOMEM, "catalog: out of memory");
  }
  cat->v[cat->n] = e;
  slot_insert(cat->slots, cat->nslots, e->m.code, cat->n);
  cat->n++;
  return 0;
}

int oc_catalog_add(oc_catalog_t *cat, const oc_metric_t *m, oc_err_t *err) {
  return catalog_add_line(cat, m, 0, err);
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

/* Split line (modified in place) on tabs into at most CAT_NCOLS fields;
 * returns the number of fields found (which may exceed CAT_NCOLS, in which
 * case only the first CAT_NCOLS are stored). */
static size_t split_tabs(char *line, char **f) {
  size_t n = 0;
  char *p = line;
  for (;;) {
    char *tab = strchr(p, '\t');
    if (n < CAT_NCOLS)
      f[n] = p;
    n++;
    if (!tab)
      return n;
    *tab = '\0';
    p = tab + 1;
  }
}

static int parse_header(char **f, size_t nf, oc_err_t *err) {
  for (size_t i = 0; i < CAT_NCOLS; i++) {
    const char *got = i < nf ? f[i] : "";
    if (strcmp(got, cat_columns[i]) != 0)
      return oc_err_set(err, OC_ERR_CONFIG, "header: column %zu must be '%s', found '%.80s'", i + 1,
                        cat_columns[i], i < nf ? got : "(missing)");
  }
  if (nf > CAT_NCOLS)
    return oc_err_set(err, OC_ERR_CONFIG, "header: %zu columns, expected %d", nf, CAT_NCOLS);
  return 0;
}

static int parse_metric(oc_catalog_t *cat, char **f, size_t nf, unsigned line, oc_err_t *err) {
  oc_metric_t m;
  size_t ix;
  int rc;

  memset(&m, 0, sizeof(m));
  if (nf < CAT_NCOLS)
    return oc_err_set(err, OC_ERR_CONFIG, "%s: missing column (%zu columns, expected %d)",
                      cat_columns[nf], nf, CAT_NCOLS);
  if (nf > CAT_NCOLS)
    return oc_err_set(err, OC_ERR_CONFIG,
                      "description: %zu columns, expected %d (a TAB inside a field?)", nf,
                      CAT_NCOLS);
  if (strlen(f[0]) > OC_METRIC_CODE_MAX || !oc_metric_code_valid(f[0], strlen(f[0])))
    return oc_err_set(err, OC_ERR_CONFIG,
                      "code: invalid code '%.80s' (expected [a-z][a-z0-9_]*, at most %d bytes)",
                      f[0], OC_METRIC_CODE_MAX);
  if ((ix = find_index(cat, f[0])) != SIZE_MAX)
    return oc_err_set(err, OC_ERR_CONFIG, "code: duplicate code '%s' (first at line %u)", f[0],
                      cat->v[ix]->line);
  memcpy(m.code, f[0], strlen(f[0]) + 1);
  m.name = f[1];
  m.unit = f[2];
  if (oc_kind_from_name(f[3], &m.kind) < 0)
    return oc_err_set(err, OC_ERR_CONFIG,
                      "kind: unknown kind '%.80s' (expected ratio, count, amount or gauge)", f[3]);
  if (oc_direction_from_name(f[4], &m.direction) < 0)
    return oc_err_set(err, OC_ERR_CONFIG,
                      "direction: unknown direction '%.80s' (expected lower_is_better or "
                      "higher_is_better)",
                      f[4]);
  if ((rc = parse_number("min", f[5], &m.min, err)) < 0 ||
      (rc = parse_number("max", f[6], &m.max, err)) < 0)
    return rc;
  m.seed = f[7];
  m.description = f[8];
  return catalog_add_line(cat, &m, line, err);
}

int oc_catalog_parse(const char *buf, size_t len, const char *name, oc_catalog_t **out,
                     oc_err_t *err) {
  oc_catalog_t *cat = NULL;
  char *copy = NULL;
  char *fields[CAT_NCOLS];
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
    rc = have_header ? parse_metric(cat, fields, nf, lineno, err) : parse_header(fields, nf, err);
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
