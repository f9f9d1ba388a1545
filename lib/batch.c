/* batch.c - collecting and classifying the messages of a batch; see
 * include/outcomes/batch.h. The transaction is in apply.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "batch_internal.h"
#include "outcomes/key.h"
#include "outcomes/log.h"

/* Bookkeeping of one heap block, counted with each copy a dead letter
 * makes, so that batch.max.bytes bounds what the batch really holds. */
#define ALLOC_OVERHEAD 16

oc_batch_t *oc_batch_new(const char *topic, size_t max_records, size_t max_bytes,
                         oc_obs_codec_t *codec, const oc_catalog_t *cat) {
  oc_batch_t *b = calloc(1, sizeof(*b));

  if (!b || max_records == 0)
    goto fail;
  b->topic = strdup(topic);
  b->max_records = max_records;
  b->max_bytes = max_bytes;
  b->codec = codec;
  b->cat = cat;
  b->events = calloc(max_records, sizeof(*b->events));
  b->entries = calloc(max_records, sizeof(*b->entries));
  b->n_slots = 16;
  while (b->n_slots < 2 * max_records)
    b->n_slots *= 2;
  b->slots = malloc(b->n_slots * sizeof(*b->slots));
  if (!b->topic || !b->events || !b->entries || !b->slots)
    goto fail;
  memset(b->slots, 0xff, b->n_slots * sizeof(*b->slots));
  if (sodium_init() < 0)
    goto fail;
  crypto_shorthash_keygen(b->hash_key);
  return b;
fail:
  oc_batch_destroy(b);
  return NULL;
}

void oc_batch_set_catalog(oc_batch_t *b, const oc_catalog_t *cat) { b->cat = cat; }

static void dead_release(oc_bdead_t *d) {
  free(d->key);
  free(d->value);
  for (size_t i = 0; i < d->n_headers; i++) {
    free(d->header_names[i]);
    free(d->header_values[i]);
  }
  free(d->header_names);
  free(d->header_values);
  free(d->header_lens);
  free(d->message);
  memset(d, 0, sizeof(*d));
}

void oc_batch_reset(oc_batch_t *b) {
  if (!b)
    return;
  for (size_t i = 0; i < b->n_entries; i++) {
    free(b->entries[i].foreign_topic);
    b->entries[i].foreign_topic = NULL;
  }
  for (size_t i = 0; i < b->n_dead; i++)
    dead_release(&b->dead[i]);
  memset(b->slots, 0xff, b->n_slots * sizeof(*b->slots));
  b->n_events = b->n_entries = b->n_dead = b->n_parts = 0;
  b->bytes = 0;
  memset(b->dead_by_code, 0, sizeof(b->dead_by_code));
}

void oc_batch_destroy(oc_batch_t *b) {
  if (!b)
    return;
  oc_batch_reset(b);
  free(b->topic);
  free(b->events);
  free(b->entries);
  free(b->slots);
  free(b->dead);
  free(b->parts);
  free(b);
}

size_t oc_batch_count(const oc_batch_t *b) { return b->n_events + b->n_dead; }

bool oc_batch_full(const oc_batch_t *b) {
  return oc_batch_count(b) >= b->max_records || b->bytes >= b->max_bytes;
}

size_t oc_batch_part_count(const oc_batch_t *b) { return b->n_parts; }

int64_t oc_batch_retries(const oc_batch_t *b) { return b->retries; }

const oc_batch_part_t *oc_batch_part_at(const oc_batch_t *b, size_t i) {
  return i < b->n_parts ? &b->parts[i] : NULL;
}

void oc_batch_dead_letter_counts(const oc_batch_t *b,
                                 void (*fn)(const char *code, int64_t n, void *arg), void *arg) {
  for (int i = 0; i < OC_BATCH_CODE_SLOTS; i++)
    if (b->dead_by_code[i])
      fn(oc_err_code_name(-i), b->dead_by_code[i], arg);
}

