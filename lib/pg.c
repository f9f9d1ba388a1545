/* pg.c - libpq helpers; see include/outcomes/pg.h. */
#include "outcomes/pg.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes/log.h"
#include "outcomes/tls_policy.h"

#define PG_APPNAME_DEFAULT "outcomes"

/* Route server notices through our log instead of libpq's stderr printer.
 * NOTICE ("already exists, skipping") is routine during migrations. */
static void pg_notice_receiver(void *arg, const PGresult *res) {
  const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
  const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
  const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  int level = LOG_DEBUG;

  (void)arg;
  if (sev && strcmp(sev, "WARNING") == 0)
    level = LOG_WARNING;
  oc_log(level, "pg_notice severity=%s sqlstate=%s message=\"%s\"", sev ? sev : "?",
         state ? state : "", msg ? msg : "");
}

void oc_pg_conninfo_describe(const char *conninfo, char *buf, size_t cap) {
  static const char *const shown[] = {"host", "hostaddr", "port", "dbname", "user"};
  PQconninfoOption *opts = NULL;
  char *errmsg = NULL;
  size_t n = 0;

  if (!buf || cap == 0)
    return;
  buf[0] = '\0';
  opts = PQconninfoParse(conninfo ? conninfo : "", &errmsg);
  if (!opts) {
    snprintf(buf, cap, "(invalid conninfo)");
    PQfreemem(errmsg);
    return;
  }
  for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++) {
    for (PQconninfoOption *o = opts; o->keyword; o++) {
      if (strcmp(o->keyword, shown[i]) != 0 || !o->val || !*o->val)
        continue;
      int w = snprintf(buf + n, cap - n, "%s%s=%s", n ? " " : "", o->keyword, o->val);
      if (w < 0 || (size_t)w >= cap - n) {
        buf[cap - 1] = '\0';
        goto out;
      }
      n += (size_t)w;
    }
  }
  if (n == 0)
    snprintf(buf, cap, "(libpq defaults)");
out:
  PQconninfoFree(opts);
}

/* Drive a connection begun by PQconnectStartParams() to its end, as
 * PQconnectdbParams() does, each wait for the socket bounded by the
 * connection's connect_timeout (none when unset). False when a wait timed
 * out (the connection is then not OK). */
static bool connect_complete(PGconn *conn) {
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  PQconninfoOption *opts = PQconninfo(conn);
  int timeout_ms = -1;

  for (PQconninfoOption *o = opts; o && o->keyword; o++)
    if (strcmp(o->keyword, "connect_timeout") == 0 && o->val && atoi(o->val) > 0)
      timeout_ms = atoi(o->val) * 1000;
  PQconninfoFree(opts);
  while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
    struct pollfd p = {PQsocket(conn), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, 0};
    int n = poll(&p, 1, timeout_ms);
    if (n < 0 && errno == EINTR)
      continue;
    if (n == 0)
      return false;
    st = PQconnectPoll(conn);
  }
  return true;
}

