/*
 * bench_codec.c - the per-record work of the producer and of the daemon,
 * phase by phase, so that callgrind can count its instructions per record
 * (tests/bench/bench_codec.sh runs it; tests/bench/README.md).
 *
 *   bench_codec --catalog FILE --schema-dir DIR [--confluent] FILE.csv
 *
 * The CSV (outcomes-gen's stream.csv format) is read into memory first.
 * Then three phases run over all its records, each in its own function that
 * is never inlined, so that callgrind's inclusive count of that function is
 * the phase's cost and nothing else:
 *
 *   bench_parse_validate   the producer's input path: oc_input_next() over
 *                          the in-memory file (lib/csv.c, lib/input.c,
 *                          oc_observation_validate)
 *   bench_encode           what the producer does per valid row before
 *                          librdkafka: oc_key_encode() and oc_obs_encode()
 *   bench_decode_validate  what the daemon does per message: oc_batch_add()
 *                          (lib/batch.c: oc_obs_decode, oc_observation_validate,
 *                          oc_key_decode, key against identity, the batch's
 *                          identity table), in batches of rollupd's default
 *                          batch.max.records
 *
 * --confluent frames the values the Confluent way (00 and a 4-byte schema
 * id) instead of single-object, and the daemon's phase maps the id to the
 * writer schema as lib/schema_ids.c does for an id it has seen: one
 * comparison with the last id (a registry is asked only for a new id, once).
 *
 * Outside the phases it checks that every row was valid, that every record
 * went into a batch as a record (no dead letter), and that every value and
 * key decodes back to exactly what was parsed: any failure exits 1, so a run
 * cannot measure nothing. It prints the record count and wall-clock ns per
 * record of each phase (meaningless under valgrind; callgrind's counts are
 * the firm figures).
 *
 * Exit status: 0 done, 1 a check failed, 64 usage, 66 input unreadable,
 * 78 catalog or schemas unusable.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "outcomes/apply.h"
#include "outcomes/buf.h"
#include "outcomes/catalog.h"
#include "outcomes/input.h"
#include "outcomes/key.h"
#include "outcomes/metrics.h"
#include "outcomes/obs_codec.h"
#include "outcomes/record.h"

/* Phase functions keep their own symbol and inclusive cost: never inlined,
 * cloned or merged (GCC's noipa; clang has only noinline). */
#if defined(__clang__)
#define PHASE __attribute__((noinline))
#else
#define PHASE __attribute__((noipa))
#endif

#define VALUE_MAX 4096          /* as lib/produce.c */
#define BATCH_RECORDS 5000      /* rollupd's batch.max.records default */
#define BATCH_BYTES (16u << 20) /* rollupd's batch.max.bytes default */

typedef struct msg_s {
  size_t key_off, key_len;
  size_t val_off, val_len;
} msg_t;

typedef struct bench_s {
  const oc_catalog_t *cat;
  oc_obs_codec_t *codec;
  char *csv; /* the whole file */
  size_t csv_len;

  oc_observation_t *obs; /* parsed rows */
  size_t n, cap;
  size_t rejected;
  char first_reject[OC_ERR_MSG_MAX + 32];

  unsigned char *arena; /* keys and values, one after the other */
  size_t arena_len, arena_cap;
  msg_t *msgs;
  size_t encode_failed;
  char first_encode_error[OC_ERR_MSG_MAX];

  size_t batched; /* records accepted into a batch */
  int64_t dead;   /* dead letters */
  size_t add_failed;
  char first_add_error[OC_ERR_MSG_MAX];
} bench_t;


/* Phase 1: CSV bytes to validated observations, as the producer reads a
 * file. Returns 0, or -1 when the input cannot be opened at all. */
