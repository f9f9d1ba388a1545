/* test_migrate.c - migrations and catalog sync against a real PostgreSQL.
 *
 * Needs OUTCOMES_PG_CONNINFO pointing to a private server where the user is
 * a superuser (tests/run.sh provides it). Each test works in a database of
 * its own, dropped in the teardown. */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "outcomes/catalog.h"
#include "outcomes/migrate.h"
#include "outcomes/pg.h"

typedef struct fixture_s {
  const char *conninfo;
  PGconn *admin; /* on the conninfo's own database */
  PGconn *conn;  /* on the test database */
  char dbname[128];
  char tmpdir[64]; /* "" when unused */
  char role[128];  /* a login role this test created, "" if none */
} fixture_t;

static const char *shipped_sql_dir(void) {
  static char path[4096];
  snprintf(path, sizeof(path), "%s", oc_test_source_path("schemas/sql"));
  return path;
}

static const char *shipped_catalog(void) {
  static char path[4096];
  snprintf(path, sizeof(path), "%s", oc_test_source_path("schemas/catalog.tsv"));
  return path;
}

static size_t count_sql_files(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *de;
  size_t n = 0;
  assert_non_null(d);
  while ((de = readdir(d))) {
    size_t l = strlen(de->d_name);
    if (de->d_name[0] != '.' && l > 4 && strcmp(de->d_name + l - 4, ".sql") == 0)
      n++;
  }
  closedir(d);
  return n;
}

static void exec_ok(PGconn *conn, const char *sql) {
  oc_err_t err;
  if (oc_pg_exec(conn, sql, &err) != 0)
    fail_msg("%s", err.msg);
}

static PGconn *connect_db(const char *conninfo, const char *dbname) {
  oc_pg_connect_opts_t opts = {.application_name = "test_migrate", .dbname = dbname};
  PGconn *conn = NULL;
  oc_err_t err;
  if (oc_pg_connect(conninfo, &opts, &conn, &err) != 0)
    fail_msg("%s", err.msg);
  return conn;
}

static int setup(void **state) {
  const char *conninfo = oc_test_require_env("OUTCOMES_PG_CONNINFO");
  fixture_t *fx = calloc(1, sizeof(*fx));
  char sql[512], *ident;

  assert_non_null(fx);
  *state = fx;
  fx->conninfo = conninfo;
  fx->admin = connect_db(fx->conninfo, NULL);
  snprintf(fx->dbname, sizeof(fx->dbname), "%s", oc_test_unique_name("oc_test_migrate"));
  ident = PQescapeIdentifier(fx->admin, fx->dbname, strlen(fx->dbname));
  assert_non_null(ident);
  snprintf(sql, sizeof(sql), "CREATE DATABASE %s", ident);
  PQfreemem(ident);
  exec_ok(fx->admin, sql);
  fx->conn = connect_db(fx->conninfo, fx->dbname);
  return 0;
}

static void rm_tree(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *de;
  char path[4096];
  if (!d)
    return;
  while ((de = readdir(d))) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
    unlink(path);
  }
  closedir(d);
  rmdir(dir);
}

static int teardown(void **state) {
  fixture_t *fx = *state;
  char sql[512], *ident;

  if (fx->conn)
    PQfinish(fx->conn);
  if (fx->admin) {
    ident = PQescapeIdentifier(fx->admin, fx->dbname, strlen(fx->dbname));
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", ident);
    PQfreemem(ident);
    exec_ok(fx->admin, sql);
    if (fx->role[0]) {
      ident = PQescapeIdentifier(fx->admin, fx->role, strlen(fx->role));
      snprintf(sql, sizeof(sql), "DROP ROLE IF EXISTS %s", ident);
      PQfreemem(ident);
      exec_ok(fx->admin, sql);
    }
    PQfinish(fx->admin);
  }
  if (fx->tmpdir[0])
    rm_tree(fx->tmpdir);
  free(fx);
  return 0;
}

static const char *make_tmpdir(fixture_t *fx) {
  snprintf(fx->tmpdir, sizeof(fx->tmpdir), "/tmp/oc_test_migrate_XXXXXX");
  assert_non_null(mkdtemp(fx->tmpdir));
  return fx->tmpdir;
}

static void write_file(const char *dir, const char *name, const char *text) {
  char path[4096];
  FILE *f;
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fputs(text, f) >= 0, 1);
  assert_int_equal(fclose(f), 0);
}

/* Copy the shipped migrations into dir. */
static void copy_shipped(const char *dir) {
  DIR *d = opendir(shipped_sql_dir());
  struct dirent *de;
  char path[4096];
  assert_non_null(d);
  while ((de = readdir(d))) {
    size_t l = strlen(de->d_name);
    if (de->d_name[0] == '.' || l < 5 || strcmp(de->d_name + l - 4, ".sql") != 0)
      continue;
    snprintf(path, sizeof(path), "%.3800s/%.255s", shipped_sql_dir(), de->d_name);
    char *text = oc_test_read_file(path, NULL);
    write_file(dir, de->d_name, text);
    free(text);
  }
  closedir(d);
}

static int migrate(PGconn *conn, const char *dir, const char *catalog, bool dry_run,
                   oc_migrate_report_t *report, oc_err_t *err) {
  oc_migrate_opts_t opts = {.dry_run = dry_run};
  oc_migrate_report_init(report);
  oc_err_clear(err);
  return oc_migrate_run(conn, dir, catalog, &opts, report, err);
}

/* The migrations of dir alone, without the catalog. */
static int migrate_sql(PGconn *conn, const char *dir, bool dry_run, oc_migrate_report_t *report,
                       oc_err_t *err) {
  oc_migrate_opts_t opts = {.dry_run = dry_run, .skip_catalog = true};
  oc_migrate_report_init(report);
  oc_err_clear(err);
  return oc_migrate_run(conn, dir, NULL, &opts, report, err);
}

static char *query_text(PGconn *conn, const char *sql) {
  PGresult *res = NULL;
  oc_err_t err;
  if (oc_pg_exec_params(conn, sql, 0, NULL, &res, &err) != 0)
    fail_msg("%s", err.msg);
  assert_int_equal(PQntuples(res), 1);
  char *s = strdup(PQgetisnull(res, 0, 0) ? "" : PQgetvalue(res, 0, 0));
  PQclear(res);
  assert_non_null(s);
  return s;
}

/* expect_query(conn, sql, want): sql's one value (NULL as "") is want;
 * a failure names the caller's line. */
static void expect_query_at(PGconn *conn, const char *sql, const char *want, const char *file,
                            int line) {
  char *s = query_text(conn, sql);
  _assert_string_equal(s, want, file, line);
  free(s);
}
#define expect_query(conn, sql, want) expect_query_at((conn), (sql), (want), __FILE__, __LINE__)

