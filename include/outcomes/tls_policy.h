/*
 * tls_policy.h - what a connection to a server that is not on this host
 * must be: verified TLS. libpq's default (sslmode=prefer) checks no
 * certificate and falls back to plain text in silence, and librdkafka's
 * (security.protocol=plaintext) sends everything, a SASL password
 * included, in clear. So a PostgreSQL host or a Kafka broker that is not
 * local is refused before any byte goes to it, unless the configuration
 * says `pg.insecure=true` or `kafka.insecure=true`:
 *   - PostgreSQL: sslmode=verify-full;
 *   - Kafka: security.protocol ssl or sasl_ssl, with
 *     enable.ssl.certificate.verification=true and
 *     ssl.endpoint.identification.algorithm=https.
 * Local means a Unix socket, "localhost", 127.0.0.0/8 or ::1.
 *
 * Kafka: the check sees the bootstrap servers; the brokers the cluster
 * advertises are reached with the same settings, so a local bootstrap
 * address (a tunnel) in front of a remote cluster must use TLS as well.
 */
#ifndef OUTCOMES_TLS_POLICY_H
#define OUTCOMES_TLS_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#include "outcomes/config.h"
#include "outcomes/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The keys that allow the other connections, for the key tables of the
 * programs that talk to PostgreSQL or Kafka (config.h). */
#define OC_TLS_CONF_PG \
  { \
    "pg.insecure", OC_CONF_BOOL, "false", 0, 0, 0, NULL, \
        "allow a PostgreSQL host off this one without sslmode=verify-full" \
  }
#define OC_TLS_CONF_KAFKA \
  { \
    "kafka.insecure", OC_CONF_BOOL, "false", 0, 0, 0, NULL, \
        "allow Kafka brokers off this host without verified TLS" \
  }

/* True when host[0..len) names this host: a Unix socket directory ("/..."
 * or "@..."), "localhost", an address of 127.0.0.0/8, or ::1. An empty
 * host is libpq's default Unix socket: local. */
bool oc_host_is_local(const char *host, size_t len);

/* The libpq connection parameters keys/vals (NULL-terminated, as given to
 * PQconnectdbParams with expand_dbname: the first "dbname" may be a whole
 * conninfo), with the PG* environment under them: every host (and
 * hostaddr) that is not local requires sslmode=verify-full unless
 * insecure. OC_ERR_CONFIG naming the host and the sslmode; no password is
 * ever in the message. */
int oc_pg_tls_check(const char *const *keys, const char *const *vals, bool insecure, oc_err_t *err);

/* The same on what libpq resolved for conn, once PQconnectStartParams()
 * returned and before its first poll: a service file's host and sslmode
 * (PGSERVICE, service=) included. */
int oc_pg_tls_check_conn(PGconn *conn, bool insecure, oc_err_t *err);

/* The same for a librdkafka configuration: every bootstrap server that is
 * not local requires TLS with both checks on, unless insecure. */
int oc_kafka_tls_check(const rd_kafka_conf_t *conf, bool insecure, oc_err_t *err);

#ifdef __cplusplus
}
#endif
#endif
