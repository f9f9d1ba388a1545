/*
 * record.c - UTF-8 and id checks, observation validation and fact identity;
 * see include/outcomes/record.h. Dates, periods and timestamps are in
 * date.c.
 *
 * Everything here runs once per record, so nothing allocates. Messages quote
 * user input through oc_utf8_quote(), so they are always valid UTF-8 without
 * control characters and can go to the dead-letter table as they are.
 */
#include "outcomes/record.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes/date.h"

#define QUOTE_MAX 80 /* room for a quoted input in a message */
#define NUM_MAX 32   /* room for a number formatted by fmt_num() */

/* ---- UTF-8 ---------------------------------------------------------- */

/* Decode one code point of well-formed UTF-8 at s[0..len) (len >= 1), as
 * Unicode Table 3-7 defines it: no overlongs, no surrogates, nothing above
 * U+10FFFF, no truncated sequence. Returns its length (1-4) and sets *cp, or
 * returns 0 when the bytes are ill-formed. */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp) {
  unsigned c = s[0];
  unsigned lo = 0x80, hi = 0xBF; /* range of the second byte */
  size_t n;

  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    *cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    *cp = c & 0x0F;
    if (c == 0xE0)
      lo = 0xA0; /* overlong below U+0800 */
    else if (c == 0xED)
      hi = 0x9F; /* surrogates U+D800..U+DFFF */
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    *cp = c & 0x07;
    if (c == 0xF0)
      lo = 0x90; /* overlong below U+10000 */
    else if (c == 0xF4)
      hi = 0x8F; /* above U+10FFFF */
  } else {
    return 0; /* continuation byte, C0/C1 overlong lead, F5..FF */
  }
  if (len < n || s[1] < lo || s[1] > hi)
    return 0;
  *cp = (*cp << 6) | (s[1] & 0x3F);
  for (size_t i = 2; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    *cp = (*cp << 6) | (s[i] & 0x3F);
  }
  return n;
}

static bool is_control(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); /* C0, DEL, C1 */
}

bool oc_utf8_valid(const char *s, size_t len) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  uint32_t cp;

  while (i < len) {
    if (u[i] < 0x80) {
      i++;
      continue;
    }
    size_t n = utf8_decode(u + i, len - i, &cp);
    if (n == 0)
      return false;
    i += n;
  }
  return true;
}

const char *oc_utf8_quote(const char *s, size_t len, char *buf, size_t cap) {
  static const char hex[] = "0123456789ABCDEF";
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, o = 0, cut = 0;
  uint32_t cp;

  if (cap == 0)
    return buf;
  while (i < len) {
    char piece[16];
    size_t pn = 0, n = utf8_decode(u + i, len - i, &cp);

    if (n == 0 || is_control(cp)) {
      /* Escape every byte of an ill-formed or control sequence. */
      size_t bad = n ? n : 1;
      for (size_t k = 0; k < bad; k++) {
        piece[pn++] = '\\';
        piece[pn++] = 'x';
        piece[pn++] = hex[u[i + k] >> 4];
        piece[pn++] = hex[u[i + k] & 0xF];
      }
      n = bad;
    } else if (u[i] == '\\') {
      piece[pn++] = '\\';
      piece[pn++] = '\\';
    } else {
      memcpy(piece, u + i, n);
      pn = n;
    }
    if (o + 3 < cap)
      cut = o; /* the last boundary after which "..." still fits */
    if (o + pn + 1 > cap) {
      o = cut;
      if (o + 3 < cap) {
        memcpy(buf + o, "...", 3);
        o += 3;
      }
      break;
    }
    memcpy(buf + o, piece, pn);
    o += pn;
    i += n;
  }
  buf[o] = '\0';
  return buf;
}

int oc_id_check(const char *field, const char *s, size_t len, oc_err_t *err) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  uint32_t cp;

  if (!field)
    field = "id";
  if (len == 0)
    return oc_err_set(err, OC_ERR_BAD_FIELD, "%s: must not be empty", field);
  if (len > OC_ID_MAX)
    return oc_err_set(err, OC_ERR_BAD_FIELD, "%s: %zu bytes, more than %d", field, len, OC_ID_MAX);
  while (i < len) {
    if (u[i] >= 0x20 && u[i] < 0x7F) { /* printable ASCII: the common case */
      i++;
      continue;
    }
    size_t n = utf8_decode(u + i, len - i, &cp);
    if (n == 0)
      return oc_err_set(err, OC_ERR_BAD_FIELD, "%s: invalid UTF-8 at byte %zu", field, i);
    if (is_control(cp))
      return oc_err_set(err, OC_ERR_BAD_FIELD, "%s: control character U+%04X at byte %zu", field,
                        (unsigned)cp, i);
    i += n;
  }
  return 0;
}

/* ---- validation ----------------------------------------------------- */

/* Length of the string in a fixed array of cap bytes; cap when it has no
 * NUL (which every check below then refuses as too long). */
static size_t field_len(const char *a, size_t cap) {
  const char *nul = memchr(a, '\0', cap);
  return nul ? (size_t)(nul - a) : cap;
}

/* Format v with the fewest significant digits that read back as v, so a
 * message shows 1.2 rather than 1.1999999999999999. Returns buf. */
static const char *fmt_num(double v, char buf[NUM_MAX]) {
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, NUM_MAX, "%.*g", prec, v);
    if (!isfinite(v) || strtod(buf, NULL) == v)
      break;
  }
  return buf;
}

