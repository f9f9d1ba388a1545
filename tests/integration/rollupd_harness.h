/*
 * rollupd_harness.h - shared by the outcomes-rollupd integration tests
 * (header-only: every test_*.c here is its own executable).
 *
 * A throwaway database (migrated from the source tree) and topic per test; a
 * deterministic load of records with duplicates, restatements, ties, late
 * older versions, tombstones and invalid messages of every dead-letter
 * reason, produced in order so that offset order per key is production
 * order; a model of the expected facts computed independently of the
 * daemon (docs/design.md §4 read directly); an independent from-scratch rollup
 * query; table checksums; and the daemon run as a child process.
 */
#ifndef OC_ROLLUPD_HARNESS_H
#define OC_ROLLUPD_HARNESS_H

#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#include "outcomes/kafka.h"
#include "outcomes/key.h"
#include "outcomes/migrate.h"
#include "outcomes/obs_codec.h"
#include "outcomes/pg.h"
#include "outcomes/record.h"

#define H_DAEMON OC_BINARY_DIR "/consumers/outcomes-rollupd"

/* ---- PostgreSQL -------------------------------------------------------- */

static inline PGconn *h_connect(const char *dbname) {
  oc_err_t err;
  PGconn *c = NULL;
  oc_pg_connect_opts_t o = {.application_name = "rollupd-test", .dbname = dbname};
  if (oc_pg_connect(oc_test_require_env("OUTCOMES_PG_CONNINFO"), &o, &c, &err) != 0)
    fail_msg("%s", err.msg);
  return c;
}

static inline void h_exec(PGconn *c, const char *sql) {
  oc_err_t err;
  if (oc_pg_exec(c, sql, &err) != 0)
    fail_msg("%s", err.msg);
}

static inline long long h_value_ll(PGconn *c, const char *sql) {
  oc_err_t err;
  char buf[64];
  if (oc_pg_query_value(c, sql, 0, NULL, buf, sizeof(buf), NULL, &err) != 0)
    fail_msg("%s: %s", sql, err.msg);
  return atoll(buf);
}

static inline void h_value_str(PGconn *c, const char *sql, char *buf, size_t cap) {
  oc_err_t err;
  if (oc_pg_query_value(c, sql, 0, NULL, buf, cap, NULL, &err) != 0)
    fail_msg("%s: %s", sql, err.msg);
}

/* CREATE DATABASE name and migrate it; returns a connection to it. */
static inline PGconn *h_db_create(const char *name) {
  char sql[256];
  oc_err_t err;
  PGconn *admin = h_connect(NULL);
  snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
  h_exec(admin, sql);
  PQfinish(admin);
  PGconn *c = h_connect(name);
  oc_migrate_report_t rep;
  oc_migrate_report_init(&rep);
  if (oc_migrate_run(c, oc_test_source_path("schemas/sql"), OC_SOURCE_DIR "/schemas/catalog.tsv",
                     NULL, &rep, &err) != 0)
    fail_msg("migrate %s: %s", name, err.msg);
  oc_migrate_report_release(&rep);
  return c;
}

static inline void h_db_drop(PGconn *c, const char *name) {
  char sql[256];
  if (c)
    PQfinish(c);
  PGconn *admin = h_connect(NULL);
  snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
  h_exec(admin, sql);
  PQfinish(admin);
}

static inline void h_sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Wait (up to 60 s; then the test fails) until no fact change waits for
 * the rollup refresh: the rollups are then what a quiescent pipeline
 * leaves. A daemon must be running to refresh them. */
static inline void h_wait_rollups_current(PGconn *c) {
  long long pending = 0;
  for (int i = 0; i < 600; i++) {
    if ((pending = h_value_ll(c, "SELECT pending_facts FROM outcomes.rollup_status")) == 0)
      return;
    h_sleep_ms(100);
  }
  fail_msg("%lld fact changes still wait for the rollup refresh after 60 s", pending);
}

