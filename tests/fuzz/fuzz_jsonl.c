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

#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char catalog_tsv[] =
    "code\tname\tunit\tkind\tdirection\tmin\tmax\tseed\tdescription\n"
    "er_visits\tER visits\tcount\tcount\tlower_is_better\t0\t1e9\ts\td\n"
    "cpoe_rate\tCPOE\tratio\tratio\thigher_is_better\t0\t1\ts\td\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  fuzz_read_input(data, size, OC_INPUT_JSONL, 0, fuzz_catalog(catalog_tsv), false);
  fuzz_read_input(data, size, OC_INPUT_JSONL, OC_INPUT_RETRACT, fuzz_catalog(catalog_tsv), false);
  return 0;
}
