/*
 * test_fact_rule.c - the per-fact rule (fact_rule.h) as a pure function:
 * every case of last writer wins, tombstones and barriers, cross-partition
 * comparison, and a property test: for random sequences of records and
 * tombstones, the fold from scratch equals an independent model of
 * docs/design.md §4, and replaying any prefix, any slice or the whole sequence
 * over any later state changes nothing.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include <stdlib.h>
#include <string.h>

#include "outcomes/fact_rule.h"

static const char *const T = "outcomes.observations";
static const char *const T2 = "outcomes.observations.v2";

static oc_fact_event_t rec(int64_t off, oc_timestamp_t t) {
  oc_fact_event_t ev = {false, t, T, 0, off, NULL};
  return ev;
}

static oc_fact_event_t tomb(int64_t off) {
  oc_fact_event_t ev = {true, 0, T, 0, off, NULL};
  return ev;
}

static void assert_standing(const oc_fact_state_t *st, oc_timestamp_t t, int64_t off,
                            int64_t barrier) {
  assert_int_equal(st->status, OC_FACT_STANDING);
  assert_int_equal(st->observed_at, t);
  assert_int_equal(st->src_offset, off);
  assert_int_equal(st->barrier_offset, barrier);
}

static void test_first_record_stands(void **state) {
  (void)state;
  oc_fact_state_t st;
  oc_fact_state_init(&st);
  oc_fact_event_t e = rec(5, 100);
  assert_int_equal(oc_fact_rule_apply(&st, &e), OC_FACT_APPLIED);
  assert_standing(&st, 100, 5, -1);
  assert_string_equal(st.src_topic, T);
}

static void test_duplicate_is_stale(void **state) {
  (void)state;
  oc_fact_state_t st;
  oc_fact_state_init(&st);
  oc_fact_event_t e = rec(5, 100);
  oc_fact_rule_apply(&st, &e);
  assert_int_equal(oc_fact_rule_apply(&st, &e), OC_FACT_STALE);
  assert_standing(&st, 100, 5, -1);
}

static void test_restatement_replaces(void **state) {
  (void)state;
  oc_fact_state_t st;
  oc_fact_state_init(&st);
  oc_fact_event_t a = rec(5, 100), b = rec(9, 200);
  oc_fact_rule_apply(&st, &a);
  assert_int_equal(oc_fact_rule_apply(&st, &b), OC_FACT_APPLIED);
  assert_standing(&st, 200, 9, -1);
  /* Replaying the old version changes nothing. */
  assert_int_equal(oc_fact_rule_apply(&st, &a), OC_FACT_STALE);
  assert_standing(&st, 200, 9, -1);
}

static void test_late_older_version_is_stale(void **state) {
  (void)state;
  oc_fact_state_t st;
  oc_fact_state_init(&st);
  oc_fact_event_t a = rec(5, 200), late = rec(9, 100);
  oc_fact_rule_apply(&st, &a);
  assert_int_equal(oc_fact_rule_apply(&st, &late), OC_FACT_STALE);
  assert_standing(&st, 200, 5, -1);
}

static void test_tie_goes_to_later_offset(void **state) {
  (void)state;
  oc_fact_state_t st;
  oc_fact_state_init(&st);
  oc_fact_event_t a = rec(5, 100), b = rec(6, 100);
  oc_fact_rule_apply(&st, &a);
  assert_int_equal(oc_fact_rule_apply(&st, &b), OC_FACT_APPLIED);
  assert_standing(&st, 100, 6, -1);
  assert_int_equal(oc_fact_rule_apply(&st, &a), OC_FACT_STALE);
  assert_standing(&st, 100, 6, -1);
}

static oc_fact_event_t rec_obs(int64_t off, oc_timestamp_t t, const oc_observation_t *o) {
  oc_fact_event_t ev = {false, t, T, 0, off, o};
  return ev;
}

