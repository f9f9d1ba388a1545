/*
 * stmt.h - the statements of the apply path and the rollup refresh.
 *
 * Each statement is one file of schemas/sql/statements/, embedded in the
 * library at build time as it stands there: what the daemon sends is what
 * a reader finds (and can run with EXPLAIN) in that directory. The files
 * document their parameters and columns.
 *
 * oc_stmt_prepare() prepares them all on a connection (under the names
 * "oc_<file name>"), after the session set-up
 * (session.sql); the schema must be migrated. oc_stmt_exec() runs
 * one with parameters in text or binary form (pgbin.h builds binary
 * arrays).
 */
#ifndef OUTCOMES_STMT_H
#define OUTCOMES_STMT_H

#include <libpq-fe.h>

#include "outcomes/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum oc_stmt_e {
  OC_STMT_SCHEMA_VERSION,
  OC_STMT_CATALOG_LOAD,
  OC_STMT_SERIES_IDS,
  OC_STMT_OFFSETS_LOAD,
  OC_STMT_OFFSETS_CAS_UPDATE,
  OC_STMT_OFFSETS_CAS_INSERT,
  OC_STMT_OFFSETS_COUNT,
  OC_STMT_FACTS_READ,
  OC_STMT_FACTS_LOCK,
  OC_STMT_FACTS_WRITE,
  OC_STMT_DEAD_LETTER_INSERT,
  OC_STMT_REFRESH_LOCK,
  OC_STMT_REFRESH_CLAIM,
  OC_STMT_REFRESH_GROUPS,
  OC_STMT_REFRESH_LEVEL,
  OC_STMT_REFRESH_DONE,
  OC_STMT_REBUILD_ENQUEUE,
  OC_STMT_COUNT
} oc_stmt_t;

/* The file name without ".sql", e.g. "facts_read". */
const char *oc_stmt_name(oc_stmt_t s);

/* The statement's text, exactly as in its file. */
const char *oc_stmt_text(oc_stmt_t s);

/* The text of session.sql: the session set-up and work tables. */
const char *oc_stmt_session_sql(void);

/* The schema is migrated at least to version min (schema_version.sql, run
 * unprepared: the other statements need the schema). OC_ERR_CONFIG naming
 * the version found and what to run (fix, e.g. "run outcomes-migrate") when
 * it is older or not there; OC_ERR_PG when the server cannot answer. */
int oc_stmt_check_schema(PGconn *conn, int min, const char *fix, oc_err_t *err);

/* The schema version the statements of this directory need. */
#define OC_STMT_SCHEMA_MIN 8

/* Create the session's work tables and prepare every statement on conn
 * (idle, outside a transaction). OC_ERR_PG on failure. */
int oc_stmt_prepare(PGconn *conn, oc_err_t *err);

/* Run prepared statement s with n parameters: values[i] NULL is SQL NULL;
 * lengths and formats (1 = binary) may be NULL for all-text parameters.
 * binary_result asks for binary columns. When out is not NULL, *out gets
 * the result (COMMAND_OK or TUPLES_OK), which the caller frees with
 * PQclear(); else it is cleared here. Errors name the statement. */
int oc_stmt_exec(PGconn *conn, oc_stmt_t s, int n, const char *const *values, const int *lengths,
                 const int *formats, int binary_result, PGresult **out, oc_err_t *err);

#ifdef __cplusplus
}
#endif
#endif
