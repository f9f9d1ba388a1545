/*
 * test_replay_producer.c - oc_replay_republish's producer against
 * librdkafka's mock cluster, on its fault paths: the target topic's broker
 * is down and the producer's queue is full, and a stop request (Ctrl-C on
 * outcomes-replay) must end the run at once, with nothing checkpointed
 * that was not delivered. The copy itself is covered against the real
 * broker by tests/integration/test_replay_republish.sh.
 */
#include "testutil.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "outcomes/clock.h"
#include "outcomes/config.h"
#include "outcomes/kafka.h"
#include "outcomes/replay.h"

#include <librdkafka/rdkafka_mock.h> /* after rdkafka.h */

#define SRC "mock_src"
#define DST "mock_dst"
#define RECORDS 20

typedef struct fixture_s {
  rd_kafka_t *mock_rk; /* owns the mock cluster */
  rd_kafka_mock_cluster_t *mcluster;
  oc_config_t *cfg;
  char report[8192];
  size_t report_len;
} fixture_t;

static volatile sig_atomic_t stop_flag;

static void on_alarm(int sig) {
  (void)sig;
  static const char msg[] = "test_replay_producer: the run did not end: no stop request "
                            "was heard\n";
  if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
    _exit(2);
  _exit(1);
}

static void on_line(void *opaque, const char *line) {
  fixture_t *f = opaque;
  int n = snprintf(f->report + f->report_len, sizeof(f->report) - f->report_len, "%s\n", line);
  if (n > 0 && (size_t)n < sizeof(f->report) - f->report_len)
    f->report_len += (size_t)n;
}

/* RECORDS messages into SRC, with a plain producer, in one batch. */
static void fill_source(fixture_t *f) {
  char errstr[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", rd_kafka_mock_cluster_bootstraps(f->mcluster), NULL,
                    0);
  rd_kafka_conf_set(conf, "log_level", "0", NULL, 0);
  /* One batch: the copy's consumer then has every record at its first
   * fetch, and the second one waits for room in the producer's queue. */
  rd_kafka_conf_set(conf, "linger.ms", "500", NULL, 0);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  assert_non_null(rk);
  for (int i = 0; i < RECORDS; i++) {
    char key[16];
    snprintf(key, sizeof(key), "k%02d", i);
    assert_int_equal(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(SRC), RD_KAFKA_V_PARTITION(0),
                                       RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                       RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE("v", 1),
                                       RD_KAFKA_V_END),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  assert_int_equal(rd_kafka_flush(rk, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(rk);
}

static void set(fixture_t *f, const char *key, const char *value) {
  oc_err_t err;
  if (oc_config_set(f->cfg, key, value, "test", &err) != 0)
    fail_msg("%s", err.msg);
}

/* Two brokers: the source's partition led by broker 1, the target's by
 * broker 2; the checkpoint group's coordinator is broker 1. */
static int setup(void **state) {
  fixture_t *f = calloc(1, sizeof(*f));

  assert_non_null(f);
  f->mcluster = oc_test_mock_start(2, &f->mock_rk);
  assert_int_equal(rd_kafka_mock_topic_create(f->mcluster, SRC, 1, 1), 0);
  assert_int_equal(rd_kafka_mock_topic_create(f->mcluster, DST, 1, 1), 0);
  assert_int_equal(rd_kafka_mock_partition_set_leader(f->mcluster, SRC, 0, 1), 0);
  assert_int_equal(rd_kafka_mock_partition_set_leader(f->mcluster, DST, 0, 2), 0);
  assert_int_equal(
      rd_kafka_mock_coordinator_set(f->mcluster, "group", OC_REPLAY_CHECKPOINT_GROUP_PREFIX DST, 1),
      0);
  fill_source(f);
  f->cfg = oc_config_new(oc_replay_conf_defs(), OC_CONF_PASS_KAFKA | OC_CONF_PASS_PG);
  assert_non_null(f->cfg);
  set(f, "brokers", rd_kafka_mock_cluster_bootstraps(f->mcluster));
  set(f, "flush.timeout", "500ms");
  set(f, "kafka.queue.buffering.max.messages", "1");
  set(f, "kafka.message.timeout.ms", "30000");
  set(f, "kafka.retry.backoff.ms", "10");
  stop_flag = 0;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture_t *f = *state;
  oc_config_destroy(f->cfg);
  oc_test_mock_stop(f->mcluster, f->mock_rk);
  free(f);
  return 0;
}

static void *stop_later(void *arg) {
  (void)arg;
  struct timespec t = {3, 0};
  nanosleep(&t, NULL);
  stop_flag = 1;
  return NULL;
}

/* The target's broker is down: the first record waits in the producer's
 * queue (of one), the second waits for room. A stop request 3 s later
 * ends the run within the flush timeout: the record queued is purged and
 * reported not delivered, and nothing is checkpointed. */
static void test_a_stop_request_ends_a_republish_waiting_for_queue_room(void **state) {
  fixture_t *f = *state;
  oc_replay_t *r = NULL;
  oc_err_t err;
  pthread_t stopper;

  assert_int_equal(oc_replay_new(f->cfg, on_line, f, &stop_flag, &r, &err), 0);
  assert_int_equal(rd_kafka_mock_broker_set_down(f->mcluster, 2), 0);
  oc_republish_opts_t o = {.from_topic = SRC, .to_topic = DST};
  signal(SIGALRM, on_alarm);
  alarm(25); /* before the fix: a wait of message.timeout.ms per record */
  assert_int_equal(pthread_create(&stopper, NULL, stop_later, NULL), 0);
  int64_t t0 = oc_clock_ms();
  int rc = oc_replay_republish(r, &o, &err);
  int64_t took = oc_clock_ms() - t0;
  alarm(0);
  pthread_join(stopper, NULL);
  if (took >= 3000 + 2000)
    fail_msg("the run took %lld ms after a stop request at 3000 ms", (long long)took);
  assert_int_equal(rc, OC_ERR_KAFKA);
  assert_true(err.retriable);
  assert_string_equal(err.msg, "1 message(s) not delivered: Local: Purged in queue");
  if (!strstr(f->report, SRC " [0]: copied 1 records, position 1\n") ||
      !strstr(f->report, DST " [0]: received 0 records\n") ||
      !strstr(f->report, "total: 1 records sent, not all of them checkpointed: re-run to go on "
                         "from the checkpoint\n"))
    fail_msg("report:\n%s", f->report);
  oc_replay_destroy(r);
  rd_kafka_mock_broker_set_up(f->mcluster, 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_a_stop_request_ends_a_republish_waiting_for_queue_room,
                                      setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