static void test_same_content_later_offset_is_duplicate(void **state) {
  (void)state;
  oc_fact_state_t st;
  oc_observation_t o, other;
  memset(&o, 0, sizeof(o));
  o.value = 0.25;
  o.has_numerator = o.has_denominator = true;
  o.numerator = 1;
  o.denominator = 4;
  snprintf(o.source, sizeof(o.source), "ehr");
  other = o;
  other.numerator = 2;
  other.denominator = 8;
  oc_fact_state_init(&st);
  oc_fact_event_t a = rec_obs(5, 100, &o), again = rec_obs(40, 100, &o);
  oc_fact_rule_apply(&st, &a);
  /* The same file published again: stale, and the stored offset stays. */
  assert_int_equal(oc_fact_rule_apply(&st, &again), OC_FACT_STALE);
  assert_standing(&st, 100, 5, -1);
  /* Same observed_at, new content: a tie, the later offset wins. */
  oc_fact_event_t tie = rec_obs(41, 100, &other);
  assert_int_equal(oc_fact_rule_apply(&st, &tie), OC_FACT_APPLIED);
  assert_standing(&st, 100, 41, -1);
  assert_true(st.numerator == 2);
  /* Now the first content at a later offset is a tie again, and wins. */
  oc_fact_event_t back = rec_obs(42, 100, &o);
  assert_int_equal(oc_fact_rule_apply(&st, &back), OC_FACT_APPLIED);
  assert_standing(&st, 100, 42, -1);
  /* Replaying every event over the final state changes nothing. */
  const oc_fact_event_t *all[] = {&a, &again, &tie, &back};
  for (size_t i = 0; i < 4; i++) {
    oc_fact_state_t before = st;
    assert_int_equal(oc_fact_rule_apply(&st, all[i]), OC_FACT_STALE);
    assert_memory_equal(&before, &st, sizeof(st));
  }
  /* A different source is different content. */
  oc_observation_t src = o;
  snprintf(src.source, sizeof(src.source), "ehr-v2");
  oc_fact_event_t s2 = rec_obs(43, 100, &src);
  assert_int_equal(oc_fact_rule_apply(&st, &s2), OC_FACT_APPLIED);
}

static void test_tombstone_retracts_and_sets_barrier(void **state) {
  (void)state;
  oc_fact_state_t st;
  oc_fact_state_init(&st);
  oc_fact_event_t a = rec(5, 100), t = tomb(7);
  oc_fact_rule_apply(&st, &a);
  assert_int_equal(oc_fact_rule_apply(&st, &t), OC_FACT_APPLIED);
  assert_int_equal(st.status, OC_FACT_RETRACTED);
  assert_int_equal(st.barrier_offset, 7);
  assert_int_equal(st.src_offset, 7);
  assert_true(st.has_observed_at);
  assert_int_equal(st.observed_at, 100);
  /* Replays of the record and of the tombstone are stale. */
  assert_int_equal(oc_fact_rule_apply(&st, &a), OC_FACT_STALE);
  assert_int_equal(oc_fact_rule_apply(&st, &t), OC_FACT_STALE);
  assert_int_equal(st.status, OC_FACT_RETRACTED);
}

static void test_record_after_tombstone_stands_even_if_older(void **state) {
  (void)state;
  oc_fact_state_t st;
  oc_fact_state_init(&st);
  oc_fact_event_t a = rec(5, 500), t = tomb(7), b = rec(8, 100);
  oc_fact_rule_apply(&st, &a);
  oc_fact_rule_apply(&st, &t);
  assert_int_equal(oc_fact_rule_apply(&st, &b), OC_FACT_APPLIED);
  assert_standing(&st, 100, 8, 7);
  /* The retracted version, replayed, stays retracted (o <= barrier). */
  assert_int_equal(oc_fact_rule_apply(&st, &a), OC_FACT_STALE);
  /* The tombstone, replayed, does not retract the newer version. */
  assert_int_equal(oc_fact_rule_apply(&st, &t), OC_FACT_STALE);
  assert_standing(&st, 100, 8, 7);
}

static void test_tombstone_before_standing_offset_is_stale(void **state) {
  (void)state;
  oc_fact_state_t st;
  oc_fact_state_init(&st);
  oc_fact_event_t b = rec(9, 100), t = tomb(7);
  oc_fact_rule_apply(&st, &b);
  assert_int_equal(oc_fact_rule_apply(&st, &t), OC_FACT_STALE);
  assert_standing(&st, 100, 9, -1);
}

