/*
 * batch.h - the Kafka messages of one transaction, collected and
 * classified (apply.h applies them).
 *
 * A batch holds messages of one topic, in the order they were polled (so in
 * offset order within each partition). Messages are classified when added:
 * a record (decoded, validated, key equal to its identity), a tombstone
 * (NULL value, valid key of a known metric) or a dead letter (the raw key,
 * value and headers are copied, with the error code's name as the reason).
 * The batch copies what it keeps: the caller destroys each message at once.
 *
 * Not thread-safe; one batch per consumer.
 */
#ifndef OUTCOMES_BATCH_H
#define OUTCOMES_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "outcomes/catalog.h"
#include "outcomes/err.h"
#include "outcomes/obs_codec.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct oc_batch_s oc_batch_t;

/* Per partition of a batch: where it starts and ends, and what became of
 * every message in it. applied + stale + dead_lettered = messages. */
typedef struct oc_batch_part_s {
  int32_t partition;
  int64_t expected; /* stored next_offset the batch continues from; -1: none stored */
  int64_t first;    /* offset of the first message */
  int64_t next;     /* last offset + 1: the next_offset stored on commit */
  int64_t applied;  /* records and tombstones that changed a fact */
  int64_t stale;    /* skipped as stale or duplicate */
  int64_t dead_lettered;
} oc_batch_part_t;

/* Headers a record may carry: one with more is a dead letter
 * (too_many_headers) that keeps the first OC_BATCH_HEADERS_MAX. */
#define OC_BATCH_HEADERS_MAX 64

/* A batch for topic (copied) bounded by max_records messages and max_bytes
 * bytes: keys, values, and what each record and dead letter costs in memory
 * (its slot, the copies of its headers and their bookkeeping); a single
 * larger message is still accepted into an empty batch. codec and cat are borrowed and must outlive
 * the batch (oc_batch_set_catalog replaces cat). Caller frees with
 * oc_batch_destroy(). NULL on allocation failure. */
oc_batch_t *oc_batch_new(const char *topic, size_t max_records, size_t max_bytes,
                         oc_obs_codec_t *codec, const oc_catalog_t *cat);
void oc_batch_set_catalog(oc_batch_t *b, const oc_catalog_t *cat);

/* NULL is accepted. */
void oc_batch_destroy(oc_batch_t *b);

/* Forget every message (memory is kept for the next batch). */
void oc_batch_reset(oc_batch_t *b);

/* Classify and copy m (borrowed; the caller destroys it). expected is the
 * stored next_offset of m's partition (-1: none), recorded the first time
 * the partition appears in the batch. Fails only on allocation failure
 * (OC_ERR_NOMEM) and when the schema registry cannot say what a
 * Confluent-framed value's schema id is (a retriable error: the batch is
 * to be dropped and read again after a backoff); a bad message becomes a
 * dead letter. */
int oc_batch_add(oc_batch_t *b, const rd_kafka_message_t *m, int64_t expected, oc_err_t *err);

size_t oc_batch_count(const oc_batch_t *b);
bool oc_batch_full(const oc_batch_t *b);

/* The partitions of the batch (borrowed; valid until the next reset). */
size_t oc_batch_part_count(const oc_batch_t *b);
const oc_batch_part_t *oc_batch_part_at(const oc_batch_t *b, size_t i);

/* Dead letters of the batch by reason: calls fn(code_name, count, arg) for
 * each reason present. */
void oc_batch_dead_letter_counts(const oc_batch_t *b,
                                 void (*fn)(const char *code, int64_t n, void *arg), void *arg);

/* How many times the last oc_batch_apply ran its transaction again because
 * another writer changed one of its facts meanwhile (see apply.h). */
int64_t oc_batch_retries(const oc_batch_t *b);

#ifdef __cplusplus
}
#endif
#endif
