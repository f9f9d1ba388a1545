/* test_csv.c - the streaming CSV reader: RFC 4180 quoting, line numbers,
 * line breaks, BOM, blank lines, invalid UTF-8 and size bounds. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes/csv.h"

/* A reader over a copy of text[0..len). */
typedef struct {
  FILE *f;
  char *copy;
  oc_csv_t *r;
} rd_t;

static void rd_open(rd_t *rd, const char *text, size_t len) {
  rd->copy = malloc(len + 1);
  assert_non_null(rd->copy);
  memcpy(rd->copy, text, len);
  rd->f = fmemopen(rd->copy, len ? len : 1, "rb");
  if (len == 0) { /* fmemopen refuses size 0: read one byte past EOF */
    fclose(rd->f);
    rd->f = fopen("/dev/null", "rb");
  }
  assert_non_null(rd->f);
  rd->r = oc_csv_new(rd->f);
  assert_non_null(rd->r);
}

static void rd_close(rd_t *rd) {
  oc_csv_destroy(rd->r);
  fclose(rd->f);
  free(rd->copy);
}

static void expect_record(rd_t *rd, long line, size_t n, const char *const *fields) {
  oc_err_t err;
  int rc = oc_csv_next(rd->r, &err);
  if (rc != 1)
    fail_msg("expected a record at line %ld, got %d (%s)", line, rc, err.msg);
  assert_int_equal(oc_csv_line(rd->r), line);
  assert_int_equal(oc_csv_count(rd->r), n);
  for (size_t i = 0; i < n; i++) {
    size_t len;
    const char *f = oc_csv_field(rd->r, i, &len);
    assert_int_equal(len, strlen(fields[i]));
    assert_memory_equal(f, fields[i], len);
  }
}

static void expect_error(rd_t *rd, long line, int code, long field, const char *msg) {
  oc_err_t err;
  int rc = oc_csv_next(rd->r, &err);
  assert_int_equal(rc, code);
  assert_int_equal(oc_csv_line(rd->r), line);
  assert_int_equal(oc_csv_bad_field(rd->r), field);
  assert_string_equal(err.msg, msg);
}

static void expect_end(rd_t *rd) {
  oc_err_t err;
  assert_int_equal(oc_csv_next(rd->r, &err), 0);
  assert_int_equal(oc_csv_next(rd->r, &err), 0);
}

#define S(...) ((const char *const[]){__VA_ARGS__})

static void test_plain_fields_and_last_line_without_break(void **state) {
  (void)state;
  rd_t rd;
  const char t[] = "a,b,c\n1,,3\nx,y,z";
  rd_open(&rd, t, sizeof(t) - 1);
  expect_record(&rd, 1, 3, S("a", "b", "c"));
  expect_record(&rd, 2, 3, S("1", "", "3"));
  expect_record(&rd, 3, 3, S("x", "y", "z"));
  expect_end(&rd);
  rd_close(&rd);
}

static void test_quotes_commas_and_doubled_quotes(void **state) {
  (void)state;
  rd_t rd;
  const char t[] = "\"a,b\",\"say \"\"hi\"\"\",\"\"\n\"\"\n";
  rd_open(&rd, t, sizeof(t) - 1);
  expect_record(&rd, 1, 3, S("a,b", "say \"hi\"", ""));
  expect_record(&rd, 2, 1, S("")); /* "" is a record, not a blank line */
  expect_end(&rd);
  rd_close(&rd);
}

static void test_embedded_newlines_keep_start_line_numbers(void **state) {
  (void)state;
  rd_t rd;
  const char t[] = "h1,h2\n\"two\nlines\",x\n\"three\r\nlines\rhere\",y\nlast,z\n";
  rd_open(&rd, t, sizeof(t) - 1);
  expect_record(&rd, 1, 2, S("h1", "h2"));
  expect_record(&rd, 2, 2, S("two\nlines", "x"));
  expect_record(&rd, 4, 2, S("three\r\nlines\rhere", "y"));
  expect_record(&rd, 7, 2, S("last", "z"));
  expect_end(&rd);
  rd_close(&rd);
}

