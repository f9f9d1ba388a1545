/*
 * fact_rule.h - the per-fact rule of the consumer daemon (docs/design.md §4):
 * last writer wins by (observed_at, offset), tombstones retract, and
 * applying any record again leaves the state as it was.
 *
 * What is stored per fact identity (a row of outcomes.facts):
 *   - nothing, or the standing version (observed_at t_s, offset o_s), or a
 *     retraction marker (the offset of the tombstone, and the observed_at
 *     of the version it retracted, if any);
 *   - barrier_offset: the offset of the last tombstone applied, -1 if none;
 *   - src_topic/src_partition: where the standing version or the marker
 *     came from (offsets only compare within one topic partition).
 *
 * The rule, for an event from the same topic partition as the stored row
 * (or when nothing is stored):
 *   - a record at offset o with observed_at t is stale when o <= barrier, or
 *     a version stands with (t, o) <= (t_s, o_s) lexicographically, or a
 *     version stands with t == t_s and the same content (value, numerator,
 *     denominator, source): a duplicate, such as the same file published
 *     again, changes nothing, not even the stored offset; otherwise it
 *     becomes the standing version (barrier unchanged);
 *   - a tombstone at offset o is stale when o <= max(barrier, o_s);
 *     otherwise it retracts: the row becomes a marker with barrier = o.
 *     A tombstone for an identity never seen leaves a marker too, so that
 *     the state never depends on what was consumed before it.
 *
 * Folding a partition's events in offset order from nothing gives the
 * semantics of docs/design.md §4, and every event already folded is stale
 * against every later state: by induction, after each step every folded
 * event e has o_e <= barrier, or (record) (t_e, o_e) <= (t_s, o_s) or e
 * duplicates the standing version, or (tombstone) o_e <= max(barrier,
 * o_s); a duplicate stays one until a version with a greater (t, o), hence
 * greater than e's, replaces the one it duplicates; a record that applies raises
 * (t_s, o_s) and a tombstone that applies raises the barrier above every
 * folded offset, and neither lowers anything. So replaying any prefix, or
 * the whole partition, over the final state changes nothing.
 *
 * A different topic partition (a topic re-partitioned and republished):
 * offsets do not compare, so only observed_at does, and ties keep the
 * stored row:
 *   - a record replaces a standing version when t > t_s, a marker when t
 *     is greater than the observed_at of the version the marker retracted
 *     (or the marker retracted nothing); it then starts a new history in its
 *     own partition (barrier -1);
 *   - a tombstone retracts a standing version and re-homes a marker to its
 *     own partition (barrier = its offset), so that the older records of
 *     its partition are stale when that partition is replayed.
 */
#ifndef OUTCOMES_FACT_RULE_H
#define OUTCOMES_FACT_RULE_H

#include <stdbool.h>
#include <stdint.h>

#include "outcomes/record.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum oc_fact_status_e {
  OC_FACT_ABSENT = 0,    /* no row stored */
  OC_FACT_STANDING = 1,  /* a version stands */
  OC_FACT_RETRACTED = 2, /* a retraction marker */
} oc_fact_status_t;

typedef struct oc_fact_state_s {
  oc_fact_status_t status;
  /* STANDING: the version's observed_at. RETRACTED: that of the version the
   * marker retracted, when has_observed_at. */
  bool has_observed_at;
  oc_timestamp_t observed_at;
  int64_t src_offset; /* the standing version's, or the tombstone's */
  /* STANDING, when has_content: the version's content, to tell a duplicate
   * (same observed_at and content) from a tie (same observed_at, new
   * content, which goes to the later offset). */
  bool has_content;
  bool has_numerator, has_denominator;
  double value, numerator, denominator;
  char source[OC_ID_MAX + 1];
  int64_t barrier_offset; /* last tombstone applied in src partition, -1 none */
  const char *src_topic;  /* borrowed; NULL only when ABSENT */
  int32_t src_partition;
} oc_fact_state_t;

typedef struct oc_fact_event_s {
  bool tombstone;
  oc_timestamp_t observed_at; /* records only */
  const char *topic;          /* borrowed */
  int32_t partition;
  int64_t offset;
  const oc_observation_t *obs; /* records: the content (borrowed), or NULL
                                  when unknown (no duplicate detection) */
} oc_fact_event_t;

typedef enum oc_fact_outcome_e {
  OC_FACT_STALE = 0,   /* nothing changed */
  OC_FACT_APPLIED = 1, /* the state changed: the event's version stands or it retracted */
} oc_fact_outcome_t;

/* An absent state. */
void oc_fact_state_init(oc_fact_state_t *st);

/* Apply ev to *st by the rule above. On OC_FACT_APPLIED *st is updated (its
 * src_topic borrows ev->topic); on OC_FACT_STALE it is unchanged. Pure: no
 * allocation, no I/O. */
oc_fact_outcome_t oc_fact_rule_apply(oc_fact_state_t *st, const oc_fact_event_t *ev);

#ifdef __cplusplus
}
#endif
#endif
