/*
 * fuzz_input.h - what the fuzz targets of the row readers (lib/input.c and
 * the FHIR reader it chooses) share: a catalog of their own, and reading
 * arbitrary bytes to the end with the invariants every format keeps.
 */
#ifndef OC_FUZZ_INPUT_H
#define OC_FUZZ_INPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes/catalog.h"
#include "outcomes/input.h"

/* The catalog of tsv (NUL-terminated), parsed once; abort() when it does
 * not parse (a bug of the target). */
static inline oc_catalog_t *fuzz_catalog(const char *tsv) {
  static oc_catalog_t *cat;
  if (!cat && oc_catalog_parse(tsv, strlen(tsv), "fuzz", &cat, NULL) != 0)
    abort();
  return cat;
}

/* Read data[0..size) in fmt to the end: no crash, no leak, no fatal error
 * from memory input, line numbers that never go back, and every
 * observation handed out passes oc_observation_validate(). open_may_fail:
 * the format reads something at open (a CSV header) that may be refused. */
static inline void fuzz_read_input(const uint8_t *data, size_t size, oc_input_format_t fmt,
                                   unsigned flags, const oc_catalog_t *cat, bool open_may_fail) {
  FILE *f = fmemopen((void *)(uintptr_t)data, size, "rb");
  oc_input_t *in = NULL;
  oc_observation_t obs;
  oc_err_t err;
  long line, last = 0;
  int rc;

  if (!f)
    return;
  if (oc_input_open(f, fmt, flags, cat, INT64_C(1700000000000000), &in, &err) != 0) {
    if (!open_may_fail)
      abort();
    fclose(f);
    return;
  }
  while ((rc = oc_input_next(in, &obs, &line, &err)) != 0) {
    if (rc < 0 && err.fatal)
      abort();
    if (line < last)
      abort();
    last = line;
    if (rc > 0 && !(flags & OC_INPUT_RETRACT) && oc_observation_validate(&obs, cat, NULL) != 0)
      abort(); /* a row handed out as valid must be valid */
  }
  oc_input_destroy(in);
  fclose(f);
}

#endif
