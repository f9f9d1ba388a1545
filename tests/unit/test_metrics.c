/* test_metrics.c - the metrics registry and its Prometheus text format
 * (lib/metrics.c, include/outcomes/metrics.h). */
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes/metrics.h"

#define DROPPED_HEADER \
  "# HELP outcomes_metrics_series_dropped_total Label sets refused because their " \
  "family was at its series limit.\n" \
  "# TYPE outcomes_metrics_series_dropped_total counter\n"

static char *render(oc_metrics_t *reg) {
  char *text = NULL;
  size_t len = 0;
  oc_err_t err;
  oc_err_clear(&err);
  if (oc_metrics_render(reg, &text, &len, &err) != 0)
    fail_msg("render: %s", err.msg);
  assert_int_equal(len, strlen(text));
  return text;
}

static void assert_renders(oc_metrics_t *reg, const char *want) {
  char *text = render(reg);
  if (strcmp(text, want) != 0)
    fail_msg("rendered:\n%s\n--- wanted:\n%s", text, want);
  free(text);
}

static oc_metrics_family_t *counter(oc_metrics_t *reg, const char *name, const char *help,
                                    const char *const *labels, size_t n) {
  oc_metrics_family_t *f = NULL;
  oc_err_t err;
  if (oc_metrics_add_counter(reg, name, help, labels, n, &f, &err) != 0)
    fail_msg("add_counter %s: %s", name, err.msg);
  return f;
}

static oc_metrics_family_t *gauge(oc_metrics_t *reg, const char *name, const char *help,
                                  const char *const *labels, size_t n) {
  oc_metrics_family_t *f = NULL;
  oc_err_t err;
  if (oc_metrics_add_gauge(reg, name, help, labels, n, &f, &err) != 0)
    fail_msg("add_gauge %s: %s", name, err.msg);
  return f;
}

static void test_empty_registry_renders_nothing(void **state) {
  (void)state;
  oc_metrics_t *reg = oc_metrics_new();
  assert_non_null(reg);
  assert_renders(reg, "");
  oc_metrics_destroy(reg);
  oc_metrics_destroy(NULL);
}

static void test_counters_and_gauges_render_exactly_with_escaped_labels(void **state) {
  (void)state;
  oc_metrics_t *reg = oc_metrics_new();
  static const char *const reason[] = {"reason"};
  static const char *const tp[] = {"topic", "partition"};

  oc_metrics_family_t *consumed =
      counter(reg, "outcomes_records_consumed_total", "Records polled from Kafka.", NULL, 0);
  oc_metrics_family_t *dead =
      counter(reg, "outcomes_dead_letters_total",
              "Records sent to the dead-letter table, by reason.", reason, 1);
  oc_metrics_family_t *lag =
      gauge(reg, "outcomes_consumer_lag", "Messages behind the high watermark.", tp, 2);
  oc_metrics_family_t *pg =
      gauge(reg, "outcomes_pg_connected", "Help with \\ and \"quotes\"\nsecond line", NULL, 0);

  oc_metrics_counter_add(oc_metrics_counter(consumed, NULL), 41);
  oc_metrics_counter_inc(oc_metrics_counter(consumed, NULL));
  /* Created out of order: rendered sorted by label value. */
  oc_metrics_counter_t *um = oc_metrics_counter(dead, (const char *[]){"unknown_metric"});
  oc_metrics_counter_add(um, 2);
  oc_metrics_counter_inc(oc_metrics_counter(dead, (const char *[]){"decode"}));
  oc_metrics_counter_inc(oc_metrics_counter(dead, (const char *[]){"a\\b\"c\nd"}));
  /* The same label values give the same child. */
  assert_ptr_equal(um, oc_metrics_counter(dead, (const char *[]){"unknown_metric"}));
  oc_metrics_counter_inc(um);
  assert_int_equal(oc_metrics_counter_value(um), 3);

  oc_metrics_gauge_set_int(oc_metrics_gauge(lag, (const char *[]){"t", "3"}), 5);
  oc_metrics_gauge_set(oc_metrics_gauge(lag, (const char *[]){"t", "10"}), 0);
  oc_metrics_gauge_t *a1 = oc_metrics_gauge(lag, (const char *[]){"a", "1"});
  oc_metrics_gauge_set(a1, -1.0);
  oc_metrics_gauge_add(a1, -1.5);
  assert_true(oc_metrics_gauge_value(a1) == -2.5);
  oc_metrics_gauge_set(oc_metrics_gauge(pg, NULL), 1);

  assert_renders(reg, "# HELP outcomes_records_consumed_total Records polled from Kafka.\n"
                      "# TYPE outcomes_records_consumed_total counter\n"
                      "outcomes_records_consumed_total 42\n"
                      "# HELP outcomes_dead_letters_total Records sent to the dead-letter "
                      "table, by reason.\n"
                      "# TYPE outcomes_dead_letters_total counter\n"
                      "outcomes_dead_letters_total{reason=\"a\\\\b\\\"c\\nd\"} 1\n"
                      "outcomes_dead_letters_total{reason=\"decode\"} 1\n"
                      "outcomes_dead_letters_total{reason=\"unknown_metric\"} 3\n"
                      "# HELP outcomes_consumer_lag Messages behind the high watermark.\n"
                      "# TYPE outcomes_consumer_lag gauge\n"
                      "outcomes_consumer_lag{topic=\"a\",partition=\"1\"} -2.5\n"
                      "outcomes_consumer_lag{topic=\"t\",partition=\"10\"} 0\n"
                      "outcomes_consumer_lag{topic=\"t\",partition=\"3\"} 5\n"
                      "# HELP outcomes_pg_connected Help with \\\\ and \"quotes\"\\nsecond line\n"
                      "# TYPE outcomes_pg_connected gauge\n"
                      "outcomes_pg_connected 1\n" DROPPED_HEADER
                      "outcomes_metrics_series_dropped_total{family=\"outcomes_consumer_lag\"} 0\n"
                      "outcomes_metrics_series_dropped_total{family=\"outcomes_dead_letters_"
                      "total\"} 0\n");
  oc_metrics_destroy(reg);
}

