/* test_progress.c - when a progress report is due, its rate and time
 * left, and its lines (lib/progress.c). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "outcomes/config.h"
#include "outcomes/log.h"
#include "outcomes/progress.h"

static void test_the_first_sample_is_the_baseline_then_one_per_interval(void **state) {
  (void)state;
  oc_progress_t p;
  oc_progress_est_t e;

  oc_progress_init(&p, 5000);
  assert_true(oc_progress_due(&p, 1000));
  assert_false(oc_progress_sample(&p, 1000, 200, 1800, &e));
  assert_false(oc_progress_due(&p, 1000));
  assert_false(oc_progress_due(&p, 5999));
  assert_true(oc_progress_due(&p, 6000));
  /* 1000 units in 5 s: 200/s; 800 left: 4 s. */
  assert_true(oc_progress_sample(&p, 6000, 1200, 800, &e));
  assert_int_equal(e.position, 1200);
  assert_int_equal(e.left, 800);
  assert_true(e.rate == 200.0);
  assert_int_equal(e.eta_s, 4);
  /* The next is due an interval after this sample, even a late one. */
  assert_false(oc_progress_due(&p, 10999));
  assert_true(oc_progress_sample(&p, 11500, 1200, 800, &e));
  assert_false(oc_progress_due(&p, 16499));
  assert_true(oc_progress_due(&p, 16500));
}

static void test_an_interval_of_zero_is_never_due(void **state) {
  (void)state;
  oc_progress_t p;
  oc_progress_init(&p, 0);
  assert_false(oc_progress_due(&p, 0));
  assert_false(oc_progress_due(&p, INT64_MAX / 2));
  oc_progress_init(&p, -5);
  assert_false(oc_progress_due(&p, 1000));
}

static void test_time_left_is_rounded_up_and_unknown_without_a_rate(void **state) {
  (void)state;
  oc_progress_t p;
  oc_progress_est_t e;

  oc_progress_init(&p, 1000);
  /* Before any baseline: no rate, so no time left unless nothing is. */
  oc_progress_estimate(&p, 500, 10, 10, &e);
  assert_true(e.rate == 0.0);
  assert_int_equal(e.eta_s, -1);
  oc_progress_estimate(&p, 500, 10, 0, &e);
  assert_int_equal(e.eta_s, 0);

  oc_progress_sample(&p, 0, 0, 1000, NULL);
  /* 3 units in 1 s, 10 left: 3.33 s, said 4. */
  oc_progress_estimate(&p, 1000, 3, 10, &e);
  assert_true(e.rate == 3.0);
  assert_int_equal(e.eta_s, 4);
  /* Unknown total: no lag and no time left. */
  oc_progress_estimate(&p, 2000, 100, -7, &e);
  assert_int_equal(e.left, -1);
  assert_true(e.rate == 50.0);
  assert_int_equal(e.eta_s, -1);
  /* A position back before the baseline (a rewind) is no progress. */
  oc_progress_estimate(&p, 2000, -5, 10, &e);
  assert_true(e.rate == 0.0);
  assert_int_equal(e.eta_s, -1);
  /* No time passed: no rate. */
  oc_progress_estimate(&p, 0, 100, 10, &e);
  assert_true(e.rate == 0.0);
}

static void test_the_log_line_fields(void **state) {
  (void)state;
  char buf[128];
  oc_progress_est_t e = {.position = 12345, .left = 6789, .rate = 1234.56, .eta_s = 6};

  assert_int_equal(oc_progress_format(buf, sizeof(buf), &e),
                   strlen("position=12345 lag=6789 rate=1235 eta_s=6"));
  assert_string_equal(buf, "position=12345 lag=6789 rate=1235 eta_s=6");
  e.eta_s = -1;
  oc_progress_format(buf, sizeof(buf), &e);
  assert_string_equal(buf, "position=12345 lag=6789 rate=1235");
  e.left = -1;
  oc_progress_format(buf, sizeof(buf), &e);
  assert_string_equal(buf, "position=12345 rate=1235");
  /* Cut to fit, terminated, and the length it needed. */
  assert_int_equal(oc_progress_format(buf, 10, &e), strlen("position=12345 rate=1235"));
  assert_string_equal(buf, "position=");
}

/* What fn(arg) logged to stderr, in journal form (no time stamps). */
static const char *captured(void (*fn)(void *), void *arg) {
  return oc_test_capture_log("test_progress", fn, arg);
}

typedef struct log_call_s {
  const oc_progress_est_t *e;
  const char *extra;
  int level;
} log_call_t;

static void log_at_level(void *arg) {
  const log_call_t *c = arg;
  oc_log_set_level(c->level);
  oc_progress_log(c->e, c->extra);
  oc_log_set_level(LOG_INFO);
}

/* What oc_progress_log wrote at the log level given. */
static const char *logged(const oc_progress_est_t *e, const char *extra, int level) {
  log_call_t c = {e, extra, level};
  return captured(log_at_level, &c);
}

