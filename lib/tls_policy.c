/* tls_policy.c - verified TLS to every server that is not on this host; see
 * include/outcomes/tls_policy.h. */
#include "outcomes/tls_policy.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpq-fe.h>

#define HOST_MAX 256

bool oc_host_is_local(const char *host, size_t len) {
  char h[HOST_MAX];
  struct in_addr a4;
  struct in6_addr a6;

  if (len == 0 || host[0] == '/' || host[0] == '@')
    return true;
  if (len >= sizeof(h))
    return false;
  memcpy(h, host, len);
  h[len] = '\0';
  if (strcasecmp(h, "localhost") == 0)
    return true;
  if (inet_pton(AF_INET, h, &a4) == 1)
    return (ntohl(a4.s_addr) >> 24) == 127;
  if (inet_pton(AF_INET6, h, &a6) == 1)
    return memcmp(&a6, &in6addr_loopback, sizeof(a6)) == 0;
  return false;
}

/* ---- PostgreSQL -------------------------------------------------------- */

/* The value of keyword want as libpq will use it: the environment's (or
 * libpq's default), overridden in order by the parameters; the first
 * "dbname" may be a whole conninfo (key=value or URI), whose values count
 * where it stands. Returns a malloc'd copy, or NULL when unset. */
static char *pg_effective(const char *const *keys, const char *const *vals, const char *want) {
  PQconninfoOption *defs = PQconndefaults();
  const char *v = NULL;
  char *out = NULL;
  bool expanded = false;

  for (PQconninfoOption *o = defs; o && o->keyword; o++)
    if (strcmp(o->keyword, want) == 0)
      v = o->val;
  if (v && *v && !(out = strdup(v)))
    goto done;
  for (size_t i = 0; keys[i]; i++) {
    const char *val = vals[i];
    if (!val || !*val) /* libpq ignores an empty value */
      continue;
    if (strcmp(keys[i], "dbname") == 0 && !expanded) {
      expanded = true;
      if (strchr(val, '=') || strncmp(val, "postgres://", 11) == 0 ||
          strncmp(val, "postgresql://", 13) == 0) {
        PQconninfoOption *opts = PQconninfoParse(val, NULL);
        for (PQconninfoOption *o = opts; o && o->keyword; o++)
          if (strcmp(o->keyword, want) == 0 && o->val && *o->val) {
            free(out);
            out = strdup(o->val);
          }
        PQconninfoFree(opts);
        continue;
      }
    }
    if (strcmp(keys[i], want) == 0) {
      free(out);
      out = strdup(val);
    }
  }
done:
  PQconninfoFree(defs);
  return out;
}

/* The first entry of the comma-separated list that is not local, as
 * [*from, *from + *len); false when every one is. */
static bool first_remote(const char *list, const char **from, size_t *len) {
  const char *s = list;
  for (;;) {
    size_t n = strcspn(s, ",");
    if (!oc_host_is_local(s, n)) {
      *from = s;
      *len = n;
      return true;
    }
    if (!s[n])
      return false;
    s += n + 1;
  }
}

/* The rule on resolved values (NULL or "" when unset). */
static int pg_rule(const char *host, const char *hostaddr, const char *sslmode, bool insecure,
                   oc_err_t *err) {
  const char *from = NULL;
  size_t len = 0;

  if (insecure)
    return 0;
  /* hostaddr, when given, is what libpq connects to; host names the
   * server for the certificate. Either off this host needs the check. */
  bool remote = (hostaddr && *hostaddr && first_remote(hostaddr, &from, &len)) ||
                (host && *host && first_remote(host, &from, &len));
  if (remote && (!sslmode || strcmp(sslmode, "verify-full") != 0))
    return oc_err_set(err, OC_ERR_CONFIG,
                      "PostgreSQL host '%.*s' is not on this host: sslmode must be verify-full, "
                      "not '%s' (or set pg.insecure=true)",
                      (int)(len < HOST_MAX ? len : HOST_MAX), from,
                      sslmode && *sslmode ? sslmode : "prefer");
  return 0;
}

int oc_pg_tls_check(const char *const *keys, const char *const *vals, bool insecure,
                    oc_err_t *err) {
  if (insecure)
    return 0;
  char *host = pg_effective(keys, vals, "host");
  char *hostaddr = pg_effective(keys, vals, "hostaddr");
  char *sslmode = pg_effective(keys, vals, "sslmode");
  int rc = pg_rule(host, hostaddr, sslmode, insecure, err);
  free(host);
  free(hostaddr);
  free(sslmode);
  return rc;
}