PHASE int bench_parse_validate(bench_t *b);
PHASE int bench_parse_validate(bench_t *b) {
  FILE *f = fmemopen(b->csv, b->csv_len, "r");
  oc_input_t *in = NULL;
  oc_err_t err;
  long line = 0;
  int rc;

  if (!f) {
    fprintf(stderr, "bench_codec: fmemopen: %s\n", strerror(errno));
    return -1;
  }
  if (oc_input_open(f, OC_INPUT_CSV, 0, b->cat, oc_timestamp_now(), &in, &err) < 0) {
    fprintf(stderr, "bench_codec: %s\n", err.msg);
    fclose(f);
    return -1;
  }
  while ((rc = oc_input_next(in, &b->obs[b->n], &line, &err)) != 0) {
    if (rc < 0) {
      if (b->rejected++ == 0)
        snprintf(b->first_reject, sizeof(b->first_reject), "line %ld: %s", line, err.msg);
      if (err.fatal)
        break;
      continue;
    }
    if (++b->n == b->cap)
      break; /* the caller sized obs for every line */
  }
  oc_input_destroy(in);
  fclose(f);
  return 0;
}

/* Phase 2: key and single-object Avro value of each record, into the arena,
 * as the producer builds each message. */
PHASE void bench_encode(bench_t *b);
PHASE void bench_encode(bench_t *b) {
  oc_err_t err;

  for (size_t i = 0; i < b->n; i++) {
    msg_t *m = &b->msgs[i];
    char *key;
    unsigned char *val;

    if (b->arena_cap - b->arena_len < OC_KEY_MAX + 1 + VALUE_MAX) {
      unsigned char *na = realloc(b->arena, 2 * b->arena_cap);
      if (!na) {
        snprintf(err.msg, sizeof(err.msg), "out of memory");
        goto fail;
      }
      b->arena = na;
      b->arena_cap *= 2;
    }
    key = (char *)b->arena + b->arena_len;
    m->key_off = b->arena_len;
    if (oc_key_encode(&b->obs[i].id, key, OC_KEY_MAX + 1, &m->key_len, &err) < 0)
      goto fail;
    m->val_off = m->key_off + m->key_len;
    val = b->arena + m->val_off;
    if (oc_obs_encode(b->codec, &b->obs[i], val, VALUE_MAX, &m->val_len, &err) < 0)
      goto fail;
    b->arena_len = m->val_off + m->val_len;
    continue;
  fail:
    m->key_len = m->val_len = 0;
    if (b->encode_failed++ == 0)
      snprintf(b->first_encode_error, sizeof(b->first_encode_error), "%s", err.msg);
  }
}

static void count_dead(const char *code, int64_t n, void *arg) {
  (void)code;
  *(int64_t *)arg += n;
}

/* The end of a batch: count what it holds, then forget it as rollupd does
 * after its transaction. */
static void batch_done(bench_t *b, oc_batch_t *batch) {
  int64_t dead = 0;
  oc_batch_dead_letter_counts(batch, count_dead, &dead);
  b->dead += dead;
  b->batched += oc_batch_count(batch) - (size_t)dead;
  oc_batch_reset(batch);
}

/* Phase 3: each message through the daemon's classification. */
PHASE void bench_decode_validate(bench_t *b, oc_batch_t *batch);
PHASE void bench_decode_validate(bench_t *b, oc_batch_t *batch) {
  /* A message as the consumer hands it over. oc_batch_add reads
   * librdkafka's private fields behind it (timestamp, headers) only for a
   * dead letter, which verify() rules out first; zeros there read as
   * "none" all the same. */
  static struct {
    rd_kafka_message_t m;
    unsigned char private_fields[1024];
  } msg;
  rd_kafka_message_t *m = &msg.m;
  oc_err_t err;

  for (size_t i = 0; i < b->n; i++) {
    m->key = b->arena + b->msgs[i].key_off;
    m->key_len = b->msgs[i].key_len;
    m->payload = b->arena + b->msgs[i].val_off;
    m->len = b->msgs[i].val_len;
    m->offset = (int64_t)i;
    if (oc_batch_add(batch, m, -1, &err) < 0 && b->add_failed++ == 0)
      snprintf(b->first_add_error, sizeof(b->first_add_error), "%s", err.msg);
    if (oc_batch_full(batch))
      batch_done(b, batch);
  }
  batch_done(b, batch);
}