/* Everything a migration defines, one line per fact, in a fixed order. */
static char *schema_snapshot(PGconn *conn) {
  return query_text(
      conn, "SELECT string_agg(line, E'\\n' ORDER BY line COLLATE \"C\") FROM ("
            " SELECT 'schema ' || n.nspname || ' owner=' || pg_get_userbyid(n.nspowner)"
            "   || ' acl=' || COALESCE(n.nspacl::text, '')"
            "   FROM pg_namespace n WHERE n.nspname = 'outcomes'"
            " UNION ALL SELECT 'table ' || table_name || ' ' || table_type"
            "   FROM information_schema.tables WHERE table_schema = 'outcomes'"
            " UNION ALL SELECT 'column ' || table_name || '.' || column_name || ' #'"
            "   || ordinal_position || ' ' || data_type || ' nullable=' || is_nullable"
            "   || ' default=' || COALESCE(column_default, '') || ' identity=' || is_identity"
            "   FROM information_schema.columns WHERE table_schema = 'outcomes'"
            " UNION ALL SELECT 'constraint ' || c.conrelid::regclass::text || ' ' || c.conname"
            "   || ' ' || pg_get_constraintdef(c.oid)"
            "   FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
            "   WHERE n.nspname = 'outcomes'"
            " UNION ALL SELECT 'index ' || indexname || ' ' || indexdef"
            "   FROM pg_indexes WHERE schemaname = 'outcomes'"
            " UNION ALL SELECT 'view ' || viewname || ' ' || definition"
            "   FROM pg_views WHERE schemaname = 'outcomes'"
            " UNION ALL SELECT 'relation ' || c.relname || ' kind=' || c.relkind::text || ' owner='"
            "   || pg_get_userbyid(c.relowner) || ' acl=' || COALESCE(c.relacl::text, '')"
            "   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            "   WHERE n.nspname = 'outcomes'"
            " UNION ALL SELECT 'function ' || p.oid::regprocedure::text || ' owner='"
            "   || pg_get_userbyid(p.proowner) || ' acl=' || COALESCE(p.proacl::text, '')"
            "   FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            "   WHERE n.nspname = 'outcomes'"
            " UNION ALL SELECT 'role ' || r.rolname || ' login=' || r.rolcanlogin"
            "   FROM pg_roles r WHERE r.rolname LIKE 'outcomes\\_%'"
            " UNION ALL SELECT 'member ' || m.rolname || ' of ' || g.rolname"
            "   FROM pg_auth_members a JOIN pg_roles m ON m.oid = a.member"
            "   JOIN pg_roles g ON g.oid = a.roleid WHERE g.rolname LIKE 'outcomes\\_%'"
            /* the project's roles and this session's: roles that tests running
             * beside this one create and drop are not part of the schema */
            "     AND (m.rolname LIKE 'outcomes\\_%' OR m.rolname = current_user)"
            ") AS s(line)");
}

static void assert_catalog_equals_file(PGconn *conn, const char *path) {
  oc_catalog_t *cat = NULL;
  PGresult *res = NULL;
  oc_err_t err;

  if (oc_catalog_load_file(path, &cat, &err) != 0)
    fail_msg("%s", err.msg);
  if (oc_pg_exec_params(conn,
                        "SELECT code, name, unit, kind, direction, min_value::text, "
                        "max_value::text, seed, description, measure_url "
                        "FROM outcomes.metric_catalog",
                        0, NULL, &res, &err) != 0)
    fail_msg("%s", err.msg);
  assert_int_equal((size_t)PQntuples(res), oc_catalog_count(cat));
  for (int r = 0; r < PQntuples(res); r++) {
    const oc_metric_t *m = oc_catalog_find(cat, PQgetvalue(res, r, 0));
    if (!m)
      fail_msg("metric_catalog has '%s', the file does not", PQgetvalue(res, r, 0));
    assert_string_equal(PQgetvalue(res, r, 1), m->name);
    assert_string_equal(PQgetvalue(res, r, 2), m->unit);
    assert_string_equal(PQgetvalue(res, r, 3), oc_kind_name(m->kind));
    assert_string_equal(PQgetvalue(res, r, 4), oc_direction_name(m->direction));
    assert_true(strtod(PQgetvalue(res, r, 5), NULL) == m->min);
    assert_true(strtod(PQgetvalue(res, r, 6), NULL) == m->max);
    assert_string_equal(PQgetvalue(res, r, 7), m->seed); /* "" is stored as NULL */
    assert_int_equal(PQgetisnull(res, r, 7), m->seed[0] == '\0');
    assert_string_equal(PQgetvalue(res, r, 8), m->description);
    assert_string_equal(PQgetvalue(res, r, 9), m->measure_url);
    assert_int_equal(PQgetisnull(res, r, 9), m->measure_url[0] == '\0');
  }
  PQclear(res);
  oc_catalog_destroy(cat);
}

static void test_shipped_migrations_apply_once_and_rerun_changes_nothing(void **state) {
  fixture_t *fx = *state;
  size_t nfiles = count_sql_files(shipped_sql_dir());
  oc_migrate_report_t r;
  oc_err_t err;
  char *snap1, *snap2;

  assert_true(nfiles >= 1);
  if (migrate(fx->conn, shipped_sql_dir(), shipped_catalog(), false, &r, &err) != 0)
    fail_msg("first run: %s", err.msg);
  assert_int_equal(r.n_new, nfiles);
  assert_int_equal(r.n_migrations, nfiles);
  assert_true(r.catalog_synced);
  assert_true(r.cat_inserted > 0);
  assert_int_equal(r.cat_updated + r.cat_unchanged + r.n_cat_removed, 0);
  for (size_t i = 0; i < nfiles; i++) {
    assert_int_equal(r.migrations[i].version, (int)i + 1);
    assert_int_equal(r.migrations[i].state, OC_MIGRATION_NEW);
    assert_int_equal(r.migrations[i].as_owner, i > 0); /* 0001 runs as itself */
  }
  size_t inserted = r.cat_inserted;
  oc_migrate_report_release(&r);
  snap1 = schema_snapshot(fx->conn);
  assert_non_null(strstr(snap1, "table metric_catalog BASE TABLE"));
  assert_non_null(strstr(snap1, "relation metric_catalog kind=r owner=outcomes_owner acl="));
  assert_non_null(strstr(snap1, "outcomes_writer=r/outcomes_owner"));
  assert_non_null(strstr(snap1, "column metric_catalog.min_value #6 double precision"));
  assert_non_null(strstr(snap1, "constraint outcomes.metric_catalog metric_catalog_pkey "
                                "PRIMARY KEY (code)"));
  assert_non_null(strstr(snap1, "schema outcomes owner=outcomes_owner"));
  assert_catalog_equals_file(fx->conn, shipped_catalog());

  if (migrate(fx->conn, shipped_sql_dir(), shipped_catalog(), false, &r, &err) != 0)
    fail_msg("second run: %s", err.msg);
  assert_int_equal(r.n_new, 0);
  assert_int_equal(r.cat_inserted + r.cat_updated, 0);
  assert_int_equal(r.cat_unchanged, inserted);
  for (size_t i = 0; i < nfiles; i++) {
    assert_int_equal(r.migrations[i].state, OC_MIGRATION_APPLIED);
    assert_true(r.migrations[i].applied_at[0] != '\0');
  }
  oc_migrate_report_release(&r);
  snap2 = schema_snapshot(fx->conn);
  assert_string_equal(snap1, snap2);
  assert_catalog_equals_file(fx->conn, shipped_catalog());

  /* Migrations after 0001 ran as the owner role: it owns what they made. */
  expect_query(fx->conn,
               "SELECT string_agg(DISTINCT pg_get_userbyid(c.relowner), ',') "
               "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
               "WHERE n.nspname = 'outcomes' AND c.relname <> 'schema_migrations' "
               "AND c.relname NOT LIKE 'schema_migrations%'",
               "outcomes_owner");
  free(snap1);
  free(snap2);
}