int oc_pg_connect(const char *conninfo, const oc_pg_connect_opts_t *opts, PGconn **out,
                  oc_err_t *err) {
  size_t n_extra = opts ? opts->n_keywords : 0;
  const char **keys = NULL, **vals = NULL;
  char timeout[16], target[256], options[1024];
  PGconn *conn = NULL;
  int k = 0, rc = 0;

  if (!out)
    return oc_err_set(err, OC_ERR_USAGE, "pg connect: NULL argument");
  *out = NULL;
  keys = calloc(n_extra + 12, sizeof(*keys));
  vals = calloc(n_extra + 12, sizeof(*vals));
  if (!keys || !vals) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "pg connect: out of memory");
    goto out;
  }
  /* Our defaults first: the expanded conninfo that follows overrides them,
   * and an explicit dbname after it overrides the conninfo's. The PG*
   * environment variables lose to explicit values, so defer to them. */
  if (!getenv("PGAPPNAME") || (opts && opts->application_name)) {
    keys[k] = "application_name";
    vals[k++] = opts && opts->application_name ? opts->application_name : PG_APPNAME_DEFAULT;
  }
  if (!getenv("PGCONNECT_TIMEOUT") || (opts && opts->connect_timeout > 0)) {
    snprintf(timeout, sizeof(timeout), "%d",
             opts && opts->connect_timeout > 0 ? opts->connect_timeout
                                               : OC_PG_CONNECT_TIMEOUT_DEFAULT);
    keys[k] = "connect_timeout";
    vals[k++] = timeout;
  }
  /* TCP keepalives: a peer that vanished (a failed-over primary, a cut
   * link) is noticed in about a minute instead of the kernel's two hours. */
  static const char *const keepalive[][2] = {{"keepalives", "1"},
                                             {"keepalives_idle", "30"},
                                             {"keepalives_interval", "10"},
                                             {"keepalives_count", "3"}};
  for (size_t i = 0; i < sizeof(keepalive) / sizeof(keepalive[0]); i++) {
    keys[k] = keepalive[i][0];
    vals[k++] = keepalive[i][1];
  }
  if (opts && (opts->statement_timeout_ms > 0 || opts->lock_timeout_ms > 0)) {
    /* PGOPTIONS would lose to an explicit value: keep it, after ours. */
    const char *env = getenv("PGOPTIONS");
    snprintf(options, sizeof(options), "-c statement_timeout=%lld -c lock_timeout=%lld%s%s",
             (long long)opts->statement_timeout_ms, (long long)opts->lock_timeout_ms,
             env && *env ? " " : "", env && *env ? env : "");
    keys[k] = "options";
    vals[k++] = options;
  }
  keys[k] = "dbname";
  vals[k++] = conninfo ? conninfo : "";
  if (opts && opts->dbname) {
    keys[k] = "dbname";
    vals[k++] = opts->dbname;
  }
  for (size_t i = 0; i < n_extra; i++, k++) {
    keys[k] = opts->keywords[i];
    vals[k] = opts->values[i];
  }
  keys[k] = NULL;
  vals[k] = NULL;

  oc_pg_conninfo_describe(conninfo, target, sizeof(target));
  /* Before a byte goes out: no password to an unverified server. */
  if ((rc = oc_pg_tls_check(keys, vals, opts && opts->insecure, err)) != 0)
    goto out;
  conn = PQconnectStartParams(keys, vals, 1);
  if (!conn) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "pg connect %s: out of memory", target);
    goto out;
  }
  /* Again on what libpq resolved (a service file's host and sslmode):
   * nothing but the TCP handshake has happened yet. */
  if ((rc = oc_pg_tls_check_conn(conn, opts && opts->insecure, err)) != 0)
    goto out;
  bool timed_out = PQstatus(conn) != CONNECTION_BAD && !connect_complete(conn);
  if (PQstatus(conn) != CONNECTION_OK) {
    char msg[OC_ERR_MSG_MAX];
    snprintf(msg, sizeof(msg), "%s", timed_out ? "timeout expired" : PQerrorMessage(conn));
    msg[strcspn(msg, "\n")] = '\0';
    rc = oc_err_set_retriable(err, OC_ERR_PG, "pg connect %s%s%s: %s", target,
                              opts && opts->dbname ? " dbname=" : "",
                              opts && opts->dbname ? opts->dbname : "", msg);
    goto out;
  }
  PQsetNoticeReceiver(conn, pg_notice_receiver, NULL);
  oc_log_debug("pg_connected %s%s%s server_version=%d", target,
               opts && opts->dbname ? " dbname=" : "", opts && opts->dbname ? opts->dbname : "",
               PQserverVersion(conn));
  *out = conn;
  conn = NULL;
out:
  if (conn)
    PQfinish(conn);
  free(keys);
  free(vals);
  return rc;
}

int oc_pg_connect_config(const oc_config_t *cfg, const char *application_name,
                         int64_t statement_timeout_ms, int64_t lock_timeout_ms, PGconn **out,
                         oc_err_t *err) {
  size_t n = oc_config_passthrough_count(cfg, "pg.");
  const char **keys = calloc(n + 1, sizeof(*keys));
  const char **vals = calloc(n + 1, sizeof(*vals));
  int rc;

  if (!keys || !vals) {
    free(keys);
    free(vals);
    return oc_err_set(err, OC_ERR_NOMEM, "pg connect: out of memory");
  }
  for (size_t i = 0; i < n; i++)
    oc_config_passthrough_at(cfg, "pg.", i, &keys[i], &vals[i]);
  oc_pg_connect_opts_t opts = {application_name,
                               NULL,
                               OC_PG_CONNECT_TIMEOUT_DEFAULT,
                               keys,
                               vals,
                               n,
                               oc_config_get_bool(cfg, "pg.insecure"),
                               statement_timeout_ms,
                               lock_timeout_ms};
  rc = oc_pg_connect(oc_config_get_str(cfg, "conninfo"), &opts, out, err);
  free(keys);
  free(vals);
  return rc;
}

bool oc_pg_sqlstate_retriable(const char *s) {
  if (!s || strlen(s) != 5)
    return false;
  if (strncmp(s, "08", 2) == 0 || strncmp(s, "53", 2) == 0)
    return true;
  return strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0 || strcmp(s, "57P01") == 0 ||
         strcmp(s, "57P02") == 0 || strcmp(s, "57P03") == 0;
}

/* Copy s into buf, cutting at the first newline (libpq messages end in one
 * and some carry a second line of context we report separately). */
static void first_line(char *buf, size_t cap, const char *s) {
  snprintf(buf, cap, "%s", s ? s : "");
  buf[strcspn(buf, "\n")] = '\0';
}