static bool obs_equal(const oc_observation_t *a, const oc_observation_t *b) {
  return oc_fact_id_equal(&a->id, &b->id) && memcmp(&a->value, &b->value, sizeof(a->value)) == 0 &&
         a->has_numerator == b->has_numerator && a->has_denominator == b->has_denominator &&
         (!a->has_numerator || memcmp(&a->numerator, &b->numerator, sizeof(a->numerator)) == 0) &&
         (!a->has_denominator ||
          memcmp(&a->denominator, &b->denominator, sizeof(a->denominator)) == 0) &&
         strcmp(a->source, b->source) == 0 && a->observed_at == b->observed_at;
}

/* Every record decodes back to what was parsed and is valid; its key
 * decodes to its identity. */
static int verify(bench_t *b) {
  oc_observation_t back;
  oc_fact_id_t id;
  oc_err_t err;

  for (size_t i = 0; i < b->n; i++) {
    const msg_t *m = &b->msgs[i];
    if (oc_obs_decode(b->codec, b->arena + m->val_off, m->val_len, &back, &err) != 0) {
      fprintf(stderr, "bench_codec: record %zu: decode: %s\n", i + 1, err.msg);
      return -1;
    }
    if (oc_observation_validate(&back, b->cat, &err) != 0) {
      fprintf(stderr, "bench_codec: record %zu: decoded: %s\n", i + 1, err.msg);
      return -1;
    }
    if (!obs_equal(&back, &b->obs[i])) {
      fprintf(stderr, "bench_codec: record %zu: decoded value differs from the parsed row\n",
              i + 1);
      return -1;
    }
    if (oc_key_decode((const char *)b->arena + m->key_off, m->key_len, &id, &err) != 0) {
      fprintf(stderr, "bench_codec: record %zu: key: %s\n", i + 1, err.msg);
      return -1;
    }
    if (!oc_fact_id_equal(&id, &b->obs[i].id)) {
      fprintf(stderr, "bench_codec: record %zu: key differs from the identity\n", i + 1);
      return -1;
    }
  }
  return 0;
}

/* The schema id of the Confluent-framed values, and its writer. */
#define BENCH_SCHEMA_ID 1
typedef struct seen_id_s {
  uint32_t id;
  uint64_t fp;
} seen_id_t;

static int resolve_seen(void *arg, uint32_t id, uint64_t *fp, oc_err_t *err) {
  const seen_id_t *s = arg;
  if (id != s->id)
    return oc_err_set(err, OC_ERR_UNKNOWN_SCHEMA, "schema id %" PRIu32 " unknown", id);
  *fp = s->fp;
  return 0;
}

static void usage(FILE *out) {
  fprintf(out, "usage: bench_codec --catalog FILE --schema-dir DIR [--confluent] FILE.csv\n"
               "Parse+validate, encode, and decode+validate every record of FILE.csv\n"
               "(held in memory), each phase in its own function for callgrind.\n");
}

static void phase_line(const char *name, size_t n, double s) {
  printf("%-18s %9zu %9.3f %10.0f\n", name, n, s, n ? s * 1e9 / (double)n : 0.0);
}

