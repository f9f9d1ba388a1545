/* testutil.c - helpers shared by the tests. */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h> /* after rdkafka.h */

#include "outcomes/buf.h"
#include "outcomes/date.h"
#include "outcomes/input.h"
#include "outcomes/log.h"

char *oc_test_read_file(const char *path, size_t *len_out) {
  oc_buf_t text;
  oc_err_t err;

  oc_buf_init(&text, 0);
  if (oc_buf_read_file(&text, path, &err) != 0)
    fail_msg("%s", err.msg);
  return oc_buf_detach(&text, len_out);
}

const char *oc_test_source_path(const char *rel) {
  static char path[4096];
  snprintf(path, sizeof(path), "%s/%s", OC_SOURCE_DIR, rel);
  return path;
}

const char *oc_test_data_path(const char *rel) {
  static char path[4096];
  snprintf(path, sizeof(path), "%s/%s", OC_TEST_DATA_DIR, rel);
  return path;
}

const char *oc_test_require_env(const char *name) {
  const char *v = getenv(name);
  if (!v || !*v)
    fail_msg("%s is not set: integration tests need the local stack "
             "(run them through tests/run.sh, or eval \"$(deploy/stack.sh env)\")",
             name);
  return v;
}

const char *oc_test_write_tmp(const char *content) {
  static char path[64];
  size_t len = strlen(content);
  snprintf(path, sizeof(path), "/tmp/oc_test_XXXXXX");
  int fd = mkstemp(path);
  if (fd < 0)
    fail_msg("mkstemp: %s", strerror(errno));
  if (write(fd, content, len) != (ssize_t)len)
    fail_msg("write '%s': %s", path, strerror(errno));
  close(fd);
  return path;
}

const char *oc_test_unique_name(const char *prefix) {
  static char name[128];
  static unsigned seq;
  snprintf(name, sizeof(name), "%s_%ld_%ld_%u", prefix, (long)getpid(), (long)time(NULL), ++seq);
  return name;
}

rd_kafka_mock_cluster_t *oc_test_mock_start(int brokers, rd_kafka_t **owner) {
  char errstr[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_mock_cluster_t *mcluster;

  rd_kafka_conf_set(conf, "log_level", "0", NULL, 0);
  if (!(*owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr))))
    fail_msg("mock cluster: %s", errstr);
  if (!(mcluster = rd_kafka_mock_cluster_new(*owner, brokers)))
    fail_msg("mock cluster: cannot start %d brokers", brokers);
  return mcluster;
}

void oc_test_mock_stop(rd_kafka_mock_cluster_t *mcluster, rd_kafka_t *owner) {
  if (mcluster)
    rd_kafka_mock_cluster_destroy(mcluster);
  if (owner)
    rd_kafka_destroy(owner);
}

char *oc_test_input_describe(FILE *f, int fmt, unsigned flags, const struct oc_catalog_s *cat,
                             int64_t run_start) {
  static char out[65536];
  size_t used = 0;
  oc_input_t *in = NULL;
  oc_err_t err;

  out[0] = '\0';
  if (oc_input_open(f, (oc_input_format_t)fmt, flags, cat, run_start, &in, &err) < 0) {
    snprintf(out, sizeof(out), "open: %s\n", err.msg);
    goto done;
  }
  for (;;) {
    oc_observation_t obs;
    long line = -1;
    int rc = oc_input_next(in, &obs, &line, &err);
    if (rc == 0)
      break;
    if (rc < 0) {
      used += (size_t)snprintf(out + used, sizeof(out) - used, "%ld: %s%s\n", line,
                               err.fatal ? "FATAL " : "", err.msg);
      if (err.fatal)
        break;
      continue;
    }
    char d[11], ts[32];
    oc_date_format(obs.id.period_start, d);
    oc_timestamp_format(obs.observed_at, ts);
    if (flags & OC_INPUT_RETRACT) {
      used += (size_t)snprintf(out + used, sizeof(out) - used, "%ld: ok %s|%s|%s|%s|%s\n", line,
                               obs.id.org_id, obs.id.facility_id, obs.id.metric,
                               oc_grain_name(obs.id.grain), d);
      continue;
    }
    char num[32] = "-", den[32] = "-";
    if (obs.has_numerator)
      snprintf(num, sizeof(num), "%.17g", obs.numerator);
    if (obs.has_denominator)
      snprintf(den, sizeof(den), "%.17g", obs.denominator);
    used += (size_t)snprintf(out + used, sizeof(out) - used,
                             "%ld: ok %s|%s|%s|%s|%s %.17g %s %s %s %s\n", line, obs.id.org_id,
                             obs.id.facility_id, obs.id.metric, oc_grain_name(obs.id.grain), d,
                             obs.value, num, den, obs.source, ts);
  }
done:
  oc_input_destroy(in);
  return out;
}

const char *oc_test_capture_log(const char *prog, void (*fn)(void *), void *arg) {
  static char out[4096];
  FILE *tmp = tmpfile();
  int saved = dup(STDERR_FILENO);

  assert_non_null(tmp);
  assert_true(saved >= 0);
  fflush(stderr);
  assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
  setenv("JOURNAL_STREAM", "8:1234", 1);
  oc_log_init(prog);
  fn(arg);
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  unsetenv("JOURNAL_STREAM");
  rewind(tmp);
  size_t n = fread(out, 1, sizeof(out) - 1, tmp);
  out[n] = '\0';
  fclose(tmp);
  return out;
}
