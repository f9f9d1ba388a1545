/*
 * test_rollupd_crash.c - kill -9 outcomes-rollupd at random moments during
 * a load, restart it each time, and the tables end equal to those of an
 * uninterrupted run of the same topic: facts, rollups, dead letters and the
 * stored offsets with their counters (so nothing was lost and no batch
 * applied twice).
 *
 * OC_CRASH_RECORDS sets the load (default 30000: under ASan the test takes
 * about two minutes; the 200,000 works too, it only takes longer)
 * and OC_CRASH_KILLS the number of kills (default 20). The restarted
 * daemon uses a static group membership (group.instance.id) so that it takes
 * its partitions back at once instead of waiting for the killed member's
 * session to time out.
 */
#include "rollupd_harness.h"

static void test_kill_9_at_random_moments_converges_to_uninterrupted_tables(void **state) {
  (void)state;
  static const char *const tables[4] = {"facts", "rollups", "dead_letters", "consumer_offsets"};
  static const char *const extra[] = {"batch.max.records=500", "batch.max.wait=100ms",
                                      "kafka.group.instance.id=crash-test", NULL};
  char db_ref[128], db[128], topic[128], group[160], log[256];
  char want[4][33], got[4][33];
  long n = getenv("OC_CRASH_RECORDS") ? atol(getenv("OC_CRASH_RECORDS")) : 30000;
  int kills = getenv("OC_CRASH_KILLS") ? atoi(getenv("OC_CRASH_KILLS")) : 20;
  unsigned long long seed = 7;
  h_load_t L;

  snprintf(db_ref, sizeof(db_ref), "%s", oc_test_unique_name("oc_crash_ref"));
  snprintf(db, sizeof(db), "%s", oc_test_unique_name("oc_crash"));
  snprintf(topic, sizeof(topic), "%s", oc_test_unique_name("crash"));
  snprintf(group, sizeof(group), "g-%s", topic);
  snprintf(log, sizeof(log), "/tmp/%s.log", db);
  PGconn *ref = h_db_create(db_ref);
  PGconn *c = h_db_create(db);
  rd_kafka_t *prod = h_producer();
  h_topic_create(prod, topic, 3);
  h_load_produce(&L, prod, topic, n, 99);
  rd_kafka_destroy(prod);

  /* The uninterrupted run. */
  pid_t pid = h_daemon_start(db_ref, topic, group, log, true, extra);
  assert_int_equal(h_daemon_wait(pid, 600, log), 0);
  for (int i = 0; i < 4; i++)
    h_table_md5(ref, tables[i], want[i]);
  long long total = h_value_ll(ref, "SELECT sum(next_offset) FROM outcomes.consumer_offsets");
  assert_int_equal(total, n);

  /* The same topic, killed again and again. */
  int killed = 0;
  for (int k = 0; k < kills; k++) {
    pid = h_daemon_start(db, topic, group, log, true, extra);
    h_sleep_ms(400 + (long)(h_rnd(&seed) % 2200));
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    } else {
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
      killed++;
    }
    long long at = h_value_ll(c, "SELECT coalesce(sum(next_offset), 0)"
                                 " FROM outcomes.consumer_offsets");
    printf("kill %d: %lld of %lld offsets stored\n", k + 1, at, total);
  }
  pid = h_daemon_start(db, topic, group, log, true, extra);
  assert_int_equal(h_daemon_wait(pid, 600, log), 0);
  printf("%d kills during the load\n", killed);
  assert_true(killed >= kills / 2);

  for (int i = 0; i < 4; i++) {
    h_table_md5(c, tables[i], got[i]);
    if (strcmp(want[i], got[i]) != 0)
      fail_msg("table %s differs after the crashes (db %s vs %s, log %s)", tables[i], db, db_ref,
               log);
  }
  assert_int_equal(h_accounting_mismatches(c), 0);
  assert_int_equal(h_rollup_mismatches(c), 0);
  h_check_facts(c, &L);
  h_check_dead_letters(c, &L);

  h_load_release(&L);
  h_db_drop(c, db);
  h_db_drop(ref, db_ref);
  unlink(log);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kill_9_at_random_moments_converges_to_uninterrupted_tables),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
