/* rollupd_refresh.c - the refresher thread; see rollupd_refresh.h. */
#include "rollupd_refresh.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "outcomes/clock.h"
#include "outcomes/log.h"
#include "outcomes/pg.h"
#include "outcomes/refresh.h"
#include "outcomes/stmt.h"

struct oc_refresher_s {
  const oc_config_t *cfg;
  oc_rmetrics_t *metrics;
  int64_t interval_ms, max_facts;
  oc_backoff_t backoff;

  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cond;
  bool stop, nudged; /* guarded by mu */
  PGcancel *cancel;  /* guarded by mu: of the live connection */
  PGconn *conn;      /* the thread's */
  char last_error[OC_ERR_MSG_MAX];
};

/* Wait up to ms for a nudge or a stop; true when asked to stop. */
static bool wait_ms(oc_refresher_t *r, int64_t ms) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += (time_t)(ms / 1000);
  until.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&r->mu);
  while (!r->stop && !r->nudged)
    if (pthread_cond_timedwait(&r->cond, &r->mu, &until) == ETIMEDOUT)
      break;
  r->nudged = false;
  bool stop = r->stop;
  pthread_mutex_unlock(&r->mu);
  return stop;
}

static void disconnect(oc_refresher_t *r) {
  pthread_mutex_lock(&r->mu);
  if (r->cancel)
    PQfreeCancel(r->cancel);
  r->cancel = NULL;
  pthread_mutex_unlock(&r->mu);
  if (r->conn)
    PQfinish(r->conn);
  r->conn = NULL;
}

static int connect_prepared(oc_refresher_t *r, oc_err_t *err) {
  int rc;
  if ((rc = oc_pg_connect_config(r->cfg, "outcomes-rollupd-refresh",
                                 oc_config_get_int(r->cfg, "refresh.statement.timeout"),
                                 oc_config_get_int(r->cfg, "lock.timeout"), &r->conn, err)) != 0)
    return rc;
  if ((rc = oc_stmt_prepare(r->conn, err)) != 0) {
    disconnect(r);
    return rc;
  }
  pthread_mutex_lock(&r->mu);
  r->cancel = PQgetCancel(r->conn);
  pthread_mutex_unlock(&r->mu);
  return 0;
}

static bool stopping(oc_refresher_t *r) {
  pthread_mutex_lock(&r->mu);
  bool stop = r->stop;
  pthread_mutex_unlock(&r->mu);
  return stop;
}

static void waited(double seconds, int64_t facts, void *arg) {
  oc_rmetrics_refresh_waited(((oc_refresher_t *)arg)->metrics, seconds, facts);
}

static bool stop_hook(void *arg) { return stopping(arg); }


static void failed(oc_refresher_t *r, const oc_err_t *err) {
  if (stopping(r)) /* cancelled by oc_refresher_stop */
    return;
  oc_rmetrics_refresh(r->metrics, NULL, 0, false);
  if (strcmp(err->msg, r->last_error) != 0) {
    snprintf(r->last_error, sizeof(r->last_error), "%s", err->msg);
    oc_log_err("refresh_failed retrying=1 error=\"%s\"", err->msg);
  }
  if (r->conn && PQstatus(r->conn) != CONNECTION_OK)
    disconnect(r);
}

static void *run(void *arg) {
  oc_refresher_t *r = arg;
  oc_refresh_hooks_t hooks = {waited, NULL, stop_hook, r};
  sigset_t all;

  /* Signals are the main thread's. */
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL);
  for (;;) {
    oc_refresh_result_t res;
    oc_err_t err;
    int64_t t0 = oc_clock_ms();
    int rc;

    if (stopping(r))
      break;
    oc_err_clear(&err);
    if (!r->conn && (rc = connect_prepared(r, &err)) != 0) {
      failed(r, &err);
      if (wait_ms(r, oc_backoff_next(&r->backoff)))
        break;
      continue;
    }
    if ((rc = oc_refresh_run(r->conn, r->max_facts, &hooks, &res, &err)) != 0) {
      failed(r, &err);
      if (wait_ms(r, oc_backoff_next(&r->backoff)))
        break;
      continue;
    }
    oc_backoff_reset(&r->backoff);
    if (r->last_error[0]) {
      oc_log_info("refresh_recovered");
      r->last_error[0] = '\0';
    }
    if (!res.busy && res.facts > 0) {
      double s = (double)(oc_clock_ms() - t0) / 1000.0;
      oc_rmetrics_refresh(r->metrics, &res, s, true);
      oc_log_debug("rollups_refreshed facts=%lld rows=%lld written=%lld deleted=%lld ms=%lld",
                   (long long)res.facts, (long long)res.groups, (long long)res.written,
                   (long long)res.deleted, (long long)(oc_clock_ms() - t0));
    }
    /* More may be pending: go on at once; else wait for a batch. */
    if (res.busy || res.facts == 0) {
      if (wait_ms(r, r->interval_ms))
        break;
    }
  }
  disconnect(r);
  return NULL;
}

int oc_refresher_start(const oc_config_t *cfg, oc_rmetrics_t *metrics, int64_t interval_ms,
                       int64_t max_facts, int64_t backoff_max_ms, oc_refresher_t **out,
                       oc_err_t *err) {
  oc_refresher_t *r = calloc(1, sizeof(*r));
  *out = NULL;
  if (!r)
    return oc_err_set(err, OC_ERR_NOMEM, "refresher: out of memory");
  r->cfg = cfg;
  r->metrics = metrics;
  r->interval_ms = interval_ms;
  r->max_facts = max_facts;
  oc_backoff_init(&r->backoff, 100, backoff_max_ms);
  if (pthread_mutex_init(&r->mu, NULL) != 0) {
    free(r);
    return oc_err_set(err, OC_ERR_NOMEM, "refresher: mutex");
  }
  if (pthread_cond_init(&r->cond, NULL) != 0) {
    pthread_mutex_destroy(&r->mu);
    free(r);
    return oc_err_set(err, OC_ERR_NOMEM, "refresher: condition variable");
  }
  int e = pthread_create(&r->thread, NULL, run, r);
  if (e != 0) {
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->mu);
    free(r);
    return oc_err_set(err, OC_ERR_NOMEM, "refresher: thread: %s", strerror(e));
  }
  *out = r;
  return 0;
}

void oc_refresher_nudge(oc_refresher_t *r) {
  if (!r)
    return;
  pthread_mutex_lock(&r->mu);
  r->nudged = true;
  pthread_cond_signal(&r->cond);
  pthread_mutex_unlock(&r->mu);
}

void oc_refresher_stop(oc_refresher_t *r) {
  char buf[256];
  if (!r)
    return;
  pthread_mutex_lock(&r->mu);
  r->stop = true;
  if (r->cancel)
    PQcancel(r->cancel, buf, sizeof(buf));
  pthread_cond_signal(&r->cond);
  pthread_mutex_unlock(&r->mu);
  pthread_join(r->thread, NULL);
  pthread_cond_destroy(&r->cond);
  pthread_mutex_destroy(&r->mu);
  free(r);
}
