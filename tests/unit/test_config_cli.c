/* test_config_cli.c - a program's configuration path: -c FILE, the
 * environment, -X and options in order, bare librdkafka names, -X list. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "outcomes/config.h"
#include "outcomes/log.h"

static const oc_conf_def_t defs[] = {
    {"brokers", OC_CONF_STR, NULL, 0, 0, 0, "OC_TEST_CLI_BROKERS", "bootstrap servers"},
    {"batch.max.records", OC_CONF_INT, "5000", 1, 1000000, 0, "OC_TEST_CLI_BATCH",
     "records per batch"},
    {"log.level", OC_CONF_STR, "info", 0, 0, 0, NULL, "error, warning, notice, info or debug"},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};
static const oc_conf_program_t kafka_prog = {"oc-test", defs, OC_CONF_PASS_KAFKA | OC_CONF_PASS_PG};
static const oc_conf_program_t pg_prog = {"oc-test-pg", defs, OC_CONF_PASS_PG};

static oc_config_t *load(const oc_conf_program_t *prog, const oc_conf_cli_t *cli, int want_rc,
                         oc_err_t *err) {
  oc_config_t *cfg = NULL;
  assert_int_equal(oc_config_load_program(prog, cli, &cfg, err), want_rc);
  if (want_rc)
    assert_null(cfg);
  else
    assert_non_null(cfg);
  return cfg;
}

static void test_sources_in_order_later_wins(void **state) {
  (void)state;
  oc_conf_cli_t cli;
  oc_err_t err;
  memset(&cli, 0, sizeof(cli));
  cli.file = oc_test_write_tmp("batch.max.records=100\nbrokers=file:9092\n");
  setenv("OC_TEST_CLI_BATCH", "200", 1);
  oc_config_t *cfg = load(&kafka_prog, &cli, 0, &err);
  assert_int_equal(oc_config_get_int(cfg, "batch.max.records"), 200);
  assert_string_equal(oc_config_get_str(cfg, "brokers"), "file:9092");
  oc_config_destroy(cfg);

  /* -X and options, in the order given. */
  assert_int_equal(oc_conf_cli_x(&cli, &kafka_prog, "batch.max.records=300", &err), 0);
  assert_int_equal(oc_conf_cli_option(&cli, "batch.max.records", "400", "--batch", &err), 0);
  assert_int_equal(oc_conf_cli_option(&cli, "brokers", "opt:9092", "-b", &err), 0);
  assert_int_equal(oc_conf_cli_x(&cli, &kafka_prog, "brokers=x:9092", &err), 0);
  cfg = load(&kafka_prog, &cli, 0, &err);
  unsetenv("OC_TEST_CLI_BATCH");
  unlink(cli.file);
  assert_int_equal(oc_config_get_int(cfg, "batch.max.records"), 400);
  assert_string_equal(oc_config_get_str(cfg, "brokers"), "x:9092");
  oc_config_destroy(cfg);
}

static void test_errors_name_their_source(void **state) {
  (void)state;
  oc_conf_cli_t cli;
  oc_err_t err;
  memset(&cli, 0, sizeof(cli));
  assert_int_equal(oc_conf_cli_option(&cli, "batch.max.records", "0", "--batch", &err), 0);
  load(&kafka_prog, &cli, OC_ERR_CONFIG, &err);
  assert_string_equal(err.msg, "--batch: batch.max.records: 0 is outside [1, 1000000]");

  memset(&cli, 0, sizeof(cli));
  cli.file = "/nonexistent/oc-test.conf";
  load(&kafka_prog, &cli, OC_ERR_CONFIG, &err);
  assert_string_equal(err.msg, "cannot open configuration file '/nonexistent/oc-test.conf': "
                               "No such file or directory");

  memset(&cli, 0, sizeof(cli));
  assert_int_equal(oc_conf_cli_x(&cli, &kafka_prog, "log.level=loud", &err), 0);
  load(&kafka_prog, &cli, OC_ERR_CONFIG, &err);
  assert_string_equal(err.msg,
                      "log.level: unknown level 'loud' (error, warning, notice, info or debug)");
}

