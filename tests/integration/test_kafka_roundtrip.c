/*
 * test_kafka_roundtrip.c - an Observation encoded by the library, produced
 * with librdkafka (idempotent, acks=all) to the real broker, consumed back
 * and decoded equal, field by field; every version of a fact lands in the
 * partition of its key.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "outcomes/date.h"
#include "outcomes/kafka.h"
#include "outcomes/key.h"
#include "outcomes/obs_codec.h"
#include "outcomes/record.h"

#define N_OBS 60
#define N_PARTITIONS 3

static int delivered_ok;
static int delivered_err;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  (void)opaque;
  if (m->err)
    delivered_err++;
  else
    delivered_ok++;
}

static void make_obs(int i, oc_observation_t *o) {
  static const char *const orgs[] = {"Coastal Carolina Health", "Kaleida Health",
                                     "Hôpital Saint-Éloi|Nord", "100% \"Care\""};
  memset(o, 0, sizeof(*o));
  snprintf(o->id.org_id, sizeof(o->id.org_id), "%s", orgs[i % 4]);
  if (i % 3)
    snprintf(o->id.facility_id, sizeof(o->id.facility_id), "fac %d", i % 5);
  snprintf(o->id.metric, sizeof(o->id.metric), "%s", i % 2 ? "readmission_rate_30d" : "er_visits");
  o->id.grain = OC_GRAIN_MONTH;
  assert_int_equal(oc_date_from_ymd(2020 + i / 12, 1 + i % 12, 1, &o->id.period_start, NULL), 0);
  if (i % 2) {
    o->has_numerator = o->has_denominator = true;
    o->numerator = 10 + i;
    o->denominator = 100 + i;
    o->value = o->numerator / o->denominator;
  } else {
    o->value = 1000 + i;
  }
  snprintf(o->source, sizeof(o->source), "ehr-export v%d", i % 2);
  o->observed_at = 1700000000000000LL + i;
}

static void assert_obs_equal(const oc_observation_t *a, const oc_observation_t *b) {
  assert_true(oc_fact_id_equal(&a->id, &b->id));
  assert_string_equal(a->id.org_id, b->id.org_id);
  assert_string_equal(a->id.facility_id, b->id.facility_id);
  assert_string_equal(a->id.metric, b->id.metric);
  assert_int_equal(a->id.grain, b->id.grain);
  assert_int_equal(a->id.period_start, b->id.period_start);
  assert_true(a->value == b->value);
  assert_int_equal(a->has_numerator, b->has_numerator);
  assert_int_equal(a->has_denominator, b->has_denominator);
  if (a->has_numerator)
    assert_true(a->numerator == b->numerator);
  if (a->has_denominator)
    assert_true(a->denominator == b->denominator);
  assert_string_equal(a->source, b->source);
  assert_int_equal(a->observed_at, b->observed_at);
}

static rd_kafka_t *new_client(rd_kafka_type_t type, const char *group) {
  oc_err_t err;
  char errstr[512];
  rd_kafka_conf_t *conf = oc_kafka_conf_new(oc_test_require_env("OUTCOMES_KAFKA_BROKERS"), &err);
  assert_non_null(conf);
  if (type == RD_KAFKA_PRODUCER) {
    assert_int_equal(oc_kafka_conf_set(conf, "enable.idempotence", "true", NULL, &err), 0);
    assert_int_equal(oc_kafka_conf_set(conf, "acks", "all", NULL, &err), 0);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
  } else {
    assert_int_equal(oc_kafka_conf_set(conf, "group.id", group, NULL, &err), 0);
    assert_int_equal(oc_kafka_conf_set(conf, "enable.auto.commit", "false", NULL, &err), 0);
  }
  rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
  if (!rk)
    fail_msg("rd_kafka_new: %s", errstr);
  return rk;
}

static void test_observation_round_trips_through_real_broker(void **state) {
  (void)state;
  oc_err_t err;
  oc_obs_codec_t *codec = NULL;
  oc_observation_t sent[N_OBS], got;
  int seen[N_OBS] = {0};
  int partition_of[N_OBS];
  char topic[128];
  unsigned char buf[4096];
  char key[OC_KEY_MAX + 1];
  size_t len, klen;

  snprintf(topic, sizeof(topic), "%s", oc_test_unique_name("roundtrip"));
  assert_int_equal(oc_obs_codec_new(oc_test_source_path("schemas/avro"), &codec, &err), 0);

  rd_kafka_t *prod = new_client(RD_KAFKA_PRODUCER, NULL);
  int created = 0;
  if (oc_kafka_create_topic(prod, topic, N_PARTITIONS, 1, 15000, &created, &err) != 0)
    fail_msg("%s", err.msg);
  assert_int_equal(created, 1);
  int parts = 0;
  assert_int_equal(oc_kafka_partition_count(prod, topic, 10000, &parts, &err), 0);
  assert_int_equal(parts, N_PARTITIONS);

  /* Each observation twice: a fact's versions must share a partition. */
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < N_OBS; i++) {
      make_obs(i, &sent[i]);
      if (oc_obs_encode(codec, &sent[i], buf, sizeof(buf), &len, &err) != 0)
        fail_msg("encode %d: %s", i, err.msg);
      assert_int_equal(oc_key_encode(&sent[i].id, key, sizeof(key), &klen, &err), 0);
      rd_kafka_resp_err_t e =
          rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_VALUE(buf, len), RD_KAFKA_V_END);
      assert_int_equal(e, RD_KAFKA_RESP_ERR_NO_ERROR);
    }
  }
  assert_int_equal(rd_kafka_flush(prod, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
  assert_int_equal(rd_kafka_outq_len(prod), 0);
  assert_int_equal(delivered_err, 0);
  assert_int_equal(delivered_ok, 2 * N_OBS);

  rd_kafka_t *cons = new_client(RD_KAFKA_CONSUMER, oc_test_unique_name("rt_group"));
  rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(N_PARTITIONS);
  for (int p = 0; p < N_PARTITIONS; p++)
    rd_kafka_topic_partition_list_add(tp, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  assert_int_equal(rd_kafka_assign(cons, tp), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(tp);

  int received = 0, polls = 0;
  while (received < 2 * N_OBS && polls++ < 600) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(cons, 100);
    if (!m)
      continue;
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        fail_msg("consume: %s", rd_kafka_message_errstr(m));
      rd_kafka_message_destroy(m);
      continue;
    }
    oc_fact_id_t kid;
    if (oc_key_decode(m->key, m->key_len, &kid, &err) != 0)
      fail_msg("key: %s", err.msg);
    if (oc_obs_decode(codec, m->payload, m->len, &got, &err) != 0)
      fail_msg("decode at %d/%lld: %s", (int)m->partition, (long long)m->offset, err.msg);
    assert_true(oc_fact_id_equal(&kid, &got.id));
    int match = -1;
    for (int i = 0; i < N_OBS; i++)
      if (oc_fact_id_equal(&sent[i].id, &got.id))
        match = i;
    assert_true(match >= 0);
    assert_obs_equal(&sent[match], &got);
    if (seen[match]++ == 0)
      partition_of[match] = (int)m->partition;
    else
      assert_int_equal(partition_of[match], (int)m->partition);
    received++;
    rd_kafka_message_destroy(m);
  }
  assert_int_equal(received, 2 * N_OBS);
  for (int i = 0; i < N_OBS; i++)
    assert_int_equal(seen[i], 2);
  printf("round-tripped %d observations through topic %s (%d partitions)\n", received, topic,
         N_PARTITIONS);

  rd_kafka_consumer_close(cons);
  rd_kafka_destroy(cons);
  rd_kafka_destroy(prod);
  oc_obs_codec_destroy(codec);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_observation_round_trips_through_real_broker),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
