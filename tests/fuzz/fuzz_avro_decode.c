/* fuzz_avro_decode.c - libFuzzer target: arbitrary bytes through the
 * Observation codec and through a registry reading the Apache TestMessage
 * (with a projection onto a reader that adds a defaulted map). Each input is
 * tried as a whole message, and as a body behind a valid header of each
 * schema so that the fuzzer need not guess fingerprints. A decoded
 * observation must re-encode and decode to the same record. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes/avro.h"
#include "outcomes/obs_codec.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char test_reader[] =
    "{\"type\":\"record\",\"namespace\":\"org.apache.avro\",\"name\":\"TestMessage\","
    "\"fields\":[{\"name\":\"id\",\"type\":\"long\"},{\"name\":\"name\",\"type\":\"string\"},"
    "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"string\"}},"
    "{\"name\":\"scores\",\"type\":{\"type\":\"map\",\"values\":\"double\"},\"default\":{}}]}";

static oc_obs_codec_t *obs;
static oc_registry_t *reg;
static uint64_t test_fp;

static void die(const char *what, const oc_err_t *err) {
  fprintf(stderr, "fuzz setup: %s: %s\n", what, err->msg);
  abort();
}

/* Free everything at exit: proves teardown, and keeps LeakSanitizer's
 * report to what the runs leaked. */
static void teardown(void) {
  oc_obs_codec_destroy(obs);
  oc_registry_destroy(reg);
  obs = NULL;
  reg = NULL;
}

static void setup(void) {
  oc_schema_t *reader = NULL, *writer = NULL;
  oc_err_t err;
  if (oc_obs_codec_new(OC_SOURCE_DIR "/schemas/avro", &obs, &err) != 0)
    die("observation codec", &err);
  if (oc_schema_parse(test_reader, sizeof(test_reader) - 1, &reader, &err) != 0)
    die("reader", &err);
  if (oc_registry_new(reader, 0, &reg, &err) != 0)
    die("registry", &err);
  if (oc_schema_load_file(OC_TEST_DATA_DIR "/avro/messageV1/test_schema.avsc", &writer, &err) != 0)
    die("writer", &err);
  test_fp = oc_schema_fingerprint(writer);
  if (oc_registry_add(reg, writer, &err) != 0)
    die("add", &err);
  atexit(teardown);
}

static void check_data_error(int rc, const oc_err_t *err) {
  if (rc != OC_ERR_DECODE && rc != OC_ERR_UNKNOWN_SCHEMA && rc != OC_ERR_BAD_FIELD) {
    fprintf(stderr, "unexpected error %d: %s\n", rc, err->msg);
    abort();
  }
  if (err->msg[0] == '\0')
    abort();
}

static void try_message(const uint8_t *msg, size_t len) {
  oc_observation_t o, again;
  avro_value_t *v;
  unsigned char buf[4096];
  size_t out_len;
  oc_err_t err;
  int rc;

  rc = oc_obs_decode(obs, msg, len, &o, &err);
  if (rc == 0) {
    if (oc_obs_encode(obs, &o, buf, sizeof(buf), &out_len, &err) != 0) {
      fprintf(stderr, "re-encode failed: %s\n", err.msg);
      abort();
    }
    if (oc_obs_decode(obs, buf, out_len, &again, &err) != 0 || memcmp(&o, &again, sizeof(o)) != 0) {
      fprintf(stderr, "round trip differs: %s\n", err.msg);
      abort();
    }
  } else {
    check_data_error(rc, &err);
  }
  rc = oc_registry_decode(reg, msg, len, &v, NULL, &err);
  if (rc != 0)
    check_data_error(rc, &err);
}

static void with_header(uint64_t fp, const uint8_t *body, size_t size) {
  uint8_t *msg = malloc(size + OC_AVRO_HEADER_LEN);
  if (!msg)
    return;
  msg[0] = 0xc3;
  msg[1] = 0x01;
  for (int i = 0; i < 8; i++)
    msg[2 + i] = (uint8_t)(fp >> (8 * i));
  if (size)
    memcpy(msg + OC_AVRO_HEADER_LEN, body, size);
  try_message(msg, size + OC_AVRO_HEADER_LEN);
  free(msg);
}

/* Setup outside the runs, so that libFuzzer's leak check per input does not
 * count the long-lived codec and registry. */
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  setup();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  try_message(data, size);
  with_header(oc_obs_codec_writer_fingerprint(obs), data, size);
  with_header(test_fp, data, size);
  return 0;
}
