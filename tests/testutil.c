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