static void test_histogram_renders_cumulative_buckets_sum_and_count(void **state) {
  (void)state;
  oc_metrics_t *reg = oc_metrics_new();
  static const char *const topic[] = {"topic"};
  static const double bounds[] = {0.125, 1, 10};
  oc_metrics_family_t *batch = NULL, *commit = NULL;
  oc_err_t err;

  assert_int_equal(oc_metrics_add_histogram(reg, "outcomes_batch_duration_seconds",
                                            "Time to apply one batch.", topic, 1, bounds, 3, &batch,
                                            &err),
                   0);
  assert_int_equal(oc_metrics_add_histogram(reg, "outcomes_commit_duration_seconds",
                                            "Time to commit one batch.", NULL, 0, NULL, 0, &commit,
                                            &err),
                   0);
  oc_metrics_histogram_t *h = oc_metrics_histogram(batch, (const char *[]){"obs"});
  oc_metrics_histogram_observe(h, 0.0625);
  oc_metrics_histogram_observe(h, 0.125); /* a bound is inclusive */
  oc_metrics_histogram_observe(h, 0.5);
  oc_metrics_histogram_observe(h, 20);
  oc_metrics_histogram_observe(oc_metrics_histogram(commit, NULL), 0.003);
  /* A child of the wrong type is refused. */
  assert_null(oc_metrics_counter(batch, (const char *[]){"obs"}));
  assert_null(oc_metrics_gauge(commit, NULL));

  assert_renders(
      reg, "# HELP outcomes_batch_duration_seconds Time to apply one batch.\n"
           "# TYPE outcomes_batch_duration_seconds histogram\n"
           "outcomes_batch_duration_seconds_bucket{topic=\"obs\",le=\"0.125\"} 2\n"
           "outcomes_batch_duration_seconds_bucket{topic=\"obs\",le=\"1\"} 3\n"
           "outcomes_batch_duration_seconds_bucket{topic=\"obs\",le=\"10\"} 3\n"
           "outcomes_batch_duration_seconds_bucket{topic=\"obs\",le=\"+Inf\"} 4\n"
           "outcomes_batch_duration_seconds_sum{topic=\"obs\"} 20.6875\n"
           "outcomes_batch_duration_seconds_count{topic=\"obs\"} 4\n"
           "# HELP outcomes_commit_duration_seconds Time to commit one batch.\n"
           "# TYPE outcomes_commit_duration_seconds histogram\n"
           "outcomes_commit_duration_seconds_bucket{le=\"0.001\"} 0\n"
           "outcomes_commit_duration_seconds_bucket{le=\"0.0025\"} 0\n"
           "outcomes_commit_duration_seconds_bucket{le=\"0.005\"} 1\n"
           "outcomes_commit_duration_seconds_bucket{le=\"0.01\"} 1\n"
           "outcomes_commit_duration_seconds_bucket{le=\"0.025\"} 1\n"
           "outcomes_commit_duration_seconds_bucket{le=\"0.05\"} 1\n"
           "outcomes_commit_duration_seconds_bucket{le=\"0.1\"} 1\n"
           "outcomes_commit_duration_seconds_bucket{le=\"0.25\"} 1\n"
           "outcomes_commit_duration_seconds_bucket{le=\"0.5\"} 1\n"
           "outcomes_commit_duration_seconds_bucket{le=\"1\"} 1\n"
           "outcomes_commit_duration_seconds_bucket{le=\"2.5\"} 1\n"
           "outcomes_commit_duration_seconds_bucket{le=\"5\"} 1\n"
           "outcomes_commit_duration_seconds_bucket{le=\"10\"} 1\n"
           "outcomes_commit_duration_seconds_bucket{le=\"+Inf\"} 1\n"
           "outcomes_commit_duration_seconds_sum 0.003\n"
           "outcomes_commit_duration_seconds_count 1\n" DROPPED_HEADER
           "outcomes_metrics_series_dropped_total{family=\"outcomes_batch_duration_seconds\"} "
           "0\n");
  oc_metrics_destroy(reg);
}

