/*
 * test_rollupd_exact.c - outcomes-rollupd against the real broker and a
 * throwaway database: after a load with duplicates, restatements, ties,
 * late older versions, tombstones and invalid messages of every reason,
 *   - the standing facts equal an independent model of docs/design.md §4;
 *   - every rollup row equals the aggregate computed from scratch by an
 *     independent query over the standing facts, and vice versa;
 *   - one dead letter per invalid message, with the expected reason;
 *   - applied + stale + dead_lettered = consumed offset span per partition;
 * then, with the stored offsets reset, a replay of the whole topic leaves
 * every table identical and applies nothing.
 * OC_EXACT_RECORDS sets the load size (default 8000).
 */
#include "rollupd_harness.h"

static void
test_load_gives_exact_facts_rollups_and_dead_letters_then_replay_changes_nothing(void **state) {
  (void)state;
  char db[128], topic[128], group[160], log[256];
  char md5_before[4][33], md5_after[4][33];
  static const char *const tables[4] = {"facts", "rollups", "dead_letters", "consumer_offsets"};
  static const char *const extra[] = {"batch.max.records=700", "batch.max.wait=200ms", NULL};
  long n = getenv("OC_EXACT_RECORDS") ? atol(getenv("OC_EXACT_RECORDS")) : 8000;
  h_load_t L;

  snprintf(db, sizeof(db), "%s", oc_test_unique_name("oc_exact"));
  snprintf(topic, sizeof(topic), "%s", oc_test_unique_name("exact"));
  snprintf(group, sizeof(group), "g-%s", topic);
  snprintf(log, sizeof(log), "/tmp/%s.log", db);
  PGconn *c = h_db_create(db);
  rd_kafka_t *prod = h_producer();
  h_topic_create(prod, topic, 3);
  h_load_produce(&L, prod, topic, n, 42);
  rd_kafka_destroy(prod);

  pid_t pid = h_daemon_start(db, topic, group, log, true, extra);
  assert_int_equal(h_daemon_wait(pid, 300, log), 0);

  assert_int_equal(h_value_ll(c, "SELECT count(*) FROM outcomes.consumer_offsets"), 3);
  assert_int_equal(h_value_ll(c, "SELECT sum(next_offset) FROM outcomes.consumer_offsets"),
                   h_value_ll(c, "SELECT sum(applied + stale + dead_lettered)"
                                 " FROM outcomes.consumer_offsets"));
  assert_int_equal(h_accounting_mismatches(c), 0);
  h_check_facts(c, &L);
  h_check_dead_letters(c, &L);
  assert_int_equal(h_value_ll(c, "SELECT count(*) FROM outcomes.rollups"),
                   h_value_ll(c, "SELECT count(*) FROM outcomes.rollups WHERE n > 0"));
  assert_true(h_value_ll(c, "SELECT count(*) FROM outcomes.rollups WHERE level = 'all'") > 0);
  assert_int_equal(h_rollup_mismatches(c), 0);
  /* Dead letters keep the raw bytes and the headers. */
  assert_true(h_value_ll(c, "SELECT count(*) FROM outcomes.dead_letters"
                            " WHERE header_names = '{trace-id,empty}'"
                            " AND header_values[1] = '\\x61626300646566'::bytea"
                            " AND header_values[2] IS NULL") > 0);
  assert_int_equal(h_value_ll(c, "SELECT count(*) FROM outcomes.dead_letters"
                                 " WHERE error_code <> 'bad_key' AND value IS NULL"),
                   0);
  for (int i = 0; i < 4; i++)
    h_table_md5(c, tables[i], md5_before[i]);
  long long total = h_value_ll(c, "SELECT sum(next_offset) FROM outcomes.consumer_offsets");
  printf("load: %ld messages, %lld offsets, %lld facts, %lld rollups, %ld dead letters\n", n, total,
         h_value_ll(c, "SELECT count(*) FROM outcomes.facts"),
         h_value_ll(c, "SELECT count(*) FROM outcomes.rollups"), L.n_dead);

  /* Replay: the stored offsets forgotten, the whole topic again. */
  h_exec(c, "DELETE FROM outcomes.consumer_offsets");
  pid = h_daemon_start(db, topic, group, log, true, extra);
  assert_int_equal(h_daemon_wait(pid, 300, log), 0);
  for (int i = 0; i < 3; i++) {
    h_table_md5(c, tables[i], md5_after[i]);
    assert_string_equal(md5_before[i], md5_after[i]);
  }
  assert_int_equal(h_value_ll(c, "SELECT sum(applied) FROM outcomes.consumer_offsets"), 0);
  assert_int_equal(h_value_ll(c, "SELECT sum(next_offset) FROM outcomes.consumer_offsets"), total);
  assert_int_equal(h_accounting_mismatches(c), 0);
  assert_int_equal(h_rollup_mismatches(c), 0);

  h_load_release(&L);
  h_db_drop(c, db);
  unlink(log);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(
          test_load_gives_exact_facts_rollups_and_dead_letters_then_replay_changes_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