static void test_crlf_and_lone_cr_end_records(void **state) {
  (void)state;
  rd_t rd;
  const char t[] = "a,b\r\nc,d\re,f\r\n\r\ng,h\r\n";
  rd_open(&rd, t, sizeof(t) - 1);
  expect_record(&rd, 1, 2, S("a", "b"));
  expect_record(&rd, 2, 2, S("c", "d"));
  expect_record(&rd, 3, 2, S("e", "f"));
  expect_record(&rd, 5, 2, S("g", "h"));
  expect_end(&rd);
  rd_close(&rd);
}

static void test_bom_is_skipped_and_blank_lines_too(void **state) {
  (void)state;
  rd_t rd;
  const char t[] = "\xEF\xBB\xBForg_id,x\n\n\n1,2\n\n";
  rd_open(&rd, t, sizeof(t) - 1);
  expect_record(&rd, 1, 2, S("org_id", "x"));
  expect_record(&rd, 4, 2, S("1", "2"));
  expect_end(&rd);
  rd_close(&rd);
}

static void test_empty_input_has_no_records(void **state) {
  (void)state;
  rd_t rd;
  rd_open(&rd, "", 0);
  expect_end(&rd);
  rd_close(&rd);
  rd_open(&rd, "\n\r\n", 3);
  expect_end(&rd);
  rd_close(&rd);
}

static void test_invalid_utf8_rejects_the_record_only(void **state) {
  (void)state;
  rd_t rd;
  const char t[] = "a,b\nok,caf\xC3\xA9\nbad,x\xFFy\nover,\xC0\xAF\nsur,\xED\xA0\x80\nnext,1\n";
  rd_open(&rd, t, sizeof(t) - 1);
  expect_record(&rd, 1, 2, S("a", "b"));
  expect_record(&rd, 2, 2, S("ok", "caf\xC3\xA9"));
  expect_error(&rd, 3, OC_ERR_BAD_FIELD, 1, "invalid UTF-8 at byte 1");
  expect_error(&rd, 4, OC_ERR_BAD_FIELD, 1, "invalid UTF-8 at byte 0"); /* overlong */
  expect_error(&rd, 5, OC_ERR_BAD_FIELD, 1, "invalid UTF-8 at byte 0"); /* surrogate */
  expect_record(&rd, 6, 2, S("next", "1"));
  expect_end(&rd);
  rd_close(&rd);
}

static void test_stray_quotes_are_errors_and_reading_goes_on(void **state) {
  (void)state;
  rd_t rd;
  const char t[] = "a\"b,c\n\"x\"y,z\n\"multi\nline\" junk,q\nfine,1\n";
  rd_open(&rd, t, sizeof(t) - 1);
  expect_error(&rd, 1, OC_ERR_BAD_FIELD, 0, "quote inside an unquoted field");
  expect_error(&rd, 2, OC_ERR_BAD_FIELD, 0, "text after the closing quote of a field");
  expect_error(&rd, 3, OC_ERR_BAD_FIELD, 0, "text after the closing quote of a field");
  expect_record(&rd, 5, 2, S("fine", "1"));
  expect_end(&rd);
  rd_close(&rd);
}

static void test_unterminated_quote_at_end_is_an_error(void **state) {
  (void)state;
  rd_t rd;
  const char t[] = "a,b\nc,\"never closed\nmore\n";
  rd_open(&rd, t, sizeof(t) - 1);
  expect_record(&rd, 1, 2, S("a", "b"));
  expect_error(&rd, 2, OC_ERR_BAD_FIELD, 1, "unterminated quoted field at end of input");
  expect_end(&rd);
  rd_close(&rd);
}

static void test_oversized_field_is_rejected_with_bounded_memory(void **state) {
  (void)state;
  rd_t rd;
  size_t big = OC_CSV_FIELD_MAX + 10;
  size_t len = 4 + 2 + big + 5;
  char *t = malloc(len);
  assert_non_null(t);
  memcpy(t, "a,b\n", 4);
  memcpy(t + 4, "x,", 2);
  memset(t + 6, 'y', big);
  memcpy(t + 6 + big, "\nok,1", 5);
  rd_open(&rd, t, len);
  expect_record(&rd, 1, 2, S("a", "b"));
  expect_error(&rd, 2, OC_ERR_LIMIT, 1, "field longer than 65536 bytes");
  expect_record(&rd, 3, 2, S("ok", "1"));
  expect_end(&rd);
  rd_close(&rd);
  free(t);
}