/* ---- identities -------------------------------------------------------- */

_Static_assert(sizeof(((oc_batch_t *)0)->hash_key) == crypto_shorthash_KEYBYTES,
               "hash_key holds one crypto_shorthash key");

uint64_t oc_batch_id_hash(const oc_batch_t *b, const oc_fact_id_t *id) {
  /* The fields end to end, each text with its NUL, so that no two
   * identities give the same bytes. */
  unsigned char buf[sizeof(id->org_id) + sizeof(id->facility_id) + sizeof(id->metric) +
                    sizeof(id->grain) + sizeof(id->period_start)];
  unsigned char out[crypto_shorthash_BYTES];
  const char *const texts[] = {id->org_id, id->facility_id, id->metric};
  size_t n = 0;
  uint64_t h;

  for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
    size_t len = strlen(texts[i]) + 1;
    memcpy(buf + n, texts[i], len);
    n += len;
  }
  memcpy(buf + n, &id->grain, sizeof(id->grain));
  n += sizeof(id->grain);
  memcpy(buf + n, &id->period_start, sizeof(id->period_start));
  n += sizeof(id->period_start);
  crypto_shorthash(out, buf, n, b->hash_key);
  memcpy(&h, out, sizeof(h));
  return h;
}

/* The entry of the identity of events[ev], created if new. */
static int32_t entry_for(oc_batch_t *b, size_t ev) {
  const oc_fact_id_t *id = &b->events[ev].obs.id;
  size_t mask = b->n_slots - 1;
  for (size_t i = (size_t)oc_batch_id_hash(b, id) & mask;; i = (i + 1) & mask) {
    int32_t e = b->slots[i];
    if (e < 0) {
      oc_bentry_t *en = &b->entries[b->n_entries];
      memset(en, 0, sizeof(*en));
      en->first_event = (int32_t)ev;
      en->winner = -1;
      oc_fact_state_init(&en->state);
      b->slots[i] = (int32_t)b->n_entries;
      return (int32_t)b->n_entries++;
    }
    if (oc_fact_id_equal(&b->events[b->entries[e].first_event].obs.id, id))
      return e;
  }
}

static int32_t part_for(oc_batch_t *b, int32_t partition, int64_t offset, int64_t expected) {
  for (size_t i = 0; i < b->n_parts; i++)
    if (b->parts[i].partition == partition)
      return (int32_t)i;
  if (b->n_parts == b->cap_parts) {
    size_t cap = b->cap_parts ? 2 * b->cap_parts : 8;
    oc_batch_part_t *p = realloc(b->parts, cap * sizeof(*p));
    if (!p)
      return -1;
    b->parts = p;
    b->cap_parts = cap;
  }
  oc_batch_part_t *p = &b->parts[b->n_parts];
  memset(p, 0, sizeof(*p));
  p->partition = partition;
  p->expected = expected;
  p->first = offset;
  p->next = offset + 1;
  return (int32_t)b->n_parts++;
}

/* ---- dead letters ------------------------------------------------------ */

static void *dup_bytes(const void *p, size_t n) {
  void *d = malloc(n ? n : 1);
  if (d && n)
    memcpy(d, p, n);
  return d;
}

/* Text for a PostgreSQL text column: valid UTF-8 without NUL. */
static char *dup_text(const char *s, size_t n) {
  char *d;
  if (oc_utf8_valid(s, n) && !memchr(s, '\0', n)) {
    d = malloc(n + 1);
    if (d) {
      memcpy(d, s, n);
      d[n] = '\0';
    }
    return d;
  }
  size_t cap = 4 * n + 8;
  d = malloc(cap);
  if (d)
    oc_utf8_quote(s, n, d, cap);
  return d;
}

