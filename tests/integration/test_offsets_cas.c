/*
 * test_offsets_cas.c - the stored offsets' compare-and-set (offsets.h): a
 * stale expected offset fails with OC_ERR_CONFLICT; a second "first" row for
 * a partition fails; and a zombie whose CAS waits behind the owner's
 * transaction is rejected once the owner commits.
 */
#include "rollupd_harness.h"

#include "outcomes/offsets.h"
#include "outcomes/stmt.h"

/* A connection to db with the statements prepared. */
static PGconn *prepared(PGconn *c) {
  oc_err_t err;
  if (oc_stmt_prepare(c, &err) != 0)
    fail_msg("prepare: %s", err.msg);
  return c;
}

static void cas(PGconn *c, int32_t p, int64_t expected, int64_t next, int want) {
  oc_err_t err;
  oc_offset_update_t u = {p, expected, next, 0};
  h_exec(c, "BEGIN");
  int rc = oc_offsets_cas(c, "g", "t", &u, 1, &err);
  if (rc != want)
    fail_msg("cas %d: %lld -> %lld: rc %d, expected %d (%s)", (int)p, (long long)expected,
             (long long)next, rc, want, rc ? err.msg : "");
  h_exec(c, rc == 0 ? "COMMIT" : "ROLLBACK");
}

static void test_stale_expected_offset_is_a_conflict(void **state) {
  (void)state;
  char db[128];
  snprintf(db, sizeof(db), "%s", oc_test_unique_name("oc_cas"));
  PGconn *c = prepared(h_db_create(db));

  cas(c, 0, -1, 10, 0);               /* first batch of partition 0 */
  cas(c, 0, -1, 12, OC_ERR_CONFLICT); /* someone else's "first" batch */
  cas(c, 0, 5, 20, OC_ERR_CONFLICT);  /* stale expected offset */
  cas(c, 0, 10, 20, 0);
  cas(c, 0, 10, 30, OC_ERR_CONFLICT); /* the same batch again */
  cas(c, 1, -1, 7, 0);

  /* Several partitions at once: all or nothing. */
  oc_err_t err;
  oc_offset_update_t two[2] = {{0, 20, 25, 0}, {1, 6, 9, 0}};
  h_exec(c, "BEGIN");
  assert_int_equal(oc_offsets_cas(c, "g", "t", two, 2, &err), OC_ERR_CONFLICT);
  h_exec(c, "ROLLBACK");
  two[1].expected = 7;
  h_exec(c, "BEGIN");
  assert_int_equal(oc_offsets_cas(c, "g", "t", two, 2, &err), 0);
  h_exec(c, "COMMIT");

  int32_t parts[3] = {0, 1, 2};
  int64_t next[3];
  assert_int_equal(oc_offsets_load(c, "g", "t", parts, 3, next, &err), 0);
  assert_int_equal(next[0], 25);
  assert_int_equal(next[1], 9);
  assert_int_equal(next[2], -1);
  assert_int_equal(oc_offsets_load(c, "other", "t", parts, 3, next, &err), 0);
  assert_int_equal(next[0], -1);
  h_db_drop(c, db);
}

static void test_zombie_waiting_behind_owner_is_rejected(void **state) {
  (void)state;
  char db[128];
  oc_err_t err;
  snprintf(db, sizeof(db), "%s", oc_test_unique_name("oc_cas_z"));
  PGconn *owner = prepared(h_db_create(db));
  PGconn *zombie = prepared(h_connect(db));

  cas(owner, 3, -1, 100, 0);
  /* Both believe partition 3 is at 100. The owner moves first and holds
   * the row; the zombie's CAS blocks on it. */
  oc_offset_update_t u = {3, 100, 150, 0};
  h_exec(owner, "BEGIN");
  assert_int_equal(oc_offsets_cas(owner, "g", "t", &u, 1, &err), 0);

  h_exec(zombie, "BEGIN");
  assert_int_equal(PQsendQueryParams(zombie,
                                     "UPDATE outcomes.consumer_offsets SET next_offset = 170"
                                     " WHERE group_id = 'g' AND topic = 't' AND partition = 3"
                                     " AND next_offset = 100",
                                     0, NULL, NULL, NULL, NULL, 0),
                   1);
  h_sleep_ms(300);
  PQconsumeInput(zombie);
  assert_int_equal(PQisBusy(zombie), 1); /* waiting for the owner's row lock */
  h_exec(owner, "COMMIT");
  PGresult *res = PQgetResult(zombie);
  assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
  assert_string_equal(PQcmdTuples(res), "0"); /* re-checked against 150: no match */
  PQclear(res);
  while ((res = PQgetResult(zombie)))
    PQclear(res);
  h_exec(zombie, "ROLLBACK");

  /* Through the library, the zombie's view is a conflict. */
  oc_offset_update_t z = {3, 100, 170, 0};
  h_exec(zombie, "BEGIN");
  assert_int_equal(oc_offsets_cas(zombie, "g", "t", &z, 1, &err), OC_ERR_CONFLICT);
  h_exec(zombie, "ROLLBACK");
  assert_int_equal(h_value_ll(owner, "SELECT next_offset FROM outcomes.consumer_offsets"
                                     " WHERE partition = 3"),
                   150);
  PQfinish(zombie);
  h_db_drop(owner, db);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stale_expected_offset_is_a_conflict),
      cmocka_unit_test(test_zombie_waiting_behind_owner_is_rejected),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