static void test_dry_run_and_status_change_nothing(void **state) {
  fixture_t *fx = *state;
  size_t nfiles = count_sql_files(shipped_sql_dir());
  oc_migrate_report_t r;
  oc_err_t err;

  if (migrate(fx->conn, shipped_sql_dir(), shipped_catalog(), true, &r, &err) != 0)
    fail_msg("dry run: %s", err.msg);
  assert_int_equal(r.n_new, nfiles);
  assert_true(r.catalog_synced);
  assert_true(r.cat_inserted > 0);
  oc_migrate_report_release(&r);
  expect_query(fx->conn, "SELECT to_regnamespace('outcomes') IS NOT NULL", "f");
}

static void test_changed_statements_are_refused_naming_the_file(void **state) {
  fixture_t *fx = *state;
  const char *dir = make_tmpdir(fx);
  oc_migrate_report_t r;
  oc_err_t err;
  char path[4096], *text, *n;

  copy_shipped(dir);
  write_file(dir, "0099_unused.txt", "not a migration: ignored\n");
  assert_int_equal(migrate(fx->conn, dir, shipped_catalog(), false, &r, &err), 0);
  oc_migrate_report_release(&r);

  snprintf(path, sizeof(path), "%s/0001_roles.sql", dir);
  text = oc_test_read_file(path, NULL);
  n = malloc(strlen(text) + 32);
  assert_non_null(n);
  sprintf(n, "%s\nSELECT 1; -- edited\n", text);
  write_file(dir, "0001_roles.sql", n);

  assert_int_equal(migrate(fx->conn, dir, shipped_catalog(), false, &r, &err), OC_ERR_CONFIG);
  assert_non_null(strstr(err.msg, "/0001_roles.sql: changed after it was applied"));
  assert_int_equal(r.n_new, 0);
  oc_migrate_report_release(&r);
  free(text);
  free(n);
}

/* The checksum stored for version v. */
static char *stored_checksum(PGconn *conn, int v) {
  char sql[128];
  snprintf(sql, sizeof(sql), "SELECT checksum FROM outcomes.schema_migrations WHERE version = %d",
           v);
  return query_text(conn, sql);
}

static void set_stored_checksum(PGconn *conn, int v, const char *sum) {
  char sql[256];
  snprintf(sql, sizeof(sql),
           "UPDATE outcomes.schema_migrations SET checksum = '%.32s' WHERE version = %d", sum, v);
  exec_ok(conn, sql);
}

/* md5 of text as PostgreSQL computes it (the whole-file checksum of
 * earlier releases). */
static char *md5_of(PGconn *conn, const char *text) {
  const char *params[1] = {text};
  char out[33];
  oc_err_t err;
  if (oc_pg_query_value(conn, "SELECT md5($1)", 1, params, out, sizeof(out), NULL, &err) != 0)
    fail_msg("%s", err.msg);
  return strdup(out);
}

static void expect_changed(fixture_t *fx, const char *dir, const char *file) {
  oc_migrate_report_t r;
  oc_err_t err;
  char want[128];
  int rc = migrate_sql(fx->conn, dir, false, &r, &err);
  assert_int_equal(r.n_upgraded, 0);
  oc_migrate_report_release(&r);
  snprintf(want, sizeof(want), "/%s: changed after it was applied (checksum ", file);
  if (rc != OC_ERR_CONFIG || !strstr(err.msg, want))
    fail_msg("expected '%s', got rc %d: '%s'", want, rc, err.msg);
}

static void test_comment_edits_are_accepted_statement_edits_refused(void **state) {
  fixture_t *fx = *state;
  const char *dir = make_tmpdir(fx);
  oc_migrate_report_t r;
  oc_err_t err;
  static const char v1[] = "-- 0001_a: one table.\n"
                           "CREATE TABLE outcomes.a (\n"
                           "  x int,                          -- the x\n"
                           "  s text DEFAULT '-- not a comment'\n"
                           ");\n"
                           "DO $$ BEGIN -- kept: inside the body\n"
                           "  PERFORM 1;\n"
                           "END $$;\n";
  /* The same statements: comments reworded, moved and added, lines and
   * indentation changed outside literals and bodies. */
  static const char comments[] = "/* 0001_a: one table,\n   reworded. */\n"
                                 "CREATE TABLE outcomes.a (\n"
                                 "\tx int, s text DEFAULT '-- not a comment'  -- both\n"
                                 ");\n\n\n"
                                 "DO $$ BEGIN -- kept: inside the body\n"
                                 "  PERFORM 1;\n"
                                 "END $$; -- a new remark\n";
  /* Each a single change of v1 that is not a comment edit. */
  static const char *const edits[][2] = {
      /* a comment marker inside a literal is data */
      {"'-- not a comment'", "'-- not a comment!'"},
      /* a comment inside a dollar-quoted body is part of the body */
      {"-- kept: inside", "-- changed inside"},
      /* so is its layout */
      {"\n  PERFORM", "\n    PERFORM"},
      /* a statement */
      {"x int", "x bigint"},
  };
  char *sum;

  write_file(dir, "0001_a.sql", v1);
  assert_int_equal(migrate_sql(fx->conn, dir, false, &r, &err), 0);
  assert_int_equal(r.n_new, 1);
  oc_migrate_report_release(&r);
  sum = stored_checksum(fx->conn, 1);
  assert_int_equal(strlen(sum), 32);

  write_file(dir, "0001_a.sql", comments);
  if (migrate_sql(fx->conn, dir, false, &r, &err) != 0)
    fail_msg("comment edit refused: %s", err.msg);
  assert_int_equal(r.n_new, 0);
  assert_int_equal(r.n_upgraded, 0);
  assert_int_equal(r.migrations[0].state, OC_MIGRATION_APPLIED);
  assert_string_equal(r.migrations[0].checksum, sum);
  oc_migrate_report_release(&r);

  for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
    char text[sizeof(v1) + 16];
    const char *at = strstr(v1, edits[i][0]);
    assert_non_null(at);
    snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - v1), v1, edits[i][1],
             at + strlen(edits[i][0]));
    write_file(dir, "0001_a.sql", text);
    expect_changed(fx, dir, "0001_a.sql");
  }
  char *after = stored_checksum(fx->conn, 1);
  assert_string_equal(after, sum);
  free(after);
  free(sum);
}

