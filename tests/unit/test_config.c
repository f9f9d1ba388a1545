/* test_config.c - configuration table, sources, secrets and errors. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outcomes/config.h"

static const oc_conf_def_t defs[] = {
    {"batch.max.records", OC_CONF_INT, "5000", 1, 1000000, 0, "OC_TEST_BATCH", "records per batch"},
    {"batch.max.wait", OC_CONF_MS, "1s", 1, 3600000, 0, NULL, "time bound of a batch"},
    {"batch.max.bytes", OC_CONF_BYTES, "16M", 1024, 1LL << 32, 0, NULL, "bytes per batch"},
    {"migrate", OC_CONF_BOOL, "false", 0, 0, 0, NULL, "apply migrations at start"},
    {"group.id", OC_CONF_STR, "outcomes-rollupd", 0, 0, 0, "OC_TEST_GROUP", "consumer group"},
    {"api.token", OC_CONF_STR, NULL, 0, 0, OC_CONF_SECRET, NULL, "a secret of ours"},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};

static void test_defaults_and_units(void **state) {
  (void)state;
  oc_config_t *cfg = oc_config_new(defs, OC_CONF_PASS_KAFKA | OC_CONF_PASS_PG);
  assert_int_equal(oc_config_get_int(cfg, "batch.max.records"), 5000);
  assert_int_equal(oc_config_get_int(cfg, "batch.max.wait"), 1000);
  assert_int_equal(oc_config_get_int(cfg, "batch.max.bytes"), 16 * 1024 * 1024);
  assert_false(oc_config_get_bool(cfg, "migrate"));
  assert_string_equal(oc_config_get_str(cfg, "group.id"), "outcomes-rollupd");
  assert_null(oc_config_get_str(cfg, "api.token"));
  oc_config_destroy(cfg);
}

static void test_file_env_then_command_line_win_in_order(void **state) {
  (void)state;
  oc_err_t err;
  oc_config_t *cfg = oc_config_new(defs, OC_CONF_PASS_KAFKA | OC_CONF_PASS_PG);
  const char *path =
      oc_test_write_tmp("# comment\n\n  batch.max.records = 100 \nbatch.max.wait=250ms\n"
                        "kafka.acks=all\npg.sslmode=verify-full\ngroup.id=from-file\n");
  assert_int_equal(oc_config_load_file(cfg, path, &err), 0);
  unlink(path);
  setenv("OC_TEST_BATCH", "200", 1);
  assert_int_equal(oc_config_load_env(cfg, &err), 0);
  unsetenv("OC_TEST_BATCH");
  assert_int_equal(oc_config_get_int(cfg, "batch.max.records"), 200);
  assert_int_equal(oc_config_set_arg(cfg, "batch.max.records=300", &err), 0);
  assert_int_equal(oc_config_set_arg(cfg, "kafka.acks=1", &err), 0);
  assert_int_equal(oc_config_get_int(cfg, "batch.max.records"), 300);
  assert_int_equal(oc_config_get_int(cfg, "batch.max.wait"), 250);
  assert_string_equal(oc_config_get_str(cfg, "group.id"), "from-file");

  const char *k, *v;
  assert_int_equal(oc_config_passthrough_count(cfg, "kafka."), 1);
  assert_int_equal(oc_config_passthrough_at(cfg, "kafka.", 0, &k, &v), 0);
  assert_string_equal(k, "acks");
  assert_string_equal(v, "1");
  assert_int_equal(oc_config_passthrough_count(cfg, "pg."), 1);
  assert_int_equal(oc_config_passthrough_at(cfg, "pg.", 0, &k, &v), 0);
  assert_string_equal(k, "sslmode");
  assert_string_equal(v, "verify-full");
  oc_config_destroy(cfg);
}

static void test_unknown_key_named_with_origin(void **state) {
  (void)state;
  oc_err_t err;
  oc_config_t *cfg = oc_config_new(defs, OC_CONF_PASS_KAFKA | OC_CONF_PASS_PG);
  assert_int_equal(oc_config_set_arg(cfg, "batch.size=10", &err), OC_ERR_CONFIG);
  assert_string_equal(err.msg, "-X: unknown key 'batch.size'");
  const char *path = oc_test_write_tmp("group.id=g\nbogus.key = 1\n");
  assert_int_equal(oc_config_load_file(cfg, path, &err), OC_ERR_CONFIG);
  char want[256];
  snprintf(want, sizeof(want), "%s:2: unknown key 'bogus.key'", path);
  assert_string_equal(err.msg, want);
  unlink(path);
  path = oc_test_write_tmp("no equals sign here\n");
  assert_int_equal(oc_config_load_file(cfg, path, &err), OC_ERR_CONFIG);
  snprintf(want, sizeof(want), "%s:1: expected key=value", path);
  assert_string_equal(err.msg, want);
  unlink(path);
  oc_config_destroy(cfg);
}

static void test_nul_byte_and_long_line_are_refused(void **state) {
  (void)state;
  oc_err_t err;
  oc_config_t *cfg = oc_config_new(defs, OC_CONF_PASS_KAFKA | OC_CONF_PASS_PG);
  char text[] = "group.id=a\nmigrate=tr\0ue\n";
  FILE *f = fmemopen(text, sizeof(text) - 1, "r");
  assert_int_equal(oc_config_load_stream(cfg, f, "t.conf", &err), OC_ERR_CONFIG);
  fclose(f);
  assert_string_equal(err.msg, "t.conf:2: NUL byte in line");

  size_t n = 9000;
  char *big = malloc(n + 16);
  memcpy(big, "group.id=", 9);
  memset(big + 9, 'x', n - 9);
  big[n] = '\n';
  f = fmemopen(big, n + 1, "r");
  assert_int_equal(oc_config_load_stream(cfg, f, "t.conf", &err), OC_ERR_CONFIG);
  fclose(f);
  free(big);
  assert_string_equal(err.msg, "t.conf:1: line longer than 8192 bytes");
  assert_string_equal(oc_config_get_str(cfg, "group.id"), "a");
  oc_config_destroy(cfg);
}

static void test_bad_values_are_refused(void **state) {
  (void)state;
  oc_err_t err;
  oc_config_t *cfg = oc_config_new(defs, OC_CONF_PASS_KAFKA | OC_CONF_PASS_PG);
  assert_int_equal(oc_config_set_arg(cfg, "batch.max.records=0", &err), OC_ERR_CONFIG);
  assert_string_equal(err.msg, "-X: batch.max.records: 0 is outside [1, 1000000]");
  assert_int_equal(oc_config_set_arg(cfg, "batch.max.wait=5 parsecs", &err), OC_ERR_CONFIG);
  assert_string_equal(err.msg,
                      "-X: batch.max.wait: '5 parsecs' is not a duration (e.g. 500ms, 5s, 2m)");
  assert_int_equal(oc_config_set_arg(cfg, "migrate=maybe", &err), OC_ERR_CONFIG);
  assert_string_equal(err.msg, "-X: migrate: 'maybe' is not a boolean (true/false)");
  assert_int_equal(oc_config_set_arg(cfg, "batch.max.records", &err), OC_ERR_CONFIG);
  assert_string_equal(err.msg, "-X: expected key=value, got 'batch.max.records'");
  /* The old value stands after a refused one. */
  assert_int_equal(oc_config_get_int(cfg, "batch.max.records"), 5000);
  oc_config_destroy(cfg);
}

