/*
 * fuzz_config.c - libFuzzer target for the configuration parser: arbitrary
 * bytes as a configuration file must either load or fail with an
 * OC_ERR_CONFIG message naming "<name>:<line>", never crash or leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes/config.h"

static const oc_conf_def_t defs[] = {
    {"batch.max.records", OC_CONF_INT, "5000", 1, 1000000, 0, NULL, "records"},
    {"batch.max.wait", OC_CONF_MS, "500ms", 1, 3600000, 0, NULL, "wait"},
    {"batch.max.bytes", OC_CONF_BYTES, "16M", 1024, 1LL << 32, 0, NULL, "bytes"},
    {"migrate", OC_CONF_BOOL, "false", 0, 0, 0, NULL, "migrate"},
    {"group.id", OC_CONF_STR, "g", 0, 0, 0, NULL, "group"},
    {"api.token", OC_CONF_STR, NULL, 0, 0, OC_CONF_SECRET, NULL, "secret"},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  oc_err_t err;
  oc_config_t *cfg;
  FILE *f;

  if (size == 0 || size > 65536)
    return 0;
  /* fmemopen needs a writable buffer in some libcs; copy. */
  char *buf = malloc(size);
  if (!buf)
    return 0;
  memcpy(buf, data, size);
  f = fmemopen(buf, size, "r");
  if (!f) {
    free(buf);
    return 0;
  }
  cfg = oc_config_new(defs, OC_CONF_PASS_KAFKA | OC_CONF_PASS_PG);
  if (cfg) {
    oc_err_clear(&err);
    if (oc_config_load_stream(cfg, f, "fuzz.conf", &err) != 0) {
      if (err.code != OC_ERR_CONFIG && err.code != OC_ERR_NOMEM)
        abort();
      if (err.code == OC_ERR_CONFIG && strncmp(err.msg, "fuzz.conf:", 10) != 0 &&
          strncmp(err.msg, "read 'fuzz.conf'", 16) != 0)
        abort();
    } else {
      /* Every declared key still reads back. */
      (void)oc_config_get_int(cfg, "batch.max.records");
      (void)oc_config_get_int(cfg, "batch.max.wait");
      (void)oc_config_get_int(cfg, "batch.max.bytes");
      (void)oc_config_get_bool(cfg, "migrate");
      (void)oc_config_get_str(cfg, "group.id");
      FILE *sink = fopen("/dev/null", "w");
      if (sink) {
        oc_config_dump(cfg, sink);
        fclose(sink);
      }
    }
    oc_config_destroy(cfg);
  }
  fclose(f);
  free(buf);
  return 0;
}
