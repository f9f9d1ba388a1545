/*
 * offsets.h - the Kafka positions stored in PostgreSQL
 * (outcomes.consumer_offsets), the source of truth for where each consumer
 * group resumes (docs/design.md §7.2). They move by compare-and-set inside
 * the transaction that applies the records they cover, so that an instance
 * that lost its partitions (a zombie) cannot overwrite newer work.
 *
 * The statements are schemas/sql/statements/offsets_*.sql, prepared on the
 * connection by oc_stmt_prepare().
 */
#ifndef OUTCOMES_OFFSETS_H
#define OUTCOMES_OFFSETS_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "outcomes/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct oc_offset_update_s {
  int32_t partition;
  int64_t expected; /* the stored next_offset to replace; -1: no row may exist yet */
  int64_t next;     /* the new next_offset */
  int64_t first;    /* first_offset of a new row (ignored for existing rows) */
} oc_offset_update_t;

/* Compare-and-set the offsets of group/topic inside the caller's open
 * transaction: each row's next_offset moves from expected to next; a row
 * with expected -1 is inserted and must not exist. Rows are locked in
 * partition order and stay locked until the transaction ends. Fails with
 * OC_ERR_CONFLICT when any row did not match (the caller must roll back),
 * OC_ERR_PG otherwise. */
int oc_offsets_cas(PGconn *conn, const char *group_id, const char *topic,
                   const oc_offset_update_t *u, size_t n, oc_err_t *err);

/* Read the stored next_offset of each partition in parts[0..n) into
 * next_out[i] (-1 where none is stored). */
int oc_offsets_load(PGconn *conn, const char *group_id, const char *topic, const int32_t *parts,
                    size_t n, int64_t *next_out, oc_err_t *err);

/* What became of a batch's records, per partition: add applied[i],
 * stale[i] and dead[i] to the counters of partition parts[i] (rows locked
 * by oc_offsets_cas in the same transaction). */
int oc_offsets_count(PGconn *conn, const char *group_id, const char *topic, const int32_t *parts,
                     const int64_t *applied, const int64_t *stale, const int64_t *dead, size_t n,
                     oc_err_t *err);

#ifdef __cplusplus
}
#endif
#endif