static void test_whole_file_checksum_is_accepted_and_rewritten(void **state) {
  fixture_t *fx = *state;
  const char *dir = make_tmpdir(fx);
  oc_migrate_report_t r;
  oc_err_t err;
  char path[4096];

  copy_shipped(dir);
  assert_int_equal(migrate_sql(fx->conn, dir, false, &r, &err), 0);
  oc_migrate_report_release(&r);
  char *stmt_sum = stored_checksum(fx->conn, 2);
  snprintf(path, sizeof(path), "%s/0002_tables.sql", dir);
  char *text = oc_test_read_file(path, NULL);
  char *file_sum = md5_of(fx->conn, text);
  assert_string_not_equal(file_sum, stmt_sum);

  /* A database migrated by an earlier release holds the whole file's md5. */
  set_stored_checksum(fx->conn, 2, file_sum);
  assert_int_equal(migrate_sql(fx->conn, dir, true, &r, &err), 0);
  assert_int_equal(r.n_upgraded, 1);
  assert_true(r.migrations[1].checksum_upgraded);
  assert_false(r.migrations[0].checksum_upgraded);
  oc_migrate_report_release(&r);
  char *s = stored_checksum(fx->conn, 2);
  assert_string_equal(s, file_sum); /* the dry run wrote nothing */
  free(s);

  if (migrate_sql(fx->conn, dir, false, &r, &err) != 0)
    fail_msg("%s", err.msg);
  assert_int_equal(r.n_new, 0);
  assert_int_equal(r.n_upgraded, 1);
  assert_true(r.migrations[1].checksum_upgraded);
  assert_string_equal(r.migrations[1].checksum, stmt_sum);
  oc_migrate_report_release(&r);
  s = stored_checksum(fx->conn, 2);
  assert_string_equal(s, stmt_sum);
  free(s);

  assert_int_equal(migrate_sql(fx->conn, dir, false, &r, &err), 0);
  assert_int_equal(r.n_upgraded, 0);
  assert_false(r.migrations[1].checksum_upgraded);
  oc_migrate_report_release(&r);

  /* The whole file's md5 of another text is no pass: a statement edit. */
  set_stored_checksum(fx->conn, 2, file_sum);
  char *edited = malloc(strlen(text) + 32);
  assert_non_null(edited);
  sprintf(edited, "%s\nSELECT 1;\n", text);
  write_file(dir, "0002_tables.sql", edited);
  expect_changed(fx, dir, "0002_tables.sql");
  s = stored_checksum(fx->conn, 2);
  assert_string_equal(s, file_sum);
  free(s);
  free(edited);
  free(text);
  free(file_sum);
  free(stmt_sum);
}

/* A database migrated by an earlier release, whose files have since had
 * their comments edited: the checksums the releases recorded are accepted
 * for files with the same statements, and rewritten. */
static void test_released_checksums_accept_the_shipped_statements(void **state) {
  fixture_t *fx = *state;
  const char *dir = make_tmpdir(fx);
  size_t n = 0;
  const oc_migrate_legacy_sum_t *l = oc_migrate_legacy_sums(&n);
  oc_migrate_report_t r;
  oc_err_t err;
  char path[4096], name[64];

  copy_shipped(dir);
  assert_int_equal(migrate_sql(fx->conn, dir, false, &r, &err), 0);
  assert_true(r.n_migrations >= n);
  for (size_t i = 0; i < n; i++) {
    /* The shipped files still have the statements the releases had. */
    assert_int_equal(r.migrations[i].version, l[i].version);
    if (strcmp(r.migrations[i].checksum, l[i].statements_md5) != 0)
      fail_msg("%04d_%s.sql: its statements changed since release (checksum %s, released %s)",
               l[i].version, l[i].name, r.migrations[i].checksum, l[i].statements_md5);
  }
  oc_migrate_report_release(&r);
  for (size_t i = 0; i < n; i++) {
    set_stored_checksum(fx->conn, l[i].version, l[i].file_md5);
    snprintf(name, sizeof(name), "%04d_%s.sql", l[i].version, l[i].name);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    char *text = oc_test_read_file(path, NULL);
    char *edited = malloc(strlen(text) + 64);
    assert_non_null(edited);
    sprintf(edited, "-- a comment corrected after release\n%s\n-- and one added\n", text);
    write_file(dir, name, edited);
    free(text);
    free(edited);
  }
  if (migrate_sql(fx->conn, dir, false, &r, &err) != 0)
    fail_msg("%s", err.msg);
  assert_int_equal(r.n_new, 0);
  assert_int_equal(r.n_upgraded, n);
  oc_migrate_report_release(&r);
  for (size_t i = 0; i < n; i++) {
    char *s = stored_checksum(fx->conn, l[i].version);
    assert_string_equal(s, l[i].statements_md5);
    free(s);
  }

  /* A released checksum does not cover a statement edit. */
  set_stored_checksum(fx->conn, l[2].version, l[2].file_md5);
  snprintf(name, sizeof(name), "%04d_%s.sql", l[2].version, l[2].name);
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  char *text = oc_test_read_file(path, NULL);
  char *edited = malloc(strlen(text) + 32);
  assert_non_null(edited);
  sprintf(edited, "%s\nSELECT 1;\n", text);
  write_file(dir, name, edited);
  expect_changed(fx, dir, name);
  free(text);
  free(edited);
}

static void expect_dir_error(PGconn *conn, const char *dir, const char *want_suffix) {
  oc_migrate_report_t r;
  oc_err_t err;
  int rc = migrate(conn, dir, NULL, false, &r, &err);
  oc_migrate_report_release(&r);
  if (rc != OC_ERR_CONFIG || !strstr(err.msg, want_suffix))
    fail_msg("expected '%s', got rc %d: '%s'", want_suffix, rc, err.msg);
}