static void test_gauge_values_use_shortest_exact_spelling(void **state) {
  (void)state;
  static const char *const k[] = {"k"};
  oc_metrics_t *reg = oc_metrics_new();
  oc_metrics_family_t *g = gauge(reg, "g", "Values.", k, 1);
  oc_metrics_gauge_set(oc_metrics_gauge(g, (const char *[]){"a"}), 0.1);
  oc_metrics_gauge_set(oc_metrics_gauge(g, (const char *[]){"b"}), 1.0 / 3.0);
  oc_metrics_gauge_set(oc_metrics_gauge(g, (const char *[]){"c"}), 1e-7);
  oc_metrics_gauge_set_int(oc_metrics_gauge(g, (const char *[]){"d"}), 1234567890123);
  oc_metrics_gauge_set(oc_metrics_gauge(g, (const char *[]){"e"}), NAN);
  oc_metrics_gauge_set(oc_metrics_gauge(g, (const char *[]){"f"}), INFINITY);
  oc_metrics_gauge_set(oc_metrics_gauge(g, (const char *[]){"g"}), -INFINITY);
  assert_renders(reg, "# HELP g Values.\n"
                      "# TYPE g gauge\n"
                      "g{k=\"a\"} 0.1\n"
                      "g{k=\"b\"} 0.33333333333333331\n"
                      "g{k=\"c\"} 1e-07\n"
                      "g{k=\"d\"} 1234567890123\n"
                      "g{k=\"e\"} NaN\n"
                      "g{k=\"f\"} +Inf\n"
                      "g{k=\"g\"} -Inf\n" DROPPED_HEADER
                      "outcomes_metrics_series_dropped_total{family=\"g\"} 0\n");
  oc_metrics_destroy(reg);
}

static void test_children_past_the_limit_are_dropped_and_counted(void **state) {
  (void)state;
  static const char *const p[] = {"partition"};
  oc_metrics_t *reg = oc_metrics_new();
  oc_metrics_set_child_limit(reg, 2);
  oc_metrics_family_t *f = counter(reg, "c_total", "Capped.", p, 1);

  oc_metrics_counter_t *c0 = oc_metrics_counter(f, (const char *[]){"0"});
  oc_metrics_counter_t *c1 = oc_metrics_counter(f, (const char *[]){"1"});
  assert_non_null(c0);
  assert_non_null(c1);
  oc_metrics_counter_t *c2 = oc_metrics_counter(f, (const char *[]){"2"});
  assert_null(c2);
  oc_metrics_counter_inc(c2); /* a NULL child is ignored */
  assert_null(oc_metrics_counter(f, (const char *[]){"3"}));
  /* Existing children stay reachable at the limit. */
  assert_ptr_equal(oc_metrics_counter(f, (const char *[]){"1"}), c1);
  oc_metrics_counter_add(c1, 7);
  /* A NULL label value is the caller's bug, not an overflow. */
  assert_null(oc_metrics_counter(f, (const char *[]){NULL}));
  assert_null(oc_metrics_counter(f, NULL));

  assert_renders(reg, "# HELP c_total Capped.\n"
                      "# TYPE c_total counter\n"
                      "c_total{partition=\"0\"} 0\n"
                      "c_total{partition=\"1\"} 7\n" DROPPED_HEADER
                      "outcomes_metrics_series_dropped_total{family=\"c_total\"} 2\n");
  oc_metrics_destroy(reg);
}

