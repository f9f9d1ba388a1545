/*
 * produce.h - publish files of observations (input.h) to Kafka, validated,
 * with every delivery acknowledged (docs/design.md §3 and §7.1).
 *
 * The Kafka producer is idempotent with acks=all. Each valid row becomes one
 * message: key = oc_key_encode() of its identity, value = oc_obs_encode()
 * (or no value at all, a tombstone, in retraction mode). A file counts as
 * published only when every one of its valid rows is acknowledged by the
 * broker; a full local queue is waited out (poll and retry), never dropped.
 * After the first failed delivery the rest of the file is not read: the
 * file is failed anyway and the user re-runs it (the consumer is
 * idempotent).
 *
 * Row errors go to a caller's function, never to stdout.
 */
#ifndef OUTCOMES_PRODUCE_H
#define OUTCOMES_PRODUCE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <librdkafka/rdkafka.h>

#include "outcomes/catalog.h"
#include "outcomes/err.h"
#include "outcomes/input.h"
#include "outcomes/obs_codec.h"
#include "outcomes/date.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Called once per rejected row: name is the file's display name, line the
 * line where the row starts (0 for an error of the whole file), msg
 * "field: reason". */
typedef void (*oc_reject_fn)(void *opaque, const char *name, long line, const char *msg);

/* Where a file stands, given to the caller's progress function
 * (oc_produce_opts_t.progress) after every row read and once more at the
 * end of the file, when every delivery is known. The counts are this
 * file's (for --strict, of the pass under way: the check, then the
 * publishing). */
typedef struct oc_produce_progress_s {
  const char *name;  /* the file's display name */
  uint64_t read;     /* rows read so far (good and bad) */
  uint64_t sent;     /* rows acknowledged by the broker so far */
  uint64_t rejected; /* rows rejected so far */
  int64_t offset;    /* bytes of a regular file read so far; -1 for another input */
} oc_produce_progress_t;

typedef void (*oc_produce_progress_fn)(void *opaque, const oc_produce_progress_t *pr);

typedef struct oc_produce_opts_s {
  const char *topic;                  /* borrowed */
  const oc_catalog_t *catalog;        /* borrowed */
  oc_obs_codec_t *codec;              /* borrowed; may be NULL for dry runs and retractions */
  oc_input_format_t format;           /* OC_INPUT_AUTO: by each file's extension */
  bool strict;                        /* a file with a bad row publishes nothing */
  bool dry_run;                       /* validate only; no Kafka at all */
  bool retract;                       /* identity rows → tombstones */
  bool regular_only;                  /* open no symbolic link, nothing but a regular file */
  int64_t flush_timeout_ms;           /* bound on the flush after a stop request */
  oc_timestamp_t default_observed_at; /* observed_at of rows without one */
  /* Borrowed stop request, set by the caller's signal handler: 0 run, 1 stop
   * reading and flush within flush_timeout_ms, 2 or more give up at once. */
  const volatile sig_atomic_t *stop;
  oc_produce_progress_fn progress; /* may be NULL; called on this thread */
  void *progress_opaque;
} oc_produce_opts_t;

typedef struct oc_produce_stats_s {
  uint64_t read;               /* rows read (good and bad) */
  uint64_t published;          /* rows acknowledged by the broker */
  uint64_t rejected;           /* rows that failed parsing or validation */
  uint64_t not_delivered;      /* valid rows not acknowledged (failed, purged, or
                             never sent after a failure or a stop) */
  uint64_t possibly_persisted; /* of not_delivered: failed while in flight,
                                  so the broker may have them after all */
  bool withheld;               /* --strict: valid rows not sent because of a bad row */
  bool interrupted;            /* a stop request ended reading early */
} oc_produce_stats_t;

typedef struct oc_producer_s oc_producer_t;

/* A producer. conf is taken over in every case (destroyed on failure); it
 * may be NULL for a dry run. The producer settings enable.idempotence=true
 * and acks=all are set here; the caller must have refused them in conf
 * (OC_PRODUCE_RESERVED_KEYS with oc_kafka_conf_set). opts is copied; what it
 * points to is borrowed and must outlive the producer. Caller frees *out
 * with oc_producer_destroy(). Errors: OC_ERR_CONFIG, OC_ERR_KAFKA. */
int oc_producer_new(rd_kafka_conf_t *conf, const oc_produce_opts_t *opts, oc_producer_t **out,
                    oc_err_t *err);

/* librdkafka properties that oc_producer_new() sets itself (NULL-ended). */
extern const char *const oc_produce_reserved_keys[];

/* The producer's defaults for librdkafka properties, {name, value} pairs
 * ended by {NULL, NULL}: set them on conf before the user's kafka.* keys,
 * which override them (documented in outcomes-produce(1)). */
extern const char *const oc_produce_kafka_defaults[][2];

/* Set oc_produce_kafka_defaults on conf: before the user's kafka.* keys,
 * by every producer of observations (outcomes-produce, outcomes-replay). */
int oc_produce_kafka_conf_defaults(rd_kafka_conf_t *conf, oc_err_t *err);

/* Publish one file (path "-" = standard input; name, which may be NULL, is
 * how errors refer to it). Rejected rows are passed to reject (may be NULL)
 * as they are found; *st (zeroed here) gets the counts.
 *
 * Returns 0 when every valid row read was acknowledged (some rows may have
 * been rejected: see st->rejected; with --strict then none is sent), or:
 *   OC_ERR_NOT_FOUND / OC_ERR_IO  the input cannot be opened (not found,
 *                    permission) or read
 *   OC_ERR_BAD_FIELD the input as a whole is bad (its CSV header); also
 *                    passed to reject with the line
 *   OC_ERR_KAFKA     rows not delivered: err says how many; retriable
 *                    unless the producer hit a fatal error
 *   OC_ERR_USAGE     the format cannot be told from the name
 * A stop request is not an error: st->interrupted tells it. */
int oc_producer_file(oc_producer_t *p, const char *path, const char *name, oc_reject_fn reject,
                     void *opaque, oc_produce_stats_t *st, oc_err_t *err);

/* The same for an open stream f (borrowed) of format fmt (not
 * OC_INPUT_AUTO), called name in messages. */
int oc_producer_stream(oc_producer_t *p, FILE *f, oc_input_format_t fmt, const char *name,
                       oc_reject_fn reject, void *opaque, oc_produce_stats_t *st, oc_err_t *err);

/* Validate the files published from now on with cat (borrowed, like
 * opts->catalog; the caller keeps the one it replaces alive until then). */
void oc_producer_set_catalog(oc_producer_t *p, const oc_catalog_t *cat);

/* Change the observed_at given to rows without one (the spool daemon uses
 * the time each file is taken). */
void oc_producer_set_default_observed_at(oc_producer_t *p, oc_timestamp_t ts);

/* True once librdkafka reported a fatal error: the producer cannot be used
 * any more (make a new one). */
bool oc_producer_fatal(const oc_producer_t *p);

/* The librdkafka handle (borrowed): for statistics and fault injection. */
rd_kafka_t *oc_producer_handle(oc_producer_t *p);

/* Flush (bounded by the flush timeout) and free. Accepts NULL. */
void oc_producer_destroy(oc_producer_t *p);

#ifdef __cplusplus
}
#endif
#endif