int main(int argc, char **argv) {
  const char *catalog = NULL, *schema_dir = NULL, *path = NULL;
  bench_t b;
  oc_catalog_t *cat = NULL;
  oc_batch_t *batch = NULL;
  oc_err_t err;
  double t[6];
  int status = 1;
  bool confluent = false;
  seen_id_t seen = {0, 0};

  memset(&b, 0, sizeof(b));
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--catalog") == 0 && i + 1 < argc) {
      catalog = argv[++i];
    } else if (strcmp(argv[i], "--schema-dir") == 0 && i + 1 < argc) {
      schema_dir = argv[++i];
    } else if (strcmp(argv[i], "--confluent") == 0) {
      confluent = true;
    } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (argv[i][0] != '-' && !path) {
      path = argv[i];
    } else {
      usage(stderr);
      return 64;
    }
  }
  if (!catalog || !schema_dir || !path) {
    usage(stderr);
    return 64;
  }
  if (oc_catalog_load_file(catalog, &cat, &err) < 0) {
    fprintf(stderr, "bench_codec: catalog: %s\n", err.msg);
    status = 78;
    goto out;
  }
  if (oc_obs_codec_new(schema_dir, &b.codec, &err) < 0) {
    fprintf(stderr, "bench_codec: schemas: %s\n", err.msg);
    status = 78;
    goto out;
  }
  if (confluent) {
    seen.id = BENCH_SCHEMA_ID;
    seen.fp = oc_obs_codec_writer_fingerprint(b.codec);
    oc_obs_codec_frame_confluent(b.codec, BENCH_SCHEMA_ID);
    oc_obs_codec_set_resolver(b.codec, resolve_seen, &seen);
  }
  b.cat = cat;
  oc_buf_t text;
  oc_err_t rerr;
  oc_buf_init(&text, 0);
  if (oc_buf_read_file(&text, path, &rerr) != 0) {
    fprintf(stderr, "bench_codec: %s\n", rerr.msg);
    status = 66;
    goto out;
  }
  b.csv = oc_buf_detach(&text, &b.csv_len);
  if (b.csv_len == 0) {
    fprintf(stderr, "bench_codec: %s: empty\n", path);
    goto out;
  }
  /* Every record starts on a line of its own: lines bound the records. */
  b.cap = 1;
  for (size_t i = 0; i < b.csv_len; i++)
    b.cap += b.csv[i] == '\n';
  b.obs = calloc(b.cap, sizeof(*b.obs));
  b.msgs = calloc(b.cap, sizeof(*b.msgs));
  b.arena_cap = 2 * b.csv_len + OC_KEY_MAX + 1 + VALUE_MAX; /* grows if need be */
  b.arena = malloc(b.arena_cap);
  batch = oc_batch_new("bench", BATCH_RECORDS, BATCH_BYTES, b.codec, cat);
  if (!b.obs || !b.msgs || !b.arena || !batch) {
    fprintf(stderr, "bench_codec: out of memory\n");
    goto out;
  }

  /* Each phase, then its checks; verify() before the daemon's phase, so
   * that no message can become a dead letter there. */
  t[0] = oc_metrics_now();
  if (bench_parse_validate(&b) < 0) {
    status = 66;
    goto out;
  }
  t[1] = oc_metrics_now();
  if (b.n == 0) {
    fprintf(stderr, "bench_codec: %s: no records\n", path);
    goto out;
  }
  if (b.rejected) {
    fprintf(stderr, "bench_codec: %s: %zu rejected rows, the first at %s\n", path, b.rejected,
            b.first_reject);
    goto out;
  }
  t[2] = oc_metrics_now();
  bench_encode(&b);
  t[3] = oc_metrics_now();
  if (b.encode_failed) {
    fprintf(stderr, "bench_codec: %zu records not encoded, the first: %s\n", b.encode_failed,
            b.first_encode_error);
    goto out;
  }
  if (verify(&b) < 0)
    goto out;
  t[4] = oc_metrics_now();
  bench_decode_validate(&b, batch);
  t[5] = oc_metrics_now();
  if (b.add_failed || b.dead || b.batched != b.n) {
    fprintf(stderr,
            "bench_codec: of %zu messages %zu were records, %" PRId64
            " dead letters, %zu failed%s%s\n",
            b.n, b.batched, b.dead, b.add_failed, b.add_failed ? ": " : "", b.first_add_error);
    goto out;
  }

  printf("records %zu\n", b.n);
  printf("%-18s %9s %9s %10s\n", "phase", "records", "seconds", "ns/record");
  phase_line("parse_validate", b.n, t[1] - t[0]);
  phase_line("encode", b.n, t[3] - t[2]);
  phase_line("decode_validate", b.n, t[5] - t[4]);
  status = 0;
out:
  oc_batch_destroy(batch);
  free(b.arena);
  free(b.msgs);
  free(b.obs);
  free(b.csv);
  oc_obs_codec_destroy(b.codec);
  oc_catalog_destroy(cat);
  return status;
}
