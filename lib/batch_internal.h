/* batch_internal.h - the batch's insides, shared by batch.c (collecting and
 * classifying messages) and apply.c (the transaction). Not installed. */
#ifndef OC_BATCH_INTERNAL_H
#define OC_BATCH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "outcomes/apply.h"
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
  int32_t first_event;  /* events[first_event].obs.id is the identity */
  bool was_standing;    /* a version stood before the batch */
  /* Its numbers, for the rollup deltas; old_known false when they could
   * not be read. */
  bool old_known, old_has_numerator, old_has_denominator;
  double old_value, old_numerator, old_denominator;
  oc_fact_state_t state; /* loaded, then folded */
  int32_t winner;       /* event whose version stands after the fold, -1 */
  bool changed;
  char *foreign_topic;  /* owned: state.src_topic when not the batch's topic */
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
  char **header_names;            /* owned, valid UTF-8 */
  unsigned char **header_values;  /* owned; NULL entries: null values */
  size_t *header_lens;
  int code;
  char *message; /* owned, valid UTF-8 */
} oc_bdead_t;

#define OC_BATCH_CODE_SLOTS 64

struct oc_batch_s {
  char *topic;
  size_t max_records, max_bytes;
  oc_obs_codec_t *codec;    /* borrowed */
  const oc_catalog_t *cat;  /* borrowed */

  oc_bevent_t *events; /* capacity max_records */
  size_t n_events;
  oc_bentry_t *entries; /* capacity max_records */
  size_t n_entries;
  int32_t *slots; /* open addressing over entries, -1 empty */
  size_t n_slots; /* power of two */
  oc_bdead_t *dead;
  size_t n_dead, cap_dead;
  oc_batch_part_t *parts;
  size_t n_parts, cap_parts;
  size_t bytes;
  int64_t dead_by_code[OC_BATCH_CODE_SLOTS]; /* index: -code */
  int64_t regrouped; /* by the last oc_batch_apply: see oc_batch_regrouped */
};

#endif
