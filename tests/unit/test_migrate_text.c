/* test_migrate_text.c - the text a migration's checksum covers
 * (oc_migrate_statement_text): statements without comments and layout;
 * literals, quoted identifiers and dollar-quoted bodies byte for byte. */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes/migrate.h"

/* The statement text of sql, as a string the caller frees. */
static char *stmts(const char *sql) {
  oc_buf_t b;
  oc_buf_init(&b, 0);
  oc_migrate_statement_text(sql, strlen(sql), &b);
  assert_false(b.failed);
  char *s = strdup(b.p ? b.p : "");
  assert_non_null(s);
  oc_buf_release(&b);
  return s;
}

static void expect(const char *sql, const char *want) {
  char *got = stmts(sql);
  if (strcmp(got, want) != 0)
    fail_msg("input  [%s]\ngot    [%s]\nwanted [%s]", sql, got, want);
  free(got);
}

static void test_comments_and_layout_are_dropped(void **state) {
  (void)state;
  expect("-- 0009_x: a table.\n"
         "CREATE TABLE outcomes.x (\n"
         "  id   integer PRIMARY KEY,   -- the id\n"
         "\tnote text /* free text */ NOT NULL\n"
         ");\n"
         "/* trailing\n   block */\n",
         "CREATE TABLE outcomes.x ( id integer PRIMARY KEY, note text NOT NULL );");
  expect("  \n\t", "");
  expect("-- only a comment", "");
  expect("/* only a comment */\n-- and another\n", "");
  /* A comment separates tokens as whitespace does. */
  expect("SELECT a/*x*/b", "SELECT a b");
  expect("SELECT 1--x\nFROM t", "SELECT 1 FROM t");
  /* "--" starts a comment even where it could be read as two minus signs. */
  expect("SELECT 2--1", "SELECT 2");
  expect("SELECT 2 - -1", "SELECT 2 - -1");
  /* Block comments nest as in PostgreSQL. */
  expect("SELECT /* a /* b */ still comment */ 1", "SELECT 1");
  /* A comment running to the end without a newline, or left open. */
  expect("SELECT 1; -- end", "SELECT 1;");
  expect("SELECT 1; /* open", "SELECT 1;");
  expect("\r\nSELECT\f1\v;\r\n", "SELECT 1 ;");
}

static void test_string_literals_are_kept_whole(void **state) {
  (void)state;
  expect("SELECT '-- not a comment', '/* nor this */' -- this is\n",
         "SELECT '-- not a comment', '/* nor this */'");
  expect("SELECT 'it''s -- here'  ,  'x'", "SELECT 'it''s -- here' , 'x'");
  /* Whitespace inside a literal is data. */
  expect("SELECT 'a   b\n\tc'", "SELECT 'a   b\n\tc'");
  /* standard_conforming_strings: a backslash ends nothing in '...'. */
  expect("SELECT 'a\\' -- comment\n", "SELECT 'a\\'");
  /* In E'...' it escapes the quote. */
  expect("SELECT E'a\\' -- still the literal' -- comment\n", "SELECT E'a\\' -- still the literal'");
  expect("SELECT e'\\\\' -- comment\n", "SELECT e'\\\\'");
  /* An identifier ending in e is no E prefix. */
  expect("SELECT some'a\\' -- comment\n", "SELECT some'a\\'");
  /* An open literal runs to the end. */
  expect("SELECT 'open -- x\n  y", "SELECT 'open -- x\n  y");
}

static void test_quoted_identifiers_are_kept_whole(void **state) {
  (void)state;
  expect("SELECT \"a--b\", \"x\"\"/*y\"  FROM \"t  t\" -- c\n",
         "SELECT \"a--b\", \"x\"\"/*y\" FROM \"t  t\"");
}

static void test_dollar_quoted_bodies_are_kept_whole(void **state) {
  (void)state;
  expect("DO $$\nBEGIN\n  -- inside the body\n  PERFORM 1; /* here too */\nEND\n$$; -- after\n",
         "DO $$\nBEGIN\n  -- inside the body\n  PERFORM 1; /* here too */\nEND\n$$;");
  expect("CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $fn$ SELECT $$--$$ $fn$ ; -- c",
         "CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $fn$ SELECT $$--$$ $fn$ ;");
  expect("SELECT $_x1$a -- b$_x1$", "SELECT $_x1$a -- b$_x1$");
  /* Not bodies: a parameter, and '$' inside an identifier. */
  expect("SELECT $1 -- c\n, $2", "SELECT $1 , $2");
  expect("SELECT a$b$ -- c\n", "SELECT a$b$");
  /* A tag may not start with a digit: $1$ is no opening. */
  expect("SELECT $1$ -- c\n", "SELECT $1$");
  /* An open body runs to the end. */
  expect("DO $$ -- x\n", "DO $$ -- x\n");
}

