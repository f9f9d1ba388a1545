/* test_process.c - sysexits mapping and the SIGTERM/SIGINT counter. */
#include "testutil.h"

#include <signal.h>

#include "outcomes/process.h"

static void test_exit_status_follows_sysexits(void **state) {
  (void)state;
  static const struct {
    int code, status;
  } cases[] = {
      {OC_OK, 0},           {OC_ERR_USAGE, 64},        {OC_ERR_DECODE, 65},
      {OC_ERR_RANGE, 65},   {OC_ERR_NOT_FOUND, 66},    {OC_ERR_KAFKA, 69},
      {OC_ERR_PG, 69},      {OC_ERR_INTERNAL, 70},     {OC_ERR_NOMEM, 70},
      {OC_ERR_IO, 74},      {OC_ERR_CONFIG, 78},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    oc_err_t err;
    oc_err_set(&err, cases[i].code, "x");
    assert_int_equal(oc_exit_status(&err), cases[i].status);
  }
}

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
      cmocka_unit_test(test_exit_status_follows_sysexits),
      cmocka_unit_test(test_signals_count_to_two_and_ignore_sigpipe),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