static void test_ten_thousand_children_by_default(void **state) {
  (void)state;
  static const char *const p[] = {"partition"};
  oc_metrics_t *reg = oc_metrics_new();
  oc_metrics_family_t *f = gauge(reg, "lag", "Lag.", p, 1);
  char v[16];
  for (int i = 0; i < OC_METRICS_CHILD_LIMIT; i++) {
    snprintf(v, sizeof(v), "%d", i);
    assert_non_null(oc_metrics_gauge(f, (const char *[]){v}));
  }
  assert_null(oc_metrics_gauge(f, (const char *[]){"one more"}));
  char *text = render(reg);
  assert_non_null(strstr(text, "lag{partition=\"9999\"} 0\n"));
  assert_non_null(strstr(text, "{family=\"lag\"} 1\n"));
  free(text);
  oc_metrics_destroy(reg);
}

static void expect_usage(int rc, const oc_err_t *err, const char *msg) {
  assert_int_equal(rc, OC_ERR_USAGE);
  assert_int_equal(err->code, OC_ERR_USAGE);
  assert_string_equal(err->msg, msg);
}

static void test_bad_declarations_are_refused(void **state) {
  (void)state;
  oc_metrics_t *reg = oc_metrics_new();
  oc_err_t err;
  static const char *const le[] = {"le"};
  static const char *const dup[] = {"a", "a"};
  static const char *const under[] = {"__x"};
  static const double down[] = {1, 0.5};

  counter(reg, "x_total", "X.", NULL, 0);
  expect_usage(oc_metrics_add_counter(reg, "x_total", "X.", NULL, 0, NULL, &err), &err,
               "metric 'x_total' declared twice");
  expect_usage(
      oc_metrics_add_gauge(reg, "outcomes_metrics_series_dropped_total", "X.", NULL, 0, NULL, &err),
      &err, "metric 'outcomes_metrics_series_dropped_total' declared twice");
  expect_usage(oc_metrics_add_gauge(reg, "9lives", "X.", NULL, 0, NULL, &err), &err,
               "metric name '9lives' is not valid");
  expect_usage(oc_metrics_add_gauge(reg, "a-b", "X.", NULL, 0, NULL, &err), &err,
               "metric name 'a-b' is not valid");
  expect_usage(oc_metrics_add_histogram(reg, "h", "X.", le, 1, NULL, 0, NULL, &err), &err,
               "metric 'h': label name 'le' is reserved for histograms");
  expect_usage(oc_metrics_add_gauge(reg, "g", "X.", dup, 2, NULL, &err), &err,
               "metric 'g': label name 'a' repeated");
  expect_usage(oc_metrics_add_gauge(reg, "g", "X.", under, 1, NULL, &err), &err,
               "metric 'g': label name '__x' is not valid");
  expect_usage(oc_metrics_add_histogram(reg, "h", "X.", NULL, 0, down, 2, NULL, &err), &err,
               "metric 'h': bucket bounds must be finite and increasing");
  /* Nothing half-declared was left behind. */
  assert_renders(reg, "# HELP x_total X.\n# TYPE x_total counter\nx_total 0\n");
  oc_metrics_destroy(reg);
}

/* ---- concurrency ------------------------------------------------------- */

#define THREADS 4
#define PER_THREAD 250000

typedef struct shared_s {
  oc_metrics_t *reg;
  oc_metrics_family_t *plain, *by_topic, *level, *hist;
  int index;
} shared_t;

