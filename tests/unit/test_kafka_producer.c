/*
 * test_kafka_producer.c - the idempotent producer of lib/kafka.c
 * (oc_kprod_t) against librdkafka's mock cluster: every delivery report
 * reaches the caller with its message's opaque; a wait for room in a full
 * queue ends on a stop request, on a failed delivery and on a fatal error;
 * librdkafka's errors are logged through our error callback; a flush is
 * bounded and fails what it purges. Short runs only (the mock is not for
 * long runs).
 */
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "outcomes/clock.h"
#include "outcomes/kafka.h"

#include <librdkafka/rdkafka_mock.h> /* after rdkafka.h */

#define TOPIC "mock_kprod"

typedef struct fixture_s {
  rd_kafka_t *mock_rk; /* owns the mock cluster */
  rd_kafka_mock_cluster_t *mcluster;
  /* Delivery reports seen, by the index the message's opaque points at. */
  int status[16]; /* 0 none, 1 delivered, -1 failed */
  rd_kafka_resp_err_t errs[16];
  int reports;
  int stray; /* reports without a known opaque */
  /* stderr captured while a test runs (the log lines). */
  char log_path[64];
  int saved_stderr;
} fixture_t;

static volatile sig_atomic_t stop_flag;

static int setup(void **state) {
  fixture_t *f = calloc(1, sizeof(*f));

  assert_non_null(f);
  f->mcluster = oc_test_mock_start(1, &f->mock_rk);
  assert_int_equal(rd_kafka_mock_topic_create(f->mcluster, TOPIC, 2, 1), 0);
  f->saved_stderr = -1;
  stop_flag = 0;
  *state = f;
  return 0;
}

static void capture_stop(fixture_t *f);

static int teardown(void **state) {
  fixture_t *f = *state;
  capture_stop(f);
  if (f->log_path[0])
    unlink(f->log_path);
  oc_test_mock_stop(f->mcluster, f->mock_rk);
  free(f);
  return 0;
}

/* Send stderr (where oc_log writes) to a file until capture_stop. */
static void capture_start(fixture_t *f) {
  strcpy(f->log_path, "/tmp/oc_test_kprod_XXXXXX");
  int fd = mkstemp(f->log_path);
  assert_true(fd >= 0);
  fflush(stderr);
  f->saved_stderr = dup(STDERR_FILENO);
  assert_true(f->saved_stderr >= 0);
  assert_true(dup2(fd, STDERR_FILENO) >= 0);
  close(fd);
}

static void capture_stop(fixture_t *f) {
  if (f->saved_stderr < 0)
    return;
  fflush(stderr);
  dup2(f->saved_stderr, STDERR_FILENO);
  close(f->saved_stderr);
  f->saved_stderr = -1;
}

static void on_delivery(void *opaque, const rd_kafka_message_t *m) {
  fixture_t *f = opaque;
  int *slot = m->_private;

  f->reports++;
  if (!slot || slot < f->status || slot >= f->status + 16) {
    f->stray++;
    return;
  }
  *slot = m->err ? -1 : 1;
  f->errs[slot - f->status] = m->err;
}

/* A producer for the mock cluster, with extra properties (key, value
 * pairs, NULL-terminated). */
static oc_kprod_t *new_producer(fixture_t *f, const char *const *props) {
  oc_err_t err;
  oc_kprod_t *p = NULL;
  rd_kafka_conf_t *conf = oc_kafka_conf_new(rd_kafka_mock_cluster_bootstraps(f->mcluster), &err);

  assert_non_null(conf);
  assert_int_equal(oc_kafka_conf_set(conf, "retry.backoff.ms", "10", NULL, &err), 0);
  for (size_t i = 0; props && props[i]; i += 2)
    if (oc_kafka_conf_set(conf, props[i], props[i + 1], NULL, &err) != 0)
      fail_msg("%s", err.msg);
  oc_kprod_opts_t o = {
      .on_delivery = on_delivery,
      .opaque = f,
      .stop = &stop_flag,
      .poll_every = 1,
  };
  if (oc_kprod_new(conf, &o, &p, &err) != 0)
    fail_msg("%s", err.msg);
  return p;
}