/* md5 of a table's rows in key order, without the ingestion/update times
 * and the generated id (rollups: once current). */
static inline void h_table_md5(PGconn *c, const char *table, char out[33]) {
  char sql[1024];
  const char *cols = NULL, *order = NULL;
  if (strcmp(table, "facts") == 0) {
    cols = "metric, org_id, facility_id, grain, period_start, retracted, value, numerator,"
           " denominator, source, observed_at, src_topic, src_partition, src_offset,"
           " barrier_offset";
    order = "metric, org_id, facility_id, grain, period_start";
  } else if (strcmp(table, "rollups") == 0) {
    h_wait_rollups_current(c);
    cols = "metric, fact_grain, grain, level, bucket_start, org_id, facility_id, n,"
           " sum_value, min_value, max_value, sum_numerator, sum_denominator, last_period,"
           " last_value";
    order = "metric, fact_grain, grain, level, bucket_start, org_id, facility_id";
  } else if (strcmp(table, "dead_letters") == 0) {
    cols = "group_id, topic, partition, kafka_offset, kafka_timestamp, key, value,"
           " header_names, header_values, error_code, error_message";
    order = "group_id, topic, partition, kafka_offset";
  } else if (strcmp(table, "consumer_offsets") == 0) {
    cols = "group_id, topic, partition, next_offset, first_offset, applied, stale,"
           " dead_lettered";
    order = "group_id, topic, partition";
  } else {
    fail_msg("unknown table %s", table);
  }
  snprintf(sql, sizeof(sql),
           "SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY %s), ''))"
           " FROM (SELECT %s FROM outcomes.%s) t",
           order, cols, table);
  h_value_str(c, sql, out, 33);
}

/* Every rollup row equals the aggregate computed from scratch, directly
 * over the standing facts (not level by level, as the daemon does), and
 * every such aggregate has its row: tests/integration/rollup_oracle.sql,
 * once no change waits for the refresh (waits up to 60 s). Returns the
 * number of differing rows. */
static inline long long h_rollup_mismatches(PGconn *c) {
  static char *sql;
  h_wait_rollups_current(c);
  if (!sql)
    sql = oc_test_read_file(oc_test_source_path("tests/integration/rollup_oracle.sql"), NULL);
  return h_value_ll(c, sql);
}

/* Per partition: applied + stale + dead_lettered = next_offset - first_offset. */
static inline long long h_accounting_mismatches(PGconn *c) {
  return h_value_ll(c, "SELECT count(*) FROM outcomes.consumer_offsets"
                       " WHERE applied + stale + dead_lettered <> next_offset - first_offset");
}

/* ---- Kafka ------------------------------------------------------------- */

static int h_delivered_err;

static inline void h_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  (void)opaque;
  if (m->err)
    h_delivered_err++;
}

static inline rd_kafka_t *h_producer(void) {
  oc_err_t err;
  char errstr[512];
  rd_kafka_conf_t *conf = oc_kafka_conf_new(oc_test_require_env("OUTCOMES_KAFKA_BROKERS"), &err);
  assert_non_null(conf);
  assert_int_equal(oc_kafka_conf_set(conf, "enable.idempotence", "true", NULL, &err), 0);
  assert_int_equal(oc_kafka_conf_set(conf, "acks", "all", NULL, &err), 0);
  assert_int_equal(oc_kafka_conf_set(conf, "linger.ms", "20", NULL, &err), 0);
  rd_kafka_conf_set_dr_msg_cb(conf, h_dr_cb);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (!rk)
    fail_msg("rd_kafka_new: %s", errstr);
  return rk;
}

static inline void h_topic_create(rd_kafka_t *rk, const char *topic, int partitions) {
  oc_err_t err;
  int created = 0;
  if (oc_kafka_create_topic(rk, topic, partitions, 1, 30000, &created, &err) != 0)
    fail_msg("create topic %s: %s", topic, err.msg);
}