static void test_secrets_only_from_files(void **state) {
  (void)state;
  oc_err_t err;
  oc_config_t *cfg = oc_config_new(defs, OC_CONF_PASS_KAFKA | OC_CONF_PASS_PG);
  assert_int_equal(oc_config_set_arg(cfg, "kafka.sasl.password=hunter2", &err), OC_ERR_CONFIG);
  assert_string_equal(err.msg, "-X: 'kafka.sasl.password' is a secret: put it in the "
                               "configuration file or give 'kafka.sasl.password.file=PATH'");
  assert_null(strstr(err.msg, "hunter2"));
  assert_int_equal(oc_config_set_arg(cfg, "api.token=abc", &err), OC_ERR_CONFIG);

  const char *secret = oc_test_write_tmp("s3cr3t-from-file\n");
  char arg[256];
  snprintf(arg, sizeof(arg), "kafka.sasl.password.file=%s", secret);
  assert_int_equal(oc_config_set_arg(cfg, arg, &err), 0);
  const char *k, *v;
  assert_int_equal(oc_config_passthrough_at(cfg, "kafka.", 0, &k, &v), 0);
  assert_string_equal(k, "sasl.password");
  assert_string_equal(v, "s3cr3t-from-file");

  /* Relative paths are read from $CREDENTIALS_DIRECTORY. */
  setenv("CREDENTIALS_DIRECTORY", "/tmp", 1);
  snprintf(arg, sizeof(arg), "api.token.file=%s", secret + strlen("/tmp/"));
  assert_int_equal(oc_config_set_arg(cfg, arg, &err), 0);
  unsetenv("CREDENTIALS_DIRECTORY");
  assert_string_equal(oc_config_get_str(cfg, "api.token"), "s3cr3t-from-file");
  unlink(secret);

  const char *conf = oc_test_write_tmp("kafka.ssl.key.password=from-conf\n");
  assert_int_equal(oc_config_load_file(cfg, conf, &err), 0);
  unlink(conf);

  char dump[4096] = {0};
  FILE *f = fmemopen(dump, sizeof(dump) - 1, "w");
  oc_config_dump(cfg, f);
  fclose(f);
  assert_null(strstr(dump, "s3cr3t"));
  assert_null(strstr(dump, "from-conf"));
  assert_non_null(strstr(dump, "kafka.sasl.password=<hidden>"));
  assert_non_null(strstr(dump, "api.token=<hidden>"));
  assert_int_equal(oc_config_set_arg(cfg, "kafka.ssl.key.password.file=/nonexistent/x", &err),
                   OC_ERR_CONFIG);
  assert_non_null(strstr(err.msg, "cannot open '/nonexistent/x'"));
  oc_config_destroy(cfg);
}

