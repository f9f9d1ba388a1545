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

#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char catalog_tsv[] =
    "code\tname\tunit\tkind\tdirection\tmin\tmax\tmeasure_url\n"
    "readm\tReadmissions\t1\tratio\tlower_is_better\t0\t1\thttp://example.org/Measure/readm\n"
    "los\tLength of stay\tmin\tgauge\tlower_is_better\t0\t1e4\thttp://example.org/Measure/los\n"
    "cpoe\tCPOE\t1\tratio\thigher_is_better\t0\t1\thttp://example.org/Measure/q#cpoe\n"
    "visits\tVisits\t{count}\tcount\tlower_is_better\t0\t1e9\thttp://example.org/Measure/q#v\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  fuzz_read_input(data, size, OC_INPUT_FHIR, 0, fuzz_catalog(catalog_tsv), false);
  fuzz_read_input(data, size, OC_INPUT_JSON_LINES_ANY, 0, fuzz_catalog(catalog_tsv), false);
  return 0;
}
