/* stmt.c - the embedded statements; see include/outcomes/stmt.h. */
#include "outcomes/stmt.h"

#include <stdio.h>
#include <stdlib.h>

#include "oc_sql_statements.h"
#include "outcomes/pg.h"

typedef struct stmt_def_s {
  const char *name; /* the file name without .sql */
  const char *text;
} stmt_def_t;

#define DEF(id, name) [id] = {#name, oc_sql_##name}
static const stmt_def_t defs[OC_STMT_COUNT] = {
    DEF(OC_STMT_SCHEMA_VERSION, schema_version),
    DEF(OC_STMT_CATALOG_LOAD, catalog_load),
    DEF(OC_STMT_SERIES_IDS, series_ids),
    DEF(OC_STMT_OFFSETS_LOAD, offsets_load),
    DEF(OC_STMT_OFFSETS_CAS_UPDATE, offsets_cas_update),
    DEF(OC_STMT_OFFSETS_CAS_INSERT, offsets_cas_insert),
    DEF(OC_STMT_OFFSETS_COUNT, offsets_count),
    DEF(OC_STMT_FACTS_READ, facts_read),
    DEF(OC_STMT_FACTS_LOCK, facts_lock),
    DEF(OC_STMT_FACTS_WRITE, facts_write),
    DEF(OC_STMT_DEAD_LETTER_INSERT, dead_letter_insert),
    DEF(OC_STMT_REFRESH_LOCK, refresh_lock),
    DEF(OC_STMT_REFRESH_CLAIM, refresh_claim),
    DEF(OC_STMT_REFRESH_GROUPS, refresh_groups),
    DEF(OC_STMT_REFRESH_LEVEL, refresh_level),
    DEF(OC_STMT_REFRESH_DONE, refresh_done),
    DEF(OC_STMT_REBUILD_ENQUEUE, rebuild_enqueue),
};
#undef DEF

const char *oc_stmt_name(oc_stmt_t s) { return s >= 0 && s < OC_STMT_COUNT ? defs[s].name : "?"; }

const char *oc_stmt_text(oc_stmt_t s) { return s >= 0 && s < OC_STMT_COUNT ? defs[s].text : ""; }

const char *oc_stmt_session_sql(void) { return oc_sql_session; }

int oc_stmt_check_schema(PGconn *conn, int min, const char *fix, oc_err_t *err) {
  char buf[32];
  bool is_null = true;
  int rc = oc_pg_query_value(conn, oc_sql_schema_version, 0, NULL, buf, sizeof(buf), &is_null, err);
  if (rc != 0) {
    if (err && !err->retriable) {
      char why[OC_ERR_MSG_MAX];
      snprintf(why, sizeof(why), "%s", err->msg);
      return oc_err_set(err, OC_ERR_CONFIG, "schema outcomes is not migrated (%s): %s", why, fix);
    }
    return rc;
  }
  if (is_null || atoi(buf) < min)
    return oc_err_set(err, OC_ERR_CONFIG, "schema outcomes is at version %s, %d needed: %s",
                      is_null ? "none" : buf, min, fix);
  return 0;
}

static void prepared_name(oc_stmt_t s, char *buf, size_t cap) {
  snprintf(buf, cap, "oc_%s", defs[s].name);
}

int oc_stmt_prepare(PGconn *conn, oc_err_t *err) {
  char name[64];
  int rc;

  if ((rc = oc_pg_exec_what(conn, oc_sql_session, "session set-up", err)) != 0)
    return rc;
  for (int s = 0; s < OC_STMT_COUNT; s++) {
    prepared_name((oc_stmt_t)s, name, sizeof(name));
    PGresult *res = PQprepare(conn, name, defs[s].text, 0, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
      snprintf(name, sizeof(name), "prepare %s", defs[s].name);
      rc = oc_pg_result_err(conn, res, name, err);
    }
    PQclear(res);
    if (rc != 0)
      return rc;
  }
  return 0;
}

int oc_stmt_exec(PGconn *conn, oc_stmt_t s, int n, const char *const *values, const int *lengths,
                 const int *formats, int binary_result, PGresult **out, oc_err_t *err) {
  char name[64];
  PGresult *res;
  int rc = 0;

  if (out)
    *out = NULL;
  if (s < 0 || s >= OC_STMT_COUNT)
    return oc_err_set(err, OC_ERR_INTERNAL, "statement %d: no such statement", (int)s);
  prepared_name(s, name, sizeof(name));
  res = PQexecPrepared(conn, name, n, values, lengths, formats, binary_result ? 1 : 0);
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    rc = oc_pg_result_err(conn, res, defs[s].name, err);
    PQclear(res);
    return rc;
  }
  if (out)
    *out = res;
  else
    PQclear(res);
  return 0;
}