static void test_log_level_is_applied(void **state) {
  (void)state;
  oc_conf_cli_t cli;
  oc_err_t err;
  memset(&cli, 0, sizeof(cli));
  assert_int_equal(oc_conf_cli_x(&cli, &pg_prog, "log.level=debug", &err), 0);
  oc_config_t *cfg = load(&pg_prog, &cli, 0, &err);
  assert_int_equal(oc_log_get_level(), LOG_DEBUG);
  oc_config_destroy(cfg);
  memset(&cli, 0, sizeof(cli));
  cfg = load(&pg_prog, &cli, 0, &err);
  assert_int_equal(oc_log_get_level(), LOG_INFO);
  oc_config_destroy(cfg);
}

/* -X acks=all is kafka.acks where the program talks to Kafka, as in kcat;
 * a name that is neither ours nor librdkafka's stays an unknown key. */
static void test_bare_librdkafka_names(void **state) {
  (void)state;
  oc_conf_cli_t cli;
  oc_err_t err;
  const char *k, *v;
  memset(&cli, 0, sizeof(cli));
  assert_int_equal(oc_conf_cli_x(&cli, &kafka_prog, "acks=all", &err), 0);
  assert_int_equal(oc_conf_cli_x(&cli, &kafka_prog, "linger.ms=50", &err), 0);
  assert_int_equal(oc_conf_cli_x(&cli, &kafka_prog, "kafka.client.id=c1", &err), 0);
  assert_int_equal(oc_conf_cli_x(&cli, &kafka_prog, "plugin.library.paths=/x.so", &err), 0);
  assert_int_equal(oc_conf_cli_x(&cli, &kafka_prog, "pg.sslmode=require", &err), 0);
  oc_config_t *cfg = load(&kafka_prog, &cli, 0, &err);
  assert_int_equal(oc_config_passthrough_count(cfg, "kafka."), 4);
  assert_int_equal(oc_config_passthrough_at(cfg, "kafka.", 0, &k, &v), 0);
  assert_string_equal(k, "acks");
  assert_string_equal(v, "all");
  assert_int_equal(oc_config_passthrough_at(cfg, "kafka.", 1, &k, &v), 0);
  assert_string_equal(k, "linger.ms");
  /* Denied properties pass as kafka.* so that oc_kafka_conf_set refuses
   * them by name. */
  assert_int_equal(oc_config_passthrough_at(cfg, "kafka.", 3, &k, &v), 0);
  assert_string_equal(k, "plugin.library.paths");
  assert_int_equal(oc_config_passthrough_count(cfg, "pg."), 1);
  oc_config_destroy(cfg);

  memset(&cli, 0, sizeof(cli));
  assert_int_equal(oc_conf_cli_x(&cli, &kafka_prog, "bogus.key=1", &err), 0);
  load(&kafka_prog, &cli, OC_ERR_CONFIG, &err);
  assert_string_equal(err.msg, "-X: unknown key 'bogus.key'");

  /* A bare secret is still a secret; its .file form works. */
  memset(&cli, 0, sizeof(cli));
  assert_int_equal(oc_conf_cli_x(&cli, &kafka_prog, "sasl.password=hunter2", &err), 0);
  load(&kafka_prog, &cli, OC_ERR_CONFIG, &err);
  assert_string_equal(err.msg, "-X: 'kafka.sasl.password' is a secret: put it in the "
                               "configuration file or give 'kafka.sasl.password.file=PATH'");
  memset(&cli, 0, sizeof(cli));
  char arg[128];
  const char *pw = oc_test_write_tmp("hunter3\n");
  snprintf(arg, sizeof(arg), "sasl.password.file=%s", pw);
  assert_int_equal(oc_conf_cli_x(&cli, &kafka_prog, arg, &err), 0);
  cfg = load(&kafka_prog, &cli, 0, &err);
  unlink(pw);
  assert_int_equal(oc_config_passthrough_at(cfg, "kafka.", 0, &k, &v), 0);
  assert_string_equal(k, "sasl.password");
  assert_string_equal(v, "hunter3");
  oc_config_destroy(cfg);

  /* A program that does not talk to Kafka takes no librdkafka names. */
  memset(&cli, 0, sizeof(cli));
  assert_int_equal(oc_conf_cli_x(&cli, &pg_prog, "acks=all", &err), 0);
  load(&pg_prog, &cli, OC_ERR_CONFIG, &err);
  assert_string_equal(err.msg, "-X: unknown key 'acks'");
  memset(&cli, 0, sizeof(cli));
  assert_int_equal(oc_conf_cli_x(&cli, &pg_prog, "kafka.acks=all", &err), 0);
  load(&pg_prog, &cli, OC_ERR_CONFIG, &err);
  assert_string_equal(err.msg, "-X: unknown key 'kafka.acks'");
}

