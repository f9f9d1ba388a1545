/*
 * test_produce.c - the producer's accounting against librdkafka's mock
 * cluster (in-process, with fault injection): rows read, published,
 * rejected and not delivered; retriable broker errors are retried by the
 * idempotent producer; permanent ones fail the file with the count;
 * --strict withholds a file with a bad row; a stop request ends reading.
 * Short runs only: librdkafka 2.0.2's mock cluster stalled consuming after
 * some tens of thousands of messages, so it is not for long runs.
 */
#define _GNU_SOURCE /* fopencookie */
#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "outcomes/kafka.h"
#include "outcomes/produce.h"

#include <librdkafka/rdkafka_mock.h> /* after rdkafka.h */

#define TOPIC "mock_obs"
#define KAFKA_API_PRODUCE 0 /* the Produce request's ApiKey (not in the public headers) */

typedef struct fixture_s {
  rd_kafka_t *mock_rk; /* owns the mock cluster */
  rd_kafka_mock_cluster_t *mcluster;
  oc_catalog_t *cat;
  oc_obs_codec_t *codec;
  char path[128];
  char rejects[4096];
  size_t rejects_len;
} fixture_t;

static volatile sig_atomic_t stop_flag;

static int setup(void **state) {
  fixture_t *f = calloc(1, sizeof(*f));
  oc_err_t err;

  assert_non_null(f);
  f->mcluster = oc_test_mock_start(1, &f->mock_rk);
  assert_int_equal(rd_kafka_mock_topic_create(f->mcluster, TOPIC, 2, 1), 0);
  if (oc_catalog_load_file(oc_test_source_path("schemas/catalog.tsv"), &f->cat, &err) < 0)
    fail_msg("%s", err.msg);
  if (oc_obs_codec_new(oc_test_source_path("schemas/avro"), &f->codec, &err) < 0)
    fail_msg("%s", err.msg);
  stop_flag = 0;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture_t *f = *state;
  if (f->path[0])
    unlink(f->path);
  oc_obs_codec_destroy(f->codec);
  oc_catalog_destroy(f->cat);
  oc_test_mock_stop(f->mcluster, f->mock_rk);
  free(f);
  return 0;
}

/* A CSV of n good rows, with a bad one (unknown metric) at each line in
 * bad_lines (0-terminated; line 1 is the header). */
static void write_csv(fixture_t *f, int n, const int *bad_lines) {
  strcpy(f->path, "/tmp/oc_test_produce_XXXXXX");
  int fd = mkstemp(f->path);
  assert_true(fd >= 0);
  FILE *out = fdopen(fd, "w");
  fputs("org_id,facility_id,metric,grain,period_start,value,numerator,denominator,source,"
        "observed_at\n",
        out);
  int line = 2;
  for (int i = 0; i < n; line++) {
    bool bad = false;
    for (const int *b = bad_lines; b && *b; b++)
      bad |= *b == line;
    if (bad) {
      fprintf(out, "o,,nosuch,DAY,2024-01-01,1,,,s,\n");
      continue;
    }
    fprintf(out, "org %d,,er_visits,DAY,2024-01-%02d,%d,,,s,2024-02-01T00:00:00Z\n", i / 28,
            1 + i % 28, i);
    i++;
  }
  fclose(out);
}

static void on_reject(void *opaque, const char *name, long line, const char *msg) {
  fixture_t *f = opaque;
  (void)name;
  f->rejects_len += (size_t)snprintf(f->rejects + f->rejects_len,
                                     sizeof(f->rejects) - f->rejects_len, "%ld: %s\n", line, msg);
}

static oc_producer_t *new_producer(fixture_t *f, bool strict, const char *timeout_ms) {
  oc_err_t err;
  oc_producer_t *p = NULL;
  rd_kafka_conf_t *conf = oc_kafka_conf_new(rd_kafka_mock_cluster_bootstraps(f->mcluster), &err);
  assert_non_null(conf);
  assert_int_equal(oc_produce_kafka_conf_defaults(conf, &err), 0); /* as outcomes-produce does */
  assert_int_equal(
      oc_kafka_conf_set(conf, "message.timeout.ms", timeout_ms, oc_produce_reserved_keys, &err), 0);
  assert_int_equal(
      oc_kafka_conf_set(conf, "retry.backoff.ms", "10", oc_produce_reserved_keys, &err), 0);
  oc_produce_opts_t o = {
      .topic = TOPIC,
      .catalog = f->cat,
      .codec = f->codec,
      .format = OC_INPUT_AUTO,
      .strict = strict,
      .flush_timeout_ms = 2000,
      .default_observed_at = INT64_C(1700000000000000),
      .stop = &stop_flag,
  };
  if (oc_producer_new(conf, &o, &p, &err) < 0)
    fail_msg("%s", err.msg);
  return p;
}

