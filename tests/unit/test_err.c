/* test_err.c - error values: the exit status of every code. */
#include "testutil.h"

#include <string.h>

#include "outcomes/err.h"

/* Every code of oc_errcode_t, with the sysexits(3) status a program exits
 * with when it fails with that code. */
static void test_exit_status_of_every_code(void **state) {
  (void)state;
  static const struct {
    int code, status;
  } table[] = {
      {OC_OK, 0},
      {OC_ERR_INTERNAL, 70},
      {OC_ERR_NOMEM, 70},
      {OC_ERR_IO, 74},
      {OC_ERR_USAGE, 64},
      {OC_ERR_CONFIG, 78},
      {OC_ERR_LIMIT, 65},
      {OC_ERR_KAFKA, 69},
      {OC_ERR_PG, 69},
      {OC_ERR_CONFLICT, 75},
      {OC_ERR_NOT_FOUND, 66},
      {OC_ERR_DECODE, 65},
      {OC_ERR_SCHEMA, 65},
      {OC_ERR_UNKNOWN_SCHEMA, 65},
      {OC_ERR_BAD_KEY, 65},
      {OC_ERR_BAD_FIELD, 65},
      {OC_ERR_UNKNOWN_METRIC, 65},
      {OC_ERR_RANGE, 65},
      {OC_ERR_MISALIGNED, 65},
      {OC_ERR_RATIO_MISSING, 65},
      {OC_ERR_RATIO_MISMATCH, 65},
      {OC_ERR_TOO_MANY_HEADERS, 65},
  };
  size_t named = 0;
  for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
    assert_int_equal(oc_err_exit_status(table[i].code), table[i].status);
  /* The table above holds every code that has a name: none is forgotten. */
  for (int code = -100; code <= 100; code++)
    named += strcmp(oc_err_code_name(code), "unknown_error") != 0;
  assert_int_equal(named, sizeof(table) / sizeof(table[0]));
  /* A code that is none of them is a bug: 70. */
  assert_int_equal(oc_err_exit_status(-19), 70);
  assert_int_equal(oc_err_exit_status(-31), 70);
  assert_int_equal(oc_err_exit_status(1), 70);
}

static void test_exit_status_constants_are_sysexits(void **state) {
  (void)state;
  assert_int_equal(OC_EX_OK, 0);
  assert_int_equal(OC_EX_USAGE, 64);
  assert_int_equal(OC_EX_DATAERR, 65);
  assert_int_equal(OC_EX_NOINPUT, 66);
  assert_int_equal(OC_EX_UNAVAILABLE, 69);
  assert_int_equal(OC_EX_SOFTWARE, 70);
  assert_int_equal(OC_EX_IOERR, 74);
  assert_int_equal(OC_EX_TEMPFAIL, 75);
  assert_int_equal(OC_EX_CONFIG, 78);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exit_status_of_every_code),
      cmocka_unit_test(test_exit_status_constants_are_sysexits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