static void test_gap_duplicate_and_misnamed_files_are_refused(void **state) {
  fixture_t *fx = *state;
  const char *dir = make_tmpdir(fx);
  char path[4096];

  write_file(dir, "0001_a.sql", "CREATE TABLE outcomes.a (x int);\n");
  write_file(dir, "0003_c.sql", "CREATE TABLE outcomes.c (x int);\n");
  expect_dir_error(fx->conn, dir, ": missing migration 0002 (between 0001_a.sql and 0003_c.sql)");
  write_file(dir, "0002_b.sql", "CREATE TABLE outcomes.b (x int);\n");
  write_file(dir, "0002_b2.sql", "CREATE TABLE outcomes.b2 (x int);\n");
  expect_dir_error(fx->conn, dir, ": duplicate migration number 0002: 0002_b.sql and 0002_b2.sql");
  snprintf(path, sizeof(path), "%s/0002_b2.sql", dir);
  unlink(path);
  write_file(dir, "2_b.sql", "SELECT 1;\n");
  expect_dir_error(fx->conn, dir, "/2_b.sql: not a migration file name");
  snprintf(path, sizeof(path), "%s/2_b.sql", dir);
  unlink(path);
  write_file(dir, "0004_empty.sql", "\n  \n");
  expect_dir_error(fx->conn, dir, "/0004_empty.sql: is empty");
  /* Nothing was touched by any of these. */
  expect_query(fx->conn, "SELECT to_regnamespace('outcomes') IS NOT NULL", "f");
}

static void test_failed_migration_rolls_back_whole_and_names_its_line(void **state) {
  fixture_t *fx = *state;
  const char *dir = make_tmpdir(fx);
  size_t nfiles = count_sql_files(shipped_sql_dir());
  char bad[64], *s;
  oc_migrate_report_t r;
  oc_err_t err;

  copy_shipped(dir);
  snprintf(bad, sizeof(bad), "%04zu_bad.sql", nfiles + 1);
  write_file(dir, bad, "-- a broken migration\nCREATE TABLE outcomes.half (x int);\n\nSELEC 1;\n");
  assert_int_equal(migrate(fx->conn, dir, shipped_catalog(), false, &r, &err), OC_ERR_PG);
  assert_int_equal(r.failed_version, (int)nfiles + 1);
  assert_int_equal(r.n_new, nfiles); /* the good ones before it stay */
  assert_false(r.catalog_synced);
  oc_migrate_report_release(&r);
  char want[128];
  snprintf(want, sizeof(want), "/%s:4: SQLSTATE 42601: syntax error at or near \"SELEC\"", bad);
  if (!strstr(err.msg, want))
    fail_msg("expected '%s' in '%s'", want, err.msg);
  assert_false(err.retriable);
  assert_false(err.fatal);
  s = query_text(fx->conn, "SELECT (to_regclass('outcomes.half') IS NULL)::text || ' ' || "
                           "max(version) FROM outcomes.schema_migrations");
  char expect[32];
  snprintf(expect, sizeof(expect), "true %zu", nfiles);
  assert_string_equal(s, expect);
  free(s);
  /* The lock was released and the session is usable: fix the file, rerun. */
  write_file(dir, bad, "CREATE TABLE outcomes.half (x int);\n");
  assert_int_equal(migrate(fx->conn, dir, shipped_catalog(), false, &r, &err), 0);
  assert_int_equal(r.n_new, 1);
  oc_migrate_report_release(&r);
  expect_query(fx->conn,
               "SELECT pg_get_userbyid(relowner) FROM pg_class "
               "WHERE oid = 'outcomes.half'::regclass",
               "outcomes_owner");
}