static void test_statement_edits_change_the_text(void **state) {
  (void)state;
  char *a = stmts("CREATE TABLE t (n int CHECK (n > 0)); -- v1");
  char *b = stmts("-- v2, reworded\nCREATE TABLE t (\n  n int CHECK (n > 0)\n);");
  char *c = stmts("CREATE TABLE t (n int CHECK (n >= 0)); -- v1");
  char *d = stmts("CREATE TABLE t (n int CHECK (n > 0)); SELECT 1; -- v1");
  char *e = stmts("SELECT 'a b'");
  char *f = stmts("SELECT 'a  b'");
  assert_string_equal(a, "CREATE TABLE t (n int CHECK (n > 0));");
  assert_string_equal(b, "CREATE TABLE t ( n int CHECK (n > 0) );"); /* spaces count once */
  assert_string_not_equal(a, c);
  assert_string_not_equal(a, d);
  assert_string_not_equal(e, f);
  free(a);
  free(b);
  free(c);
  free(d);
  free(e);
  free(f);
}

/* Each shipped migration with comments added around and inside it (after
 * each statement's end, outside any body) keeps its statement text. */
static void test_shipped_migrations_survive_comment_edits(void **state) {
  (void)state;
  const char *dir = oc_test_source_path("schemas/sql");
  DIR *d = opendir(dir);
  struct dirent *de;
  size_t files = 0;
  assert_non_null(d);
  while ((de = readdir(d))) {
    size_t l = strlen(de->d_name);
    char path[4096];
    if (de->d_name[0] == '.' || l < 5 || strcmp(de->d_name + l - 4, ".sql") != 0)
      continue;
    snprintf(path, sizeof(path), "%.3800s/%.255s", dir, de->d_name);
    char *text = oc_test_read_file(path, NULL);
    char *edited = malloc(strlen(text) + 128);
    assert_non_null(edited);
    sprintf(edited, "/* a new header\n   comment */\n-- and a line\n%s\n-- the end\n", text);
    char *want = stmts(text), *got = stmts(edited);
    assert_true(strlen(want) > 0);
    if (strcmp(want, got) != 0)
      fail_msg("%s: a comment edit changed the statements", path);
    free(text);
    free(edited);
    free(want);
    free(got);
    files++;
  }
  closedir(d);
  assert_true(files >= 5);
}

/* The releases' checksums are of the shipped files: one per version, in
 * order, with their names. */
static void test_earlier_checksums_name_the_shipped_files(void **state) {
  (void)state;
  size_t n = 0;
  const oc_migrate_legacy_sum_t *l = oc_migrate_legacy_sums(&n);
  const char *names[] = {"roles", "tables", "views", "replay", "privileges"};
  assert_int_equal(n, 5);
  for (size_t i = 0; i < n; i++) {
    char path[256];
    assert_int_equal(l[i].version, (int)i + 1);
    assert_string_equal(l[i].name, names[i]);
    assert_int_equal(strlen(l[i].file_md5), 32);
    assert_int_equal(strlen(l[i].statements_md5), 32);
    snprintf(path, sizeof(path), "schemas/sql/%04d_%s.sql", l[i].version, l[i].name);
    free(oc_test_read_file(oc_test_source_path(path), NULL)); /* exists */
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_comments_and_layout_are_dropped),
      cmocka_unit_test(test_string_literals_are_kept_whole),
      cmocka_unit_test(test_quoted_identifiers_are_kept_whole),
      cmocka_unit_test(test_dollar_quoted_bodies_are_kept_whole),
      cmocka_unit_test(test_statement_edits_change_the_text),
      cmocka_unit_test(test_shipped_migrations_survive_comment_edits),
      cmocka_unit_test(test_earlier_checksums_name_the_shipped_files),
  };
  return cmocka_run_group_tests_name("migrate_text", tests, NULL, NULL);
}
