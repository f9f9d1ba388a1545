/*
 * test_rollupd_group.c - two outcomes-rollupd instances share a 6-partition
 * topic in one consumer group; one is killed (kill -9) mid-way; the other
 * takes its partitions over after a rebalance, finishes the topic, and stops
 * on SIGTERM with status 0. The tables equal those of a single uninterrupted
 * instance, offsets and counters included: no batch was lost or applied
 * twice. OC_GROUP_RECORDS sets the load (default 30000).
 */
#include "rollupd_harness.h"

static void test_two_instances_one_killed_give_the_same_tables(void **state) {
  (void)state;
  static const char *const tables[4] = {"facts", "rollups", "dead_letters", "consumer_offsets"};
  static const char *const extra[] = {"batch.max.records=1000", "batch.max.wait=100ms",
                                      "kafka.session.timeout.ms=6000",
                                      "kafka.heartbeat.interval.ms=500", NULL};
  char db_ref[128], db[128], topic[128], group[160], log_a[256], log_b[256];
  char want[4][33], got[4][33];
  long n = getenv("OC_GROUP_RECORDS") ? atol(getenv("OC_GROUP_RECORDS")) : 30000;
  h_load_t L;

  snprintf(db_ref, sizeof(db_ref), "%s", oc_test_unique_name("oc_group_ref"));
  snprintf(db, sizeof(db), "%s", oc_test_unique_name("oc_group"));
  snprintf(topic, sizeof(topic), "%s", oc_test_unique_name("group"));
  snprintf(group, sizeof(group), "g-%s", topic);
  snprintf(log_a, sizeof(log_a), "/tmp/%s.a.log", db);
  snprintf(log_b, sizeof(log_b), "/tmp/%s.b.log", db);
  PGconn *ref = h_db_create(db_ref);
  PGconn *c = h_db_create(db);
  rd_kafka_t *prod = h_producer();
  h_topic_create(prod, topic, 6);

  /* Both instances join the empty topic, and the load is produced only once
   * each holds partitions: on a loaded machine a late joiner would otherwise
   * find the other already done, and no takeover would be tested. */
  pid_t a = h_daemon_start(db, topic, group, log_a, false, extra);
  pid_t b = h_daemon_start(db, topic, group, log_b, false, extra);
  for (int i = 0; i < 1200 && (h_count_in_file(log_a, "partitions_assigned") < 1 ||
                               h_count_in_file(log_b, "partitions_assigned") < 1);
       i++)
    h_sleep_ms(100);
  assert_true(h_count_in_file(log_b, "partitions_assigned") >= 1);
  h_sleep_ms(1000); /* a rebalance that B's join started has settled */
  h_load_produce(&L, prod, topic, n, 1234);
  rd_kafka_destroy(prod);

  long long at = 0;
  for (int i = 0; i < 1200 && at < n * 4 / 10; i++) {
    at = h_value_ll(c, "SELECT coalesce(sum(next_offset), 0) FROM outcomes.consumer_offsets");
    if (at < n * 4 / 10)
      h_sleep_ms(100);
  }
  assert_true(at < n);
  int assigned_a = h_count_in_file(log_a, "partitions_assigned");
  kill(a, SIGKILL);
  waitpid(a, NULL, 0);
  printf("killed instance A at %lld of %ld offsets\n", at, n);

  for (int i = 0; i < 1800 && at < n; i++) {
    h_sleep_ms(100);
    at = h_value_ll(c, "SELECT coalesce(sum(next_offset), 0) FROM outcomes.consumer_offsets");
  }
  assert_int_equal(at, n);
  h_wait_rollups_current(c); /* B's refresher, before B stops */
  kill(b, SIGTERM);
  assert_int_equal(h_daemon_wait(b, 20, log_b), 0);

  /* The reference: one uninterrupted instance over the same topic. */
  pid_t r = h_daemon_start(db_ref, topic, group, log_a, true, extra);
  assert_int_equal(h_daemon_wait(r, 600, log_a), 0);
  for (int i = 0; i < 4; i++) {
    h_table_md5(ref, tables[i], want[i]);
    h_table_md5(c, tables[i], got[i]);
    if (strcmp(want[i], got[i]) != 0)
      fail_msg("table %s differs (db %s vs %s, logs %s %s)", tables[i], db, db_ref, log_a, log_b);
  }
  assert_int_equal(h_value_ll(c, "SELECT count(*) FROM outcomes.consumer_offsets"), 6);
  /* Both worked: A had partitions, B was assigned again after A died. */
  int assigned_b = h_count_in_file(log_b, "partitions_assigned");
  printf("assignments: A %d, B %d; B applied %d batches\n", assigned_a, assigned_b,
         h_count_in_file(log_b, "stopped batches="));
  assert_true(assigned_a >= 1);
  assert_true(assigned_b >= 2);
  assert_int_equal(h_accounting_mismatches(c), 0);
  assert_int_equal(h_rollup_mismatches(c), 0);
  h_check_facts(c, &L);

  h_load_release(&L);
  h_db_drop(c, db);
  h_db_drop(ref, db_ref);
  unlink(log_a);
  unlink(log_b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_two_instances_one_killed_give_the_same_tables),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