static void test_catalog_sync_updates_and_reports_but_keeps_removed(void **state) {
  fixture_t *fx = *state;
  const char *dir = make_tmpdir(fx);
  char path[4096], *text, *edited, *p;
  oc_migrate_report_t r;
  oc_err_t err;

  assert_int_equal(migrate(fx->conn, shipped_sql_dir(), shipped_catalog(), false, &r, &err), 0);
  size_t total = r.cat_inserted;
  oc_migrate_report_release(&r);

  /* Drop the er_visits line, rename cpoe_rate, add a new metric. */
  text = oc_test_read_file(shipped_catalog(), NULL);
  edited = calloc(1, strlen(text) + 512);
  assert_non_null(edited);
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    if (strncmp(line, "er_visits\t", 10) == 0)
      continue;
    if (strncmp(line, "cpoe_rate\t", 10) == 0 && (p = strchr(line + 10, '\t'))) {
      strcat(edited, "cpoe_rate\tComputerized order entry rate");
      strcat(edited, p);
    } else {
      strcat(edited, line);
    }
    strcat(edited, "\n");
  }
  strcat(edited, "new_metric\tNew\t{count}\tcount\thigher_is_better\t0\t10\t\tfor the test"
                 "\thttps://example.org/fhir/Measure/new\n");
  write_file(dir, "catalog.tsv", edited);
  snprintf(path, sizeof(path), "%s/catalog.tsv", dir);

  assert_int_equal(migrate(fx->conn, shipped_sql_dir(), path, true, &r, &err), 0);
  assert_int_equal(r.cat_inserted, 1);
  assert_int_equal(r.cat_updated, 1);
  /* What differs, in file order then the table's. */
  assert_int_equal(r.n_cat_diffs, 3);
  assert_string_equal(r.cat_diffs[0], "cpoe_rate: name: file \"Computerized order entry rate\" "
                                      "vs database \"CPOE rate\"");
  assert_string_equal(r.cat_diffs[1], "new_metric: only in the file");
  assert_string_equal(r.cat_diffs[2], "er_visits: only in the database");
  oc_migrate_report_release(&r);
  expect_query(fx->conn,
               "SELECT count(*) FROM outcomes.metric_catalog "
               "WHERE code = 'new_metric'",
               "0"); /* the dry run wrote nothing */

  assert_int_equal(migrate(fx->conn, shipped_sql_dir(), path, false, &r, &err), 0);
  assert_int_equal(r.n_new, 0);
  assert_int_equal(r.cat_inserted, 1);
  assert_int_equal(r.cat_updated, 1);
  assert_int_equal(r.cat_unchanged, total - 2);
  assert_int_equal(r.n_cat_removed, 1);
  assert_string_equal(r.cat_removed[0], "er_visits");
  oc_migrate_report_release(&r);
  expect_query(fx->conn,
               "SELECT string_agg(code || '=' || name || ' ' || unit || ' ' "
               "|| coalesce(seed, '-') || ' ' || coalesce(measure_url, '-'), ',' "
               "ORDER BY code) FROM outcomes.metric_catalog "
               "WHERE code IN ('cpoe_rate', 'er_visits', 'new_metric')",
               "cpoe_rate=Computerized order entry rate 1 University Health Systems: "
               "99.5% CPOE -,er_visits=Emergency room visits {count} Coastal Carolina "
               "Health: emergency room visits reduced by 10-15% in one year -,"
               "new_metric=New {count} - https://example.org/fhir/Measure/new");

  /* One measure, one metric; a unit or URL the table's checks refuse. */
  PGresult *res =
      PQexec(fx->conn, "UPDATE outcomes.metric_catalog SET measure_url = "
                       "'https://example.org/fhir/Measure/new' WHERE code = 'er_visits'");
  assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
  assert_string_equal(PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME),
                      "metric_catalog_measure_url_key");
  PQclear(res);
  static const char *const refused[] = {
      "UPDATE outcomes.metric_catalog SET unit = 'per cent' WHERE code = 'er_visits'",
      "UPDATE outcomes.metric_catalog SET unit = '' WHERE code = 'er_visits'",
      "UPDATE outcomes.metric_catalog SET measure_url = 'https://x.org/M|1.0' "
      "WHERE code = 'er_visits'",
      "UPDATE outcomes.metric_catalog SET measure_url = 'urn:oid:1.2.3' WHERE code = 'er_visits'",
      "UPDATE outcomes.metric_catalog SET measure_url = '' WHERE code = 'er_visits'",
  };
  for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
    res = PQexec(fx->conn, refused[i]);
    if (PQresultStatus(res) != PGRES_FATAL_ERROR ||
        strcmp(PQresultErrorField(res, PG_DIAG_SQLSTATE), "23514") != 0)
      fail_msg("not refused by a check: %s", refused[i]);
    PQclear(res);
  }

  /* A measure moves from one metric to another in one sync. */
  char *moved = strstr(edited, "\thttps://example.org/fhir/Measure/new\n");
  assert_non_null(moved);
  strcpy(moved, "\t\n");
  strcat(edited, "moved_to\tMoved\t1\tratio\thigher_is_better\t0\t1\t\t\t"
                 "https://example.org/fhir/Measure/new\n");
  write_file(dir, "catalog.tsv", edited);
  snprintf(path, sizeof(path), "%s/catalog.tsv", dir);
  if (migrate(fx->conn, shipped_sql_dir(), path, false, &r, &err) != 0)
    fail_msg("moving a measure: %s", err.msg);
  assert_int_equal(r.cat_inserted, 1);
  assert_int_equal(r.cat_updated, 1);
  oc_migrate_report_release(&r);
  expect_query(fx->conn,
               "SELECT string_agg(code, ',') FROM outcomes.metric_catalog "
               "WHERE measure_url = 'https://example.org/fhir/Measure/new'",
               "moved_to");

  /* A bad catalog fails with its line; the migrations already ran. */
  write_file(dir, "bad.tsv", "code\tname\n");
  snprintf(path, sizeof(path), "%s/bad.tsv", dir);
  assert_int_equal(migrate(fx->conn, shipped_sql_dir(), path, false, &r, &err), OC_ERR_CONFIG);
  assert_non_null(strstr(err.msg, "/bad.tsv:1: header: missing column 'unit'"));
  oc_migrate_report_release(&r);
  free(text);
  free(edited);
}

/* Wait up to 5 s for notifications on conn: their payloads, in order,
 * joined by ',' ("" if none came). */
static void wait_notify(PGconn *conn, char *payload, size_t cap) {
  size_t used = 0;
  payload[0] = '\0';
  for (int i = 0; i < 100 && used == 0; i++) {
    PGnotify *n;
    if (i > 0)
      nanosleep(&(struct timespec){0, 50000000L}, NULL);
    assert_int_equal(PQconsumeInput(conn), 1);
    while ((n = PQnotifies(conn))) {
      assert_string_equal(n->relname, "outcomes_catalog");
      used += (size_t)snprintf(payload + used, cap - used, "%s%s", used ? "," : "", n->extra);
      assert_true(used < cap);
      PQfreemem(n);
    }
  }
}

/* A database of the release before 0008 (units days, ratio, count, usd,
 * fte; empty seeds; no measure_url) is taken forward: its units become the
 * UCUM codes the new file has, so that syncing that file changes nothing;
 * 0008 run again changes nothing either; from then on every write of the
 * catalog is announced on outcomes_catalog. */
