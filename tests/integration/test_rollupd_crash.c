/*
 * test_rollupd_crash.c - kill -9 outcomes-rollupd at random moments under
 * load, restart it each time, and the tables end equal to those of an
 * uninterrupted run of the same topic: facts, rollups, dead letters and the
 * stored offsets with their counters (so nothing was lost and no batch
 * applied twice).
 *
 * OC_CRASH_KILLS (default 20) is the number of kills under load: a kill
 * counts when records were still unconsumed at that moment (the stored
 * offsets, read after the kill, short of the topic's end). The first kill
 * of a pass falls once 10-70% of the topic is stored; a daemon restarted
 * after a kill is killed 0.1 s to three quarters of the uninterrupted run's
 * time after its start (so the window follows the machine and the build);
 * it may also have finished the topic and exited, or be killed idle at the
 * end: neither counts. When a pass over the topic is
 * consumed before enough kills, the pass is checked and the next one starts
 * on a fresh database (the daemon then reads the topic from its start
 * again), until the kills are done. Batches of 100 records, so that a kill
 * falls among many commits. OC_CRASH_RECORDS sets the load (default
 * 30000, about 8 kills per pass under ASan; tests/chaos/run-long.sh runs 50
 * kills over 200,000, in about 4 minutes). Under ASan the default takes
 * 60-70 s; 50 kills over 30000 records about 135 s (70-80 s more: too much
 * for every ctest run).
 *
 * Each pass is checked against the uninterrupted run (table checksums) and
 * against the independent model and recomputation of rollupd_harness.h,
 * and the test prints the line of the chaos scenarios
 * (tests/integration/chaos_common.bash):
 *   chaos scenario=crash faults=KILLS records=N lost=N double_counted=N
 *     recovery_s=X peak_rss_kb=N
 * lost = expected facts missing or different + dead letters missing (per
 * reason) + records the stored offsets do not cover + accounting rows
 * counting less than their span; double_counted = facts not expected +
 * rollup rows differing from the recomputation + dead letters beyond the
 * model + accounting rows counting more than their span; summed over the
 * passes, both must be 0. recovery_s: the longest time from a restart to
 * the restarted daemon's first commit (or its exit at the end of the
 * topic), over the restarts that got there before the next kill;
 * peak_rss_kb: the largest maximum RSS of any daemon run (getrusage; under
 * ASan it includes the allocator's quarantine, 256 MB by default: 368 MB
 * over 200,000 records, 50 MB with ASAN_OPTIONS=quarantine_size_mb=0). The
 * restarted daemon uses a static group membership (group.instance.id) so
 * that it takes its partitions back at once instead of waiting for the
 * killed member's session to time out.
 */
#include "rollupd_harness.h"

#include "outcomes/metrics.h"

#include <sys/resource.h>

static long crash_peak_rss_kb;

/* waitpid, then the largest maximum RSS of the reaped children (Linux:
 * RUSAGE_CHILDREN's ru_maxrss is that of the largest one) into
 * crash_peak_rss_kb. */
static pid_t crash_reap(pid_t pid, int *st, int flags) {
  struct rusage ru;
  pid_t r = waitpid(pid, st, flags);
  if (r == pid && getrusage(RUSAGE_CHILDREN, &ru) == 0 && ru.ru_maxrss > crash_peak_rss_kb)
    crash_peak_rss_kb = ru.ru_maxrss;
  return r;
}

static long long stored(PGconn *c) {
  return h_value_ll(c, "SELECT coalesce(sum(next_offset), 0) FROM outcomes.consumer_offsets");
}

/* Watch a running daemon for up to ms milliseconds, until the stored
 * offsets reach kill_at (-1: no such bound), or until it exits; the time
 * from its start (t0) to its first commit past the stored offsets base (or
 * to its exit) raises *recovery when it comes within that time. Returns
 * true when the daemon exited, with its status in *st. */
static bool crash_watch(PGconn *c, pid_t pid, double t0, long long base, long ms, long long kill_at,
                        int *st, double *recovery) {
  double until = oc_metrics_now() + (double)ms / 1000.0;
  bool seen = false;
  for (;;) {
    if (crash_reap(pid, st, WNOHANG) == pid) {
      if (!seen && oc_metrics_now() - t0 > *recovery)
        *recovery = oc_metrics_now() - t0;
      return true;
    }
    long long now_stored = stored(c);
    if (!seen && now_stored > base) {
      seen = true;
      if (oc_metrics_now() - t0 > *recovery)
        *recovery = oc_metrics_now() - t0;
    }
    if (oc_metrics_now() >= until || (kill_at >= 0 && now_stored >= kill_at))
      return false;
    h_sleep_ms(50);
  }
}

