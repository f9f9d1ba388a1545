/* series.c - the series id cache; see include/outcomes/series.h. Open
 * addressing over a power-of-two table at most half full; the key is the
 * series' text key "metric\x1forg\x1ffacility\x1fgrain" (ids hold no
 * control characters). */
#include "outcomes/series.h"

#include <stdlib.h>
#include <string.h>

#include "outcomes/buf.h"
#include "outcomes/pgbin.h"
#include "outcomes/stmt.h"

#define KEY_MAX (OC_METRIC_CODE_MAX + 2 * OC_ID_MAX + 16)

typedef struct slot_s {
  char *key; /* owned; NULL: empty */
  uint32_t hash;
  int32_t id;
} slot_t;

struct oc_series_cache_s {
  slot_t *slots;
  size_t n_slots; /* power of two, >= 2 * max */
  size_t count, max;
};

static size_t make_key(const oc_fact_id_t *id, char out[KEY_MAX]) {
  size_t n = 0, l;
  const char *parts[4] = {id->metric, id->org_id, id->facility_id, oc_grain_name(id->grain)};
  for (int i = 0; i < 4; i++) {
    l = strlen(parts[i]);
    memcpy(out + n, parts[i], l);
    n += l;
    out[n++] = i < 3 ? '\x1f' : '\0';
  }
  return n - 1;
}

static uint32_t hash_key(const char *k, size_t n) { /* FNV-1a */
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)k[i]) * 16777619u;
  return h;
}

oc_series_cache_t *oc_series_cache_new(size_t max_entries) {
  oc_series_cache_t *c = calloc(1, sizeof(*c));
  if (!c)
    return NULL;
  c->max = max_entries < 16 ? 16 : max_entries;
  c->n_slots = 32;
  while (c->n_slots < 2 * c->max)
    c->n_slots *= 2;
  if (!(c->slots = calloc(c->n_slots, sizeof(*c->slots)))) {
    free(c);
    return NULL;
  }
  return c;
}

static void clear(oc_series_cache_t *c) {
  for (size_t i = 0; i < c->n_slots; i++) {
    free(c->slots[i].key);
    c->slots[i].key = NULL;
  }
  c->count = 0;
}

void oc_series_cache_destroy(oc_series_cache_t *c) {
  if (!c)
    return;
  clear(c);
  free(c->slots);
  free(c);
}

size_t oc_series_cache_count(const oc_series_cache_t *c) { return c->count; }

static slot_t *find(const oc_series_cache_t *c, const char *key, size_t len, uint32_t h) {
  size_t mask = c->n_slots - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    slot_t *s = &c->slots[i];
    if (!s->key || (s->hash == h && memcmp(s->key, key, len + 1) == 0))
      return s;
  }
}

int32_t oc_series_cache_get(const oc_series_cache_t *c, const oc_fact_id_t *id) {
  char key[KEY_MAX];
  size_t len = make_key(id, key);
  const slot_t *s = find(c, key, len, hash_key(key, len));
  return s->key ? s->id : -1;
}

static int put(oc_series_cache_t *c, const oc_fact_id_t *id, int32_t sid) {
  char key[KEY_MAX];
  size_t len = make_key(id, key);
  uint32_t h = hash_key(key, len);
  slot_t *s = find(c, key, len, h);
  if (s->key) {
    s->id = sid;
    return 0;
  }
  if (c->count >= c->max) {
    clear(c);
    s = find(c, key, len, h);
  }
  if (!(s->key = malloc(len + 1)))
    return OC_ERR_NOMEM;
  memcpy(s->key, key, len + 1);
  s->hash = h;
  s->id = sid;
  c->count++;
  return 0;
}

/* The misses, as the four text arrays of series_ids.sql. */
static int resolve_misses(oc_series_cache_t *c, PGconn *conn, const oc_fact_id_t *const *miss,
                          size_t n, oc_err_t *err) {
  oc_pgarr_t arr[4];
  const char *vals[4];
  int lens[4], fmts[4] = {1, 1, 1, 1};
  PGresult *res = NULL;
  int rc = 0;

  for (int i = 0; i < 4; i++)
    oc_pgarr_init(&arr[i], OC_OID_TEXT);
  for (size_t i = 0; i < n; i++) {
    oc_pgarr_text(&arr[0], miss[i]->metric);
    oc_pgarr_text(&arr[1], miss[i]->org_id);
    oc_pgarr_text(&arr[2], miss[i]->facility_id);
    oc_pgarr_text(&arr[3], oc_grain_name(miss[i]->grain));
  }
  for (int i = 0; i < 4; i++)
    if (!(vals[i] = oc_pgarr_finish(&arr[i], &lens[i]))) {
      rc = oc_err_set(err, OC_ERR_NOMEM, "series: out of memory");
      goto out;
    }
  if ((rc = oc_stmt_exec(conn, OC_STMT_SERIES_IDS, 4, vals, lens, fmts, 1, &res, err)) != 0)
    goto out;
  if ((size_t)PQntuples(res) != n) {
    rc = oc_err_set(err, OC_ERR_INTERNAL, "series_ids: %d ids for %zu keys", PQntuples(res), n);
    goto out;
  }
  for (int r = 0; r < PQntuples(res); r++) {
    int32_t ord = oc_pgbin_int4(PQgetvalue(res, r, 0));
    if (ord < 1 || (size_t)ord > n) {
      rc = oc_err_set(err, OC_ERR_INTERNAL, "series_ids: position %d out of range", (int)ord);
      goto out;
    }
    if (put(c, miss[ord - 1], oc_pgbin_int4(PQgetvalue(res, r, 1))) != 0) {
      rc = oc_err_set(err, OC_ERR_NOMEM, "series: out of memory");
      goto out;
    }
  }
out:
  PQclear(res);
  for (int i = 0; i < 4; i++)
    oc_pgarr_release(&arr[i]);
  return rc;
}

int oc_series_resolve(oc_series_cache_t *c, PGconn *conn, const oc_fact_id_t *const *ids, size_t n,
                      int32_t *out, oc_err_t *err) {
  const oc_fact_id_t **miss = NULL;
  size_t n_miss = 0;
  int rc = 0;

  for (size_t i = 0; i < n; i++) {
    out[i] = oc_series_cache_get(c, ids[i]);
    if (out[i] >= 0)
      continue;
    if (!miss && !(miss = malloc(n * sizeof(*miss))))
      return oc_err_set(err, OC_ERR_NOMEM, "series: out of memory");
    miss[n_miss++] = ids[i];
  }
  if (n_miss == 0)
    return 0;
  /* More misses than the cache holds: resolve in slices that fit. */
  for (size_t from = 0; from < n_miss && rc == 0; from += c->max / 2) {
    size_t k = n_miss - from < c->max / 2 ? n_miss - from : c->max / 2;
    if ((rc = resolve_misses(c, conn, miss + from, k, err)) != 0)
      break;
    for (size_t i = 0; i < n; i++)
      if (out[i] < 0)
        out[i] = oc_series_cache_get(c, ids[i]);
  }
  free(miss);
  return rc;
}
