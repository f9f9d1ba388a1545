/* rollupd_catalog.c - outcomes-rollupd's metric catalog kept current: it
 * listens on the channel outcomes_catalog (every write of
 * outcomes.metric_catalog notifies it, a trigger of migration 0008) and is
 * asked by SIGHUP; between batches either reloads the catalog from its
 * connection. A catalog that fails to load leaves the one in use; a
 * transient failure is tried again. See rollupd_internal.h. */
#include <stdio.h>
#include <string.h>

#include "oc_sql_statements.h"
#include "outcomes/log.h"
#include "outcomes/pg.h"
#include "rollupd_internal.h"

#define CATALOG_CHANNEL "outcomes_catalog"
#define CATALOG_RETRY_MS 1000 /* after a transient failure to reload */

int oc_rd_catalog_listen(PGconn *conn, oc_err_t *err) {
  return oc_pg_exec_what(conn, oc_sql_catalog_listen, "catalog_listen", err);
}

int oc_rd_catalog_load(PGconn *conn, oc_catalog_t **out, oc_err_t *err) {
  int rc = oc_catalog_load_pg(conn, out, err);
  if (rc == 0 && oc_catalog_count(*out) == 0) {
    oc_catalog_destroy(*out);
    *out = NULL;
    rc = oc_err_set(err, OC_ERR_CONFIG, "outcomes.metric_catalog is empty: run with --migrate");
  }
  return rc;
}

void oc_rd_catalog_adopt(oc_rd_t *d, oc_catalog_t *cat, const char *trigger) {
  if (d->cat && trigger)
    oc_catalog_log_reloaded(d->cat, cat, trigger);
  if (d->batch)
    oc_batch_set_catalog(d->batch, cat);
  oc_catalog_destroy(d->cat);
  d->cat = cat;
  d->cat_pending = NULL;
}

/* Whether a notification of the catalog's channel arrived on d->pg. */
static bool notified(oc_rd_t *d) {
  PGnotify *n;
  bool any = false;

  if (!d->pg || PQstatus(d->pg) != CONNECTION_OK || PQtransactionStatus(d->pg) != PQTRANS_IDLE)
    return false;
  if (!PQconsumeInput(d->pg))
    return false; /* the next batch meets the broken connection */
  while ((n = PQnotifies(d->pg)) != NULL) {
    if (strcmp(n->relname, CATALOG_CHANNEL) == 0)
      any = true;
    PQfreemem(n);
  }
  return any;
}

static void reload(oc_rd_t *d, const char *trigger) {
  oc_catalog_t *cat = NULL;
  oc_err_t err;

  oc_err_clear(&err);
  if (oc_rd_catalog_load(d->pg, &cat, &err) == 0) {
    oc_rd_catalog_adopt(d, cat, trigger);
    return;
  }
  oc_catalog_destroy(cat);
  oc_log_err("catalog_reload_failed reason=\"%s\" trigger=%s retry=%d metrics=%zu: the catalog "
             "in use is kept",
             err.msg, trigger, (int)err.retriable, oc_catalog_count(d->cat));
  /* A transient failure (the server, a timeout) is tried again; a table
   * that does not make a catalog waits for the next change. */
  d->cat_pending = err.retriable ? trigger : NULL;
  d->cat_retry_at = oc_clock_ms() + CATALOG_RETRY_MS;
}

void oc_rd_catalog_poll(oc_rd_t *d) {
  const char *trigger = NULL;

  if (d->opts->reload && *d->opts->reload) {
    *d->opts->reload = 0;
    trigger = "sighup";
  }
  if (notified(d))
    trigger = "notify";
  if (!trigger && d->cat_pending && oc_clock_ms() >= d->cat_retry_at)
    trigger = d->cat_pending;
  if (!trigger)
    return;
  if (!d->pg || PQstatus(d->pg) != CONNECTION_OK) {
    /* Reconnecting loads the catalog anyway (pg_setup). */
    d->cat_pending = trigger;
    d->cat_retry_at = oc_clock_ms() + CATALOG_RETRY_MS;
    return;
  }
  reload(d, trigger);
}