static void *hammer(void *arg) {
  shared_t *s = arg;
  char own[16];
  snprintf(own, sizeof(own), "t%d", s->index);
  /* All threads race to create the same child, and each its own one. */
  oc_metrics_counter_t *shared_child = oc_metrics_counter(s->by_topic, (const char *[]){"shared"});
  oc_metrics_counter_t *own_child = oc_metrics_counter(s->by_topic, (const char *[]){own});
  oc_metrics_counter_t *plain = oc_metrics_counter(s->plain, NULL);
  oc_metrics_gauge_t *level = oc_metrics_gauge(s->level, NULL);
  oc_metrics_histogram_t *hist = oc_metrics_histogram(s->hist, NULL);
  for (int i = 0; i < PER_THREAD; i++) {
    oc_metrics_counter_inc(plain);
    oc_metrics_counter_inc(shared_child);
    oc_metrics_counter_add(own_child, 2);
    oc_metrics_gauge_add(level, 1.0);
    oc_metrics_histogram_observe(hist, (i % 2) ? 0.5 : 2.0);
  }
  return NULL;
}

static void *scrape(void *arg) {
  shared_t *s = arg;
  for (int i = 0; i < 50; i++)
    free(render(s->reg));
  return NULL;
}

static void test_concurrent_updates_from_four_threads_are_exact(void **state) {
  (void)state;
  static const char *const topic[] = {"topic"};
  static const double bounds[] = {1};
  shared_t base, args[THREADS];
  pthread_t th[THREADS], scraper;
  oc_err_t err;

  memset(&base, 0, sizeof(base));
  base.reg = oc_metrics_new();
  base.plain = counter(base.reg, "plain_total", "P.", NULL, 0);
  base.by_topic = counter(base.reg, "by_topic_total", "T.", topic, 1);
  base.level = gauge(base.reg, "level", "L.", NULL, 0);
  assert_int_equal(
      oc_metrics_add_histogram(base.reg, "h_seconds", "H.", NULL, 0, bounds, 1, &base.hist, &err),
      0);
  assert_int_equal(pthread_create(&scraper, NULL, scrape, &base), 0);
  for (int i = 0; i < THREADS; i++) {
    args[i] = base;
    args[i].index = i;
    assert_int_equal(pthread_create(&th[i], NULL, hammer, &args[i]), 0);
  }
  for (int i = 0; i < THREADS; i++)
    pthread_join(th[i], NULL);
  pthread_join(scraper, NULL);

  assert_renders(base.reg, "# HELP plain_total P.\n"
                           "# TYPE plain_total counter\n"
                           "plain_total 1000000\n"
                           "# HELP by_topic_total T.\n"
                           "# TYPE by_topic_total counter\n"
                           "by_topic_total{topic=\"shared\"} 1000000\n"
                           "by_topic_total{topic=\"t0\"} 500000\n"
                           "by_topic_total{topic=\"t1\"} 500000\n"
                           "by_topic_total{topic=\"t2\"} 500000\n"
                           "by_topic_total{topic=\"t3\"} 500000\n"
                           "# HELP level L.\n"
                           "# TYPE level gauge\n"
                           "level 1000000\n"
                           "# HELP h_seconds H.\n"
                           "# TYPE h_seconds histogram\n"
                           "h_seconds_bucket{le=\"1\"} 500000\n"
                           "h_seconds_bucket{le=\"+Inf\"} 1000000\n"
                           "h_seconds_sum 1250000\n"
                           "h_seconds_count 1000000\n" DROPPED_HEADER
                           "outcomes_metrics_series_dropped_total{family=\"by_topic_total\"} "
                           "0\n");
  oc_metrics_destroy(base.reg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_empty_registry_renders_nothing),
      cmocka_unit_test(test_counters_and_gauges_render_exactly_with_escaped_labels),
      cmocka_unit_test(test_histogram_renders_cumulative_buckets_sum_and_count),
      cmocka_unit_test(test_gauge_values_use_shortest_exact_spelling),
      cmocka_unit_test(test_children_past_the_limit_are_dropped_and_counted),
      cmocka_unit_test(test_ten_thousand_children_by_default),
      cmocka_unit_test(test_bad_declarations_are_refused),
      cmocka_unit_test(test_concurrent_updates_from_four_threads_are_exact),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
