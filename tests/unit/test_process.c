/* test_process.c - the SIGTERM/SIGINT counter. */
#include "testutil.h"

#include <signal.h>

#include "outcomes/process.h"

static volatile sig_atomic_t counter;

static void test_signals_count_to_two_and_ignore_sigpipe(void **state) {
  (void)state;
  assert_int_equal(oc_signals_install(&counter), 0);
  raise(SIGTERM);
  assert_int_equal(counter, 1);
  raise(SIGINT);
  assert_int_equal(counter, 2);
  raise(SIGTERM);
  assert_int_equal(counter, 2);
  raise(SIGPIPE); /* ignored: the process lives on */
  assert_int_equal(counter, 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_signals_count_to_two_and_ignore_sigpipe),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
