/* test_log.c - every log call is one line, whatever the text it carries:
 * a control byte in a string from outside (a file name, a broker's error)
 * is escaped, so that it cannot end the line and forge another one (a
 * journal line of its own level, "<0>..."). */
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "outcomes/log.h"

/* What oc_log() wrote to stderr during fn(arg), in journal form (with
 * JOURNAL_STREAM set: "<level>" and the text, no time stamp). */
static void (*log_fn)(const char *);
static void call_log_fn(void *arg) { log_fn(arg); }

static const char *captured(void (*fn)(const char *), const char *arg) {
  log_fn = fn;
  return oc_test_capture_log("test_log", call_log_fn, (void *)(uintptr_t)arg);
}

static void log_file_name(const char *name) { oc_log_warn("file_start file=\"%s\"", name); }

static void test_a_newline_in_a_value_does_not_start_a_journal_line(void **state) {
  (void)state;
  assert_string_equal(captured(log_file_name, "a.csv\n<0>forged emergency"),
                      "<4>file_start file=\"a.csv\\x0A<0>forged emergency\"\n");
}

static void test_every_control_byte_is_escaped_and_utf8_kept(void **state) {
  (void)state;
  assert_string_equal(captured(log_file_name, "\r\t\x1B[31m\x7F caf\xC3\xA9"),
                      "<4>file_start file=\"\\x0D\\x09\\x1B[31m\\x7F caf\xC3\xA9\"\n");
}

static void test_a_long_value_is_cut_and_still_one_line(void **state) {
  (void)state;
  char name[5000];
  memset(name, '\n', sizeof(name) - 1);
  name[sizeof(name) - 1] = '\0';
  const char *got = captured(log_file_name, name);
  const char *nl = strchr(got, '\n');
  assert_non_null(nl);
  assert_string_equal(nl + 1, "");
  assert_true(strncmp(got, "<4>file_start file=\"\\x0A\\x0A", 28) == 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_a_newline_in_a_value_does_not_start_a_journal_line),
      cmocka_unit_test(test_every_control_byte_is_escaped_and_utf8_kept),
      cmocka_unit_test(test_a_long_value_is_cut_and_still_one_line),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
