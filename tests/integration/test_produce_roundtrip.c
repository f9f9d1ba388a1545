/*
 * test_produce_roundtrip.c - outcomes-produce publishes a CSV file (twice)
 * and a JSON Lines file to the real broker; a separate consumer reads every
 * record back, decodes key and value, and compares them field by field with
 * the observations the files were written from. Publishing the same file
 * twice gives identical records under identical keys.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "outcomes/date.h"
#include "outcomes/kafka.h"
#include "outcomes/key.h"
#include "outcomes/obs_codec.h"
#include "outcomes/record.h"

#define N_OBS 400
#define N_PARTITIONS 3

static oc_observation_t want[N_OBS];

static void make_obs(int i, oc_observation_t *o) {
  static const char *const orgs[] = {"Coastal Carolina Health", "Kaleida Health",
                                     "Hôpital Saint-Éloi|Nord", "100% \"Care\", Inc.",
                                     "multi\u00A0space org"};
  static const char *const ratio_metrics[] = {"readmission_rate_30d", "cpoe_rate",
                                              "net_collection_rate"};
  static const char *const plain_metrics[] = {"er_visits", "supply_cost", "pending_charges"};
  memset(o, 0, sizeof(*o));
  snprintf(o->id.org_id, sizeof(o->id.org_id), "%s", orgs[i % 5]);
  if (i % 3)
    snprintf(o->id.facility_id, sizeof(o->id.facility_id), "fac %d", i % 7);
  o->id.grain = OC_GRAIN_MONTH;
  assert_int_equal(oc_date_from_ymd(2015 + i / 12, 1 + i % 12, 1, &o->id.period_start, NULL), 0);
  if (i % 2) {
    snprintf(o->id.metric, sizeof(o->id.metric), "%s", ratio_metrics[i % 3]);
    o->has_numerator = o->has_denominator = true;
    o->numerator = 10 + i;
    o->denominator = 1000 + 3 * i;
    o->value = o->numerator / o->denominator;
  } else {
    snprintf(o->id.metric, sizeof(o->id.metric), "%s", plain_metrics[i % 3]);
    o->value = 1000.25 + i * 7.5;
  }
  snprintf(o->source, sizeof(o->source), "ehr-export v%d", i % 2);
  o->observed_at = INT64_C(1700000000000000) + i * INT64_C(1000001);
}

static void csv_quote(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"')
      fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

static void write_files(const char *csv, const char *jsonl) {
  FILE *c = fopen(csv, "w");
  FILE *j = fopen(jsonl, "w");
  assert_non_null(c);
  assert_non_null(j);
  fputs("\xEF\xBB\xBF"
        "org_id,facility_id,metric,grain,period_start,value,numerator,"
        "denominator,source,observed_at\r\n",
        c);
  for (int i = 0; i < N_OBS; i++) {
    oc_observation_t *o = &want[i];
    char d[11], ts[32], num[40] = "", den[40] = "";
    make_obs(i, o);
    oc_date_format(o->id.period_start, d);
    oc_timestamp_format(o->observed_at, ts);
    if (o->has_numerator) {
      snprintf(num, sizeof(num), "%.17g", o->numerator);
      snprintf(den, sizeof(den), "%.17g", o->denominator);
    }
    csv_quote(c, o->id.org_id);
    fprintf(c, ",%s,%s,%s,%s,%.17g,%s,%s,", o->id.facility_id, o->id.metric,
            oc_grain_name(o->id.grain), d, o->value, num, den);
    csv_quote(c, o->source);
    fprintf(c, ",%s\r\n", ts);
    if (i % 50 == 0)
      fputs("\r\n", c); /* blank lines are skipped */

    /* JSON: org_id escaped by hand (only '"' needs it here). */
    fputs("{\"org_id\":\"", j);
    for (const char *s = o->id.org_id; *s; s++) {
      if (*s == '"' || *s == '\\')
        fputc('\\', j);
      fputc(*s, j);
    }
    fprintf(j,
            "\",\"facility_id\":%s%s%s,\"metric\":\"%s\",\"grain\":\"%s\","
            "\"period_start\":\"%s\",\"value\":%.17g",
            o->id.facility_id[0] ? "\"" : "", o->id.facility_id[0] ? o->id.facility_id : "null",
            o->id.facility_id[0] ? "\"" : "", o->id.metric, oc_grain_name(o->id.grain), d,
            o->value);
    if (o->has_numerator)
      fprintf(j, ",\"numerator\":%.17g,\"denominator\":\"%.17g\"", o->numerator, o->denominator);
    fprintf(j, ",\"source\":\"%s\",\"observed_at\":\"%s\"}\n", o->source, ts);
  }
  fclose(c);
  fclose(j);
}

/* Single-object values, which the codec below decodes without a registry
 * (the stack's OUTCOMES_SCHEMA_REGISTRY_URL may be in the environment). */
static int run_produce(const char *topic, const char *file) {
  char cmd[4096];
  snprintf(cmd, sizeof(cmd),
           "%s/producers/outcomes-produce -q -b '%s' -t '%s' --catalog '%s' "
           "--schema-dir '%s/schemas/avro' -X value.format=single-object '%s'",
           OC_BINARY_DIR, oc_test_require_env("OUTCOMES_KAFKA_BROKERS"), topic,
           oc_test_source_path("schemas/catalog.tsv"), OC_SOURCE_DIR, file);
  int st = system(cmd);
  assert_true(WIFEXITED(st));
  return WEXITSTATUS(st);
}