/* Run a started daemon to its exit at the end of the topic (at most 600 s),
 * which must be clean. */
static void crash_run_to_end(PGconn *c, pid_t pid, long long base, double *recovery,
                             const char *log) {
  int st;
  if (!crash_watch(c, pid, oc_metrics_now(), base, 600000, -1, &st, recovery)) {
    kill(pid, SIGKILL);
    crash_reap(pid, NULL, 0);
    fail_msg("daemon did not finish the topic within 600 s (log %s)", log);
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    fail_msg("daemon exit status %d (log %s)", st, log);
}

/* The checks of one pass, counted into *lost and *dbl; false when a table
 * differs from the uninterrupted run. */
static bool crash_check_pass(PGconn *c, const h_load_t *L, long long total,
                             const char *const tables[4], char want[4][33], long long *lost,
                             long long *dbl) {
  bool same = true;
  for (int i = 0; i < 4; i++) {
    char got[33];
    h_table_md5(c, tables[i], got);
    if (strcmp(want[i], got) != 0) {
      printf("table %s differs from the uninterrupted run\n", tables[i]);
      same = false;
    }
  }
  long long missing, extra;
  h_facts_diff(c, L, &missing, &extra);
  *lost += missing;
  *dbl += extra;
  long long rollups = h_rollup_mismatches(c);
  *dbl += rollups;
  long long under = h_value_ll(c, "SELECT count(*) FROM outcomes.consumer_offsets"
                                  " WHERE applied + stale + dead_lettered"
                                  " < next_offset - first_offset + rewound");
  long long over = h_value_ll(c, "SELECT count(*) FROM outcomes.consumer_offsets"
                                 " WHERE applied + stale + dead_lettered"
                                 " > next_offset - first_offset + rewound");
  *lost += under;
  *dbl += over;
  long long at = stored(c);
  if (at < total)
    *lost += total - at;
  long long dead_lost = 0, dead_extra = 0, dead_known = 0;
  for (int i = 1; i < 64; i++) {
    char sql[256];
    const char *name = oc_err_code_name(-i);
    if (strcmp(name, "unknown_error") == 0)
      continue;
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM outcomes.dead_letters WHERE error_code = '%s'",
             name);
    long long got = h_value_ll(c, sql);
    dead_known += got;
    if (got < L->dead_by_code[i])
      dead_lost += L->dead_by_code[i] - got;
    else
      dead_extra += got - L->dead_by_code[i];
  }
  /* Reasons no error code has. */
  dead_extra += h_value_ll(c, "SELECT count(*) FROM outcomes.dead_letters") - dead_known;
  *lost += dead_lost;
  *dbl += dead_extra;
  printf("pass checked: facts missing %lld extra %lld, rollup mismatches %lld, accounting"
         " rows under %lld over %lld, offsets %lld of %lld, dead letters missing %lld extra"
         " %lld, tables %s the uninterrupted run\n",
         missing, extra, rollups, under, over, at, total, dead_lost, dead_extra,
         same ? "equal to" : "DIFFERENT from");
  return same;
}