static int add_dead(oc_batch_t *b, const rd_kafka_message_t *m, int32_t part, const oc_err_t *why,
                    oc_err_t *err) {
  if (b->n_dead == b->cap_dead) {
    size_t cap = b->cap_dead ? 2 * b->cap_dead : 16;
    oc_bdead_t *d = realloc(b->dead, cap * sizeof(*d));
    if (!d)
      return oc_err_set(err, OC_ERR_NOMEM, "dead letters: out of memory");
    b->dead = d;
    b->cap_dead = cap;
  }
  oc_bdead_t *d = &b->dead[b->n_dead];
  memset(d, 0, sizeof(*d));
  rd_kafka_timestamp_type_t tstype;
  int64_t ts = rd_kafka_message_timestamp(m, &tstype);
  d->part = part;
  d->offset = m->offset;
  /* Outside what timestamptz holds, the broker's timestamp is left out. */
  d->timestamp_ms = (ts >= 0 && ts <= OC_TIMESTAMP_MAX / 1000) ? ts : -1;
  d->code = why->code;
  d->message = dup_text(why->msg, strlen(why->msg));
  if (!d->message)
    goto nomem;
  if (m->key) {
    d->key = dup_bytes(m->key, m->key_len);
    d->key_len = m->key_len;
    if (!d->key)
      goto nomem;
  }
  if (m->payload) {
    d->value = dup_bytes(m->payload, m->len);
    d->value_len = m->len;
    if (!d->value)
      goto nomem;
  }
  rd_kafka_headers_t *hdrs = NULL;
  b->bytes += sizeof(*d) + ALLOC_OVERHEAD;
  if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) {
    size_t n = rd_kafka_header_cnt(hdrs);
    if (n > OC_BATCH_HEADERS_MAX)
      n = OC_BATCH_HEADERS_MAX; /* the record is a dead letter for that (classify) */
    d->header_names = calloc(n ? n : 1, sizeof(char *));
    d->header_values = calloc(n ? n : 1, sizeof(unsigned char *));
    d->header_lens = calloc(n ? n : 1, sizeof(size_t));
    if (!d->header_names || !d->header_values || !d->header_lens)
      goto nomem;
    for (size_t i = 0; i < n; i++) {
      const char *name;
      const void *val;
      size_t len;
      if (rd_kafka_header_get_all(hdrs, i, &name, &val, &len) != RD_KAFKA_RESP_ERR_NO_ERROR)
        break;
      d->n_headers = i + 1;
      d->header_names[i] = dup_text(name, strlen(name));
      if (!d->header_names[i])
        goto nomem;
      if (val) {
        d->header_values[i] = dup_bytes(val, len);
        d->header_lens[i] = len;
        if (!d->header_values[i])
          goto nomem;
      }
      /* What the copy really costs: both texts, three slots, two blocks. */
      b->bytes += strlen(name) + 1 + len + 3 * sizeof(void *) + 2 * ALLOC_OVERHEAD;
    }
  }
  b->n_dead++;
  if (-why->code >= 0 && -why->code < OC_BATCH_CODE_SLOTS)
    b->dead_by_code[-why->code]++;
  return 0;
nomem:
  dead_release(d);
  return oc_err_set(err, OC_ERR_NOMEM, "dead letter: out of memory");
}

/* ---- classification ---------------------------------------------------- */

/* The first identity field in which a and b differ, for the message. */
static const char *id_differs(const oc_fact_id_t *a, const oc_fact_id_t *b) {
  if (strncmp(a->org_id, b->org_id, sizeof(a->org_id)) != 0)
    return "org_id";
  if (strncmp(a->facility_id, b->facility_id, sizeof(a->facility_id)) != 0)
    return "facility_id";
  if (strncmp(a->metric, b->metric, sizeof(a->metric)) != 0)
    return "metric";
  return a->grain != b->grain ? "grain" : "period_start";
}

/* Decode and check m into events[n_events]; 0 when it is a record or a
 * tombstone, else the data error in *why. */
