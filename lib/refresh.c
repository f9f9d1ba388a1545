/* refresh.c - the rollup refresh; see include/outcomes/refresh.h. */
#include "outcomes/refresh.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "outcomes/pg.h"
#include "outcomes/pgbin.h"
#include "outcomes/stmt.h"

#define LOCK_POLL_MS 100

/* The levels bottom up, and the passes of outcomes.rollup_grains (its
 * CHECK keeps pass within 1..3). */
static const char *const levels[] = {"facility", "org", "all"};
#define PASSES 3

static int64_t cmd_rows(PGresult *res) { return strtoll(PQcmdTuples(res), NULL, 10); }

int oc_refresh_lock(PGconn *conn, bool *got, oc_err_t *err) {
  PGresult *res = NULL;
  int rc = oc_stmt_exec(conn, OC_STMT_REFRESH_LOCK, 0, NULL, NULL, NULL, 0, &res, err);
  if (rc == 0)
    *got = PQgetvalue(res, 0, 0)[0] == 't';
  PQclear(res);
  return rc;
}

static int claim(PGconn *conn, int64_t max_facts, int64_t *claimed, int64_t *groups,
                 oc_err_t *err) {
  char max[24];
  const char *v[1] = {max};
  PGresult *res = NULL;
  int rc;

  snprintf(max, sizeof(max), "%lld", (long long)(max_facts > INT32_MAX ? INT32_MAX : max_facts));
  if ((rc = oc_stmt_exec(conn, OC_STMT_REFRESH_CLAIM, 1, v, NULL, NULL, 0, &res, err)) != 0)
    return rc;
  *claimed = cmd_rows(res);
  PQclear(res);
  *groups = 0;
  if (*claimed == 0)
    return 0;
  if ((rc = oc_stmt_exec(conn, OC_STMT_REFRESH_GROUPS, 0, NULL, NULL, NULL, 0, &res, err)) != 0)
    return rc;
  *groups = cmd_rows(res);
  PQclear(res);
  return 0;
}

static bool stopped(const oc_refresh_hooks_t *hooks, oc_err_t *err) {
  if (!hooks || !hooks->stop || !hooks->stop(hooks->arg))
    return false;
  oc_err_set(err, OC_ERR_IO, "stopped on request (the changes stay pending)");
  return true;
}

static int recompute(PGconn *conn, const oc_refresh_hooks_t *hooks, oc_refresh_result_t *res,
                     oc_err_t *err) {
  for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++) {
    for (int pass = 1; pass <= PASSES; pass++) {
      if (stopped(hooks, err))
        return OC_ERR_IO;
      char p[4];
      snprintf(p, sizeof(p), "%d", pass);
      const char *v[2] = {levels[l], p};
      PGresult *r = NULL;
      int rc = oc_stmt_exec(conn, OC_STMT_REFRESH_LEVEL, 2, v, NULL, NULL, 0, &r, err);
      if (rc != 0)
        return oc_err_prefix(err, "%s pass %d: ", levels[l], pass);
      res->written += strtoll(PQgetvalue(r, 0, 0), NULL, 10);
      res->deleted += strtoll(PQgetvalue(r, 0, 1), NULL, 10);
      PQclear(r);
    }
  }
  return 0;
}

static int record(PGconn *conn, int64_t facts, int64_t groups, const oc_refresh_hooks_t *hooks,
                  oc_err_t *err) {
  char f[24], g[24];
  const char *v[2] = {f, g};
  PGresult *res = NULL;
  int rc;

  snprintf(f, sizeof(f), "%lld", (long long)facts);
  snprintf(g, sizeof(g), "%lld", (long long)groups);
  if ((rc = oc_stmt_exec(conn, OC_STMT_REFRESH_DONE, 2, v, NULL, NULL, 0, &res, err)) != 0)
    return rc;
  for (int r = 0; hooks && hooks->waited && r < PQntuples(res); r++)
    hooks->waited(strtod(PQgetvalue(res, r, 0), NULL), strtoll(PQgetvalue(res, r, 1), NULL, 10),
                  hooks->arg);
  PQclear(res);
  return 0;
}

int oc_refresh_step(PGconn *conn, int64_t max_facts, const oc_refresh_hooks_t *hooks,
                    oc_refresh_result_t *res, oc_err_t *err) {
  int64_t facts = 0, groups = 0;
  int rc;

  if (stopped(hooks, err))
    return OC_ERR_IO;
  if ((rc = claim(conn, max_facts, &facts, &groups, err)) != 0)
    return oc_err_prefix(err, "rollup refresh: ");
  if (facts == 0)
    return 0;
  if ((rc = recompute(conn, hooks, res, err)) != 0 ||
      (rc = record(conn, facts, groups, hooks, err)) != 0)
    return oc_err_prefix(err, "rollup refresh: ");
  res->facts += facts;
  res->groups += groups;
  return 0;
}

int oc_refresh_run(PGconn *conn, int64_t max_facts, const oc_refresh_hooks_t *hooks,
                   oc_refresh_result_t *res, oc_err_t *err) {
  bool got = false;
  int rc;

  memset(res, 0, sizeof(*res));
  if ((rc = oc_pg_exec_what(conn, "BEGIN", "begin", err)) != 0 ||
      (rc = oc_refresh_lock(conn, &got, err)) != 0)
    goto out;
  if (!got) {
    res->busy = true;
    goto out;
  }
  if ((rc = oc_refresh_step(conn, max_facts, hooks, res, err)) != 0 ||
      (rc = oc_pg_exec_what(conn, "COMMIT", "commit", err)) != 0)
    goto out;
  res->runs = 1;
  return 0;
out:
  oc_pg_rollback(conn);
  if (rc != 0)
    memset(res, 0, sizeof(*res));
  return rc;
}

static bool sleep_ms(int64_t ms, void *arg) {
  (void)arg;
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
  return true;
}

int oc_refresh_drain(PGconn *conn, int64_t max_facts, const oc_refresh_hooks_t *hooks,
                     oc_refresh_result_t *res, oc_err_t *err) {
  bool (*pause)(int64_t, void *) = hooks && hooks->pause ? hooks->pause : sleep_ms;
  void *arg = hooks ? hooks->arg : NULL;

  memset(res, 0, sizeof(*res));
  for (;;) {
    oc_refresh_result_t one;
    int rc = oc_refresh_run(conn, max_facts, hooks, &one, err);
    if (rc != 0)
      return rc;
    if (one.busy) {
      if (!pause(LOCK_POLL_MS, arg))
        return oc_err_set(err, OC_ERR_IO,
                          "rollup refresh: stopped while waiting for another "
                          "refresh");
      continue;
    }
    res->facts += one.facts;
    res->groups += one.groups;
    res->written += one.written;
    res->deleted += one.deleted;
    res->runs += one.runs;
    if (one.facts < max_facts)
      return 0;
  }
}
