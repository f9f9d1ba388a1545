/* test_buf.c - the growable byte buffer and reading a whole file into it
 * (lib/buf.c). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "outcomes/buf.h"

static void test_appends_keep_a_nul_after_the_bytes(void **state) {
  (void)state;
  oc_buf_t b;

  oc_buf_init(&b, 0);
  assert_null(b.p);
  oc_buf_puts(&b, "x=");
  oc_buf_printf(&b, "%d", 42);
  oc_buf_putc(&b, ';');
  oc_buf_put(&b, "abcdef", 3);
  assert_false(b.failed);
  assert_int_equal(b.len, 8);
  assert_string_equal(b.p, "x=42;abc");
  oc_buf_release(&b);
  assert_null(b.p);
  assert_int_equal(b.len, 0);
}

static void test_a_zeroed_buffer_is_usable(void **state) {
  (void)state;
  oc_buf_t b = {0};

  oc_buf_puts(&b, "ok");
  assert_string_equal(b.p, "ok");
  oc_buf_release(&b);
}

static void test_big_endian_integers(void **state) {
  (void)state;
  oc_buf_t b;
  const unsigned char want[] = {0x01, 0x02, 0x01, 0x02, 0x03, 0x04, 0x01,
                                0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};

  oc_buf_init(&b, 0);
  oc_buf_put_be16(&b, 0x0102);
  oc_buf_put_be32(&b, 0x01020304u);
  oc_buf_put_be64(&b, UINT64_C(0x0102030405060708));
  assert_int_equal(b.len, sizeof(want));
  assert_memory_equal(b.p, want, sizeof(want));
  oc_buf_release(&b);
}

/* Growth past the first allocation, through each way of appending. */
static void test_growth_keeps_every_byte(void **state) {
  (void)state;
  oc_buf_t b;
  char line[300];

  oc_buf_init(&b, 0);
  memset(line, 'a', sizeof(line) - 1);
  line[sizeof(line) - 1] = '\0';
  for (int i = 0; i < 100; i++) {
    oc_buf_printf(&b, "%03d%s", i, line); /* longer than printf's small buffer */
    oc_buf_putc(&b, '\n');
  }
  assert_false(b.failed);
  assert_int_equal(b.len, 100 * (3 + 299 + 1));
  for (int i = 0; i < 100; i++) {
    char want[4];
    snprintf(want, sizeof(want), "%03d", i);
    assert_memory_equal(b.p + (size_t)i * 303, want, 3);
    assert_int_equal(b.p[(size_t)i * 303 + 302], '\n');
  }
  assert_int_equal(b.p[b.len], '\0');
  oc_buf_release(&b);
}

/* The bound holds for every way of appending, also when the memory held
 * would have room, and a failure is sticky until reset. */
static void test_the_bound_holds_and_failure_is_sticky(void **state) {
  (void)state;
  oc_buf_t b;

  oc_buf_init(&b, 10);
  oc_buf_puts(&b, "0123456789");
  assert_false(b.failed);
  assert_int_equal(b.len, 10);
  oc_buf_putc(&b, 'x');
  assert_true(b.failed);
  assert_int_equal(b.len, 10);
  assert_string_equal(b.p, "0123456789");

  oc_buf_reset(&b);
  assert_false(b.failed);
  assert_int_equal(b.len, 0);
  oc_buf_puts(&b, "0123456");
  oc_buf_printf(&b, "%s", "7890");
  assert_true(b.failed);
  oc_buf_puts(&b, "a"); /* would fit: failed stays */
  assert_true(b.failed);
  assert_int_equal(b.len, 7);
  assert_null(oc_buf_detach(&b, NULL));
  assert_null(b.p);
  assert_false(b.failed);
  assert_int_equal(b.max, 10); /* detach keeps the bound */
  oc_buf_puts(&b, "0123456789");
  assert_false(b.failed);
  oc_buf_release(&b);
}

/* One byte under a bound of 300 is reached in small steps, past the first
 * allocation of 256 bytes. */
static void test_the_bound_is_exact_across_growth(void **state) {
  (void)state;
  oc_buf_t b;

  oc_buf_init(&b, 300);
  for (int i = 0; i < 300; i++)
    oc_buf_putc(&b, 'z');
  assert_false(b.failed);
  assert_int_equal(b.len, 300);
  oc_buf_putc(&b, 'z');
  assert_true(b.failed);
  assert_int_equal(b.len, 300);
  oc_buf_release(&b);
}

static void test_detach_hands_over_the_bytes(void **state) {
  (void)state;
  oc_buf_t b;
  size_t len = 99;

  oc_buf_init(&b, 0);
  assert_null(oc_buf_detach(&b, &len)); /* nothing appended */
  assert_int_equal(len, 0);
  oc_buf_puts(&b, "");
  char *p = oc_buf_detach(&b, &len);
  assert_non_null(p); /* appended nothing, but appended */
  assert_string_equal(p, "");
  assert_int_equal(len, 0);
  free(p);
  oc_buf_puts(&b, "hello");
  p = oc_buf_detach(&b, &len);
  assert_string_equal(p, "hello");
  assert_int_equal(len, 5);
  assert_null(b.p);
  assert_int_equal(b.len, 0);
  free(p);
}