static void test_the_log_line_is_one_notice(void **state) {
  (void)state;
  oc_progress_est_t e = {.position = 900, .left = 100, .rate = 50.0, .eta_s = 2};

  assert_string_equal(logged(&e, NULL, LOG_INFO),
                      "<5>progress position=900 lag=100 rate=50 eta_s=2\n");
  assert_string_equal(logged(&e, "metric=er_visits", LOG_NOTICE),
                      "<5>progress position=900 lag=100 rate=50 eta_s=2 metric=er_visits\n");
  assert_string_equal(logged(&e, "", LOG_NOTICE),
                      "<5>progress position=900 lag=100 rate=50 eta_s=2\n");
  assert_string_equal(logged(&e, NULL, LOG_WARNING), "");
}

typedef struct report_call_s {
  oc_progress_t *p;
  int64_t t, pos, left;
  bool last;
} report_call_t;

static void report(void *arg) {
  const report_call_t *c = arg;
  oc_progress_report(c->p, c->t, c->pos, c->left, c->last, "extra=1");
}

/* One step of a loop: what it logged ("" when no report was wanted). */
static const char *reports(oc_progress_t *p, int64_t t, int64_t pos, int64_t left, bool last) {
  report_call_t c = {p, t, pos, left, last};
  return oc_progress_wanted(p, t, last) ? captured(report, &c) : "";
}

/* A loop's steps: nothing at the baseline, a line per interval, and the
 * last line once one was logged. */
static void test_a_loop_reports_each_interval_and_at_its_end(void **state) {
  (void)state;
  oc_progress_t p;

  oc_progress_init(&p, 200);
  assert_string_equal(reports(&p, 1000, 100, 900, false), "");
  assert_string_equal(reports(&p, 1100, 150, 850, false), "");
  assert_string_equal(reports(&p, 1200, 300, 700, false),
                      "<5>progress position=300 lag=700 rate=1000 eta_s=1 extra=1\n");
  assert_string_equal(reports(&p, 1300, 400, 600, false), "");
  /* The last line is not due, but wanted; it moves no clock. */
  assert_string_equal(reports(&p, 1300, 1000, 0, true),
                      "<5>progress position=1000 lag=0 rate=3000 eta_s=0 extra=1\n");
  assert_false(oc_progress_due(&p, 1399));
  /* A loop shorter than the interval logs no line, not even the last. */
  oc_progress_init(&p, 200);
  assert_string_equal(reports(&p, 1000, 100, 900, false), "");
  assert_string_equal(reports(&p, 1150, 1000, 0, true), "");
  /* Off: no line, not even the last. */
  oc_progress_init(&p, 0);
  assert_string_equal(reports(&p, 1000, 100, 900, false), "");
  assert_string_equal(reports(&p, 1000, 1000, 0, true), "");
}

static void test_the_rows_line(void **state) {
  (void)state;
  char buf[160];

  oc_progress_format_rows(buf, sizeof(buf), 12000, 11500, 4012.4, 37, 2);
  assert_string_equal(buf, "rows read 12000, sent 11500, 4012 rows/s, 37%, rejected 2");
  oc_progress_format_rows(buf, sizeof(buf), 12000, -1, 0.0, -1, 0);
  assert_string_equal(buf, "rows read 12000, 0 rows/s, rejected 0");
}

static void test_percent(void **state) {
  (void)state;
  assert_int_equal(oc_progress_percent(0, 1000), 0);
  assert_int_equal(oc_progress_percent(999, 1000), 99);
  assert_int_equal(oc_progress_percent(1000, 1000), 100);
  assert_int_equal(oc_progress_percent(1500, 1000), 100);
  assert_int_equal(oc_progress_percent(5, 0), -1);
  assert_int_equal(oc_progress_percent(-1, 1000), -1);
  assert_int_equal(oc_progress_percent((int64_t)1 << 50, ((int64_t)1 << 51) + 7), 49);
}

/* The key as the programs declare it: 5 s by default, 0 allowed. */
static void test_the_key(void **state) {
  (void)state;
  static const oc_conf_def_t defs[] = {OC_PROGRESS_CONF, {NULL, 0, NULL, 0, 0, 0, NULL, NULL}};
  oc_config_t *cfg = oc_config_new(defs, 0);
  oc_err_t err;

  assert_non_null(cfg);
  assert_int_equal(oc_config_get_int(cfg, "log.progress.interval"), 5000);
  assert_int_equal(oc_config_set_arg(cfg, "log.progress.interval=200ms", &err), 0);
  assert_int_equal(oc_config_get_int(cfg, "log.progress.interval"), 200);
  assert_int_equal(oc_config_set_arg(cfg, "log.progress.interval=0", &err), 0);
  assert_int_equal(oc_config_get_int(cfg, "log.progress.interval"), 0);
  assert_int_equal(oc_config_set_arg(cfg, "log.progress.interval=-1s", &err), OC_ERR_CONFIG);
  oc_config_destroy(cfg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_the_first_sample_is_the_baseline_then_one_per_interval),
      cmocka_unit_test(test_an_interval_of_zero_is_never_due),
      cmocka_unit_test(test_time_left_is_rounded_up_and_unknown_without_a_rate),
      cmocka_unit_test(test_the_log_line_fields),
      cmocka_unit_test(test_the_log_line_is_one_notice),
      cmocka_unit_test(test_a_loop_reports_each_interval_and_at_its_end),
      cmocka_unit_test(test_the_rows_line),
      cmocka_unit_test(test_percent),
      cmocka_unit_test(test_the_key),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
