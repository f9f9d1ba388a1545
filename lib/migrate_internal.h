/* migrate_internal.h - what migrate.c (the migrations) and catalog_sync.c
 * (the catalog file into outcomes.metric_catalog) share. Not installed. */
#ifndef OC_MIGRATE_INTERNAL_H
#define OC_MIGRATE_INTERNAL_H

#include <stdbool.h>

#include <libpq-fe.h>

#include "outcomes/err.h"
#include "outcomes/migrate.h"

/* Whether the relation relname (e.g. "outcomes.metric_catalog") exists. */
int oc_migrate_regclass_exists(PGconn *conn, const char *relname, bool *exists, oc_err_t *err);

/* SET LOCAL ROLE role, inside the caller's transaction. */
int oc_migrate_set_local_role(PGconn *conn, const char *role, oc_err_t *err);

/* Sync the catalog file at path into outcomes.metric_catalog on conn (idle;
 * holding the migration lock) in one transaction, run as role (NULL: the
 * session's): new codes inserted, changed ones updated, none deleted. With
 * dry_run nothing is written (the table may be missing). Fills report's
 * catalog counts, cat_removed and cat_diffs. dir names the migrations in
 * the error of a table no migration created. */
int oc_migrate_sync_catalog(PGconn *conn, const char *dir, const char *path, bool dry_run,
                            const char *role, oc_migrate_report_t *report, oc_err_t *err);

#endif