static int classify(oc_batch_t *b, const rd_kafka_message_t *m, oc_err_t *why) {
  oc_bevent_t *ev = &b->events[b->n_events];
  oc_fact_id_t kid;
  rd_kafka_headers_t *hdrs = NULL;

  memset(&ev->obs, 0, sizeof(ev->obs));
  if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs &&
      rd_kafka_header_cnt(hdrs) > OC_BATCH_HEADERS_MAX)
    return oc_err_set(why, OC_ERR_TOO_MANY_HEADERS,
                      "headers: %zu, more than %d (the first %d kept)", rd_kafka_header_cnt(hdrs),
                      OC_BATCH_HEADERS_MAX, OC_BATCH_HEADERS_MAX);
  if (!m->payload) {
    /* A tombstone: the key is all there is. */
    if (!m->key || m->key_len == 0)
      return oc_err_set(why, OC_ERR_BAD_KEY, "key: missing (tombstone)");
    if (oc_key_decode(m->key, m->key_len, &ev->obs.id, why) != 0)
      return why->code = OC_ERR_BAD_KEY;
    if (!oc_catalog_find(b->cat, ev->obs.id.metric))
      return oc_err_set(why, OC_ERR_UNKNOWN_METRIC, "metric: unknown metric '%s' (tombstone)",
                        ev->obs.id.metric);
    ev->tombstone = true;
    return 0;
  }
  int rc = oc_obs_decode(b->codec, m->payload, m->len, &ev->obs, why);
  if (rc != 0) /* retriable: the schema registry, not the record */
    return rc == OC_ERR_NOMEM || oc_err_is_data(rc) || why->retriable ? rc
                                                                      : (why->code = OC_ERR_DECODE);
  rc = oc_observation_validate(&ev->obs, b->cat, why);
  if (rc != 0)
    return rc;
  if (!m->key || m->key_len == 0)
    return oc_err_set(why, OC_ERR_BAD_KEY, "key: missing");
  if (oc_key_decode(m->key, m->key_len, &kid, why) != 0)
    return why->code = OC_ERR_BAD_KEY;
  if (!oc_fact_id_equal(&kid, &ev->obs.id))
    return oc_err_set(why, OC_ERR_BAD_KEY,
                      "key: does not match the record's fact identity (%s differs)",
                      id_differs(&kid, &ev->obs.id));
  ev->tombstone = false;
  return 0;
}

int oc_batch_add(oc_batch_t *b, const rd_kafka_message_t *m, int64_t expected, oc_err_t *err) {
  oc_err_t why;

  if (oc_batch_count(b) >= b->max_records)
    return oc_err_set(err, OC_ERR_LIMIT, "batch: full");
  int32_t part = part_for(b, m->partition, m->offset, expected);
  if (part < 0)
    return oc_err_set(err, OC_ERR_NOMEM, "batch: out of memory");
  b->parts[part].next = m->offset + 1;
  b->bytes += m->len + m->key_len + sizeof(oc_bevent_t);

  oc_err_clear(&why);
  if (classify(b, m, &why) != 0) {
    if (why.code == OC_ERR_NOMEM)
      return oc_err_set(err, OC_ERR_NOMEM, "%s", why.msg);
    if (why.retriable && !oc_err_is_data(why.code))
      return oc_err_set_retriable(err, why.code, "partition %d offset %lld: %s", (int)m->partition,
                                  (long long)m->offset, why.msg);
    if (!oc_err_is_data(why.code))
      why.code = OC_ERR_DECODE;
    oc_log_debug("dead_letter partition=%d offset=%lld code=%s msg=\"%s\"", (int)m->partition,
                 (long long)m->offset, oc_err_code_name(why.code), why.msg);
    return add_dead(b, m, part, &why, err);
  }
  oc_bevent_t *ev = &b->events[b->n_events];
  ev->part = part;
  ev->offset = m->offset;
  ev->entry = entry_for(b, b->n_events);
  b->n_events++;
  return 0;
}