static void test_0008_takes_old_units_forward(void **state) {
  fixture_t *fx = *state;
  const char *dir = make_tmpdir(fx);
  char path[4096], payload[64], *snap1, *snap2, *text;
  oc_migrate_report_t r;
  oc_err_t err;
  PGconn *listener;

  copy_shipped(dir);
  snprintf(path, sizeof(path), "%s/0008_catalog_ucum.sql", dir);
  assert_int_equal(unlink(path), 0);
  write_file(dir, "new.tsv",
             "code\tname\tunit\tkind\tdirection\tmin\tmax\tseed\tdescription\tmeasure_url\n"
             "a_days\tA\td\tratio\tlower_is_better\t0\t3650\ts\td\t\n"
             "a_rate\tB\t1\tratio\thigher_is_better\t0\t1\ts\td\t\n"
             "a_count\tC\t{count}\tcount\tlower_is_better\t0\t1e9\t\td\t\n"
             "a_usd\tD\t[USD]\tamount\thigher_is_better\t0\t1e12\ts\td\t\n"
             "a_fte\tE\t{FTE}\tgauge\tlower_is_better\t0\t1e6\ts\td\t\n");
  /* The catalog as a release before 0008 synced it. */
  if (migrate_sql(fx->conn, dir, false, &r, &err) != 0)
    fail_msg("to 0007: %s", err.msg);
  oc_migrate_report_release(&r);
  exec_ok(fx->conn,
          "INSERT INTO outcomes.metric_catalog (code, name, unit, kind, direction, min_value, "
          "max_value, seed, description) VALUES "
          "('a_days', 'A', 'days', 'ratio', 'lower_is_better', 0, 3650, 's', 'd'), "
          "('a_rate', 'B', 'ratio', 'ratio', 'higher_is_better', 0, 1, 's', 'd'), "
          "('a_count', 'C', 'count', 'count', 'lower_is_better', 0, 1e9, '', 'd'), "
          "('a_usd', 'D', 'usd', 'amount', 'higher_is_better', 0, 1e12, 's', 'd'), "
          "('a_fte', 'E', 'fte', 'gauge', 'lower_is_better', 0, 1e6, 's', 'd')");
  expect_query(fx->conn,
               "SELECT string_agg(unit, ',' ORDER BY code) || ' ' "
               "|| count(*) FILTER (WHERE seed = '') FROM outcomes.metric_catalog",
               "count,days,fte,ratio,usd 1");

  /* A migrations directory that stops before 0008 still syncs a file of
   * the units by name; one with a measure_url is refused. */
  write_file(dir, "old.tsv",
             "code\tname\tunit\tkind\tdirection\tmin\tmax\tseed\tdescription\n"
             "a_more\tF\tcount\tcount\tlower_is_better\t0\t9\t\td\n");
  snprintf(path, sizeof(path), "%s/old.tsv", dir);
  if (migrate(fx->conn, dir, path, false, &r, &err) != 0)
    fail_msg("sync before 0008: %s", err.msg);
  assert_int_equal(r.cat_inserted, 1);
  oc_migrate_report_release(&r);
  expect_query(fx->conn,
               "SELECT unit || ' [' || seed || ']' FROM outcomes.metric_catalog "
               "WHERE code = 'a_more'",
               "count []");
  write_file(dir, "url.tsv",
             "code\tname\tunit\tkind\tdirection\tmin\tmax\tmeasure_url\n"
             "a_url\tG\tcount\tcount\tlower_is_better\t0\t9\thttps://x.org/M\n");
  snprintf(path, sizeof(path), "%s/url.tsv", dir);
  assert_int_equal(migrate(fx->conn, dir, path, false, &r, &err), OC_ERR_CONFIG);
  assert_string_equal(err.msg, "metric 'a_url': measure_url: outcomes.metric_catalog has no "
                               "such column before migration 0008");
  oc_migrate_report_release(&r);
  exec_ok(fx->conn, "DELETE FROM outcomes.metric_catalog WHERE code = 'a_more'");

  /* A dry run reads the table that has no measure_url yet. */
  snprintf(path, sizeof(path), "%s/new.tsv", dir);
  if (migrate(fx->conn, shipped_sql_dir(), path, true, &r, &err) != 0)
    fail_msg("dry run before 0008: %s", err.msg);
  assert_int_equal(r.n_new, 1);
  assert_int_equal(r.n_cat_diffs, 5);
  assert_string_equal(r.cat_diffs[0], "a_days: unit: file \"d\" vs database \"days\"");
  assert_string_equal(r.cat_diffs[1], "a_rate: unit: file \"1\" vs database \"ratio\"");
  assert_string_equal(r.cat_diffs[2], "a_count: unit: file \"{count}\" vs database \"count\"");
  assert_string_equal(r.cat_diffs[3], "a_usd: unit: file \"[USD]\" vs database \"usd\"");
  assert_string_equal(r.cat_diffs[4], "a_fte: unit: file \"{FTE}\" vs database \"fte\"");
  oc_migrate_report_release(&r);
  if (migrate_sql(fx->conn, shipped_sql_dir(), false, &r, &err) != 0)
    fail_msg("0008: %s", err.msg);
  assert_int_equal(r.n_new, 1);
  assert_string_equal(r.migrations[r.n_migrations - 1].name, "catalog_ucum");
  oc_migrate_report_release(&r);
  expect_query(fx->conn,
               "SELECT string_agg(code || '=' || unit, ',' ORDER BY code) || ' ' "
               "|| count(*) FILTER (WHERE seed IS NULL) || ' ' "
               "|| count(*) FILTER (WHERE measure_url IS NULL) "
               "FROM outcomes.metric_catalog",
               "a_count={count},a_days=d,a_fte={FTE},a_rate=1,a_usd=[USD] 1 5");
  expect_query(fx->conn,
               "SELECT string_agg(metric || ' ' || unit || ' ' || "
               "coalesce(measure_url, '-'), ',' ORDER BY metric) FROM outcomes.metrics",
               "a_count {count} -,a_days d -,a_fte {FTE} -,a_rate 1 -,a_usd [USD] -");

  listener = connect_db(fx->conninfo, fx->dbname);
  exec_ok(listener, "LISTEN outcomes_catalog");
  snprintf(path, sizeof(path), "%s/new.tsv", dir);
  if (migrate(fx->conn, shipped_sql_dir(), path, false, &r, &err) != 0)
    fail_msg("new catalog: %s", err.msg);
  assert_int_equal(r.cat_unchanged, 5);
  assert_int_equal(r.cat_inserted + r.cat_updated + r.n_cat_diffs, 0);
  oc_migrate_report_release(&r);
  wait_notify(listener, payload, sizeof(payload));
  assert_string_equal(payload, ""); /* nothing written, nothing announced */

  /* 0008 again, as the owner, changes nothing. */
  snap1 = schema_snapshot(fx->conn);
  snprintf(path, sizeof(path), "%.3800s/0008_catalog_ucum.sql", shipped_sql_dir());
  text = oc_test_read_file(path, NULL);
  exec_ok(fx->conn, "BEGIN");
  exec_ok(fx->conn, "SET LOCAL ROLE outcomes_owner");
  exec_ok(fx->conn, text);
  exec_ok(fx->conn, "COMMIT");
  free(text);
  snap2 = schema_snapshot(fx->conn);
  assert_string_equal(snap1, snap2);
  assert_non_null(strstr(snap1, "column metric_catalog.measure_url #11 text nullable=YES"));
  assert_non_null(strstr(snap1, "column metric_catalog.seed #8 text nullable=YES default= "));
  assert_non_null(strstr(snap1, "UNIQUE (measure_url) DEFERRABLE INITIALLY DEFERRED"));
  free(snap1);
  free(snap2);
  expect_query(fx->conn, "SELECT string_agg(unit, ',' ORDER BY code) FROM outcomes.metric_catalog",
               "{count},d,{FTE},1,[USD]");
  wait_notify(listener, payload, sizeof(payload)); /* its statements wrote (no rows) */
  assert_string_equal(payload, "update");

  /* Any writer is announced: a sync, and an operator's statement. */
  exec_ok(fx->conn, "UPDATE outcomes.metric_catalog SET name = 'A2' WHERE code = 'a_days'");
  wait_notify(listener, payload, sizeof(payload));
  assert_string_equal(payload, "update");
  snprintf(path, sizeof(path), "%s/new.tsv", dir);
  if (migrate(fx->conn, shipped_sql_dir(), path, false, &r, &err) != 0)
    fail_msg("sync: %s", err.msg);
  assert_int_equal(r.cat_updated, 1);
  assert_int_equal(r.n_cat_diffs, 1);
  assert_string_equal(r.cat_diffs[0], "a_days: name: file \"A\" vs database \"A2\"");
  oc_migrate_report_release(&r);
  wait_notify(listener, payload, sizeof(payload));
  assert_string_equal(payload, "update,insert"); /* the upsert fires both */
  exec_ok(fx->conn, "DELETE FROM outcomes.metric_catalog WHERE code = 'a_fte'");
  wait_notify(listener, payload, sizeof(payload));
  assert_string_equal(payload, "delete");
  PQfinish(listener);
}

