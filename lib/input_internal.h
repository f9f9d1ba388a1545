/*
 * input_internal.h - what input.c shares with the FHIR reader
 * (fhir_input.c): the line reader, and the reader's interface.
 */
#ifndef OUTCOMES_INPUT_INTERNAL_H
#define OUTCOMES_INPUT_INTERNAL_H

#include <stdio.h>

#include "outcomes/catalog.h"
#include "outcomes/date.h"
#include "outcomes/err.h"
#include "outcomes/record.h"

/* A growing line buffer over a FILE. */
typedef struct {
  FILE *f;
  char *buf;
  size_t cap;
  long lineno; /* lines read */
} oc_lines_t;

/* Read one line of f (without its break, a first line's UTF-8 BOM and a
 * trailing CR removed) into l->buf, NUL-terminated. 1 with *len, 0 at the
 * end, OC_ERR_LIMIT for a line over max bytes (read past and skipped),
 * OC_ERR_IO or OC_ERR_NOMEM. */
int oc_lines_read(oc_lines_t *l, size_t max, size_t *len, oc_err_t *err);

/* The FHIR reader: MeasureReports, Bundles of them or NDJSON of them. */
typedef struct oc_fhir_reader_s oc_fhir_reader_t;

/* A reader of f (borrowed). first (may be NULL) is a line already read from
 * f, as line number first_line, to be read before the rest. */
oc_fhir_reader_t *oc_fhir_reader_new(FILE *f, const oc_catalog_t *cat, oc_timestamp_t dflt,
                                     const char *first, size_t first_len, long first_line);

/* oc_input_next()'s contract. */
int oc_fhir_reader_next(oc_fhir_reader_t *r, oc_observation_t *obs, long *line_out, oc_err_t *err);

/* Accepts NULL. */
void oc_fhir_reader_destroy(oc_fhir_reader_t *r);

#endif
