/* test_batch_hash.c - the batch's table of fact identities is keyed by a
 * hash with a random key per batch: ids that a producer chose to collide
 * under a fixed hash (here unkeyed FNV-1a, in the low bits a 5,000-record
 * batch's table uses) spread over the table, and two batches hash one id
 * differently. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "../../lib/batch_internal.h"

enum { RECORDS = 5000, TABLE_BITS = 14, CHOSEN = 200 };

static uint64_t fnv1a(uint64_t h, const void *p, size_t n) {
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++) {
    h ^= s[i];
    h *= UINT64_C(1099511628211);
  }
  return h;
}

static uint64_t unkeyed(const oc_fact_id_t *id) {
  uint64_t h = UINT64_C(14695981039346656037);
  h = fnv1a(h, id->org_id, strlen(id->org_id) + 1);
  h = fnv1a(h, id->facility_id, strlen(id->facility_id) + 1);
  h = fnv1a(h, id->metric, strlen(id->metric) + 1);
  h = fnv1a(h, &id->grain, sizeof(id->grain));
  return fnv1a(h, &id->period_start, sizeof(id->period_start));
}

static void make_id(oc_fact_id_t *id, unsigned long n) {
  memset(id, 0, sizeof(*id));
  snprintf(id->org_id, sizeof(id->org_id), "org-%lu", n);
  strcpy(id->metric, "er_visits");
  id->grain = OC_GRAIN_DAY;
  id->period_start = 19723; /* 2024-01-01 */
}

static void test_chosen_collisions_spread_over_the_table(void **state) {
  (void)state;
  static oc_fact_id_t ids[CHOSEN];
  const uint64_t mask = (UINT64_C(1) << TABLE_BITS) - 1;
  size_t found = 0;
  oc_batch_t *b = oc_batch_new("t", RECORDS, 1 << 20, NULL, NULL);

  assert_non_null(b);
  assert_int_equal(b->n_slots, (size_t)1 << TABLE_BITS);
  /* The attacker's work: ids that all fall into slot 0 of the fixed hash. */
  for (unsigned long n = 0; found < CHOSEN; n++) {
    make_id(&ids[found], n);
    if ((unkeyed(&ids[found]) & mask) == 0)
      found++;
  }
  static unsigned char per_slot[1 << TABLE_BITS];
  unsigned most = 0;
  for (size_t i = 0; i < CHOSEN; i++) {
    unsigned c = ++per_slot[oc_batch_id_hash(b, &ids[i]) & mask];
    most = c > most ? c : most;
  }
  assert_true(most <= 4);
  oc_batch_destroy(b);
}

static void test_two_batches_hash_one_id_differently(void **state) {
  (void)state;
  oc_fact_id_t id;
  oc_batch_t *a = oc_batch_new("t", 10, 1 << 20, NULL, NULL);
  oc_batch_t *b = oc_batch_new("t", 10, 1 << 20, NULL, NULL);

  assert_non_null(a);
  assert_non_null(b);
  make_id(&id, 1);
  assert_int_equal(oc_batch_id_hash(a, &id), oc_batch_id_hash(a, &id));
  assert_int_not_equal(oc_batch_id_hash(a, &id), oc_batch_id_hash(b, &id));
  oc_batch_destroy(a);
  oc_batch_destroy(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_chosen_collisions_spread_over_the_table),
      cmocka_unit_test(test_two_batches_hash_one_id_differently),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
