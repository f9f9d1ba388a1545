/*
 * test_rollupd_outage.c - PostgreSQL goes away under outcomes-rollupd: its
 * connections (the batches' and the refresher's) are killed and the
 * database refuses connections for a while
 * (ALTER DATABASE ... ALLOW_CONNECTIONS, so that the shared server of the
 * test stack stays up for the other tests). The daemon retries with
 * backoff, logs the outage once (not once per retry), comes back, loses
 * nothing and applies nothing twice; SIGTERM then stops it with status 0.
 */
#include "rollupd_harness.h"

static void test_postgres_outage_is_retried_and_loses_nothing(void **state) {
  (void)state;
  static const char *const extra[] = {"batch.max.records=500", "batch.max.wait=100ms",
                                      "retry.backoff.max=1s", NULL};
  char db[128], topic[128], group[160], log[256], sql[512];
  long n = 12000;
  h_load_t L;

  snprintf(db, sizeof(db), "%s", oc_test_unique_name("oc_outage"));
  snprintf(topic, sizeof(topic), "%s", oc_test_unique_name("outage"));
  snprintf(group, sizeof(group), "g-%s", topic);
  snprintf(log, sizeof(log), "/tmp/%s.log", db);
  unlink(log);
  PGconn *c = h_db_create(db);
  rd_kafka_t *prod = h_producer();
  h_topic_create(prod, topic, 3);
  h_load_produce(&L, prod, topic, n, 5);
  rd_kafka_destroy(prod);

  pid_t pid = h_daemon_start(db, topic, group, log, false, extra);
  long long at = 0;
  for (int i = 0; i < 600 && at < 1000; i++) {
    h_sleep_ms(100);
    at = h_value_ll(c, "SELECT coalesce(sum(next_offset), 0) FROM outcomes.consumer_offsets");
  }
  assert_true(at >= 1000);
  PQfinish(c);

  /* The outage: no new connections to the database, the daemon's killed. */
  PGconn *admin = h_connect(NULL);
  snprintf(sql, sizeof(sql), "ALTER DATABASE %s ALLOW_CONNECTIONS false", db);
  h_exec(admin, sql);
  snprintf(sql, sizeof(sql),
           "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
           " WHERE datname = '%s' AND application_name LIKE 'outcomes-rollupd%%'",
           db);
  assert_true(h_value_ll(admin, sql) >= 2); /* the batches' and the refresher's */
  h_sleep_ms(4000);                         /* several retries: 100, 200, 400, 800, 1000 ms ... */
  snprintf(sql, sizeof(sql), "ALTER DATABASE %s ALLOW_CONNECTIONS true", db);
  h_exec(admin, sql);
  PQfinish(admin);

  c = h_connect(db);
  for (int i = 0; i < 1200 && at < n; i++) {
    h_sleep_ms(100);
    at = h_value_ll(c, "SELECT coalesce(sum(next_offset), 0) FROM outcomes.consumer_offsets");
  }
  assert_int_equal(at, n);
  h_wait_rollups_current(c); /* the refresher reconnected too */
  kill(pid, SIGTERM);
  assert_int_equal(h_daemon_wait(pid, 20, log), 0);

  assert_int_equal(h_count_in_file(log, "pg_down"), 1);
  assert_int_equal(h_count_in_file(log, "pg_up"), 1);
  assert_int_equal(h_accounting_mismatches(c), 0);
  assert_int_equal(h_rollup_mismatches(c), 0);
  h_check_facts(c, &L);
  h_check_dead_letters(c, &L);

  h_load_release(&L);
  h_db_drop(c, db);
  unlink(log);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_postgres_outage_is_retried_and_loses_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
