/*
 * fhir_input.c - read FHIR JSON into observations: one MeasureReport, a
 * Bundle of them (type collection, batch, transaction or searchset; other
 * entries skipped), or NDJSON of them as FHIR Bulk Data writes it
 * (input_internal.h).
 *
 * Which it is shows on the first line: a line that is a whole JSON value by
 * itself, or ends with '}' as one, starts NDJSON (a one-line Bundle is
 * NDJSON of one); one that is not starts a document, read whole (at most
 * OC_FHIR_DOC_MAX bytes). Errors
 * name the line of the report (NDJSON) or of the document's start, and the
 * FHIR path.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "input_internal.h"
#include "outcomes/fhir.h"

struct oc_fhir_reader_s {
  oc_lines_t lines;
  const oc_catalog_t *cat;
  oc_timestamp_t dflt;
  char *first; /* a line read before the reader was made, or NULL */
  size_t first_len;
  long first_line;
  bool started, done;

  json_t *bundle; /* a Bundle whose entries are being read */
  size_t entry;   /* its next entry */
  long res_line;  /* where the resource being read starts */

  oc_observation_t q[OC_FHIR_GROUPS_MAX]; /* one report's observations */
  size_t qn, qi;
};

oc_fhir_reader_t *oc_fhir_reader_new(FILE *f, const oc_catalog_t *cat, oc_timestamp_t dflt,
                                     const char *first, size_t first_len, long first_line) {
  oc_fhir_reader_t *r = calloc(1, sizeof(*r));
  if (!r)
    return NULL;
  r->lines.f = f;
  r->lines.lineno = first ? first_line : 0;
  r->cat = cat;
  r->dflt = dflt;
  if (first) {
    if (!(r->first = malloc(first_len + 1))) {
      free(r);
      return NULL;
    }
    memcpy(r->first, first, first_len);
    r->first[first_len] = '\0';
    r->first_len = first_len;
    r->first_line = first_line;
  }
  return r;
}

void oc_fhir_reader_destroy(oc_fhir_reader_t *r) {
  if (!r)
    return;
  json_decref(r->bundle);
  free(r->lines.buf);
  free(r->first);
  free(r);
}

/* The next non-blank line: the one handed in first, then f's. */
static int next_line(oc_fhir_reader_t *r, const char **s, size_t *len, oc_err_t *err) {
  for (;;) {
    if (r->first) {
      /* Moved into the line buffer so that one owner frees it. */
      free(r->lines.buf);
      r->lines.buf = r->first;
      r->lines.cap = r->first_len + 1;
      *len = r->first_len;
      r->first = NULL;
    } else {
      int rc = oc_lines_read(&r->lines, OC_FHIR_DOC_MAX, len, err);
      if (rc <= 0)
        return rc;
    }
    *s = r->lines.buf;
    if (strspn(*s, " \t") != *len)
      return 1;
  }
}

/* Read the rest of a document that starts with line (len bytes) and parse
 * it. A document over OC_FHIR_DOC_MAX is read past, and rejected. */
static int read_document(oc_fhir_reader_t *r, const char *line, size_t len, json_t **out,
                         oc_err_t *err) {
  size_t used = 0, cap = len + 4096;
  char *doc = malloc(cap);
  json_error_t jerr;
  long start = r->lines.lineno;
  bool over = false;
  int rc = 0;

  if (!doc)
    return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  memcpy(doc, line, len);
  used = len;
  for (;;) {
    size_t n;
    rc = oc_lines_read(&r->lines, OC_FHIR_DOC_MAX, &n, err);
    if (rc == 0)
      break;
    if (rc == OC_ERR_LIMIT) {
      over = true;
      continue;
    }
    if (rc < 0)
      goto out;
    if (over || used + n + 1 > OC_FHIR_DOC_MAX) {
      over = true;
      continue;
    }
    if (used + n + 1 > cap) {
      size_t ncap = cap * 2 > used + n + 1 ? cap * 2 : used + n + 1;
      char *nd = realloc(doc, ncap);
      if (!nd) {
        rc = oc_err_set(err, OC_ERR_NOMEM, "out of memory");
        goto out;
      }
      doc = nd;
      cap = ncap;
    }
    doc[used++] = '\n';
    memcpy(doc + used, r->lines.buf, n);
    used += n;
  }
  r->res_line = start;
  if (over) {
    rc = oc_err_set(err, OC_ERR_LIMIT, "document: larger than %zu bytes", OC_FHIR_DOC_MAX);
    goto out;
  }
  *out = json_loadb(doc, used, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &jerr);
  if (!*out) {
    r->res_line = start + jerr.line - 1;
    rc = oc_err_set(err, OC_ERR_BAD_FIELD, "document: invalid JSON at column %d: %s", jerr.column,
                    jerr.text);
  }
out:
  free(doc);
  return rc;
}