static inline void h_send(rd_kafka_t *rk, const char *topic, const void *key, size_t klen,
                          const void *val, size_t vlen, bool with_header) {
  for (;;) {
    rd_kafka_resp_err_t e;
    if (with_header)
      e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_KEY(key, klen),
                            RD_KAFKA_V_VALUE((void *)(uintptr_t)val, vlen),
                            RD_KAFKA_V_HEADER("trace-id", "abc\0def", 7),
                            RD_KAFKA_V_HEADER("empty", NULL, 0), RD_KAFKA_V_END);
    else
      e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_KEY(key, klen),
                            RD_KAFKA_V_VALUE((void *)(uintptr_t)val, vlen), RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(rk, 50);
      continue;
    }
    assert_int_equal(e, RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_poll(rk, 0);
    return;
  }
}

/* ---- the load and its model ------------------------------------------- */

typedef struct h_ident_s {
  oc_fact_id_t id;
  int status; /* 0 never, 1 standing, 2 retracted */
  oc_timestamp_t t;
  long seq; /* production order of the standing version: offset order per key */
  double value;
} h_ident_t;

typedef struct h_load_s {
  h_ident_t *ids;
  size_t n_ids;
  long n_messages;
  long dead_by_code[64]; /* index -code */
  long n_dead;
} h_load_t;

static const char *const h_metrics[] = {"readmission_rate_30d", "er_visits", "supply_cost",
                                        "pending_charges"};
#define H_N_METRICS 4

static inline unsigned h_rnd(unsigned long long *s) {
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return (unsigned)(*s >> 33);
}

/* Identity i: distinct i give distinct identities (mixed radix). */
static inline void h_ident(size_t i, oc_fact_id_t *id) {
  static const oc_grain_t grains[] = {OC_GRAIN_DAY, OC_GRAIN_WEEK, OC_GRAIN_MONTH, OC_GRAIN_QUARTER,
                                      OC_GRAIN_YEAR};
  memset(id, 0, sizeof(*id));
  snprintf(id->org_id, sizeof(id->org_id), "org-%02zu%s", i % 7, i % 7 == 3 ? " A|B%" : "");
  size_t f = (i / 7) % 4;
  if (f)
    snprintf(id->facility_id, sizeof(id->facility_id), "fac-%zu", f);
  snprintf(id->metric, sizeof(id->metric), "%s", h_metrics[(i / 28) % H_N_METRICS]);
  id->grain = grains[(i / (28 * H_N_METRICS)) % 5];
  size_t k = i / (28 * H_N_METRICS * 5);
  oc_date_t base;
  oc_date_from_ymd(2023, 11, 20, &base, NULL);
  /* Steps of 3 units of the grain's typical length keep the periods distinct
   * and spread them over several rollup buckets. */
  static const int days[] = {1, 7, 31, 92, 366};
  oc_date_t d = base + (oc_date_t)(k * 3 * (size_t)days[id->grain]) + (oc_date_t)(k % 2);
  id->period_start = oc_period_floor(id->grain, d);
}

static inline void h_obs(const oc_fact_id_t *id, double v, oc_timestamp_t t, oc_observation_t *o) {
  memset(o, 0, sizeof(*o));
  o->id = *id;
  if (strcmp(id->metric, "readmission_rate_30d") == 0) {
    o->has_numerator = o->has_denominator = true;
    o->denominator = 1000 + (double)((long)v % 500);
    o->numerator = (double)((long)(v * 7) % 400);
    o->value = o->numerator / o->denominator;
  } else {
    o->value = v;
  }
  snprintf(o->source, sizeof(o->source), "test-src");
  o->observed_at = t;
}

/* Produce about n messages to topic in 'rounds' over a pool of identities:
 * versions with few distinct timestamps (ties and late older versions),
 * exact duplicates, tombstones and invalid messages; updates the model. */