static void test_tombstone_of_unknown_fact_leaves_marker(void **state) {
  (void)state;
  oc_fact_state_t st;
  oc_fact_state_init(&st);
  oc_fact_event_t t = tomb(3), t2 = tomb(4), early = rec(2, 999);
  assert_int_equal(oc_fact_rule_apply(&st, &t), OC_FACT_APPLIED);
  assert_int_equal(st.status, OC_FACT_RETRACTED);
  assert_false(st.has_observed_at);
  assert_int_equal(st.barrier_offset, 3);
  assert_int_equal(oc_fact_rule_apply(&st, &early), OC_FACT_STALE);
  /* A second tombstone moves the barrier. */
  assert_int_equal(oc_fact_rule_apply(&st, &t2), OC_FACT_APPLIED);
  assert_int_equal(st.barrier_offset, 4);
  assert_int_equal(oc_fact_rule_apply(&st, &t), OC_FACT_STALE);
}

static void test_other_partition_compares_observed_at_only(void **state) {
  (void)state;
  oc_fact_state_t st;
  oc_fact_state_init(&st);
  oc_fact_event_t a = rec(500, 100);
  oc_fact_rule_apply(&st, &a);

  /* Low offset in another topic: offsets do not compare; ties keep. */
  oc_fact_event_t tie = {false, 100, T2, 3, 1, NULL};
  assert_int_equal(oc_fact_rule_apply(&st, &tie), OC_FACT_STALE);
  assert_standing(&st, 100, 500, -1);
  oc_fact_event_t older = {false, 50, T2, 3, 2, NULL};
  assert_int_equal(oc_fact_rule_apply(&st, &older), OC_FACT_STALE);
  oc_fact_event_t newer = {false, 150, T2, 3, 3, NULL};
  assert_int_equal(oc_fact_rule_apply(&st, &newer), OC_FACT_APPLIED);
  assert_standing(&st, 150, 3, -1);
  assert_string_equal(st.src_topic, T2);
  assert_int_equal(st.src_partition, 3);

  /* Same topic, other partition: also foreign. */
  oc_fact_event_t p1 = {false, 140, T2, 1, 999, NULL};
  assert_int_equal(oc_fact_rule_apply(&st, &p1), OC_FACT_STALE);

  /* A foreign tombstone retracts and re-homes the marker. */
  oc_fact_event_t ft = {true, 0, T, 0, 10, NULL};
  assert_int_equal(oc_fact_rule_apply(&st, &ft), OC_FACT_APPLIED);
  assert_int_equal(st.status, OC_FACT_RETRACTED);
  assert_int_equal(st.barrier_offset, 10);
  assert_int_equal(st.observed_at, 150);
  assert_string_equal(st.src_topic, T);

  /* Against a foreign marker a record needs a later observed_at than the
   * version the marker retracted. */
  oc_fact_event_t old2 = {false, 150, T2, 3, 4, NULL};
  assert_int_equal(oc_fact_rule_apply(&st, &old2), OC_FACT_STALE);
  oc_fact_event_t new2 = {false, 151, T2, 3, 5, NULL};
  assert_int_equal(oc_fact_rule_apply(&st, &new2), OC_FACT_APPLIED);
  assert_standing(&st, 151, 5, -1);
}

/* ---- property test ---------------------------------------------------- */

#define N_IDS 3
#define MAX_EVENTS 40

typedef struct prop_ev_s {
  int id;
  oc_fact_event_t ev;
} prop_ev_t;

/* The model: docs/design.md §4 read directly. In offset order, a tombstone
 * removes the fact; a record stands if nothing stands or it is later by
 * (observed_at, offset). */
typedef struct model_s {
  int status; /* 0 never seen, 1 standing, 2 retracted */
  oc_timestamp_t t;
  int64_t o;
} model_t;

static unsigned rnd(unsigned *seed) {
  *seed = *seed * 1103515245u + 12345u;
  return (*seed >> 16) & 0x7fff;
}

static void fold(oc_fact_state_t *sts, const prop_ev_t *evs, size_t from, size_t to) {
  for (size_t i = from; i < to; i++)
    oc_fact_rule_apply(&sts[evs[i].id], &evs[i].ev);
}

static void assert_states_equal(const oc_fact_state_t *a, const oc_fact_state_t *b) {
  for (int i = 0; i < N_IDS; i++)
    assert_memory_equal(&a[i], &b[i], sizeof(a[i]));
}

