/*
 * fuzz_jsonl.c - libFuzzer target for JSON Lines rows (lib/input.c over
 * jansson).
 *
 * Reads arbitrary bytes as JSON Lines to the end: no crash, no leak, no
 * fatal error from memory input, line numbers that never go back, and every
 * row handed out as valid passes oc_observation_validate().
 *
 *   clang -fsanitize=fuzzer,address,undefined -Iinclude tests/fuzz/fuzz_jsonl.c \
 *     lib/input.c lib/csv.c lib/record.c lib/date.c lib/catalog.c lib/err.c \
 *     -ljansson -lm
 * Corpus: tests/fuzz/corpus/jsonl
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes/catalog.h"
#include "outcomes/input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char catalog_tsv[] =
    "code\tname\tunit\tkind\tdirection\tmin\tmax\tseed\tdescription\n"
    "er_visits\tER visits\tcount\tcount\tlower_is_better\t0\t1e9\ts\td\n"
    "cpoe_rate\tCPOE\tratio\tratio\thigher_is_better\t0\t1\ts\td\n";

static oc_catalog_t *catalog(void) {
  static oc_catalog_t *cat;
  if (!cat && oc_catalog_parse(catalog_tsv, sizeof(catalog_tsv) - 1, "fuzz", &cat, NULL) != 0)
    abort();
  return cat;
}

static void read_rows(const uint8_t *data, size_t size, unsigned flags) {
  FILE *f = fmemopen((void *)(uintptr_t)data, size, "rb");
  oc_input_t *in = NULL;
  oc_observation_t obs;
  oc_err_t err;
  long line, last = 0;
  int rc;

  if (!f)
    return;
  if (oc_input_open(f, OC_INPUT_JSONL, flags, catalog(), INT64_C(1700000000000000), &in, &err) != 0)
    abort(); /* JSON Lines has no header: opening cannot fail */
  while ((rc = oc_input_next(in, &obs, &line, &err)) != 0) {
    if (rc < 0 && err.fatal)
      abort();
    if (line < last)
      abort();
    last = line;
    if (rc > 0 && !(flags & OC_INPUT_RETRACT) &&
        oc_observation_validate(&obs, catalog(), NULL) != 0)
      abort();
  }
  oc_input_destroy(in);
  fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  read_rows(data, size, 0);
  read_rows(data, size, OC_INPUT_RETRACT);
  return 0;
}