static inline void h_load_produce(h_load_t *L, rd_kafka_t *rk, const char *topic, long n,
                                  unsigned long long seed) {
  oc_err_t err;
  oc_obs_codec_t *codec = NULL;
  unsigned char buf[4096];
  char key[OC_KEY_MAX + 1];
  size_t len, klen;

  memset(L, 0, sizeof(*L));
  assert_int_equal(oc_obs_codec_new(oc_test_source_path("schemas/avro"), &codec, &err), 0);
  L->n_ids = (size_t)(n / 4 > 40 ? n / 4 : 40);
  L->ids = calloc(L->n_ids, sizeof(*L->ids));
  assert_non_null(L->ids);
  for (size_t i = 0; i < L->n_ids; i++)
    h_ident(i, &L->ids[i].id);

  for (long seq = 0; seq < n; seq++) {
    h_ident_t *I = &L->ids[h_rnd(&seed) % L->n_ids];
    unsigned r = h_rnd(&seed) % 100;
    oc_observation_t o;
    assert_int_equal(oc_key_encode(&I->id, key, sizeof(key), &klen, &err), 0);
    if (r < 6) { /* tombstone */
      h_send(rk, topic, key, klen, NULL, 0, false);
      I->status = 2;
      continue;
    }
    if (r < 12) { /* invalid: one of every reason */
      int code = 0;
      oc_observation_t bad;
      h_obs(&I->id, 100 + seq, 1700000000000000LL + seq, &bad);
      switch (seq % 9) {
      case 0: /* key of another identity */
        code = OC_ERR_BAD_KEY;
        bad.id.period_start = oc_period_next(bad.id.grain, bad.id.period_start);
        break;
      case 1:
        code = OC_ERR_UNKNOWN_METRIC;
        snprintf(bad.id.metric, sizeof(bad.id.metric), "zz_nope");
        break;
      case 2:
        code = OC_ERR_RANGE;
        if (!bad.has_numerator)
          bad.value = -5;
        else {
          bad.numerator = 5000;
          bad.value = bad.numerator / bad.denominator;
        }
        break;
      case 3:
        code = OC_ERR_MISALIGNED;
        bad.id.grain = OC_GRAIN_YEAR;
        bad.id.period_start += 40;
        break;
      case 4:
        if (bad.has_numerator) {
          code = OC_ERR_RATIO_MISMATCH;
          bad.value = bad.value * 0.5 + 0.25;
        } else {
          code = OC_ERR_BAD_FIELD;
          bad.has_numerator = true;
          bad.numerator = 1;
        }
        break;
      case 5: code = OC_ERR_DECODE; break;
      case 6: code = OC_ERR_UNKNOWN_SCHEMA; break;
      case 7: code = OC_ERR_BAD_KEY; break;  /* tombstone with a malformed key */
      default: code = OC_ERR_BAD_KEY; break; /* record without a key */
      }
      if (oc_obs_encode(codec, &bad, buf, sizeof(buf), &len, &err) != 0)
        fail_msg("encode: %s", err.msg);
      if (code == OC_ERR_DECODE)
        len = 14; /* header and a truncated body */
      if (code == OC_ERR_UNKNOWN_SCHEMA)
        buf[5] ^= 0x5a;
      if (seq % 9 == 7)
        h_send(rk, topic, "not|a|key", 9, NULL, 0, true);
      else if (seq % 9 == 8)
        h_send(rk, topic, NULL, 0, buf, len, true);
      else
        h_send(rk, topic, key, klen, buf, len, true);
      L->dead_by_code[-code]++;
      L->n_dead++;
      continue;
    }
    /* A version: few distinct timestamps make ties and late older ones. */
    oc_timestamp_t t = 1700000000000000LL + (oc_timestamp_t)(h_rnd(&seed) % 8) * 1000000;
    double v = (double)(h_rnd(&seed) % 100000) / 8.0;
    h_obs(&I->id, v, t, &o);
    if (oc_obs_encode(codec, &o, buf, sizeof(buf), &len, &err) != 0)
      fail_msg("encode: %s", err.msg);
    int copies = r < 20 ? 2 : 1; /* exact duplicates */
    for (int c = 0; c < copies; c++) {
      h_send(rk, topic, key, klen, buf, len, false);
      if (I->status != 1 || t >= I->t) { /* later offset wins ties */
        I->status = 1;
        I->t = t;
        I->seq = seq;
        I->value = o.value;
      }
    }
    if (copies == 2)
      seq++;
  }
  L->n_messages = n;
  assert_int_equal(rd_kafka_flush(rk, 60000), RD_KAFKA_RESP_ERR_NO_ERROR);
  assert_int_equal(rd_kafka_outq_len(rk), 0);
  assert_int_equal(h_delivered_err, 0);
  oc_obs_codec_destroy(codec);
}

