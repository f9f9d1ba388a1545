/*
 * key.c - the Kafka message key codec; see include/outcomes/key.h.
 *
 *     org_id|facility_id|metric|GRAIN|YYYY-MM-DD
 *
 * Canonical by construction: the encoder escapes exactly '%' and '|', and
 * the decoder accepts exactly what the encoder can produce, so that
 * encode(decode(k)) == k for every key decode accepts (tests/fuzz/fuzz_key.c
 * checks that). Runs per record: nothing allocates.
 */
#include "outcomes/key.h"

#include <string.h>

#include "outcomes/date.h"

#define QUOTE_MAX 80 /* room for a quoted input in a message */

static const char *const grain_names[OC_GRAIN_COUNT] = {
    "DAY", "WEEK", "MONTH", "QUARTER", "YEAR",
};

/* Every key error is OC_ERR_BAD_KEY, whatever code the check that found it
 * uses elsewhere (oc_id_check and oc_date_parse say OC_ERR_BAD_FIELD). */
static int bad_key(oc_err_t *err) {
  if (err)
    err->code = OC_ERR_BAD_KEY;
  return OC_ERR_BAD_KEY;
}

static int metric_error(const char *s, size_t n, oc_err_t *err) {
  char q[QUOTE_MAX];
  return oc_err_set(err, OC_ERR_BAD_KEY,
                    "metric: '%s' is not a metric code ([a-z][a-z0-9_]*, 1-%d bytes)",
                    oc_utf8_quote(s, n, q, sizeof(q)), OC_METRIC_CODE_MAX);
}

/* Length of the string in a fixed array of cap bytes; cap when unterminated. */
static size_t field_len(const char *a, size_t cap) {
  const char *nul = memchr(a, '\0', cap);
  return nul ? (size_t)(nul - a) : cap;
}

/* The checks the encoder and decoder share, after the ids: date in range
 * and aligned to the grain (which the caller checked is valid). */
static int check_period(oc_grain_t g, oc_date_t start, oc_err_t *err) {
  char date[11];

  if (start < OC_DATE_MIN || start > OC_DATE_MAX)
    return oc_err_set(err, OC_ERR_BAD_KEY,
                      "period_start: day %ld is outside 0001-01-01..9999-12-31", (long)start);
  if (!oc_period_is_aligned(g, start)) {
    oc_date_format(start, date);
    return oc_err_set(err, OC_ERR_BAD_KEY, "period_start: %s is not the start of a %s", date,
                      grain_names[g]);
  }
  return 0;
}

/* ---- encoding ------------------------------------------------------- */

static size_t escaped_len(const char *s, size_t n) {
  size_t len = n;
  for (size_t i = 0; i < n; i++)
    if (s[i] == '%' || s[i] == '|')
      len += 2;
  return len;
}

static char *put_escaped(char *p, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '%') {
      memcpy(p, "%25", 3);
      p += 3;
    } else if (s[i] == '|') {
      memcpy(p, "%7C", 3);
      p += 3;
    } else {
      *p++ = s[i];
    }
  }
  return p;
}

/* Write the in-range date as "YYYY-MM-DD" and a NUL into buf (as
 * oc_date_format), and tell whether it starts a period of grain g (as
 * oc_period_is_aligned): one calendar conversion for both. */
static bool format_aligned(oc_grain_t g, oc_date_t date, char buf[11]) {
  int y, m, d;

  oc_date_to_ymd(date, &y, &m, &d);
  buf[0] = (char)('0' + y / 1000);
  buf[1] = (char)('0' + y / 100 % 10);
  buf[2] = (char)('0' + y / 10 % 10);
  buf[3] = (char)('0' + y % 10);
  buf[4] = '-';
  buf[5] = (char)('0' + m / 10);
  buf[6] = (char)('0' + m % 10);
  buf[7] = '-';
  buf[8] = (char)('0' + d / 10);
  buf[9] = (char)('0' + d % 10);
  buf[10] = '\0';
  switch (g) {
  case OC_GRAIN_DAY: return true;
  case OC_GRAIN_WEEK: return oc_date_iso_weekday(date) == 1;
  case OC_GRAIN_MONTH: return d == 1;
  case OC_GRAIN_QUARTER: return d == 1 && (m - 1) % 3 == 0;
  case OC_GRAIN_YEAR: return d == 1 && m == 1;
  }
  return false;
}