/* ---- oc_buf_read_file ---------------------------------------------------- */

/* A temporary file of n bytes (byte i is 'a' + i % 26); its path in path. */
static void write_file(char *path, size_t n) {
  strcpy(path, "/tmp/oc_test_buf_XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "wb");
  assert_non_null(f);
  for (size_t i = 0; i < n; i++)
    fputc('a' + (int)(i % 26), f);
  assert_int_equal(fclose(f), 0);
}

static void assert_file_bytes(const oc_buf_t *b, size_t from, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (b->p[from + i] != 'a' + (int)(i % 26))
      fail_msg("byte %zu: %d", i, b->p[from + i]);
}

static void test_read_file_reads_every_byte(void **state) {
  (void)state;
  char path[64];
  oc_buf_t b;
  oc_err_t err;
  const size_t n = 200000; /* several reads and several growths */

  write_file(path, n);
  oc_buf_init(&b, 0);
  assert_int_equal(oc_buf_read_file(&b, path, &err), 0);
  assert_int_equal(b.len, n);
  assert_file_bytes(&b, 0, n);
  assert_int_equal(b.p[n], '\0');
  oc_buf_release(&b);
  unlink(path);
}

/* The file is appended after what the buffer holds. */
static void test_read_file_appends(void **state) {
  (void)state;
  char path[64];
  oc_buf_t b;
  oc_err_t err;

  write_file(path, 30);
  oc_buf_init(&b, 0);
  oc_buf_puts(&b, ">>");
  assert_int_equal(oc_buf_read_file(&b, path, &err), 0);
  assert_int_equal(b.len, 32);
  assert_memory_equal(b.p, ">>abc", 5);
  assert_file_bytes(&b, 2, 30);
  oc_buf_release(&b);
  unlink(path);
}

static void test_read_file_of_an_empty_file_is_an_empty_string(void **state) {
  (void)state;
  char path[64];
  oc_buf_t b;
  oc_err_t err;

  write_file(path, 0);
  oc_buf_init(&b, 0);
  assert_int_equal(oc_buf_read_file(&b, path, &err), 0);
  assert_non_null(b.p);
  assert_string_equal(b.p, "");
  assert_int_equal(b.len, 0);
  oc_buf_release(&b);
  unlink(path);
}

/* A file of exactly the bound is read; one byte more is refused, and the
 * buffer is left as it was. */
static void test_read_file_is_bounded(void **state) {
  (void)state;
  char path[64], want[160];
  oc_buf_t b;
  oc_err_t err;

  write_file(path, 70000);
  oc_buf_init(&b, 70000);
  assert_int_equal(oc_buf_read_file(&b, path, &err), 0);
  assert_int_equal(b.len, 70000);
  assert_file_bytes(&b, 0, 70000);
  oc_buf_release(&b);

  oc_buf_init(&b, 69999);
  assert_int_equal(oc_buf_read_file(&b, path, &err), OC_ERR_LIMIT);
  snprintf(want, sizeof(want), "'%s': larger than 69999 bytes", path);
  assert_string_equal(err.msg, want);
  assert_int_equal(b.len, 0);
  assert_false(b.failed);
  oc_buf_release(&b);

  /* The room left is what counts. */
  oc_buf_init(&b, 70004);
  oc_buf_puts(&b, "12345");
  assert_int_equal(oc_buf_read_file(&b, path, &err), OC_ERR_LIMIT);
  snprintf(want, sizeof(want), "'%s': larger than 69999 bytes", path);
  assert_string_equal(err.msg, want);
  assert_int_equal(b.len, 5);
  assert_string_equal(b.p, "12345");
  oc_buf_release(&b);
  unlink(path);
}

static void test_read_file_names_the_file_it_cannot_read(void **state) {
  (void)state;
  oc_buf_t b;
  oc_err_t err;

  oc_buf_init(&b, 0);
  assert_int_equal(oc_buf_read_file(&b, "/nonexistent/x", &err), OC_ERR_IO);
  assert_string_equal(err.msg, "open '/nonexistent/x': No such file or directory");
  assert_int_equal(oc_buf_read_file(&b, "/tmp", &err), OC_ERR_IO);
  assert_string_equal(err.msg, "read '/tmp': Is a directory");
  assert_int_equal(b.len, 0);
  oc_buf_release(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_appends_keep_a_nul_after_the_bytes),
      cmocka_unit_test(test_a_zeroed_buffer_is_usable),
      cmocka_unit_test(test_big_endian_integers),
      cmocka_unit_test(test_growth_keeps_every_byte),
      cmocka_unit_test(test_the_bound_holds_and_failure_is_sticky),
      cmocka_unit_test(test_the_bound_is_exact_across_growth),
      cmocka_unit_test(test_detach_hands_over_the_bytes),
      cmocka_unit_test(test_read_file_reads_every_byte),
      cmocka_unit_test(test_read_file_appends),
      cmocka_unit_test(test_read_file_of_an_empty_file_is_an_empty_string),
      cmocka_unit_test(test_read_file_is_bounded),
      cmocka_unit_test(test_read_file_names_the_file_it_cannot_read),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