static inline void h_load_release(h_load_t *L) { free(L->ids); }

static inline int h_cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The standing facts against the model L: *missing (model facts absent or
 * different) and *extra (facts the model does not have, or different). */
static inline void h_facts_diff(PGconn *c, const h_load_t *L, long long *missing,
                                long long *extra) {
  char **want = calloc(L->n_ids, sizeof(*want));
  bool *found = calloc(L->n_ids, sizeof(*found));
  size_t n = 0;
  oc_err_t err;
  assert_non_null(want);
  assert_non_null(found);
  /* "key value t" of every standing identity of the model, sorted. */
  for (size_t i = 0; i < L->n_ids; i++) {
    if (L->ids[i].status != 1)
      continue;
    char key[OC_KEY_MAX + 1], buf[OC_KEY_MAX + 64];
    size_t klen;
    assert_int_equal(oc_key_encode(&L->ids[i].id, key, sizeof(key), &klen, &err), 0);
    snprintf(buf, sizeof(buf), "%s %.17g %lld", key, L->ids[i].value, (long long)L->ids[i].t);
    want[n++] = strdup(buf);
  }
  qsort(want, n, sizeof(*want), h_cmp_str);
  PGresult *res = PQexec(c, "SELECT metric, org_id, facility_id, grain, period_start::text,"
                            " value, (extract(epoch FROM observed_at) * 1000000)::bigint"
                            " FROM outcomes.facts WHERE NOT retracted");
  assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
  *missing = *extra = 0;
  for (int r = 0; r < PQntuples(res); r++) {
    oc_fact_id_t id;
    char key[OC_KEY_MAX + 1], buf[OC_KEY_MAX + 64];
    size_t klen;
    memset(&id, 0, sizeof(id));
    snprintf(id.metric, sizeof(id.metric), "%s", PQgetvalue(res, r, 0));
    snprintf(id.org_id, sizeof(id.org_id), "%s", PQgetvalue(res, r, 1));
    snprintf(id.facility_id, sizeof(id.facility_id), "%s", PQgetvalue(res, r, 2));
    assert_int_equal(oc_grain_from_name(PQgetvalue(res, r, 3), &id.grain, NULL), 0);
    assert_int_equal(oc_date_parse(PQgetvalue(res, r, 4), &id.period_start, NULL), 0);
    assert_int_equal(oc_key_encode(&id, key, sizeof(key), &klen, &err), 0);
    snprintf(buf, sizeof(buf), "%s %.17g %s", key, strtod(PQgetvalue(res, r, 5), NULL),
             PQgetvalue(res, r, 6));
    const char *p = buf;
    char **hit = bsearch(&p, want, n, sizeof(*want), h_cmp_str);
    if (hit && !found[hit - want]) {
      found[hit - want] = true;
    } else {
      if (*extra < 5)
        printf("fact not in the model (or different): %s\n", buf);
      (*extra)++;
    }
  }
  PQclear(res);
  for (size_t i = 0; i < n; i++) {
    if (!found[i]) {
      if (*missing < 5)
        printf("model fact missing (or different): %s\n", want[i]);
      (*missing)++;
    }
    free(want[i]);
  }
  free(want);
  free(found);
}

