/*
 * fuzz_csv.c - libFuzzer target for the CSV reader (lib/csv.c) and the CSV
 * side of the row mapping (lib/input.c).
 *
 * Reads arbitrary bytes as CSV to the end, checking the reader's promises:
 * fields within OC_CSV_FIELD_MAX, records within OC_CSV_FIELDS_MAX fields,
 * every field valid UTF-8 and NUL-terminated, line numbers that never go
 * back, and bad records that do not stop the reading. Then reads the same
 * bytes as an observations file against a small catalog.
 *
 *   clang -fsanitize=fuzzer,address,undefined -Iinclude tests/fuzz/fuzz_csv.c \
 *     lib/csv.c lib/input.c lib/record.c lib/date.c lib/catalog.c lib/err.c \
 *     -ljansson -lm
 * Corpus: tests/fuzz/corpus/csv
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes/catalog.h"
#include "outcomes/csv.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char catalog_tsv[] =
    "code\tname\tunit\tkind\tdirection\tmin\tmax\tseed\tdescription\n"
    "er_visits\tER visits\tcount\tcount\tlower_is_better\t0\t1e9\ts\td\n"
    "cpoe_rate\tCPOE\tratio\tratio\thigher_is_better\t0\t1\ts\td\n";

static void read_raw(const uint8_t *data, size_t size) {
  FILE *f = fmemopen((void *)(uintptr_t)data, size, "rb");
  oc_err_t err;
  long last_line = 0;
  int rc;

  if (!f)
    return;
  oc_csv_t *r = oc_csv_new(f);
  if (!r)
    abort();
  while ((rc = oc_csv_next(r, &err)) != 0) {
    if (rc == OC_ERR_IO)
      break;
    if (oc_csv_line(r) < last_line || oc_csv_line(r) < 1)
      abort();
    last_line = oc_csv_line(r);
    if (rc < 0) {
      if (rc != OC_ERR_BAD_FIELD && rc != OC_ERR_LIMIT)
        abort();
      continue;
    }
    size_t n = oc_csv_count(r);
    if (n == 0 || n > OC_CSV_FIELDS_MAX)
      abort();
    for (size_t i = 0; i < n; i++) {
      size_t len;
      const char *s = oc_csv_field(r, i, &len);
      if (len > OC_CSV_FIELD_MAX || s[len] != '\0' || !oc_utf8_valid(s, len))
        abort();
    }
  }
  oc_csv_destroy(r);
  fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0; /* fmemopen needs at least one byte */
  read_raw(data, size);
  fuzz_read_input(data, size, OC_INPUT_CSV, 0, fuzz_catalog(catalog_tsv), true);
  fuzz_read_input(data, size, OC_INPUT_CSV, OC_INPUT_RETRACT, fuzz_catalog(catalog_tsv), true);
  return 0;
}