static void test_password_inside_conninfo_only_from_files(void **state) {
  (void)state;
  static const oc_conf_def_t cdefs[] = {
      {"conninfo", OC_CONF_STR, "", 0, 0, OC_CONF_CONNINFO, "OC_TEST_CONNINFO", "x"},
      {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
  };
  oc_err_t err;
  oc_config_t *cfg = oc_config_new(cdefs, OC_CONF_PASS_KAFKA | OC_CONF_PASS_PG);
  assert_int_equal(oc_config_set_arg(cfg, "conninfo=host=db dbname=o password=pw1", &err),
                   OC_ERR_CONFIG);
  assert_string_equal(err.msg, "-X: 'conninfo' holds a password: use a pgpass file "
                               "(PGPASSFILE), 'pg.password.file=PATH' or the configuration file");
  assert_int_equal(oc_config_set_arg(cfg, "conninfo=postgresql://u:pw2@db/o", &err), OC_ERR_CONFIG);
  assert_int_equal(oc_config_set_arg(cfg, "conninfo=host=db sslpassword=pw4", &err), OC_ERR_CONFIG);
  setenv("OC_TEST_CONNINFO", "host=db password='pw3'", 1);
  assert_int_equal(oc_config_load_env(cfg, &err), OC_ERR_CONFIG);
  assert_null(strstr(err.msg, "pw3"));
  setenv("OC_TEST_CONNINFO", "host=db dbname=o user=rollupd", 1);
  assert_int_equal(oc_config_load_env(cfg, &err), 0);
  unsetenv("OC_TEST_CONNINFO");
  assert_string_equal(oc_config_get_str(cfg, "conninfo"), "host=db dbname=o user=rollupd");
  const char *path = oc_test_write_tmp("conninfo=host=db password=from-file\n");
  assert_int_equal(oc_config_load_file(cfg, path, &err), 0);
  unlink(path);
  oc_config_destroy(cfg);
}

static void test_secret_in_environment_is_refused(void **state) {
  (void)state;
  static const oc_conf_def_t sdefs[] = {
      {"pg.password.hint", OC_CONF_STR, NULL, 0, 0, 0, NULL, "x"},
      {"db.password", OC_CONF_STR, NULL, 0, 0, 0, "OC_TEST_DBPW", "x"},
      {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
  };
  oc_err_t err;
  oc_config_t *cfg = oc_config_new(sdefs, OC_CONF_PASS_KAFKA | OC_CONF_PASS_PG);
  setenv("OC_TEST_DBPW", "pw", 1);
  assert_int_equal(oc_config_load_env(cfg, &err), OC_ERR_CONFIG);
  unsetenv("OC_TEST_DBPW");
  assert_non_null(strstr(err.msg, "environment OC_TEST_DBPW: 'db.password' is a secret"));
  oc_config_destroy(cfg);
}

static void test_declared_key_wins_over_pass_through_prefix(void **state) {
  (void)state;
  static const oc_conf_def_t kdefs[] = {
      {"kafka.timeout", OC_CONF_MS, "10s", 100, 600000, 0, NULL, "a key of ours"},
      {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
  };
  oc_err_t err;
  oc_config_t *cfg = oc_config_new(kdefs, OC_CONF_PASS_KAFKA);
  assert_int_equal(oc_config_set_arg(cfg, "kafka.timeout=5s", &err), 0);
  assert_int_equal(oc_config_get_int(cfg, "kafka.timeout"), 5000);
  assert_int_equal(oc_config_passthrough_count(cfg, "kafka."), 0);
  assert_int_equal(oc_config_set_arg(cfg, "kafka.timeout=5 years", &err), OC_ERR_CONFIG);
  assert_string_equal(err.msg,
                      "-X: kafka.timeout: '5 years' is not a duration (e.g. 500ms, 5s, 2m)");
  oc_config_destroy(cfg);
}

static void test_pass_through_only_where_the_program_passes_it(void **state) {
  (void)state;
  oc_err_t err;
  oc_config_t *cfg = oc_config_new(defs, OC_CONF_PASS_PG);
  assert_int_equal(oc_config_set_arg(cfg, "pg.sslmode=verify-full", &err), 0);
  assert_int_equal(oc_config_set_arg(cfg, "kafka.acks=1", &err), OC_ERR_CONFIG);
  assert_string_equal(err.msg, "-X: unknown key 'kafka.acks'");
  assert_int_equal(oc_config_set_arg(cfg, "kafka.sasl.password.file=/x", &err), OC_ERR_CONFIG);
  assert_string_equal(err.msg, "-X: unknown key 'kafka.sasl.password'");
  oc_config_destroy(cfg);
  cfg = oc_config_new(defs, 0);
  assert_int_equal(oc_config_set_arg(cfg, "pg.sslmode=verify-full", &err), OC_ERR_CONFIG);
  assert_string_equal(err.msg, "-X: unknown key 'pg.sslmode'");
  oc_config_destroy(cfg);
}

static void test_conninfo_has_password(void **state) {
  (void)state;
  assert_true(oc_config_conninfo_has_password("host=db password=x"));
  assert_true(oc_config_conninfo_has_password("postgresql://u:pw@db/o"));
  assert_false(oc_config_conninfo_has_password("host=db user=u"));
  assert_false(oc_config_conninfo_has_password("postgresql://u@db/o"));
  assert_false(oc_config_conninfo_has_password("host=db password="));
  assert_false(oc_config_conninfo_has_password(""));
  assert_false(oc_config_conninfo_has_password(NULL));
  assert_false(oc_config_conninfo_has_password("host='unterminated"));
}

/* conninfo.file: lines joined with spaces, '#' lines skipped, a password
 * accepted (a file is where it belongs). */
static void test_conninfo_file_joins_lines(void **state) {
  (void)state;
  static const oc_conf_def_t cdefs[] = {
      {"conninfo", OC_CONF_STR, "", 0, 0, OC_CONF_CONNINFO, NULL, "x"},
      {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
  };
  oc_err_t err;
  char arg[128];
  oc_config_t *cfg = oc_config_new(cdefs, OC_CONF_PASS_PG);
  const char *path = oc_test_write_tmp("# the migrating login\nhost=db dbname=o  \n\n  user=mig\r\n"
                                       "password=pw1\n");
  snprintf(arg, sizeof(arg), "conninfo.file=%s", path);
  assert_int_equal(oc_config_set_arg(cfg, arg, &err), 0);
  assert_string_equal(oc_config_get_str(cfg, "conninfo"), "host=db dbname=o user=mig password=pw1");
  unlink(path);
  oc_config_destroy(cfg);
}

/* Secrets by name beyond "password" and "secret": librdkafka's PEM key and
 * OAUTHBEARER configuration; libpq's key file path is not one. */
static void test_key_material_is_a_secret(void **state) {
  (void)state;
  oc_err_t err;
  oc_config_t *cfg = oc_config_new(defs, OC_CONF_PASS_KAFKA | OC_CONF_PASS_PG);
  assert_true(oc_config_key_is_secret("kafka.ssl.key.pem"));
  assert_true(oc_config_key_is_secret("kafka.sasl.oauthbearer.config"));
  assert_true(oc_config_key_is_secret("kafka.ssl.keystore.password"));
  assert_false(oc_config_key_is_secret("kafka.ssl.key.location"));
  assert_false(oc_config_key_is_secret("pg.sslkey"));
  assert_int_equal(oc_config_set_arg(cfg, "kafka.ssl.key.pem=-----BEGIN PRIVATE KEY-----", &err),
                   OC_ERR_CONFIG);
  assert_null(strstr(err.msg, "BEGIN"));
  assert_int_equal(
      oc_config_set_arg(cfg, "kafka.sasl.oauthbearer.config=principal=x secret=y", &err),
      OC_ERR_CONFIG);
  oc_config_destroy(cfg);
}

/* The dump hides a password inside a conninfo, in either form. */
static void test_dump_hides_a_conninfo_password(void **state) {
  (void)state;
  static const oc_conf_def_t cdefs[] = {
      {"conninfo", OC_CONF_STR, "", 0, 0, OC_CONF_CONNINFO, NULL, "x"},
      {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
  };
  static const char *const files[] = {
      "conninfo=host=db dbname=o password=pw-in-clear sslpassword=pw-in-clear\n",
      "conninfo=postgresql://u:pw-in-clear@db/o\n"};
  for (size_t i = 0; i < 2; i++) {
    oc_err_t err;
    char dump[4096] = {0};
    oc_config_t *cfg = oc_config_new(cdefs, OC_CONF_PASS_PG);
    const char *path = oc_test_write_tmp(files[i]);
    assert_int_equal(oc_config_load_file(cfg, path, &err), 0);
    unlink(path);
    FILE *f = fmemopen(dump, sizeof(dump) - 1, "w");
    oc_config_dump(cfg, f);
    fclose(f);
    assert_null(strstr(dump, "pw-in-clear"));
    assert_non_null(strstr(dump, "password=<hidden>"));
    assert_non_null(strstr(dump, "host='db'"));
    oc_config_destroy(cfg);
  }
}

/* A secret file, or a configuration file holding a secret, that others may
 * read is refused, as libpq refuses such a .pgpass: world access never,
 * group access only when root owns the file (root:outcomes 0640). */
static void test_secret_files_readable_by_others_are_refused(void **state) {
  (void)state;
  oc_err_t err;
  char arg[256];
  oc_config_t *cfg = oc_config_new(defs, OC_CONF_PASS_KAFKA | OC_CONF_PASS_PG);
  const char *secret = oc_test_write_tmp("s3cr3t\n");
  char spath[64];
  snprintf(spath, sizeof(spath), "%s", secret);
  assert_int_equal(chmod(spath, 0644), 0);
  snprintf(arg, sizeof(arg), "kafka.sasl.password.file=%s", spath);
  assert_int_equal(oc_config_set_arg(cfg, arg, &err), OC_ERR_CONFIG);
  char want[256];
  snprintf(want, sizeof(want),
           "-X: kafka.sasl.password.file: '%s' may be read by others (mode 644): chmod 600, or "
           "640 with root as its owner",
           spath);
  assert_string_equal(err.msg, want);
  assert_int_equal(chmod(spath, 0600), 0);
  assert_int_equal(oc_config_set_arg(cfg, arg, &err), 0);
  unlink(spath);

  const char *conf = oc_test_write_tmp("group.id=g\nkafka.sasl.password=in-the-file\n");
  char cpath[64];
  snprintf(cpath, sizeof(cpath), "%s", conf);
  assert_int_equal(chmod(cpath, 0604), 0);
  assert_int_equal(oc_config_load_file(cfg, cpath, &err), OC_ERR_CONFIG);
  snprintf(want, sizeof(want),
           "%s:2: 'kafka.sasl.password' is a secret in a file others may read (mode 604): chmod "
           "600, or 640 with root as its owner",
           cpath);
  assert_string_equal(err.msg, want);
  assert_int_equal(chmod(cpath, 0600), 0);
  assert_int_equal(oc_config_load_file(cfg, cpath, &err), 0);
  unlink(cpath);
  /* Without a secret, a world-readable configuration file is fine. */
  conf = oc_test_write_tmp("group.id=g\n");
  snprintf(cpath, sizeof(cpath), "%s", conf);
  assert_int_equal(chmod(cpath, 0644), 0);
  assert_int_equal(oc_config_load_file(cfg, cpath, &err), 0);
  unlink(cpath);
  oc_config_destroy(cfg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults_and_units),
      cmocka_unit_test(test_file_env_then_command_line_win_in_order),
      cmocka_unit_test(test_unknown_key_named_with_origin),
      cmocka_unit_test(test_bad_values_are_refused),
      cmocka_unit_test(test_nul_byte_and_long_line_are_refused),
      cmocka_unit_test(test_secrets_only_from_files),
      cmocka_unit_test(test_key_material_is_a_secret),
      cmocka_unit_test(test_dump_hides_a_conninfo_password),
      cmocka_unit_test(test_secret_files_readable_by_others_are_refused),
      cmocka_unit_test(test_secret_in_environment_is_refused),
      cmocka_unit_test(test_password_inside_conninfo_only_from_files),
      cmocka_unit_test(test_declared_key_wins_over_pass_through_prefix),
      cmocka_unit_test(test_pass_through_only_where_the_program_passes_it),
      cmocka_unit_test(test_conninfo_has_password),
      cmocka_unit_test(test_conninfo_file_joins_lines),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
