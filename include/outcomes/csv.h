/*
 * csv.h - a small streaming CSV reader (RFC 4180) with bounded memory.
 *
 * Accepted: fields separated by ',', records ended by LF, CRLF or a lone CR;
 * fields quoted with '"' may hold ',', '"' written "", and line breaks
 * (kept as they are in the field). A UTF-8 byte order mark at the start is
 * skipped. Blank lines (nothing at all between two line breaks) are skipped;
 * a line holding only "" is a record of one empty field.
 *
 * Refused, each as an error of one record after which reading goes on with
 * the next record: a quote inside an unquoted field, text after a closing
 * quote, invalid UTF-8 in a field, a field longer than OC_CSV_FIELD_MAX, a
 * record longer than OC_CSV_RECORD_MAX or with more than OC_CSV_FIELDS_MAX
 * fields. An unterminated quoted field at the end of input is an error too.
 * Memory never exceeds the bounds plus a fixed read buffer.
 *
 * Line numbers count LF, CRLF and lone CR as one line break each, inside
 * quoted fields too, so that a record's number is the line where it starts
 * in any editor.
 */
#ifndef OUTCOMES_CSV_H
#define OUTCOMES_CSV_H

#include <stddef.h>
#include <stdio.h>

#include "outcomes/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OC_CSV_FIELD_MAX ((size_t)64 * 1024)    /* bytes in one field */
#define OC_CSV_RECORD_MAX ((size_t)1024 * 1024) /* bytes in one record */
#define OC_CSV_FIELDS_MAX 1024                  /* fields in one record */

typedef struct oc_csv_s oc_csv_t;

/* A reader over in (borrowed: the caller closes it after
 * oc_csv_destroy()), from which nothing has been read yet: a pipe or a
 * terminal is read through its descriptor, as bytes arrive, so that records
 * are handed on without waiting for a full block. Caller frees with
 * oc_csv_destroy(). NULL when out of memory. */
oc_csv_t *oc_csv_new(FILE *in);

/* Read the next record. Returns 1 when a record was read, 0 at the end of
 * input, or a negative code:
 *   OC_ERR_BAD_FIELD / OC_ERR_LIMIT  this record is bad (err says why, with
 *                    no line prefix; oc_csv_bad_field() tells which field);
 *                    the next call reads the record after it
 *   OC_ERR_IO        reading failed; do not call again
 * oc_csv_line() is the line where the record (good or bad) starts. */
int oc_csv_next(oc_csv_t *r, oc_err_t *err);

/* The record last read: its field count and fields. Field i is
 * NUL-terminated (it may hold other NULs: use *len_out) and borrowed until
 * the next call of oc_csv_next(). */
size_t oc_csv_count(const oc_csv_t *r);
const char *oc_csv_field(const oc_csv_t *r, size_t i, size_t *len_out);

/* 1-based line where the last record (or bad record) started. */
long oc_csv_line(const oc_csv_t *r);

/* 0-based index of the field the last error is about, or -1 when it is
 * about the record as a whole. */
long oc_csv_bad_field(const oc_csv_t *r);

/* Accepts NULL. */
void oc_csv_destroy(oc_csv_t *r);

#ifdef __cplusplus
}
#endif
#endif