/* Checks shared by numerator and denominator of a ratio metric. */
static int check_ratio_part(const char *field, double v, const oc_metric_t *m, oc_err_t *err) {
  char n[NUM_MAX];
  bool is_den = field[0] == 'd';

  if (!isfinite(v))
    return oc_err_set(err, OC_ERR_BAD_FIELD, "%s: not a finite number (%s)", field, fmt_num(v, n));
  if (is_den && !(v > 0))
    return oc_err_set(err, OC_ERR_RANGE, "%s: %s is not greater than 0", field, fmt_num(v, n));
  /* A metric whose values cannot be negative has no negative numerators. */
  if (!is_den && m->min >= 0 && v < 0)
    return oc_err_set(err, OC_ERR_RANGE, "%s: %s is negative for metric '%s'", field, fmt_num(v, n),
                      m->code);
  return 0;
}

static int validate_ratio(const oc_observation_t *obs, const oc_metric_t *m, oc_err_t *err) {
  char a[NUM_MAX], b[NUM_MAX];
  int rc;

  if (m->kind != OC_KIND_RATIO) {
    if (obs->has_numerator)
      return oc_err_set(err, OC_ERR_BAD_FIELD, "numerator: not allowed for %s metric '%s'",
                        oc_kind_name(m->kind), m->code);
    if (obs->has_denominator)
      return oc_err_set(err, OC_ERR_BAD_FIELD, "denominator: not allowed for %s metric '%s'",
                        oc_kind_name(m->kind), m->code);
    return 0;
  }
  if (!obs->has_numerator)
    return oc_err_set(err, OC_ERR_RATIO_MISSING, "numerator: required for ratio metric '%s'",
                      m->code);
  if (!obs->has_denominator)
    return oc_err_set(err, OC_ERR_RATIO_MISSING, "denominator: required for ratio metric '%s'",
                      m->code);
  if ((rc = check_ratio_part("numerator", obs->numerator, m, err)) < 0)
    return rc;
  if ((rc = check_ratio_part("denominator", obs->denominator, m, err)) < 0)
    return rc;

  double q = obs->numerator / obs->denominator;
  double tol = 1e-9 * fmax(fabs(obs->value), fabs(q));
  /* A q that overflowed would make tol infinite and pass any value. */
  if (!isfinite(q) || !(fabs(obs->value - q) <= tol))
    return oc_err_set(err, OC_ERR_RATIO_MISMATCH, "value: %s is not numerator/denominator (%s)",
                      fmt_num(obs->value, a), fmt_num(q, b));
  return 0;
}

int oc_observation_validate(const oc_observation_t *obs, const oc_catalog_t *cat, oc_err_t *err) {
  const oc_fact_id_t *id = &obs->id;
  const oc_metric_t *m;
  char q[QUOTE_MAX], a[NUM_MAX], b[NUM_MAX], c[NUM_MAX], date[11];
  size_t len;
  int rc;

  if ((rc = oc_id_check("org_id", id->org_id, field_len(id->org_id, sizeof(id->org_id)), err)) < 0)
    return rc;
  len = field_len(id->facility_id, sizeof(id->facility_id));
  if (len > 0 && (rc = oc_id_check("facility_id", id->facility_id, len, err)) < 0)
    return rc;

  len = field_len(id->metric, sizeof(id->metric));
  if (len == 0)
    return oc_err_set(err, OC_ERR_BAD_FIELD, "metric: must not be empty");
  m = len < sizeof(id->metric) ? oc_catalog_find(cat, id->metric) : NULL;
  if (!m)
    return oc_err_set(err, OC_ERR_UNKNOWN_METRIC, "metric: unknown metric '%s'",
                      oc_utf8_quote(id->metric, len, q, sizeof(q)));

  if ((unsigned)id->grain >= OC_GRAIN_COUNT)
    return oc_err_set(err, OC_ERR_BAD_FIELD, "grain: invalid value %d", (int)id->grain);
  if (id->period_start < OC_DATE_MIN || id->period_start > OC_DATE_MAX)
    return oc_err_set(err, OC_ERR_BAD_FIELD,
                      "period_start: day %ld is outside 0001-01-01..9999-12-31",
                      (long)id->period_start);
  if (!oc_period_is_aligned(id->grain, id->period_start)) {
    oc_date_format(id->period_start, date);
    return oc_err_set(err, OC_ERR_MISALIGNED, "period_start: %s is not the start of a %s", date,
                      oc_grain_name(id->grain));
  }

  if (!isfinite(obs->value))
    return oc_err_set(err, OC_ERR_BAD_FIELD, "value: not a finite number (%s)",
                      fmt_num(obs->value, a));
  if (obs->value < m->min || obs->value > m->max)
    return oc_err_set(err, OC_ERR_RANGE, "value: %s outside [%s, %s] for metric '%s'",
                      fmt_num(obs->value, a), fmt_num(m->min, b), fmt_num(m->max, c), m->code);
  if ((rc = validate_ratio(obs, m, err)) < 0)
    return rc;

  if ((rc = oc_id_check("source", obs->source, field_len(obs->source, sizeof(obs->source)), err)) <
      0)
    return rc;
  if (obs->observed_at == 0)
    return oc_err_set(err, OC_ERR_BAD_FIELD, "observed_at: not set");
  if (obs->observed_at < 0 || obs->observed_at > OC_TIMESTAMP_MAX) {
    char ts[32];
    oc_timestamp_format(obs->observed_at, ts);
    return oc_err_set(err, OC_ERR_BAD_FIELD, "observed_at: %s is outside 1970-01-01..9999-12-31",
                      ts);
  }
  return 0;
}

bool oc_fact_id_equal(const oc_fact_id_t *a, const oc_fact_id_t *b) {
  return a->grain == b->grain && a->period_start == b->period_start &&
         strncmp(a->metric, b->metric, sizeof(a->metric)) == 0 &&
         strncmp(a->org_id, b->org_id, sizeof(a->org_id)) == 0 &&
         strncmp(a->facility_id, b->facility_id, sizeof(a->facility_id)) == 0;
}