static void assert_obs_equal(const oc_observation_t *a, const oc_observation_t *b) {
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

static rd_kafka_t *new_client(rd_kafka_type_t type) {
  oc_err_t err;
  char errstr[512];
  rd_kafka_conf_t *conf = oc_kafka_conf_new(oc_test_require_env("OUTCOMES_KAFKA_BROKERS"), &err);
  assert_non_null(conf);
  if (type == RD_KAFKA_CONSUMER) {
    assert_int_equal(
        oc_kafka_conf_set(conf, "group.id", oc_test_unique_name("prod_rt"), NULL, &err), 0);
    assert_int_equal(oc_kafka_conf_set(conf, "enable.auto.commit", "false", NULL, &err), 0);
  }
  rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
  if (!rk)
    fail_msg("rd_kafka_new: %s", errstr);
  return rk;
}

static void create_topic(const char *topic) {
  oc_err_t err;
  int created = 0;
  rd_kafka_t *admin = new_client(RD_KAFKA_PRODUCER);
  if (oc_kafka_create_topic(admin, topic, N_PARTITIONS, 1, 15000, &created, &err) != 0)
    fail_msg("%s", err.msg);
  rd_kafka_destroy(admin);
}

/* Read the whole topic; check every record against want[]; each fact must
 * appear `copies` times with identical value bytes, in one partition. */
static void check_topic(const char *topic, int copies) {
  oc_err_t err;
  oc_obs_codec_t *codec = NULL;
  int seen[N_OBS] = {0};
  int partition_of[N_OBS];
  unsigned char *first_value[N_OBS] = {0};
  size_t first_len[N_OBS] = {0};

  assert_int_equal(oc_obs_codec_new(oc_test_source_path("schemas/avro"), &codec, &err), 0);
  rd_kafka_t *cons = new_client(RD_KAFKA_CONSUMER);
  rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(N_PARTITIONS);
  for (int p = 0; p < N_PARTITIONS; p++)
    rd_kafka_topic_partition_list_add(tp, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  assert_int_equal(rd_kafka_assign(cons, tp), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(tp);

  /* Until every expected record arrived, then 1 s more for any extra. */
  int received = 0, idle_polls = 0, extra_polls = 0;
  while (idle_polls < 600 && (received < copies * N_OBS || extra_polls++ < 10)) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(cons, 100);
    if (!m) {
      idle_polls++;
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      rd_kafka_message_destroy(m);
      continue;
    }
    if (m->err)
      fail_msg("consume: %s", rd_kafka_message_errstr(m));
    oc_fact_id_t kid;
    oc_observation_t got;
    if (oc_key_decode(m->key, m->key_len, &kid, &err) != 0)
      fail_msg("key: %s", err.msg);
    assert_non_null(m->payload);
    if (oc_obs_decode(codec, m->payload, m->len, &got, &err) != 0)
      fail_msg("decode: %s", err.msg);
    assert_true(oc_fact_id_equal(&kid, &got.id));
    int match = -1;
    for (int i = 0; i < N_OBS; i++)
      if (oc_fact_id_equal(&want[i].id, &got.id))
        match = i;
    if (match < 0)
      fail_msg("unexpected fact %.*s", (int)m->key_len, (const char *)m->key);
    assert_obs_equal(&want[match], &got);
    if (seen[match]++ == 0) {
      partition_of[match] = (int)m->partition;
      first_value[match] = malloc(m->len);
      memcpy(first_value[match], m->payload, m->len);
      first_len[match] = m->len;
    } else {
      assert_int_equal(partition_of[match], (int)m->partition);
      assert_int_equal(first_len[match], m->len);
      assert_memory_equal(first_value[match], m->payload, m->len);
    }
    received++;
    rd_kafka_message_destroy(m);
  }
  assert_int_equal(received, copies * N_OBS);
  for (int i = 0; i < N_OBS; i++) {
    assert_int_equal(seen[i], copies);
    free(first_value[i]);
  }
  rd_kafka_consumer_close(cons);
  rd_kafka_destroy(cons);
  oc_obs_codec_destroy(codec);
}

static void test_csv_published_twice_reads_back_identical_field_by_field(void **state) {
  (void)state;
  char csv[256], jsonl[256], topic[128];
  snprintf(csv, sizeof(csv), "/tmp/%s.csv", oc_test_unique_name("prod_rt"));
  snprintf(jsonl, sizeof(jsonl), "/tmp/%s.jsonl", oc_test_unique_name("prod_rt"));
  write_files(csv, jsonl);
  snprintf(topic, sizeof(topic), "%s", oc_test_unique_name("prod_rt_csv"));
  create_topic(topic);
  assert_int_equal(run_produce(topic, csv), 0);
  assert_int_equal(run_produce(topic, csv), 0);
  check_topic(topic, 2);
  remove(csv);
  remove(jsonl);
}

static void test_jsonl_reads_back_field_by_field(void **state) {
  (void)state;
  char csv[256], jsonl[256], topic[128];
  snprintf(csv, sizeof(csv), "/tmp/%s.csv", oc_test_unique_name("prod_rt"));
  snprintf(jsonl, sizeof(jsonl), "/tmp/%s.jsonl", oc_test_unique_name("prod_rt"));
  write_files(csv, jsonl);
  snprintf(topic, sizeof(topic), "%s", oc_test_unique_name("prod_rt_jsonl"));
  create_topic(topic);
  assert_int_equal(run_produce(topic, jsonl), 0);
  check_topic(topic, 1);
  remove(csv);
  remove(jsonl);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_csv_published_twice_reads_back_identical_field_by_field),
      cmocka_unit_test(test_jsonl_reads_back_field_by_field),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