static void test_property_fold_and_replay(void **state) {
  (void)state;
  unsigned seed = 20240601u;
  for (int iter = 0; iter < 3000; iter++) {
    prop_ev_t evs[MAX_EVENTS];
    size_t n = 1 + rnd(&seed) % MAX_EVENTS;
    int64_t off = rnd(&seed) % 5;
    for (size_t i = 0; i < n; i++) {
      evs[i].id = (int)(rnd(&seed) % N_IDS);
      evs[i].ev.tombstone = rnd(&seed) % 5 == 0;
      /* Few distinct timestamps: ties and late older versions are common. */
      evs[i].ev.observed_at = evs[i].ev.tombstone ? 0 : 1 + rnd(&seed) % 6;
      evs[i].ev.topic = T;
      evs[i].ev.partition = 0;
      off += 1 + rnd(&seed) % 3; /* gaps, as in a compacted topic */
      evs[i].ev.offset = off;
      evs[i].ev.obs = NULL; /* content unknown: the model has no duplicates */
    }

    model_t model[N_IDS] = {{0, 0, 0}};
    for (size_t i = 0; i < n; i++) {
      model_t *m = &model[evs[i].id];
      const oc_fact_event_t *e = &evs[i].ev;
      if (e->tombstone) {
        m->status = 2;
      } else if (m->status != 1 || e->observed_at > m->t ||
                 (e->observed_at == m->t && e->offset > m->o)) {
        m->status = 1;
        m->t = e->observed_at;
        m->o = e->offset;
      }
    }

    oc_fact_state_t final[N_IDS];
    for (int i = 0; i < N_IDS; i++)
      oc_fact_state_init(&final[i]);
    fold(final, evs, 0, n);
    for (int i = 0; i < N_IDS; i++) {
      if (model[i].status == 1) {
        assert_int_equal(final[i].status, OC_FACT_STANDING);
        assert_int_equal(final[i].observed_at, model[i].t);
        assert_int_equal(final[i].src_offset, model[i].o);
      } else if (model[i].status == 2) {
        assert_int_equal(final[i].status, OC_FACT_RETRACTED);
      } else {
        assert_int_equal(final[i].status, OC_FACT_ABSENT);
      }
    }

    /* Every single event, every slice, the whole: stale over the final state. */
    oc_fact_state_t again[N_IDS];
    for (size_t i = 0; i < n; i++) {
      memcpy(again, final, sizeof(again));
      assert_int_equal(oc_fact_rule_apply(&again[evs[i].id], &evs[i].ev), OC_FACT_STALE);
    }
    size_t a = rnd(&seed) % (n + 1), b = rnd(&seed) % (n + 1);
    if (a > b) {
      size_t x = a;
      a = b;
      b = x;
    }
    memcpy(again, final, sizeof(again));
    fold(again, evs, a, b);
    assert_states_equal(again, final);
    fold(again, evs, 0, n);
    assert_states_equal(again, final);

    /* A crash after any prefix, then a restart from the beginning (or from
     * any earlier point) converges to the same state. */
    size_t k = rnd(&seed) % (n + 1), j = rnd(&seed) % (k + 1);
    oc_fact_state_t crash[N_IDS];
    for (int i = 0; i < N_IDS; i++)
      oc_fact_state_init(&crash[i]);
    fold(crash, evs, 0, k);
    fold(crash, evs, j, n);
    assert_states_equal(crash, final);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_first_record_stands),
      cmocka_unit_test(test_duplicate_is_stale),
      cmocka_unit_test(test_restatement_replaces),
      cmocka_unit_test(test_late_older_version_is_stale),
      cmocka_unit_test(test_tie_goes_to_later_offset),
      cmocka_unit_test(test_same_content_later_offset_is_duplicate),
      cmocka_unit_test(test_tombstone_retracts_and_sets_barrier),
      cmocka_unit_test(test_record_after_tombstone_stands_even_if_older),
      cmocka_unit_test(test_tombstone_before_standing_offset_is_stale),
      cmocka_unit_test(test_tombstone_of_unknown_fact_leaves_marker),
      cmocka_unit_test(test_other_partition_compares_observed_at_only),
      cmocka_unit_test(test_property_fold_and_replay),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
