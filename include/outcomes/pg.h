/*
 * pg.h - small libpq helpers shared by every program.
 *
 * Connections get our defaults (application_name, connect_timeout) unless
 * the conninfo or the PG* environment sets them. A conninfo may hold a
 * password: it is never logged and never copied into an error message (use
 * oc_pg_conninfo_describe() to name a target). Failed results are translated
 * into oc_err_t at once, with the SQLSTATE in the message and the retriable
 * and fatal flags set (see oc_pg_sqlstate_retriable()).
 */
#ifndef OUTCOMES_PG_H
#define OUTCOMES_PG_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "outcomes/config.h"
#include "outcomes/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OC_PG_CONNECT_TIMEOUT_DEFAULT 10 /* seconds */

typedef struct oc_pg_connect_opts_s {
  const char *application_name; /* NULL: "outcomes" (unless conninfo/PGAPPNAME set one) */
  const char *dbname;           /* NULL: as in conninfo; else overrides its dbname */
  int connect_timeout;          /* seconds; 0: OC_PG_CONNECT_TIMEOUT_DEFAULT */
  /* More libpq keywords, applied after the conninfo (later ones win);
   * borrowed. */
  const char *const *keywords;
  const char *const *values;
  size_t n_keywords;
  bool insecure; /* a host off this one without sslmode=verify-full (tls_policy.h) */
  /* Server-side bounds of the session (libpq "options", before the
   * conninfo's, which may replace them); 0: none. */
  int64_t statement_timeout_ms, lock_timeout_ms;
} oc_pg_connect_opts_t;

/* Connect with conninfo (key=value or URI form; "" for libpq's defaults and
 * PG* variables) plus our defaults; opts may be NULL. PostgreSQL notices are
 * routed to oc_log (NOTICE and below at debug level). On success *out is a
 * live connection the caller frees with PQfinish(). A failure is OC_ERR_PG,
 * retriable (the server may come back), with libpq's message and the target
 * as described by oc_pg_conninfo_describe(). */
int oc_pg_connect(const char *conninfo, const oc_pg_connect_opts_t *opts, PGconn **out,
                  oc_err_t *err);

/* Connect as a program configured with config.h: the "conninfo" key (which
 * the program's table must declare, with "pg.insecure"), then every pg.*
 * key as a libpq keyword, with application_name and a 10 s connect_timeout
 * as defaults the configuration overrides, and the session's statement and
 * lock timeouts (ms, 0: none). Otherwise as oc_pg_connect(). */
int oc_pg_connect_config(const oc_config_t *cfg, const char *application_name,
                         int64_t statement_timeout_ms, int64_t lock_timeout_ms, PGconn **out,
                         oc_err_t *err);

/* Write "host=... port=... dbname=... user=..." for conninfo into buf
 * (capacity cap, always NUL-terminated), leaving out the password and every
 * other option. Unparsable conninfo gives "(invalid conninfo)". */
void oc_pg_conninfo_describe(const char *conninfo, char *buf, size_t cap);

/* True when SQLSTATE code says the same work may succeed if tried again:
 * class 08 (connection exception), 40001 (serialization failure), 40P01
 * (deadlock), 57P01/57P02/57P03 (shutdown, crash, starting up), class 53
 * (insufficient resources). NULL or "" is false. */
bool oc_pg_sqlstate_retriable(const char *sqlstate);

/* Fill err from a failed result (res may be NULL: libpq's connection error
 * is used) and return OC_ERR_PG. The message reads
 * "<what>: SQLSTATE <code>: <primary message> (<detail>)". retriable as
 * above, or when the connection is gone; fatal when PQstatus(conn) is not
 * CONNECTION_OK. Does not PQclear res (borrowed). */
int oc_pg_result_err(PGconn *conn, const PGresult *res, const char *what, oc_err_t *err);

/* Run a command or script (several statements allowed) with PQexec; the
 * result is cleared. what names it in errors (NULL: the first 60 bytes of
 * sql). Returns 0 or OC_ERR_PG. */
int oc_pg_exec(PGconn *conn, const char *sql, oc_err_t *err);
int oc_pg_exec_what(PGconn *conn, const char *sql, const char *what, oc_err_t *err);

/* Roll back the open transaction, if the connection lives and one is open;
 * errors are ignored (the caller already has the one that matters). */
void oc_pg_rollback(PGconn *conn);

/* Run one statement with text parameters (values[i] NULL means SQL NULL)
 * through PQexecParams; results are in text form. When out is not NULL,
 * *out receives the result (PGRES_COMMAND_OK or PGRES_TUPLES_OK), which the
 * caller frees with PQclear(); otherwise it is cleared here. */
int oc_pg_exec_params(PGconn *conn, const char *sql, int nparams, const char *const *values,
                      PGresult **out, oc_err_t *err);
/* The same, named what in errors (NULL: the first 60 bytes of sql): for the
 * statement files, whose first line is a comment. */
int oc_pg_exec_params_what(PGconn *conn, const char *sql, const char *what, int nparams,
                           const char *const *values, PGresult **out, oc_err_t *err);

/* As oc_pg_exec_params, returning the value of row 0, column 0 copied into
 * buf (capacity cap, NUL-terminated; "" for NULL) and *is_null (may be
 * NULL). Fails with OC_ERR_NOT_FOUND when there is no row and OC_ERR_LIMIT
 * when the value does not fit. */
int oc_pg_query_value(PGconn *conn, const char *sql, int nparams, const char *const *values,
                      char *buf, size_t cap, bool *is_null, oc_err_t *err);
/* The same, named what in errors (NULL: as oc_pg_query_value). */
int oc_pg_query_value_what(PGconn *conn, const char *sql, const char *what, int nparams,
                           const char *const *values, char *buf, size_t cap, bool *is_null,
                           oc_err_t *err);

#ifdef __cplusplus
}
#endif
#endif