int oc_key_encode(const oc_fact_id_t *id, char *buf, size_t cap, size_t *len_out, oc_err_t *err) {
  size_t org_n = field_len(id->org_id, sizeof(id->org_id));
  size_t fac_n = field_len(id->facility_id, sizeof(id->facility_id));
  size_t met_n = field_len(id->metric, sizeof(id->metric));
  size_t grain_n, need;
  char date[11];
  char *p;

  if (oc_id_check("org_id", id->org_id, org_n, err) < 0)
    return bad_key(err);
  if (fac_n > 0 && oc_id_check("facility_id", id->facility_id, fac_n, err) < 0)
    return bad_key(err);
  if (!oc_metric_code_valid(id->metric, met_n))
    return metric_error(id->metric, met_n, err);
  if ((unsigned)id->grain >= OC_GRAIN_COUNT)
    return oc_err_set(err, OC_ERR_BAD_KEY, "grain: invalid value %d", (int)id->grain);
  /* check_period's checks, with the date's text made once for the key. */
  if (id->period_start < OC_DATE_MIN || id->period_start > OC_DATE_MAX)
    return oc_err_set(err, OC_ERR_BAD_KEY,
                      "period_start: day %ld is outside 0001-01-01..9999-12-31",
                      (long)id->period_start);
  if (!format_aligned(id->grain, id->period_start, date))
    return oc_err_set(err, OC_ERR_BAD_KEY, "period_start: %s is not the start of a %s", date,
                      grain_names[id->grain]);

  const char *grain = grain_names[id->grain];
  grain_n = strlen(grain);
  /* The exact length only when the buffer might be too small for the
   * longest key these ids can make (every byte escaped). */
  need = 3 * (org_n + fac_n) + met_n + grain_n + 10 + 4;
  if (need + 1 > cap) {
    need = escaped_len(id->org_id, org_n) + escaped_len(id->facility_id, fac_n) + met_n + grain_n +
           10 + 4;
    if (need + 1 > cap)
      return oc_err_set(err, OC_ERR_LIMIT, "key: needs %zu bytes, the buffer has %zu", need + 1,
                        cap);
  }

  p = put_escaped(buf, id->org_id, org_n);
  *p++ = '|';
  p = put_escaped(p, id->facility_id, fac_n);
  *p++ = '|';
  memcpy(p, id->metric, met_n);
  p += met_n;
  *p++ = '|';
  memcpy(p, grain, grain_n);
  p += grain_n;
  *p++ = '|';
  memcpy(p, date, 11); /* with the NUL */
  if (len_out)
    *len_out = (size_t)(p + 10 - buf);
  return 0;
}

/* ---- decoding ------------------------------------------------------- */

/* Unescape the id field s[0..n) into dst (OC_ID_MAX + 1 bytes) and check
 * it. An empty field is allowed here; the caller decides whether it may be.
 * (Byte positions in oc_id_check's messages count in the decoded id.) */
static int decode_id(const char *field, const char *s, size_t n, char *dst, oc_err_t *err) {
  char q[QUOTE_MAX];
  size_t o = 0;

  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '%') {
      if (n - i >= 3 && s[i + 1] == '2' && s[i + 2] == '5')
        c = '%';
      else if (n - i >= 3 && s[i + 1] == '7' && s[i + 2] == 'C')
        c = '|';
      else
        return oc_err_set(err, OC_ERR_BAD_KEY, "%s: invalid escape '%s' (only %%25 and %%7C)",
                          field, oc_utf8_quote(s + i, n - i < 3 ? n - i : 3, q, sizeof(q)));
      i += 2;
    }
    if (o == OC_ID_MAX) /* one more byte than an id may have */
      return oc_err_set(err, OC_ERR_BAD_KEY, "%s: more than %d bytes", field, OC_ID_MAX);
    dst[o++] = c;
  }
  dst[o] = '\0';
  if (o > 0 && oc_id_check(field, dst, o, err) < 0)
    return bad_key(err);
  return 0;
}

int oc_key_decode(const char *key, size_t len, oc_fact_id_t *out, oc_err_t *err) {
  const char *f[5];
  size_t fn[5], nf = 0, start = 0;
  char q[QUOTE_MAX], date[11];
  int rc;

  if (len == 0)
    return oc_err_set(err, OC_ERR_BAD_KEY, "key: empty");
  if (len > OC_KEY_MAX)
    return oc_err_set(err, OC_ERR_BAD_KEY, "key: %zu bytes, more than %d", len, OC_KEY_MAX);
  /* Ids never hold a raw '|', so the bars split the fields exactly. */
  for (size_t i = 0; i <= len; i++) {
    if (i < len && key[i] != '|')
      continue;
    if (nf == 5)
      return oc_err_set(err, OC_ERR_BAD_KEY,
                        "key: more than 5 fields (org_id|facility_id|metric|GRAIN|YYYY-MM-DD)");
    f[nf] = key + start;
    fn[nf++] = i - start;
    start = i + 1;
  }
  if (nf != 5)
    return oc_err_set(err, OC_ERR_BAD_KEY,
                      "key: %zu fields, expected 5 (org_id|facility_id|metric|GRAIN|YYYY-MM-DD)",
                      nf);

  if (fn[0] == 0)
    return oc_err_set(err, OC_ERR_BAD_KEY, "org_id: must not be empty");
  if ((rc = decode_id("org_id", f[0], fn[0], out->org_id, err)) < 0)
    return rc;
  if ((rc = decode_id("facility_id", f[1], fn[1], out->facility_id, err)) < 0)
    return rc;

  if (!oc_metric_code_valid(f[2], fn[2]))
    return metric_error(f[2], fn[2], err);
  memcpy(out->metric, f[2], fn[2]);
  out->metric[fn[2]] = '\0';

  int g = 0;
  while (g < OC_GRAIN_COUNT &&
         !(strlen(grain_names[g]) == fn[3] && memcmp(grain_names[g], f[3], fn[3]) == 0))
    g++;
  if (g == OC_GRAIN_COUNT)
    return oc_err_set(err, OC_ERR_BAD_KEY,
                      "grain: unknown grain '%s' (expected DAY, WEEK, MONTH, QUARTER or YEAR)",
                      oc_utf8_quote(f[3], fn[3], q, sizeof(q)));
  out->grain = (oc_grain_t)g;

  if (fn[4] != 10 || memchr(f[4], '\0', 10))
    return oc_err_set(err, OC_ERR_BAD_KEY, "period_start: '%s' is not a date (expected YYYY-MM-DD)",
                      oc_utf8_quote(f[4], fn[4], q, sizeof(q)));
  memcpy(date, f[4], 10);
  date[10] = '\0';
  if (oc_date_parse(date, &out->period_start, err) < 0) {
    oc_err_prefix(err, "period_start: ");
    return bad_key(err);
  }
  return check_period(out->grain, out->period_start, err);
}
