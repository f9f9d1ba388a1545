/* test_clock.c - the monotonic clock and the exponential backoff
 * (lib/clock.c). */
#include "testutil.h"

#include <time.h>

#include "outcomes/clock.h"

static void test_clock_ms_is_monotonic_and_in_milliseconds(void **state) {
  (void)state;
  struct timespec pause = {0, 20 * 1000 * 1000};
  int64_t t0 = oc_clock_ms();

  assert_true(t0 >= 0);
  nanosleep(&pause, NULL);
  int64_t t1 = oc_clock_ms();
  assert_true(t1 - t0 >= 20);
  assert_true(t1 - t0 < 2000);
}

/* The next wait's ceiling: the wait itself is drawn from its upper half
 * (checked here), the ceiling doubles. */
static int64_t next_ceiling(oc_backoff_t *b) {
  int64_t w = oc_backoff_next(b);
  assert_true(w <= b->cur_ms);
  assert_true(w >= b->cur_ms - b->cur_ms / 2);
  return b->cur_ms;
}

/* Instances that start together (after one outage) do not retry in
 * lock-step: their waits spread over the upper half of each step. */
static void test_backoff_waits_are_jittered_per_instance(void **state) {
  (void)state;
  enum { N = 200 };
  int64_t first[N], lo = INT64_MAX, hi = 0;
  size_t distinct = 0;

  for (int i = 0; i < N; i++) {
    oc_backoff_t b;
    oc_backoff_init(&b, 1000, 60000);
    first[i] = oc_backoff_next(&b);
    lo = first[i] < lo ? first[i] : lo;
    hi = first[i] > hi ? first[i] : hi;
  }
  for (int i = 0; i < N; i++) {
    int seen = 0;
    for (int j = 0; j < i && !seen; j++)
      seen = first[j] == first[i];
    distinct += !seen;
  }
  assert_true(lo >= 500 && hi <= 1000);
  assert_true(distinct >= N / 2); /* 200 draws from 501 values */
  assert_true(hi - lo >= 250);
}

static void test_backoff_doubles_up_to_the_bound(void **state) {
  (void)state;
  oc_backoff_t b;
  const int64_t want[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};

  oc_backoff_init(&b, 1000, 60000);
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
    assert_int_equal(next_ceiling(&b), want[i]);
}

/* Each wait is twice the last, or the bound when twice would pass it: with
 * an odd bound the step below it is not rounded up to it. */
static void test_backoff_steps_are_exact_below_an_odd_bound(void **state) {
  (void)state;
  oc_backoff_t b;

  oc_backoff_init(&b, 3, 7);
  assert_int_equal(next_ceiling(&b), 3);
  assert_int_equal(next_ceiling(&b), 6);
  assert_int_equal(next_ceiling(&b), 7);
  assert_int_equal(next_ceiling(&b), 7);

  oc_backoff_init(&b, 5, 21);
  assert_int_equal(next_ceiling(&b), 5);
  assert_int_equal(next_ceiling(&b), 10);
  assert_int_equal(next_ceiling(&b), 20);
  assert_int_equal(next_ceiling(&b), 21);
}

static void test_backoff_reset_starts_again_at_the_first_wait(void **state) {
  (void)state;
  oc_backoff_t b;

  oc_backoff_init(&b, 100, 1000);
  assert_int_equal(next_ceiling(&b), 100);
  assert_int_equal(next_ceiling(&b), 200);
  oc_backoff_reset(&b);
  assert_int_equal(next_ceiling(&b), 100);
}

/* A first wait of 0 or less is 1 ms; a bound below the first wait is the
 * first wait; a huge bound does not overflow. */
static void test_backoff_init_clamps_its_arguments(void **state) {
  (void)state;
  oc_backoff_t b;

  oc_backoff_init(&b, 0, 4);
  assert_int_equal(next_ceiling(&b), 1);
  assert_int_equal(next_ceiling(&b), 2);
  assert_int_equal(next_ceiling(&b), 4);
  assert_int_equal(next_ceiling(&b), 4);

  oc_backoff_init(&b, 500, 100);
  assert_int_equal(next_ceiling(&b), 500);
  assert_int_equal(next_ceiling(&b), 500);

  oc_backoff_init(&b, INT64_MAX / 2 + 1, INT64_MAX);
  assert_int_equal(next_ceiling(&b), INT64_MAX / 2 + 1);
  assert_int_equal(next_ceiling(&b), INT64_MAX);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_clock_ms_is_monotonic_and_in_milliseconds),
      cmocka_unit_test(test_backoff_waits_are_jittered_per_instance),
      cmocka_unit_test(test_backoff_doubles_up_to_the_bound),
      cmocka_unit_test(test_backoff_steps_are_exact_below_an_odd_bound),
      cmocka_unit_test(test_backoff_reset_starts_again_at_the_first_wait),
      cmocka_unit_test(test_backoff_init_clamps_its_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