static int run_file(fixture_t *f, oc_producer_t *p, oc_produce_stats_t *st, oc_err_t *err) {
  char name[sizeof(f->path)];
  /* The reader picks the format from the extension. */
  assert_true(strlen(f->path) + 5 <= sizeof(name));
  memcpy(name, f->path, strlen(f->path));
  memcpy(name + strlen(f->path), ".csv", 5);
  assert_int_equal(rename(f->path, name), 0);
  snprintf(f->path, sizeof(f->path), "%s", name);
  return oc_producer_file(p, f->path, "in.csv", on_reject, f, st, err);
}

static void test_valid_rows_published_and_bad_rows_counted(void **state) {
  fixture_t *f = *state;
  oc_produce_stats_t st;
  oc_err_t err;
  const int bad[] = {3, 10, 0};

  write_csv(f, 40, bad);
  oc_producer_t *p = new_producer(f, false, "10000");
  assert_int_equal(run_file(f, p, &st, &err), 0);
  assert_int_equal(st.read, 42);
  assert_int_equal(st.published, 40);
  assert_int_equal(st.rejected, 2);
  assert_int_equal(st.not_delivered, 0);
  assert_string_equal(f->rejects, "3: metric: unknown metric 'nosuch'\n"
                                  "10: metric: unknown metric 'nosuch'\n");
  oc_producer_destroy(p);
}

/* A stream that gives the first len bytes of data, then fails with EIO. */
typedef struct failing_s {
  const char *data;
  size_t len, pos;
} failing_t;

static ssize_t failing_read(void *c, char *buf, size_t size) {
  failing_t *s = c;
  if (s->pos >= s->len) {
    errno = EIO;
    return -1;
  }
  size_t n = s->len - s->pos < size ? s->len - s->pos : size;
  memcpy(buf, s->data + s->pos, n);
  s->pos += n;
  return (ssize_t)n;
}

/* A read error in the middle of a file: the rows sent before it are
 * waited for and counted before the call returns (their delivery reports
 * must not arrive after the file's counters are gone), and the next file
 * is counted exactly. */
static void test_a_read_error_mid_file_still_waits_for_the_rows_sent(void **state) {
  fixture_t *f = *state;
  oc_produce_stats_t st;
  oc_err_t err;
  static char text[16384];
  const int none[] = {0};

  write_csv(f, 50, none);
  FILE *in = fopen(f->path, "rb");
  assert_non_null(in);
  failing_t src = {text, fread(text, 1, sizeof(text), in), 0};
  fclose(in);
  assert_true(src.len > 0 && src.len < sizeof(text));
  cookie_io_functions_t io = {.read = failing_read};
  FILE *bad = fopencookie(&src, "r", io);
  assert_non_null(bad);
  oc_producer_t *p = new_producer(f, false, "10000");
  assert_int_equal(oc_producer_stream(p, bad, OC_INPUT_CSV, "bad.csv", NULL, NULL, &st, &err),
                   OC_ERR_IO);
  fclose(bad);
  assert_string_equal(err.msg, "bad.csv:51: read: Input/output error");
  assert_int_equal(st.read, 50);
  assert_int_equal(st.published, 50);
  assert_int_equal(st.not_delivered, 0);

  unlink(f->path);
  write_csv(f, 30, none);
  assert_int_equal(run_file(f, p, &st, &err), 0);
  assert_int_equal(st.published, 30);
  assert_int_equal(st.not_delivered, 0);
  oc_producer_destroy(p);
}

/* A producer that failed for good before a file: the file is not read, and
 * the call says so (fatal), instead of returning as if it were done. */
