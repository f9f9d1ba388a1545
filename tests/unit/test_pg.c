/* test_pg.c - libpq helpers that need no server. */
#include "testutil.h"

#include <string.h>

#include "outcomes/pg.h"

static void test_retriable_sqlstates(void **state) {
  (void)state;
  assert_true(oc_pg_sqlstate_retriable("08006")); /* connection failure */
  assert_true(oc_pg_sqlstate_retriable("08P01"));
  assert_true(oc_pg_sqlstate_retriable("40001"));  /* serialization */
  assert_true(oc_pg_sqlstate_retriable("40P01"));  /* deadlock */
  assert_true(oc_pg_sqlstate_retriable("57P01"));  /* admin shutdown */
  assert_true(oc_pg_sqlstate_retriable("53300"));  /* too many connections */
  assert_true(oc_pg_sqlstate_retriable("53100"));  /* disk full */
  assert_false(oc_pg_sqlstate_retriable("23505")); /* unique violation */
  assert_false(oc_pg_sqlstate_retriable("42601")); /* syntax error */
  assert_false(oc_pg_sqlstate_retriable("40002")); /* integrity constraint violation */
  assert_false(oc_pg_sqlstate_retriable("57014")); /* query canceled */
  assert_false(oc_pg_sqlstate_retriable(""));
  assert_false(oc_pg_sqlstate_retriable(NULL));
  assert_false(oc_pg_sqlstate_retriable("08"));
}

static void test_describe_never_shows_the_password(void **state) {
  char buf[256];
  (void)state;
  oc_pg_conninfo_describe("host=db1 port=5433 dbname=outcomes user=mig password=s3cret "
                          "sslmode=require",
                          buf, sizeof(buf));
  assert_string_equal(buf, "host=db1 port=5433 dbname=outcomes user=mig");
  oc_pg_conninfo_describe("postgresql://mig:s3cret@db2:5434/outcomes", buf, sizeof(buf));
  assert_string_equal(buf, "host=db2 port=5434 dbname=outcomes user=mig");
  assert_null(strstr(buf, "s3cret"));
  oc_pg_conninfo_describe("", buf, sizeof(buf));
  assert_string_equal(buf, "(libpq defaults)");
  oc_pg_conninfo_describe("host='unterminated", buf, sizeof(buf));
  assert_string_equal(buf, "(invalid conninfo)");
  oc_pg_conninfo_describe("host=a port=1 dbname=b user=c", buf, 12);
  assert_int_equal(strlen(buf), 11);
}

static void test_failed_connect_is_retriable_and_hides_password(void **state) {
  PGconn *conn = (PGconn *)1;
  oc_err_t err;
  (void)state;
  /* A socket directory with no server: fails at once. */
  assert_int_equal(
      oc_pg_connect("host=/nonexistent-oc-test port=1 password=s3cret", NULL, &conn, &err),
      OC_ERR_PG);
  assert_null(conn);
  assert_true(err.retriable);
  assert_null(strstr(err.msg, "s3cret"));
  assert_non_null(strstr(err.msg, "pg connect host=/nonexistent-oc-test port=1: "));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_retriable_sqlstates),
      cmocka_unit_test(test_describe_never_shows_the_password),
      cmocka_unit_test(test_failed_connect_is_retriable_and_hides_password),
  };
  return cmocka_run_group_tests_name("pg", tests, NULL, NULL);
}