static int send_to(oc_kprod_t *p, fixture_t *f, int i, oc_err_t *err) {
  char key[16];
  snprintf(key, sizeof(key), "k%d", i);
  oc_kprod_msg_t m = {
      .topic = TOPIC,
      .key = key,
      .key_len = strlen(key),
      .value = "v",
      .value_len = 1,
      .opaque = &f->status[i],
  };
  return oc_kprod_send(p, &m, err);
}

/* The producer is idempotent with acks=all, whatever the caller's
 * configuration says. */
static void test_the_producer_is_idempotent(void **state) {
  fixture_t *f = *state;
  const char *const props[] = {"enable.idempotence", "false", "acks", "1", NULL};
  oc_kprod_t *p = new_producer(f, props);
  char v[64];
  size_t n = sizeof(v);

  const rd_kafka_conf_t *c = rd_kafka_conf(oc_kprod_handle(p));
  assert_int_equal(rd_kafka_conf_get(c, "enable.idempotence", v, &n), RD_KAFKA_CONF_OK);
  assert_string_equal(v, "true");
  n = sizeof(v);
  assert_int_equal(rd_kafka_conf_get(c, "acks", v, &n), RD_KAFKA_CONF_OK);
  assert_string_equal(v, "-1"); /* all */
  oc_kprod_destroy(p);
}

static void test_every_delivery_report_reaches_the_caller(void **state) {
  fixture_t *f = *state;
  oc_err_t err;
  oc_kprod_t *p = new_producer(f, NULL);

  for (int i = 0; i < 10; i++)
    assert_int_equal(send_to(p, f, i, &err), 0);
  /* A topic by handle works as well as by name. */
  oc_kprod_msg_t m = {
      .rkt = rd_kafka_topic_new(oc_kprod_handle(p), TOPIC, NULL),
      .value = "w",
      .value_len = 1,
      .opaque = &f->status[10],
  };
  assert_non_null(m.rkt);
  assert_int_equal(oc_kprod_send(p, &m, &err), 0);
  assert_int_equal(oc_kprod_flush(p, 10000), 0);
  rd_kafka_topic_destroy(m.rkt);
  assert_int_equal(f->reports, 11);
  assert_int_equal(f->stray, 0);
  for (int i = 0; i < 11; i++)
    assert_int_equal(f->status[i], 1);
  assert_false(oc_kprod_fatal(p));
  oc_kprod_destroy(p);
}

/* The broker is down and the queue holds one message: a second send waits
 * for room, and a stop request ends the wait without handing it over. */
static void test_a_stop_request_ends_the_wait_for_queue_room(void **state) {
  fixture_t *f = *state;
  oc_err_t err;
  const char *const props[] = {"queue.buffering.max.messages", "1", "message.timeout.ms", "60000",
                               NULL};

  assert_int_equal(rd_kafka_mock_broker_set_down(f->mcluster, 1), 0);
  oc_kprod_t *p = new_producer(f, props);
  assert_int_equal(send_to(p, f, 0, &err), 0);
  stop_flag = 1;
  int64_t t0 = oc_clock_ms();
  assert_int_equal(send_to(p, f, 1, &err), OC_KPROD_GAVE_UP);
  assert_true(oc_clock_ms() - t0 < 2000);
  assert_int_equal(f->status[1], 0); /* not handed over: no report will come */
  /* The flush is bounded and fails what it purges. */
  t0 = oc_clock_ms();
  assert_int_equal(oc_kprod_flush(p, 300), 0);
  assert_true(oc_clock_ms() - t0 < 3000);
  assert_int_equal(f->status[0], -1);
  assert_int_equal(f->errs[0], RD_KAFKA_RESP_ERR__PURGE_QUEUE);
  assert_int_equal(f->reports, 1);
  oc_kprod_destroy(p);
  rd_kafka_mock_broker_set_up(f->mcluster, 1);
}

/* A delivery that fails while the send waits for room ends the wait: the
 * caller is to stop and account, not to queue more behind a failure. */
static void test_a_failed_delivery_ends_the_wait_for_queue_room(void **state) {
  fixture_t *f = *state;
  oc_err_t err;
  const char *const props[] = {"queue.buffering.max.messages", "1", "message.timeout.ms", "500",
                               NULL};

  assert_int_equal(rd_kafka_mock_broker_set_down(f->mcluster, 1), 0);
  oc_kprod_t *p = new_producer(f, props);
  assert_int_equal(send_to(p, f, 0, &err), 0);
  int64_t t0 = oc_clock_ms();
  assert_int_equal(send_to(p, f, 1, &err), OC_KPROD_GAVE_UP);
  assert_true(oc_clock_ms() - t0 < 5000);
  assert_int_equal(f->status[0], -1);
  assert_int_equal(f->errs[0], RD_KAFKA_RESP_ERR__MSG_TIMED_OUT);
  assert_int_equal(f->status[1], 0);
  assert_false(oc_kprod_fatal(p));
  oc_kprod_destroy(p);
  rd_kafka_mock_broker_set_up(f->mcluster, 1);
}