static void test_a_fatal_producer_does_not_pass_a_file_off_as_published(void **state) {
  fixture_t *f = *state;
  oc_produce_stats_t st;
  oc_err_t err;
  const int none[] = {0};

  write_csv(f, 20, none);
  oc_producer_t *p = new_producer(f, false, "10000");
  assert_int_equal(rd_kafka_test_fatal_error(oc_producer_handle(p),
                                             RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                                             "injected"),
                   RD_KAFKA_RESP_ERR_NO_ERROR);
  for (int i = 0; i < 50 && !oc_producer_fatal(p); i++)
    rd_kafka_poll(oc_producer_handle(p), 100);
  assert_true(oc_producer_fatal(p));
  assert_int_equal(run_file(f, p, &st, &err), OC_ERR_KAFKA);
  assert_true(err.fatal);
  assert_string_equal(err.msg, "in.csv: not read to its end: the Kafka producer failed for good");
  assert_int_equal(st.published, 0);
  oc_producer_destroy(p);
}

static void test_retriable_broker_errors_are_retried_to_delivery(void **state) {
  fixture_t *f = *state;
  oc_produce_stats_t st;
  oc_err_t err;

  write_csv(f, 30, NULL);
  rd_kafka_mock_push_request_errors(
      f->mcluster, KAFKA_API_PRODUCE, 4, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
      RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE);
  oc_producer_t *p = new_producer(f, false, "10000");
  assert_int_equal(run_file(f, p, &st, &err), 0);
  assert_int_equal(st.published, 30);
  assert_int_equal(st.not_delivered, 0);
  oc_producer_destroy(p);
}

static void test_broker_down_fails_file_with_exact_count(void **state) {
  fixture_t *f = *state;
  oc_produce_stats_t st;
  oc_err_t err;

  write_csv(f, 25, NULL);
  assert_int_equal(rd_kafka_mock_broker_set_down(f->mcluster, 1), 0);
  oc_producer_t *p = new_producer(f, false, "1000");
  assert_int_equal(run_file(f, p, &st, &err), OC_ERR_KAFKA);
  assert_int_equal(st.read, 25);
  assert_int_equal(st.published, 0);
  assert_int_equal(st.not_delivered, 25);
  assert_true(err.retriable);
  assert_non_null(strstr(err.msg, "in.csv: 25 records not delivered: "));
  oc_producer_destroy(p);
  rd_kafka_mock_broker_set_up(f->mcluster, 1);
}

static void test_strict_withholds_a_file_with_a_bad_row(void **state) {
  fixture_t *f = *state;
  oc_produce_stats_t st;
  oc_err_t err;
  const int bad[] = {7, 0};

  write_csv(f, 10, bad);
  oc_producer_t *p = new_producer(f, true, "10000");
  assert_int_equal(run_file(f, p, &st, &err), 0);
  assert_true(st.withheld);
  assert_int_equal(st.rejected, 1);
  assert_int_equal(st.published, 0);
  assert_string_equal(f->rejects, "7: metric: unknown metric 'nosuch'\n");
  oc_producer_destroy(p);
}

static void test_stop_request_ends_reading(void **state) {
  fixture_t *f = *state;
  oc_produce_stats_t st;
  oc_err_t err;

  write_csv(f, 10, NULL);
  oc_producer_t *p = new_producer(f, false, "10000");
  stop_flag = 1;
  assert_int_equal(run_file(f, p, &st, &err), 0);
  assert_true(st.interrupted);
  assert_int_equal(st.read, 0);
  oc_producer_destroy(p);
}

/* The producer's librdkafka defaults are properties librdkafka accepts, and
 * none is one the producer manages itself, so a kafka.* key can change each. */
static void test_kafka_defaults_are_settable_and_not_reserved(void **state) {
  (void)state;
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();

  assert_non_null(oc_produce_kafka_defaults[0][0]);
  for (size_t i = 0; oc_produce_kafka_defaults[i][0]; i++) {
    const char *k = oc_produce_kafka_defaults[i][0];
    if (rd_kafka_conf_set(conf, k, oc_produce_kafka_defaults[i][1], errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK)
      fail_msg("%s: %s", k, errstr);
    for (size_t j = 0; oc_produce_reserved_keys[j]; j++)
      assert_string_not_equal(k, oc_produce_reserved_keys[j]);
  }
  rd_kafka_conf_destroy(conf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kafka_defaults_are_settable_and_not_reserved),
      cmocka_unit_test_setup_teardown(test_valid_rows_published_and_bad_rows_counted, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_retriable_broker_errors_are_retried_to_delivery, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_broker_down_fails_file_with_exact_count, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_strict_withholds_a_file_with_a_bad_row, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stop_request_ends_reading, setup, teardown),
      cmocka_unit_test_setup_teardown(test_a_fatal_producer_does_not_pass_a_file_off_as_published,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_a_read_error_mid_file_still_waits_for_the_rows_sent,
                                      setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
