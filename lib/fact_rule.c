/* fact_rule.c - last writer wins + tombstones; see include/outcomes/fact_rule.h. */
#include "outcomes/fact_rule.h"

#include <string.h>

void oc_fact_state_init(oc_fact_state_t *st) {
  memset(st, 0, sizeof(*st));
  st->status = OC_FACT_ABSENT;
  st->src_offset = -1;
  st->barrier_offset = -1;
}

static bool same_source(const oc_fact_state_t *st, const oc_fact_event_t *ev) {
  return st->status == OC_FACT_ABSENT || (st->src_partition == ev->partition && st->src_topic &&
                                          ev->topic && strcmp(st->src_topic, ev->topic) == 0);
}

/* The event repeats the standing version: same observed_at, same content. */
static bool duplicate(const oc_fact_state_t *st, const oc_fact_event_t *ev) {
  const oc_observation_t *o = ev->obs;
  if (st->status != OC_FACT_STANDING || !st->has_content || !o ||
      ev->observed_at != st->observed_at)
    return false;
  return o->value == st->value && o->has_numerator == st->has_numerator &&
         (!o->has_numerator || o->numerator == st->numerator) &&
         o->has_denominator == st->has_denominator &&
         (!o->has_denominator || o->denominator == st->denominator) &&
         strcmp(o->source, st->source) == 0;
}

static void stand(oc_fact_state_t *st, const oc_fact_event_t *ev, int64_t barrier) {
  const oc_observation_t *o = ev->obs;
  st->has_content = o != NULL;
  if (o) {
    st->value = o->value;
    st->has_numerator = o->has_numerator;
    st->numerator = o->numerator;
    st->has_denominator = o->has_denominator;
    st->denominator = o->denominator;
    memcpy(st->source, o->source, sizeof(st->source));
  }
  st->status = OC_FACT_STANDING;
  st->has_observed_at = true;
  st->observed_at = ev->observed_at;
  st->src_offset = ev->offset;
  st->barrier_offset = barrier;
  st->src_topic = ev->topic;
  st->src_partition = ev->partition;
}

static void retract(oc_fact_state_t *st, const oc_fact_event_t *ev) {
  /* A marker keeps the observed_at of what it retracted (already in *st for
   * STANDING and RETRACTED; nothing for ABSENT). */
  if (st->status == OC_FACT_ABSENT)
    st->has_observed_at = false;
  st->has_content = false;
  st->status = OC_FACT_RETRACTED;
  st->src_offset = ev->offset;
  st->barrier_offset = ev->offset;
  st->src_topic = ev->topic;
  st->src_partition = ev->partition;
}

static oc_fact_outcome_t apply_same(oc_fact_state_t *st, const oc_fact_event_t *ev) {
  if (ev->tombstone) {
    int64_t floor = st->barrier_offset;
    if (st->status == OC_FACT_STANDING && st->src_offset > floor)
      floor = st->src_offset;
    if (ev->offset <= floor)
      return OC_FACT_STALE;
    retract(st, ev);
    return OC_FACT_APPLIED;
  }
  if (ev->offset <= st->barrier_offset || duplicate(st, ev))
    return OC_FACT_STALE;
  if (st->status == OC_FACT_STANDING &&
      (ev->observed_at < st->observed_at ||
       (ev->observed_at == st->observed_at && ev->offset <= st->src_offset)))
    return OC_FACT_STALE;
  stand(st, ev, st->barrier_offset);
  return OC_FACT_APPLIED;
}

static oc_fact_outcome_t apply_foreign(oc_fact_state_t *st, const oc_fact_event_t *ev) {
  if (ev->tombstone) {
    retract(st, ev);
    return OC_FACT_APPLIED;
  }
  if (st->has_observed_at && ev->observed_at <= st->observed_at)
    return OC_FACT_STALE;
  stand(st, ev, -1);
  return OC_FACT_APPLIED;
}

oc_fact_outcome_t oc_fact_rule_apply(oc_fact_state_t *st, const oc_fact_event_t *ev) {
  return same_source(st, ev) ? apply_same(st, ev) : apply_foreign(st, ev);
}