/* librdkafka's errors go through our callback: logged as kafka_error. */
static void test_errors_are_logged_through_the_error_callback(void **state) {
  fixture_t *f = *state;
  oc_err_t err;
  const char *const props[] = {"message.timeout.ms", "1500", NULL};

  assert_int_equal(rd_kafka_mock_broker_set_down(f->mcluster, 1), 0);
  capture_start(f);
  oc_kprod_t *p = new_producer(f, props);
  assert_int_equal(send_to(p, f, 0, &err), 0);
  oc_kprod_flush(p, 3000);
  oc_kprod_destroy(p);
  capture_stop(f);
  char *log = oc_test_read_file(f->log_path, NULL);
  if (!strstr(log, "kafka_error code=_"))
    fail_msg("no kafka_error line in:\n%s", log);
  free(log);
  assert_int_equal(f->status[0], -1);
  rd_kafka_mock_broker_set_up(f->mcluster, 1);
}

/* A fatal error (the idempotent producer's guarantee is lost) is logged and
 * kept: sending fails at once with err->fatal, and a wait for room ends. */
static void test_a_fatal_error_is_kept_and_ends_sending(void **state) {
  fixture_t *f = *state;
  oc_err_t err;
  oc_kprod_t *p = new_producer(f, NULL);

  assert_int_equal(send_to(p, f, 0, &err), 0);
  assert_int_equal(oc_kprod_flush(p, 10000), 0);
  assert_int_equal(f->status[0], 1);
  capture_start(f);
  assert_int_equal(rd_kafka_test_fatal_error(oc_kprod_handle(p),
                                             RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                                             "injected"),
                   RD_KAFKA_RESP_ERR_NO_ERROR);
  for (int i = 0; i < 50 && !oc_kprod_fatal(p); i++)
    oc_kprod_poll(p, 100);
  capture_stop(f);
  assert_true(oc_kprod_fatal(p));
  assert_int_equal(send_to(p, f, 1, &err), OC_ERR_KAFKA);
  assert_true(err.fatal);
  assert_false(err.retriable);
  assert_string_equal(err.msg, "kafka fatal error: OUT_OF_ORDER_SEQUENCE_NUMBER: "
                               "test_fatal_error: injected");
  char *log = oc_test_read_file(f->log_path, NULL);
  if (!strstr(log, "kafka_fatal_error code=OUT_OF_ORDER_SEQUENCE_NUMBER "
                   "reason=\"test_fatal_error: injected\""))
    fail_msg("no kafka_fatal_error line in:\n%s", log);
  free(log);
  oc_kprod_destroy(p);
}

/* The producer takes the configuration over even when it refuses it. */
static void test_a_refused_configuration_is_freed_and_reported(void **state) {
  (void)state;
  oc_err_t err;
  oc_kprod_t *p = (oc_kprod_t *)1;
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  oc_kprod_opts_t o = {0};

  /* Idempotence refuses more than 5 requests in flight. */
  assert_int_equal(rd_kafka_conf_set(conf, "max.in.flight", "10", NULL, 0), RD_KAFKA_CONF_OK);
  assert_int_equal(oc_kprod_new(conf, &o, &p, &err), OC_ERR_CONFIG);
  assert_null(p);
  assert_non_null(strstr(err.msg, "kafka producer: "));
  assert_non_null(strstr(err.msg, "max.in.flight"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_the_producer_is_idempotent, setup, teardown),
      cmocka_unit_test_setup_teardown(test_every_delivery_report_reaches_the_caller, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_a_stop_request_ends_the_wait_for_queue_room, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_a_failed_delivery_ends_the_wait_for_queue_room, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_errors_are_logged_through_the_error_callback, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_a_fatal_error_is_kept_and_ends_sending, setup, teardown),
      cmocka_unit_test(test_a_refused_configuration_is_freed_and_reported),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