static void test_concurrent_migrators_apply_each_migration_once(void **state) {
  fixture_t *fx = *state;
  size_t nfiles = count_sql_files(shipped_sql_dir());
  oc_migrate_report_t r;
  oc_err_t err;
  int status = 0;
  char *s, want[64];
  pid_t pid;

  fflush(NULL);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    PGconn *c = NULL;
    oc_pg_connect_opts_t o = {.dbname = fx->dbname};
    int rc = oc_pg_connect(fx->conninfo, &o, &c, &err);
    if (rc == 0)
      rc = oc_migrate_run(c, shipped_sql_dir(), shipped_catalog(), NULL, NULL, &err);
    if (rc != 0)
      fprintf(stderr, "child: %s\n", err.msg);
    PQfinish(c);
    _exit(rc == 0 ? 0 : 1);
  }
  int rc = migrate(fx->conn, shipped_sql_dir(), shipped_catalog(), false, &r, &err);
  assert_int_equal(waitpid(pid, &status, 0), pid);
  if (rc != 0)
    fail_msg("parent: %s", err.msg);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  assert_true(r.n_new == 0 || r.n_new == nfiles); /* one of the two did all the work */
  oc_migrate_report_release(&r);
  s = query_text(fx->conn, "SELECT count(*) || ' ' || count(DISTINCT version) "
                           "FROM outcomes.schema_migrations");
  snprintf(want, sizeof(want), "%zu %zu", nfiles, nfiles);
  assert_string_equal(s, want);
  free(s);
}

static void test_non_member_runs_as_itself(void **state) {
  fixture_t *fx = *state;
  const char *dir = make_tmpdir(fx);
  oc_migrate_opts_t opts = {.skip_catalog = true, .owner_role = "outcomes_analyst"};
  oc_migrate_report_t r;
  oc_err_t err;
  char sql[512];

  snprintf(fx->role, sizeof(fx->role), "%s", oc_test_unique_name("oc_test_mig_user"));
  snprintf(sql, sizeof(sql), "CREATE ROLE \"%s\" LOGIN", fx->role);
  exec_ok(fx->admin, sql);
  /* The user may create schemas in this database but is no member of the
   * owner role, which exists (0001 of the shipped set or an earlier test). */
  exec_ok(fx->admin, "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = "
                     "'outcomes_analyst') THEN CREATE ROLE outcomes_analyst NOLOGIN; "
                     "END IF; END $$");
  snprintf(sql, sizeof(sql), "GRANT CREATE ON DATABASE \"%s\" TO \"%s\"", fx->dbname, fx->role);
  exec_ok(fx->conn, sql);
  snprintf(sql, sizeof(sql), "SET SESSION AUTHORIZATION \"%s\"", fx->role);
  exec_ok(fx->conn, sql);

  write_file(dir, "0001_a.sql", "CREATE TABLE outcomes.a (x int);\n");
  write_file(dir, "0002_b.sql", "CREATE TABLE outcomes.b (x int);\n");
  oc_migrate_report_init(&r);
  if (oc_migrate_run(fx->conn, dir, NULL, &opts, &r, &err) != 0)
    fail_msg("%s", err.msg);
  assert_int_equal(r.n_new, 2);
  assert_false(r.migrations[1].as_owner);
  assert_false(r.catalog_synced);
  oc_migrate_report_release(&r);
  expect_query(fx->conn,
               "SELECT pg_get_userbyid(relowner) = current_user "
               "FROM pg_class WHERE oid = 'outcomes.b'::regclass",
               "t");
  exec_ok(fx->conn, "RESET SESSION AUTHORIZATION");
}


static void test_pg_errors_carry_sqlstate_and_flags(void **state) {
  fixture_t *fx = *state;
  const char *params[2] = {"7", NULL};
  char buf[32], sql[128];
  bool is_null = false;
  oc_err_t err;

  exec_ok(fx->conn, "CREATE TABLE t (id int PRIMARY KEY, note text)");
  assert_int_equal(
      oc_pg_exec_params(fx->conn, "INSERT INTO t VALUES ($1, $2)", 2, params, NULL, &err), 0);
  assert_int_equal(
      oc_pg_exec_params(fx->conn, "INSERT INTO t VALUES ($1, $2)", 2, params, NULL, &err),
      OC_ERR_PG);
  assert_non_null(strstr(err.msg, ": SQLSTATE 23505: duplicate key value violates unique "
                                  "constraint \"t_pkey\" (Key (id)=(7) already exists.)"));
  assert_false(err.retriable);
  assert_false(err.fatal);
  assert_int_equal(oc_pg_query_value(fx->conn, "SELECT note FROM t WHERE id = $1", 1, params, buf,
                                     sizeof(buf), &is_null, &err),
                   0);
  assert_true(is_null);
  assert_int_equal(oc_pg_query_value(fx->conn, "SELECT note FROM t WHERE id = 8", 0, NULL, buf,
                                     sizeof(buf), NULL, &err),
                   OC_ERR_NOT_FOUND);
  assert_int_equal(
      oc_pg_query_value(fx->conn, "SELECT repeat('x', 40)", 0, NULL, buf, sizeof(buf), NULL, &err),
      OC_ERR_LIMIT);
  assert_int_equal(oc_pg_exec(fx->conn, "SELEC 1", &err), OC_ERR_PG);
  assert_string_equal(err.msg, "SELEC 1: SQLSTATE 42601: syntax error at or near \"SELEC\"");

  /* An administrator ends the session: the error is retriable and fatal. */
  snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d)", PQbackendPID(fx->conn));
  exec_ok(fx->admin, sql);
  assert_int_equal(oc_pg_exec(fx->conn, "SELECT 1", &err), OC_ERR_PG);
  assert_true(err.retriable);
  assert_true(err.fatal);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_shipped_migrations_apply_once_and_rerun_changes_nothing,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_dry_run_and_status_change_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_changed_statements_are_refused_naming_the_file, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_comment_edits_are_accepted_statement_edits_refused,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_whole_file_checksum_is_accepted_and_rewritten, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_released_checksums_accept_the_shipped_statements, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_gap_duplicate_and_misnamed_files_are_refused, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_failed_migration_rolls_back_whole_and_names_its_line,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_catalog_sync_updates_and_reports_but_keeps_removed,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_0008_takes_old_units_forward, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_migrators_apply_each_migration_once, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_non_member_runs_as_itself, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pg_errors_carry_sqlstate_and_flags, setup, teardown),
  };
  return cmocka_run_group_tests_name("migrate", tests, NULL, NULL);
}
