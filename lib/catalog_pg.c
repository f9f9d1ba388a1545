/* catalog_pg.c - the metric catalog as PostgreSQL holds it
 * (outcomes.metric_catalog, synced by outcomes-migrate); see
 * include/outcomes/catalog.h. Apart from catalog.c so that the parsers of
 * catalog files build without libpq (the fuzz targets). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes/catalog.h"
#include "outcomes/stmt.h"

int oc_catalog_load_pg(PGconn *conn, oc_catalog_t **out, oc_err_t *err) {
  oc_catalog_t *cat = NULL;
  PGresult *res = NULL;
  int rc;

  *out = NULL;
  if ((rc = oc_stmt_exec(conn, OC_STMT_CATALOG_LOAD, 0, NULL, NULL, NULL, 0, &res, err)) != 0)
    goto out;
  if (!(cat = oc_catalog_new())) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "catalog: out of memory");
    goto out;
  }
  for (int r = 0; r < PQntuples(res); r++) {
    oc_metric_t m;
    memset(&m, 0, sizeof(m));
    snprintf(m.code, sizeof(m.code), "%s", PQgetvalue(res, r, 0));
    m.name = PQgetvalue(res, r, 1);
    m.unit = PQgetvalue(res, r, 2);
    m.min = strtod(PQgetvalue(res, r, 5), NULL);
    m.max = strtod(PQgetvalue(res, r, 6), NULL);
    m.seed = PQgetvalue(res, r, 7);
    m.description = PQgetvalue(res, r, 8);
    m.measure_url = PQgetvalue(res, r, 9); /* "" when NULL */
    if (oc_kind_from_name(PQgetvalue(res, r, 3), &m.kind) != 0)
      rc = oc_err_set(err, OC_ERR_CONFIG, "kind: unknown kind '%.80s'", PQgetvalue(res, r, 3));
    else if (oc_direction_from_name(PQgetvalue(res, r, 4), &m.direction) != 0)
      rc = oc_err_set(err, OC_ERR_CONFIG, "direction: unknown direction '%.80s'",
                      PQgetvalue(res, r, 4));
    else
      rc = oc_catalog_add(cat, &m, err);
    if (rc != 0) {
      oc_err_prefix(err, "outcomes.metric_catalog: metric '%s': ", m.code);
      goto out;
    }
  }
  *out = cat;
  cat = NULL;
out:
  oc_catalog_destroy(cat);
  PQclear(res);
  return rc;
}