int oc_pg_result_err(PGconn *conn, const PGresult *res, const char *what, oc_err_t *err) {
  char primary[OC_ERR_MSG_MAX], detail[OC_ERR_MSG_MAX];
  const char *state = NULL;
  bool conn_ok = conn && PQstatus(conn) == CONNECTION_OK;
  bool retriable;

  detail[0] = '\0';
  if (res && PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)) {
    state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    first_line(primary, sizeof(primary), PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
    first_line(detail, sizeof(detail), PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL));
  } else if (res && *PQresultErrorMessage(res)) {
    first_line(primary, sizeof(primary), PQresultErrorMessage(res));
  } else if (conn) {
    first_line(primary, sizeof(primary), PQerrorMessage(conn));
  } else {
    snprintf(primary, sizeof(primary), "no connection");
  }
  if (!primary[0] && res)
    snprintf(primary, sizeof(primary), "unexpected result status %s",
             PQresStatus(PQresultStatus(res)));
  retriable = oc_pg_sqlstate_retriable(state) || !conn_ok;
  oc_err_set(err, OC_ERR_PG, "%s: SQLSTATE %s: %s%s%s%s", what ? what : "pg",
             state && *state ? state : "none", primary, detail[0] ? " (" : "", detail,
             detail[0] ? ")" : "");
  if (err) {
    err->retriable = retriable;
    err->fatal = !conn_ok;
  }
  return OC_ERR_PG;
}

static bool result_ok(const PGresult *res) {
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

int oc_pg_exec_what(PGconn *conn, const char *sql, const char *what, oc_err_t *err) {
  char label[80];
  PGresult *res = NULL;
  int rc = 0;

  if (!conn || !sql)
    return oc_err_set(err, OC_ERR_USAGE, "pg exec: NULL argument");
  if (!what) {
    snprintf(label, sizeof(label), "%.60s", sql);
    label[strcspn(label, "\n")] = '\0';
    what = label;
  }
  res = PQexec(conn, sql);
  if (!result_ok(res))
    rc = oc_pg_result_err(conn, res, what, err);
  PQclear(res);
  return rc;
}

void oc_pg_rollback(PGconn *conn) {
  if (!conn || PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) == PQTRANS_IDLE)
    return;
  PQclear(PQexec(conn, "ROLLBACK"));
}

int oc_pg_exec(PGconn *conn, const char *sql, oc_err_t *err) {
  return oc_pg_exec_what(conn, sql, NULL, err);
}

int oc_pg_exec_params(PGconn *conn, const char *sql, int nparams, const char *const *values,
                      PGresult **out, oc_err_t *err) {
  return oc_pg_exec_params_what(conn, sql, NULL, nparams, values, out, err);
}

int oc_pg_exec_params_what(PGconn *conn, const char *sql, const char *what, int nparams,
                           const char *const *values, PGresult **out, oc_err_t *err) {
  char label[80];
  PGresult *res = NULL;
  int rc = 0;

  if (out)
    *out = NULL;
  if (!conn || !sql || nparams < 0 || (nparams > 0 && !values))
    return oc_err_set(err, OC_ERR_USAGE, "pg exec: bad argument");
  res = PQexecParams(conn, sql, nparams, NULL, values, NULL, NULL, 0);
  if (!result_ok(res)) {
    if (!what) {
      snprintf(label, sizeof(label), "%.60s", sql);
      label[strcspn(label, "\n")] = '\0';
      what = label;
    }
    rc = oc_pg_result_err(conn, res, what, err);
    goto out;
  }
  if (out) {
    *out = res;
    res = NULL;
  }
out:
  PQclear(res);
  return rc;
}

int oc_pg_query_value(PGconn *conn, const char *sql, int nparams, const char *const *values,
                      char *buf, size_t cap, bool *is_null, oc_err_t *err) {
  return oc_pg_query_value_what(conn, sql, NULL, nparams, values, buf, cap, is_null, err);
}

int oc_pg_query_value_what(PGconn *conn, const char *sql, const char *what, int nparams,
                           const char *const *values, char *buf, size_t cap, bool *is_null,
                           oc_err_t *err) {
  const char *name = what ? what : "pg query";
  PGresult *res = NULL;
  int rc;

  if (!buf || cap == 0)
    return oc_err_set(err, OC_ERR_USAGE, "%s: no buffer", name);
  buf[0] = '\0';
  if ((rc = oc_pg_exec_params_what(conn, sql, what, nparams, values, &res, err)) < 0)
    goto out;
  if (PQntuples(res) < 1 || PQnfields(res) < 1) {
    rc = oc_err_set(err, OC_ERR_NOT_FOUND, "%s: no row", name);
    goto out;
  }
  if (is_null)
    *is_null = PQgetisnull(res, 0, 0);
  if ((size_t)PQgetlength(res, 0, 0) >= cap) {
    rc = oc_err_set(err, OC_ERR_LIMIT, "%s: value of %d bytes exceeds %zu", name,
                    PQgetlength(res, 0, 0), cap - 1);
    goto out;
  }
  memcpy(buf, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0) + 1);
out:
  PQclear(res);
  return rc;
}
