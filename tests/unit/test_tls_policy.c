/* test_tls_policy.c - a server that is not local is reached only through
 * verified TLS unless the configuration says insecure (lib/tls_policy.c). */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "outcomes/kafka.h"
#include "outcomes/tls_policy.h"

/* The parameters as oc_pg_connect passes them: ours, then the conninfo as
 * the first dbname, then pg.* keys (extra_key may be NULL). */
static int pg_check(const char *conninfo, const char *extra_key, const char *extra_val,
                    bool insecure, oc_err_t *err) {
  const char *keys[] = {"application_name", "connect_timeout", "dbname", extra_key, NULL};
  const char *vals[] = {"t", "5", conninfo, extra_val, NULL};
  return oc_pg_tls_check(keys, vals, insecure, err);
}

static void test_local_hosts(void **state) {
  (void)state;
  static const char *const local[] = {"",    "localhost",           "127.0.0.1", "127.1.2.3",
                                      "::1", "/var/run/postgresql", "@abstract"};
  static const char *const remote[] = {
      "db.example.org",       "10.0.0.5", "128.0.0.1", "::2", "localhost.example.org",
      "127.0.0.1.example.org"};
  for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
    assert_true(oc_host_is_local(local[i], strlen(local[i])));
  for (size_t i = 0; i < sizeof(remote) / sizeof(remote[0]); i++)
    assert_false(oc_host_is_local(remote[i], strlen(remote[i])));
}

static void test_postgresql_off_this_host_needs_verify_full(void **state) {
  (void)state;
  oc_err_t err;
  unsetenv("PGHOST");
  unsetenv("PGHOSTADDR");
  unsetenv("PGSSLMODE");
  assert_int_equal(pg_check("host=db.example.org dbname=o password=pw", NULL, NULL, false, &err),
                   OC_ERR_CONFIG);
  assert_string_equal(err.msg, "PostgreSQL host 'db.example.org' is not on this host: sslmode "
                               "must be verify-full, not 'prefer' (or set pg.insecure=true)");
  assert_int_equal(
      pg_check("postgresql://u:pw@db.example.org/o?sslmode=require", NULL, NULL, false, &err),
      OC_ERR_CONFIG);
  assert_non_null(strstr(err.msg, "not 'require'"));
  assert_null(strstr(err.msg, "pw"));
  assert_int_equal(pg_check("host=127.0.0.1,db2.example.org", NULL, NULL, false, &err),
                   OC_ERR_CONFIG);
  assert_non_null(strstr(err.msg, "'db2.example.org'"));
  assert_int_equal(pg_check("hostaddr=10.0.0.5 dbname=o", NULL, NULL, false, &err), OC_ERR_CONFIG);
  assert_non_null(strstr(err.msg, "'10.0.0.5'"));

  assert_int_equal(pg_check("host=db.example.org sslmode=verify-full", NULL, NULL, false, &err), 0);
  assert_int_equal(pg_check("host=db.example.org", "sslmode", "verify-full", false, &err), 0);
  assert_int_equal(
      pg_check("host=db.example.org sslmode=verify-full", "sslmode", "disable", false, &err),
      OC_ERR_CONFIG); /* the later value wins, as in libpq */
  assert_int_equal(pg_check("host=db.example.org", NULL, NULL, true, &err), 0);
  assert_int_equal(pg_check("host=127.0.0.1 port=5432 dbname=o", NULL, NULL, false, &err), 0);
  assert_int_equal(pg_check("", NULL, NULL, false, &err), 0);
  assert_int_equal(pg_check("dbname=o", "host", "/run/postgresql", false, &err), 0);

  /* An empty value is no value, for libpq and for the check. */
  setenv("PGHOST", "db.example.org", 1);
  assert_int_equal(pg_check("dbname=o", "host", "", false, &err), OC_ERR_CONFIG);
  unsetenv("PGHOST");
  assert_int_equal(pg_check("host=127.0.0.1 sslmode=", NULL, NULL, false, &err), 0);

  /* The environment is under the parameters. */
  setenv("PGHOST", "db.example.org", 1);
  assert_int_equal(pg_check("dbname=o", NULL, NULL, false, &err), OC_ERR_CONFIG);
  setenv("PGSSLMODE", "verify-full", 1);
  assert_int_equal(pg_check("dbname=o", NULL, NULL, false, &err), 0);
  unsetenv("PGHOST");
  unsetenv("PGSSLMODE");
}