static void test_field_of_exactly_the_bound_is_accepted(void **state) {
  (void)state;
  rd_t rd;
  size_t len = OC_CSV_FIELD_MAX + 1;
  char *t = malloc(len);
  assert_non_null(t);
  memset(t, 'q', OC_CSV_FIELD_MAX);
  t[OC_CSV_FIELD_MAX] = '\n';
  rd_open(&rd, t, len);
  oc_err_t err;
  assert_int_equal(oc_csv_next(rd.r, &err), 1);
  size_t flen;
  oc_csv_field(rd.r, 0, &flen);
  assert_int_equal(flen, OC_CSV_FIELD_MAX);
  expect_end(&rd);
  rd_close(&rd);
  free(t);
}

static void test_oversized_record_is_rejected(void **state) {
  (void)state;
  rd_t rd;
  /* 20 fields of 60 KiB: each under the field bound, the record over 1 MiB. */
  size_t fl = 60 * 1024, nf = 20;
  size_t len = nf * (fl + 1) + 5;
  char *t = malloc(len);
  assert_non_null(t);
  char *p = t;
  for (size_t i = 0; i < nf; i++) {
    memset(p, 'r', fl);
    p += fl;
    *p++ = i + 1 < nf ? ',' : '\n';
  }
  memcpy(p, "z,1\n", 5);
  rd_open(&rd, t, len - 1);
  expect_error(&rd, 1, OC_ERR_LIMIT, -1, "record longer than 1048576 bytes");
  expect_record(&rd, 2, 2, S("z", "1"));
  expect_end(&rd);
  rd_close(&rd);
  free(t);
}

static void test_too_many_fields_is_rejected(void **state) {
  (void)state;
  rd_t rd;
  size_t n = OC_CSV_FIELDS_MAX + 5;
  char *t = malloc(2 * n + 8);
  assert_non_null(t);
  for (size_t i = 0; i < n; i++) {
    t[2 * i] = 'f';
    t[2 * i + 1] = i + 1 < n ? ',' : '\n';
  }
  memcpy(t + 2 * n, "a,b\n", 4);
  rd_open(&rd, t, 2 * n + 4);
  expect_error(&rd, 1, OC_ERR_LIMIT, -1, "more than 1024 fields");
  expect_record(&rd, 2, 2, S("a", "b"));
  expect_end(&rd);
  rd_close(&rd);
  free(t);
}

static void test_embedded_nul_is_kept_with_its_length(void **state) {
  (void)state;
  rd_t rd;
  const char t[] = "a\0b,c\n";
  rd_open(&rd, t, sizeof(t) - 1);
  oc_err_t err;
  assert_int_equal(oc_csv_next(rd.r, &err), 1);
  size_t len;
  const char *f = oc_csv_field(rd.r, 0, &len);
  assert_int_equal(len, 3);
  assert_memory_equal(f, "a\0b", 3);
  rd_close(&rd);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain_fields_and_last_line_without_break),
      cmocka_unit_test(test_quotes_commas_and_doubled_quotes),
      cmocka_unit_test(test_embedded_newlines_keep_start_line_numbers),
      cmocka_unit_test(test_crlf_and_lone_cr_end_records),
      cmocka_unit_test(test_bom_is_skipped_and_blank_lines_too),
      cmocka_unit_test(test_empty_input_has_no_records),
      cmocka_unit_test(test_invalid_utf8_rejects_the_record_only),
      cmocka_unit_test(test_stray_quotes_are_errors_and_reading_goes_on),
      cmocka_unit_test(test_unterminated_quote_at_end_is_an_error),
      cmocka_unit_test(test_oversized_field_is_rejected_with_bounded_memory),
      cmocka_unit_test(test_field_of_exactly_the_bound_is_accepted),
      cmocka_unit_test(test_oversized_record_is_rejected),
      cmocka_unit_test(test_too_many_fields_is_rejected),
      cmocka_unit_test(test_embedded_nul_is_kept_with_its_length),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
