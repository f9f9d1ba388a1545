/* batch_internal.h - the batch's insides, shared by batch.c (collecting and
 * classifying messages) and apply.c (the transaction). Not installed. */
#ifndef OC_BATCH_INTERNAL_H
#define OC_BATCH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "outcomes/batch.h"
#include "outcomes/fact_rule.h"
#include "outcomes/record.h"

/* A record or a tombstone: obs is the decoded record, or only obs.id for a
 * tombstone. */
typedef struct oc_bevent_s {
  int32_t entry; /* index into entries: the fact identity */
  int32_t part;  /* index into parts */
  bool tombstone;
  int64_t offset;
  oc_observation_t obs;
} oc_bevent_t;

/* One fact identity touched by the batch. */
typedef struct oc_bentry_s {
  int32_t first_event;          /* events[first_event].obs.id is the identity */
  int32_t series_id;            /* outcomes.series id of the identity's series */
  bool stored;                  /* a row is stored for it (stored_state holds it) */
  bool locked;                  /* the row was locked and read again (facts_lock) */
  oc_fact_state_t stored_state; /* as read; the fold starts from it */
  char *foreign_topic;          /* owned: stored_state.src_topic when not the batch's topic */
  oc_fact_state_t state;        /* after the fold */
  int32_t winner;               /* event whose version stands after the fold, -1 */
  bool changed;
} oc_bentry_t;

typedef struct oc_bdead_s {
  int32_t part;
  int64_t offset;
  int64_t timestamp_ms; /* -1: none */
  unsigned char *key;   /* owned; NULL: no key */
  size_t key_len;
  unsigned char *value; /* owned; NULL: null value */
  size_t value_len;
  size_t n_headers;
  char **header_names;           /* owned, valid UTF-8 */
  unsigned char **header_values; /* owned; NULL entries: null values */
  size_t *header_lens;
  int code;
  char *message; /* owned, valid UTF-8 */
} oc_bdead_t;

#define OC_BATCH_CODE_SLOTS 64

struct oc_batch_s {
  char *topic;
  size_t max_records, max_bytes;
  oc_obs_codec_t *codec;   /* borrowed */
  const oc_catalog_t *cat; /* borrowed */

  oc_bevent_t *events; /* capacity max_records */
  size_t n_events;
  oc_bentry_t *entries; /* capacity max_records */
  size_t n_entries;
  int32_t *slots;             /* open addressing over entries, -1 empty */
  size_t n_slots;             /* power of two */
  unsigned char hash_key[16]; /* crypto_shorthash_KEYBYTES, random per batch */
  oc_bdead_t *dead;
  size_t n_dead, cap_dead;
  oc_batch_part_t *parts;
  size_t n_parts, cap_parts;
  size_t bytes;
  int64_t dead_by_code[OC_BATCH_CODE_SLOTS]; /* index: -code */
  int64_t retries;                           /* by the last oc_batch_apply: see oc_batch_retries */
};

/* The hash of id in b's table of identities: SipHash-2-4 (libsodium's
 * crypto_shorthash) under a random key drawn for each batch, since the ids
 * come from whoever can write to the topic. */
uint64_t oc_batch_id_hash(const oc_batch_t *b, const oc_fact_id_t *id);

#endif