/* A service file names the host: only what libpq resolved tells. */
static void test_postgresql_service_files_are_resolved_first(void **state) {
  (void)state;
  oc_err_t err;
  char path[] = "/tmp/oc_test_pgservice_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  static const char text[] = "[remote]\nhost=192.0.2.1\nconnect_timeout=1\n"
                             "[remote_tls]\nhost=192.0.2.1\nsslmode=verify-full\n";
  assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
  close(fd);
  setenv("PGSERVICEFILE", path, 1);
  unsetenv("PGHOST");
  unsetenv("PGSSLMODE");
  /* The parameters alone look local. */
  assert_int_equal(pg_check("service=remote", NULL, NULL, false, &err), 0);
  const char *keys[] = {"dbname", NULL};
  const char *vals[] = {"service=remote dbname=o", NULL};
  PGconn *conn = PQconnectStartParams(keys, vals, 1);
  assert_non_null(conn);
  assert_int_equal(oc_pg_tls_check_conn(conn, false, &err), OC_ERR_CONFIG);
  assert_string_equal(err.msg, "PostgreSQL host '192.0.2.1' is not on this host: sslmode must be "
                               "verify-full, not 'prefer' (or set pg.insecure=true)");
  assert_int_equal(oc_pg_tls_check_conn(conn, true, &err), 0);
  PQfinish(conn);
  vals[0] = "service=remote_tls dbname=o";
  conn = PQconnectStartParams(keys, vals, 1);
  assert_non_null(conn);
  assert_int_equal(oc_pg_tls_check_conn(conn, false, &err), 0);
  PQfinish(conn);
  unsetenv("PGSERVICEFILE");
  unlink(path);
}

static rd_kafka_conf_t *kconf(const char *servers, const char *const *kv) {
  oc_err_t err;
  rd_kafka_conf_t *c = oc_kafka_conf_new(servers, &err);
  assert_non_null(c);
  for (; kv && kv[0]; kv += 2)
    assert_int_equal(oc_kafka_conf_set(c, kv[0], kv[1], NULL, &err), 0);
  return c;
}

static int kafka_check(const char *servers, const char *const *kv, bool insecure, oc_err_t *err) {
  rd_kafka_conf_t *c = kconf(servers, kv);
  int rc = oc_kafka_tls_check(c, insecure, err);
  rd_kafka_conf_destroy(c);
  return rc;
}

static void test_kafka_off_this_host_needs_verified_tls(void **state) {
  (void)state;
  oc_err_t err;
  static const char *const ssl[] = {"security.protocol", "ssl", NULL};
  static const char *const sasl_ssl[] = {"security.protocol", "sasl_ssl", "sasl.mechanisms",
                                         "SCRAM-SHA-512", NULL};
  static const char *const sasl_plain[] = {"security.protocol", "sasl_plaintext", "sasl.mechanisms",
                                           "PLAIN", NULL};
  static const char *const unverified[] = {"security.protocol", "ssl",
                                           "enable.ssl.certificate.verification", "false", NULL};
  static const char *const no_name_check[] = {
      "security.protocol", "ssl", "ssl.endpoint.identification.algorithm", "none", NULL};

  assert_int_equal(kafka_check("127.0.0.1:9092,localhost:9093,[::1]:9094", NULL, false, &err), 0);
  assert_int_equal(kafka_check("127.0.0.1:9092", sasl_plain, false, &err), 0);
  assert_int_equal(kafka_check("127.0.0.1:9092,kafka1.example.org:9093", NULL, false, &err),
                   OC_ERR_CONFIG);
  assert_string_equal(err.msg, "Kafka broker 'kafka1.example.org:9093' is not on this host: "
                               "security.protocol must be ssl or sasl_ssl, not 'plaintext' (or "
                               "set kafka.insecure=true)");
  assert_int_equal(kafka_check("kafka1.example.org:9093", sasl_plain, false, &err), OC_ERR_CONFIG);
  assert_non_null(strstr(err.msg, "not 'sasl_plaintext'"));
  assert_int_equal(kafka_check("kafka1.example.org:9093", unverified, false, &err), OC_ERR_CONFIG);
  assert_string_equal(err.msg, "Kafka broker 'kafka1.example.org:9093' is not on this host: "
                               "enable.ssl.certificate.verification must be true (or set "
                               "kafka.insecure=true)");
  assert_int_equal(kafka_check("kafka1.example.org:9093", no_name_check, false, &err),
                   OC_ERR_CONFIG);
  assert_non_null(strstr(err.msg, "ssl.endpoint.identification.algorithm must be https"));
  assert_int_equal(kafka_check("SSL://kafka1.example.org:9093", ssl, false, &err), 0);
  assert_int_equal(kafka_check("kafka1.example.org:9093", sasl_ssl, false, &err), 0);
  assert_int_equal(kafka_check("kafka1.example.org:9093", sasl_plain, true, &err), 0);

  /* A long list is read whole: the remote broker at its end is found. */
  char many[8192];
  size_t n = 0;
  while (n < 6000)
    n += (size_t)snprintf(many + n, sizeof(many) - n, "127.0.0.1:%zu,", 10000 + n);
  snprintf(many + n, sizeof(many) - n, "kafka9.example.org:9093");
  assert_int_equal(kafka_check(many, NULL, false, &err), OC_ERR_CONFIG);
  assert_non_null(strstr(err.msg, "'kafka9.example.org:9093'"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_local_hosts),
      cmocka_unit_test(test_postgresql_off_this_host_needs_verify_full),
      cmocka_unit_test(test_postgresql_service_files_are_resolved_first),
      cmocka_unit_test(test_kafka_off_this_host_needs_verified_tls),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