/* Take one MeasureReport: queue its observations, or fail with its error. */
static int take_report(oc_fhir_reader_t *r, const json_t *mr, const char *path, oc_err_t *err) {
  r->qn = r->qi = 0;
  return oc_fhir_measure_report(mr, r->bundle, path, r->cat, r->dflt, r->q, &r->qn, err);
}

/* The next entry of the Bundle being read: 1 when one was taken (queued or
 * failed: *rc), 0 when none is left. */
static int bundle_next(oc_fhir_reader_t *r, int *rc, oc_err_t *err) {
  const json_t *entries = json_object_get(r->bundle, "entry");
  while (r->entry < json_array_size(entries)) {
    size_t i = r->entry++;
    const json_t *res = json_object_get(json_array_get(entries, i), "resource");
    const char *type = json_string_value(json_object_get(res, "resourceType"));
    if (!type || strcmp(type, "MeasureReport") != 0)
      continue; /* the Organizations, Measures, ... a report comes with */
    char path[OC_FHIR_PATH_MAX];
    snprintf(path, sizeof(path), "Bundle.entry[%zu].resource", i);
    *rc = take_report(r, res, path, err);
    return 1;
  }
  json_decref(r->bundle);
  r->bundle = NULL;
  return 0;
}

/* Start on a resource read whole: a MeasureReport, or a Bundle. */
static int take_resource(oc_fhir_reader_t *r, json_t *res, oc_err_t *err) {
  static const char *const bundle_types[] = {"collection", "batch", "transaction", "searchset"};
  char q[80];
  const char *type = json_string_value(json_object_get(res, "resourceType"));

  if (!json_is_object(res))
    return oc_err_set(err, OC_ERR_BAD_FIELD, "resource: not a JSON object");
  if (!type)
    return oc_err_set(err, OC_ERR_BAD_FIELD, "resourceType: missing: not a FHIR resource");
  if (strcmp(type, "MeasureReport") == 0)
    return take_report(r, res, "MeasureReport", err);
  if (strcmp(type, "Bundle") != 0)
    return oc_err_set(err, OC_ERR_BAD_FIELD,
                      "resourceType: '%s' is not a MeasureReport or a Bundle of them",
                      oc_utf8_quote(type, strlen(type), q, sizeof(q)));
  const char *bt = json_string_value(json_object_get(res, "type"));
  for (size_t i = 0; bt && i < sizeof(bundle_types) / sizeof(bundle_types[0]); i++) {
    if (strcmp(bt, bundle_types[i]) == 0) {
      r->bundle = json_incref(res);
      r->entry = 0;
      return 0;
    }
  }
  return oc_err_set(err, OC_ERR_BAD_FIELD,
                    "Bundle.type: '%s' is not collection, batch, transaction or searchset",
                    bt ? oc_utf8_quote(bt, strlen(bt), q, sizeof(q)) : "(missing)");
}

/* True when line ends with '}' (blanks aside): an NDJSON line, even a bad
 * one, where a document's first line ("{", "{\"resourceType\": ...,")
 * does not close its object. */
static bool closes_object(const char *line, size_t len) {
  while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
    len--;
  return len > 0 && line[len - 1] == '}';
}

/* Read the next resource (an NDJSON line, or the whole document). */
static int read_resource(oc_fhir_reader_t *r, oc_err_t *err) {
  json_error_t jerr;
  const char *line = NULL;
  size_t len = 0;
  json_t *res = NULL;
  int rc;

  rc = next_line(r, &line, &len, err);
  r->res_line = r->lines.lineno;
  if (rc == OC_ERR_LIMIT)
    return rc; /* a row too long: reported, and the next line read */
  if (rc < 0) {
    err->fatal = true;
    return rc;
  }
  if (rc == 0) {
    r->done = true;
    return 0;
  }
  res = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &jerr);
  if (!res && !r->started && !closes_object(line, len)) {
    /* Not whole by itself, nor meant to be: the first line of a document. */
    r->done = true;
    if ((rc = read_document(r, line, len, &res, err)) < 0) {
      if (rc == OC_ERR_IO || rc == OC_ERR_NOMEM)
        err->fatal = true;
      return rc;
    }
  } else if (!res) {
    return oc_err_set(err, OC_ERR_BAD_FIELD, "row: invalid JSON at column %d: %s", jerr.column,
                      jerr.text);
  }
  r->started = true;
  rc = take_resource(r, res, err);
  json_decref(res);
  return rc < 0 ? rc : 1;
}

int oc_fhir_reader_next(oc_fhir_reader_t *r, oc_observation_t *obs, long *line_out, oc_err_t *err) {
  int rc = 0;

  for (;;) {
    if (r->qi < r->qn) {
      *obs = r->q[r->qi++];
      if (line_out)
        *line_out = r->res_line;
      return 1;
    }
    if (r->bundle && bundle_next(r, &rc, err)) {
      if (rc < 0)
        break;
      continue;
    }
    if (r->done)
      return 0;
    if ((rc = read_resource(r, err)) < 0)
      break;
  }
  if (line_out)
    *line_out = r->res_line;
  return rc;
}