static void test_x_list_and_bounds(void **state) {
  (void)state;
  oc_conf_cli_t cli;
  oc_err_t err;
  memset(&cli, 0, sizeof(cli));
  assert_int_equal(oc_conf_cli_x(&cli, &kafka_prog, "list", &err), 0);
  assert_string_equal(cli.list, "list");
  assert_int_equal(cli.n, 0);
  memset(&cli, 0, sizeof(cli));
  assert_int_equal(oc_conf_cli_x(&cli, &kafka_prog, "kafka.list", &err), 0);
  assert_string_equal(cli.list, "kafka.list");
  memset(&cli, 0, sizeof(cli));
  assert_int_equal(oc_conf_cli_x(&cli, &pg_prog, "kafka.list", &err), 0);
  assert_null(cli.list);
  load(&pg_prog, &cli, OC_ERR_CONFIG, &err);
  assert_string_equal(err.msg, "-X: expected key=value, got 'kafka.list'");

  memset(&cli, 0, sizeof(cli));
  for (size_t i = 0; i < OC_CONF_CLI_MAX; i++)
    assert_int_equal(oc_conf_cli_x(&cli, &kafka_prog, "acks=all", &err), 0);
  assert_int_equal(oc_conf_cli_x(&cli, &kafka_prog, "acks=all", &err), OC_ERR_USAGE);
  assert_string_equal(err.msg, "more than 256 -X arguments and options");
  assert_int_equal(oc_conf_cli_option(&cli, "brokers", "b", "-b", &err), OC_ERR_USAGE);
}

static char *help_of(const oc_conf_program_t *prog, const char *what) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  assert_non_null(f);
  if (what)
    oc_config_print_list(prog, what, f);
  else
    oc_config_print_help(prog, f);
  fclose(f);
  return text;
}

static void test_help_lists_keys_and_pass_through(void **state) {
  (void)state;
  char *h = help_of(&kafka_prog, NULL);
  assert_non_null(strstr(h, "\n  batch.max.records            integer  default 5000, env "
                            "OC_TEST_CLI_BATCH\n      records per batch\n"));
  assert_non_null(strstr(h, "  brokers "));
  assert_non_null(strstr(h, "  kafka.<property>"));
  assert_non_null(strstr(h, "  pg.<keyword>"));
  assert_non_null(strstr(h, "oc-test -X kafka.list"));
  char *l = help_of(&kafka_prog, "list");
  assert_string_equal(l, h);
  free(l);
  free(h);
  h = help_of(&pg_prog, NULL);
  assert_non_null(strstr(h, "  pg.<keyword>"));
  assert_null(strstr(h, "kafka"));
  free(h);
  h = help_of(&kafka_prog, "kafka.list");
  assert_non_null(strstr(h, "message.timeout.ms"));
  free(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sources_in_order_later_wins),
      cmocka_unit_test(test_errors_name_their_source),
      cmocka_unit_test(test_log_level_is_applied),
      cmocka_unit_test(test_bare_librdkafka_names),
      cmocka_unit_test(test_x_list_and_bounds),
      cmocka_unit_test(test_help_lists_keys_and_pass_through),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