static void test_kill_9_at_random_moments_converges_to_uninterrupted_tables(void **state) {
  (void)state;
  static const char *const tables[4] = {"facts", "rollups", "dead_letters", "consumer_offsets"};
  static const char *const extra[] = {"batch.max.records=100", "batch.max.wait=100ms",
                                      "kafka.group.instance.id=crash-test", NULL};
  char db_ref[128], db[128], topic[128], group[160], log[256];
  char want[4][33];
  long n = getenv("OC_CRASH_RECORDS") ? atol(getenv("OC_CRASH_RECORDS")) : 30000;
  int kills = getenv("OC_CRASH_KILLS") ? atoi(getenv("OC_CRASH_KILLS")) : 20;
  unsigned long long seed = 7;
  h_load_t L;
  int st;

  snprintf(db_ref, sizeof(db_ref), "%s", oc_test_unique_name("oc_crash_ref"));
  snprintf(db, sizeof(db), "%s", oc_test_unique_name("oc_crash"));
  snprintf(topic, sizeof(topic), "%s", oc_test_unique_name("crash"));
  snprintf(group, sizeof(group), "g-%s", topic);
  snprintf(log, sizeof(log), "/tmp/%s.log", db);
  PGconn *ref = h_db_create(db_ref);
  rd_kafka_t *prod = h_producer();
  h_topic_create(prod, topic, 3);
  h_load_produce(&L, prod, topic, n, 99);
  rd_kafka_destroy(prod);

  /* The uninterrupted run. */
  pid_t pid = h_daemon_start(db_ref, topic, group, log, true, extra);
  double recovery = 0, ignored = 0, t_ref = oc_metrics_now();
  crash_run_to_end(ref, pid, 0, &ignored, log);
  /* Kills fall within the first three quarters of what the whole topic
   * takes on this machine, in this build: a faster daemon (or a quieter
   * machine) must not finish every run before its kill. */
  long span = (long)((oc_metrics_now() - t_ref) * 750.0);
  if (span < 300)
    span = 300;
  for (int i = 0; i < 4; i++)
    h_table_md5(ref, tables[i], want[i]);
  long long total = stored(ref);
  assert_int_equal(total, n);

  /* The same topic, killed again and again; a new pass on a fresh database
   * whenever one is consumed before the kills are done. */
  int under_load = 0, attempts = 0, passes = 0, after_commit = 0;
  long long lost = 0, dbl = 0;
  bool same = true;
  PGconn *c = NULL;
  while (under_load < kills) {
    int before = under_load;
    passes++;
    if (c)
      h_db_drop(c, db);
    c = h_db_create(db);
    for (;;) {
      long long base = stored(c);
      pid = h_daemon_start(db, topic, group, log, true, extra);
      double t0 = oc_metrics_now();
      /* The first kill of a pass falls when 10-70% of the topic is stored,
       * so that every pass has one under load; the others at a random
       * moment. */
      bool first = base == 0;
      long window = first ? 600000 : 100 + (long)(h_rnd(&seed) % (unsigned long long)span);
      long long kill_at =
          first ? total / 10 + (long long)(h_rnd(&seed) % (unsigned long long)(total * 6 / 10))
                : -1;
      if (crash_watch(c, pid, t0, base, window, kill_at, &st, &recovery)) {
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        printf("pass %d: the daemon finished the topic before its kill\n", passes);
        break;
      }
      kill(pid, SIGKILL);
      crash_reap(pid, NULL, 0);
      attempts++;
      long long at = stored(c);
      bool loaded = at < total;
      under_load += loaded;
      after_commit += loaded && at > base;
      printf("kill %d (pass %d): %lld of %lld offsets stored%s\n", attempts, passes, at, total,
             loaded ? "" : " (the topic was consumed: not under load)");
      if (!loaded || under_load >= kills)
        break;
    }
    if (under_load == before)
      fail_msg("pass %d: no kill under load (OC_CRASH_RECORDS=%ld too small?)", passes, n);
    /* The rest of the pass, uninterrupted, then its checks. */
    long long base = stored(c);
    pid = h_daemon_start(db, topic, group, log, true, extra);
    crash_run_to_end(c, pid, base, &recovery, log);
    same = crash_check_pass(c, &L, total, tables, want, &lost, &dbl) && same;
  }
  printf("%d kills under load (%d after a commit of the killed run), %d kill -9 in all,"
         " %d passes over the topic\n",
         under_load, after_commit, attempts, passes);
  printf("chaos scenario=crash faults=%d records=%ld lost=%lld double_counted=%lld"
         " recovery_s=%.1f peak_rss_kb=%ld\n",
         under_load, n, lost, dbl, recovery, crash_peak_rss_kb);
  fflush(stdout);
  if (lost || dbl)
    fail_msg("%lld lost, %lld double counted (db %s, log %s)", lost, dbl, db, log);
  if (!same)
    fail_msg("a table differs after the crashes (db %s vs %s, log %s)", db, db_ref, log);
  assert_int_equal(under_load, kills);
  /* The harness's own checks, as before. */
  assert_int_equal(h_accounting_mismatches(c), 0);
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