/* The standing facts equal the model: same identities, values, times. */
static inline void h_check_facts(PGconn *c, const h_load_t *L) {
  long long missing, extra;
  h_facts_diff(c, L, &missing, &extra);
  if (missing || extra)
    fail_msg("facts differ from the model: %lld missing, %lld extra", missing, extra);
}

/* One dead letter per invalid message, with the reason expected. */
static inline void h_check_dead_letters(PGconn *c, const h_load_t *L) {
  assert_int_equal(h_value_ll(c, "SELECT count(*) FROM outcomes.dead_letters"), L->n_dead);
  for (int i = 0; i < 64; i++) {
    if (!L->dead_by_code[i])
      continue;
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM outcomes.dead_letters WHERE error_code = '%s'",
             oc_err_code_name(-i));
    long long got = h_value_ll(c, sql);
    if (got != L->dead_by_code[i])
      fail_msg("dead letters %s: %lld, expected %ld", oc_err_code_name(-i), got,
               L->dead_by_code[i]);
  }
}

/* ---- the daemon -------------------------------------------------------- */

/* Start the daemon on db/topic/group with extra -X settings (NULL-ended);
 * its stderr goes to log (appended). */
static inline pid_t h_daemon_start(const char *db, const char *topic, const char *group,
                                   const char *log, bool exit_at_end, const char *const *extra) {
  static char x[16][300];
  const char *argv[48];
  int a = 0, k = 0;
  argv[a++] = H_DAEMON;
  snprintf(x[k], sizeof(x[k]), "pg.dbname=%s", db);
  argv[a++] = "-X";
  argv[a++] = x[k++];
  snprintf(x[k], sizeof(x[k]), "topic=%s", topic);
  argv[a++] = "-X";
  argv[a++] = x[k++];
  snprintf(x[k], sizeof(x[k]), "group.id=%s", group);
  argv[a++] = "-X";
  argv[a++] = x[k++];
  snprintf(x[k], sizeof(x[k]), "schema.dir=%s", OC_SOURCE_DIR "/schemas/avro");
  argv[a++] = "-X";
  argv[a++] = x[k++];
  for (size_t i = 0; extra && extra[i]; i++) {
    argv[a++] = "-X";
    argv[a++] = extra[i];
  }
  if (exit_at_end)
    argv[a++] = "--exit-at-end";
  argv[a] = NULL;
  fflush(stdout);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 2);
      dup2(fd, 1);
      close(fd);
    }
    execv(H_DAEMON, (char *const *)(uintptr_t)argv);
    _exit(127);
  }
  return pid;
}

/* Wait for pid up to timeout_s; returns its exit status, or fails. */
static inline int h_daemon_wait(pid_t pid, int timeout_s, const char *log) {
  for (int i = 0; i < timeout_s * 10; i++) {
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) {
      if (WIFSIGNALED(st))
        fail_msg("daemon killed by signal %d (log %s)", WTERMSIG(st), log);
      return WEXITSTATUS(st);
    }
    struct timespec ts = {0, 100000000L};
    nanosleep(&ts, NULL);
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  fail_msg("daemon did not exit within %d s (log %s)", timeout_s, log);
  return -1;
}

/* Lines of a file containing needle; -1 when it cannot be read. */
static inline int h_count_in_file(const char *path, const char *needle) {
  FILE *f = fopen(path, "r");
  char line[4096];
  int n = 0;
  if (!f)
    return -1;
  while (fgets(line, sizeof(line), f))
    if (strstr(line, needle))
      n++;
  fclose(f);
  return n;
}


#endif
