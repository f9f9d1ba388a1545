/*
 * fuzz_fhir.c - libFuzzer target for FHIR input (lib/fhir_input.c,
 * lib/fhir.c, lib/fhir_period.c over jansson): MeasureReports, Bundles and
 * NDJSON.
 *
 * Reads arbitrary bytes as FHIR to the end, both as a file named .json and
 * as NDJSON told apart from JSON Lines by its first line: no crash, no
 * leak, no fatal error from memory input, line numbers that never go back,
 * and every observation handed out passes oc_observation_validate().
 * Corpus: tests/fuzz/corpus/fhir
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes/catalog.h"
#include "outcomes/input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char catalog_tsv[] =
    "code\tname\tunit\tkind\tdirection\tmin\tmax\tmeasure_url\n"
    "readm\tReadmissions\t1\tratio\tlower_is_better\t0\t1\thttp://example.org/Measure/readm\n"
    "los\tLength of stay\tmin\tgauge\tlower_is_better\t0\t1e4\thttp://example.org/Measure/los\n"
    "cpoe\tCPOE\t1\tratio\thigher_is_better\t0\t1\thttp://example.org/Measure/q#cpoe\n"
    "visits\tVisits\t{count}\tcount\tlower_is_better\t0\t1e9\thttp://example.org/Measure/q#v\n";

static oc_catalog_t *catalog(void) {
  static oc_catalog_t *cat;
  if (!cat && oc_catalog_parse(catalog_tsv, sizeof(catalog_tsv) - 1, "fuzz", &cat, NULL) != 0)
    abort();
  return cat;
}

static void read_all(const uint8_t *data, size_t size, oc_input_format_t fmt) {
  FILE *f = fmemopen((void *)(uintptr_t)data, size, "rb");
  oc_input_t *in = NULL;
  oc_observation_t obs;
  oc_err_t err;
  long line, last = 0;
  int rc;

  if (!f)
    return;
  if (oc_input_open(f, fmt, 0, catalog(), INT64_C(1700000000000000), &in, &err) != 0) {
    fclose(f); /* only JSON Lines' detection reads at open; memory does not fail */
    abort();
  }
  while ((rc = oc_input_next(in, &obs, &line, &err)) != 0) {
    if (rc < 0 && err.fatal)
      abort();
    if (line < last)
      abort();
    last = line;
    if (rc > 0 && oc_observation_validate(&obs, catalog(), NULL) != 0)
      abort();
  }
  oc_input_destroy(in);
  fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  read_all(data, size, OC_INPUT_FHIR);
  read_all(data, size, OC_INPUT_JSON_LINES_ANY);
  return 0;
}