int oc_pg_tls_check_conn(PGconn *conn, bool insecure, oc_err_t *err) {
  const char *host = NULL, *hostaddr = NULL, *sslmode = NULL;
  PQconninfoOption *opts;
  int rc;

  if (insecure)
    return 0;
  if (!(opts = PQconninfo(conn)))
    return oc_err_set(err, OC_ERR_NOMEM, "pg connect: out of memory");
  for (PQconninfoOption *o = opts; o->keyword; o++) {
    if (strcmp(o->keyword, "host") == 0)
      host = o->val;
    else if (strcmp(o->keyword, "hostaddr") == 0)
      hostaddr = o->val;
    else if (strcmp(o->keyword, "sslmode") == 0)
      sslmode = o->val;
  }
  rc = pg_rule(host, hostaddr, sslmode, insecure, err);
  PQconninfoFree(opts);
  return rc;
}

/* ---- Kafka ------------------------------------------------------------- */

/* The value of a librdkafka property, "" when it cannot be read. */
static void kafka_get(const rd_kafka_conf_t *conf, const char *name, char *buf, size_t cap) {
  size_t n = cap;
  if (rd_kafka_conf_get(conf, name, buf, &n) != RD_KAFKA_CONF_OK)
    buf[0] = '\0';
}

/* The host part of one bootstrap server "[proto://]host[:port]" or
 * "[v6]:port", as [*host, *host + *len). */
static void broker_host(const char *s, size_t n, const char **host, size_t *len) {
  const char *p = s, *end = s + n;
  for (const char *q = s; q + 3 <= end; q++)
    if (memcmp(q, "://", 3) == 0) {
      p = q + 3;
      break;
    }
  if (p < end && *p == '[') {
    const char *close = memchr(p, ']', (size_t)(end - p));
    *host = p + 1;
    *len = close ? (size_t)(close - p - 1) : (size_t)(end - p - 1);
    return;
  }
  const char *colon = NULL;
  int colons = 0;
  for (const char *q = p; q < end; q++)
    if (*q == ':') {
      colon = q;
      colons++;
    }
  *host = p;
  /* host:port, or a bare host; more colons: a bare IPv6 address */
  *len = colons == 1 ? (size_t)(colon - p) : (size_t)(end - p);
}

int oc_kafka_tls_check(const rd_kafka_conf_t *conf, bool insecure, oc_err_t *err) {
  char proto[64], verify[16], ident[16], *servers;
  const char *s;
  size_t n_servers = 0;
  int rc = 0;

  if (insecure)
    return 0;
  /* Its whole length: a list cut short would leave brokers unchecked. */
  if (rd_kafka_conf_get(conf, "bootstrap.servers", NULL, &n_servers) != RD_KAFKA_CONF_OK)
    n_servers = 1;
  if (!(servers = malloc(n_servers + 1)))
    return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  kafka_get(conf, "bootstrap.servers", servers, n_servers + 1);
  kafka_get(conf, "security.protocol", proto, sizeof(proto));
  kafka_get(conf, "enable.ssl.certificate.verification", verify, sizeof(verify));
  kafka_get(conf, "ssl.endpoint.identification.algorithm", ident, sizeof(ident));
  for (s = servers; *s;) {
    size_t n, hlen;
    const char *host;
    s += strspn(s, " ");
    n = strcspn(s, ",");
    broker_host(s, n, &host, &hlen);
    if (!oc_host_is_local(host, hlen)) {
      const char *need = NULL;
      char what[128];
      if (strcasecmp(proto, "ssl") != 0 && strcasecmp(proto, "sasl_ssl") != 0) {
        snprintf(what, sizeof(what), "security.protocol must be ssl or sasl_ssl, not '%s'", proto);
        need = what;
      } else if (strcmp(verify, "true") != 0) {
        need = "enable.ssl.certificate.verification must be true";
      } else if (strcasecmp(ident, "https") != 0) {
        need = "ssl.endpoint.identification.algorithm must be https";
      }
      if (need)
        rc = oc_err_set(err, OC_ERR_CONFIG,
                        "Kafka broker '%.*s' is not on this host: %s (or set "
                        "kafka.insecure=true)",
                        (int)(n < HOST_MAX ? n : HOST_MAX), s, need);
      break; /* the settings hold for every broker */
    }
    s += n;
    s += *s == ',';
  }
  free(servers);
  return rc;
}
