/*
 * oc_test_topic.c - creates a Kafka topic for the shell tests through
 * librdkafka's Admin API (oc_kafka_create_topic), in a fraction of the time
 * of a JVM running Kafka's TopicCommand (deploy/stack.sh topic create):
 *
 *   oc_test_topic BROKERS TOPIC PARTITIONS
 *
 * An existing topic is not an error. Returns once the broker's metadata
 * shows the topic with PARTITIONS partitions, each with a leader, so that
 * the caller can produce and query offsets at once. Exit status: 0; 64
 * usage; 69 the broker cannot be reached or refuses (the message says why).
 * Not installed: a helper of tests/integration/topic.bash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "outcomes/kafka.h"

#define TOPIC_TIMEOUT_MS 30000

static long long mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Partitions of topic that have a leader, per the broker's metadata; -1
 * when the metadata request fails or the topic is not there yet. */
static int led_partitions(rd_kafka_t *rk, const char *topic) {
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
  int n = -1;

  if (!rkt)
    return -1;
  if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
      md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    n = 0;
    for (int i = 0; i < md->topics[0].partition_cnt; i++)
      n += md->topics[0].partitions[i].leader >= 0;
  }
  if (md)
    rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  return n;
}

int main(int argc, char **argv) {
  char errstr[512];
  oc_err_t err;
  char *end = NULL;
  long partitions;

  if (argc != 4 || argv[2][0] == '\0') {
    fprintf(stderr, "usage: oc_test_topic BROKERS TOPIC PARTITIONS\n");
    return 64;
  }
  partitions = strtol(argv[3], &end, 10);
  if (*argv[3] == '\0' || *end != '\0' || partitions < 1 || partitions > 1000) {
    fprintf(stderr, "oc_test_topic: PARTITIONS must be 1-1000, not '%s'\n", argv[3]);
    return 64;
  }
  rd_kafka_conf_t *conf = oc_kafka_conf_new(argv[1], &err);
  if (!conf) {
    fprintf(stderr, "oc_test_topic: %s\n", err.msg);
    return 69;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    fprintf(stderr, "oc_test_topic: rd_kafka_new: %s\n", errstr);
    return 69;
  }
  int rc = 0;
  if (oc_kafka_create_topic(rk, argv[2], (int)partitions, 1, TOPIC_TIMEOUT_MS, NULL, &err) != 0) {
    fprintf(stderr, "oc_test_topic: %s\n", err.msg);
    rc = 69;
  } else {
    long long deadline = mono_ms() + TOPIC_TIMEOUT_MS;
    int led;
    while ((led = led_partitions(rk, argv[2])) != partitions && mono_ms() < deadline) {
      struct timespec pause = {0, 50 * 1000000L};
      nanosleep(&pause, NULL);
    }
    if (led != partitions) {
      fprintf(stderr, "oc_test_topic: topic '%s': %d of %ld partitions with a leader after %d ms\n",
              argv[2], led < 0 ? 0 : led, partitions, TOPIC_TIMEOUT_MS);
      rc = 69;
    }
  }
  rd_kafka_destroy(rk);
  return rc;
}
