/* fuzz_confluent.c - libFuzzer target: the bytes a schema registry and a
 * Confluent-framed topic hand over.
 *   - The input as a value: its framing read, then decoded by the
 *     Observation codec, whose resolver maps id 1 to version 1, id 2 to a
 *     version with an added field (tests/schemas/observation.next.avsc), id 3 to an unreachable registry and any
 *     other id to an unknown one. Also the input as a body behind the frame
 *     of ids 1 and 2, so that the fuzzer need not guess the framing. A
 *     decoded observation must re-encode (Confluent, id 1) and decode to
 *     the same record.
 *   - The input as a registry's answer: a registration's id, a schema
 *     (whose text, when it parses as one, is planned onto the Observation
 *     reader as a new writer would be), an error message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes/avro.h"
#include "outcomes/buf.h"
#include "outcomes/obs_codec.h"
#include "outcomes/schema_registry.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static oc_obs_codec_t *obs;
static uint64_t fp_v1, fp_v2;
static char *reader_json;

static int resolve(void *arg, uint32_t id, uint64_t *fp, oc_err_t *err) {
  (void)arg;
  if (id == 1 || id == 2) {
    *fp = id == 1 ? fp_v1 : fp_v2;
    return 0;
  }
  if (id == 3)
    return oc_err_set_retriable(err, OC_ERR_IO, "registry unreachable");
  return oc_err_set(err, OC_ERR_UNKNOWN_SCHEMA, "schema id %u unknown", id);
}

static void teardown(void) {
  oc_obs_codec_destroy(obs);
  free(reader_json);
  obs = NULL;
  reader_json = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  oc_err_t err;
  (void)argc;
  (void)argv;
  oc_buf_t next;
  oc_buf_init(&next, 0);
  if (oc_obs_codec_new(OC_SOURCE_DIR "/schemas/avro", &obs, &err) != 0 ||
      oc_buf_read_file(&next, OC_SOURCE_DIR "/tests/schemas/observation.next.avsc", &err) != 0 ||
      oc_obs_codec_add_writer(obs, next.p, next.len, &fp_v2, &err) != 0) {
    fprintf(stderr, "fuzz setup: %s\n", err.msg);
    abort();
  }
  oc_buf_release(&next);
  fp_v1 = oc_obs_codec_writer_fingerprint(obs);
  reader_json = oc_obs_codec_writer_json(obs);
  if (!reader_json)
    abort();
  oc_obs_codec_set_resolver(obs, resolve, NULL);
  oc_obs_codec_frame_confluent(obs, 1);
  atexit(teardown);
  return 0;
}

static void decode_value(const uint8_t *msg, size_t len) {
  oc_observation_t o, again;
  unsigned char buf[8192];
  size_t out_len;
  oc_obs_frame_t f;
  oc_err_t err;

  (void)oc_obs_frame_read(msg, len, &f, &err);
  if (oc_obs_decode(obs, msg, len, &o, &err) != 0)
    return;
  if (oc_obs_encode(obs, &o, buf, sizeof(buf), &out_len, &err) != 0) {
    if (err.code == OC_ERR_LIMIT)
      return;
    fprintf(stderr, "decoded but not re-encoded: %s\n", err.msg);
    abort();
  }
  if (buf[0] != 0 || oc_obs_decode(obs, buf, out_len, &again, &err) != 0 ||
      memcmp(&o, &again, sizeof(o)) != 0) {
    fprintf(stderr, "re-encoded record differs\n");
    abort();
  }
}

/* The input as the text of a writer schema: planned onto the reader. */
static void plan_schema(const char *json, size_t len) {
  oc_schema_t *reader = NULL, *writer = NULL;
  oc_registry_t *reg = NULL;
  oc_err_t err;
  if (oc_schema_parse(json, len, &writer, &err) != 0)
    return;
  if (oc_schema_parse(reader_json, strlen(reader_json), &reader, &err) != 0 ||
      oc_registry_new(reader, 0, &reg, &err) != 0) {
    oc_schema_destroy(writer);
    abort();
  }
  (void)oc_registry_add(reg, writer, &err);
  oc_registry_destroy(reg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *framed = malloc(size + 5);
  char *json = NULL, msg[256];
  uint32_t id;
  oc_err_t err;

  if (!framed)
    return 0;
  decode_value(data, size);
  memcpy(framed + 5, data, size);
  for (uint8_t i = 1; i <= 2; i++) {
    memcpy(framed, "\x00\x00\x00\x00", 4);
    framed[4] = i;
    decode_value(framed, size + 5);
  }
  free(framed);

  (void)oc_sr_parse_id((const char *)data, size, &id, &err);
  oc_sr_parse_error((const char *)data, size, msg, sizeof(msg));
  if (strlen(msg) >= sizeof(msg))
    abort();
  if (oc_sr_parse_schema((const char *)data, size, &json, &err) == 0) {
    plan_schema(json, strlen(json));
    free(json);
  }
  return 0;
}
