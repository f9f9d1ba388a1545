/* offsets.c - the stored Kafka positions; see include/outcomes/offsets.h. */
#include "outcomes/offsets.h"

#include <stdbool.h>
#include <stdlib.h>

#include "outcomes/pgbin.h"
#include "outcomes/stmt.h"

static int cmp_partition(const void *a, const void *b) {
  int32_t x = ((const oc_offset_update_t *)a)->partition;
  int32_t y = ((const oc_offset_update_t *)b)->partition;
  return (x > y) - (x < y);
}

/* Run s with parameters group, topic (text), then k integer arrays
 * (binary); *rows: the rows it touched. */
static int exec_arrays(PGconn *conn, oc_stmt_t s, const char *group_id, const char *topic,
                       oc_pgarr_t *arrs, int k, long *rows, oc_err_t *err) {
  const char *vals[8] = {group_id, topic};
  int lens[8] = {0, 0}, fmts[8] = {0, 0};
  PGresult *res = NULL;
  int rc;

  for (int i = 0; i < k; i++) {
    if (!(vals[2 + i] = oc_pgarr_finish(&arrs[i], &lens[2 + i])))
      return oc_err_set(err, OC_ERR_NOMEM, "offsets: out of memory");
    fmts[2 + i] = 1;
  }
  if ((rc = oc_stmt_exec(conn, s, 2 + k, vals, lens, fmts, 0, &res, err)) != 0)
    return rc;
  *rows = strtol(PQcmdTuples(res), NULL, 10);
  PQclear(res);
  return 0;
}

/* One of the two compare-and-set statements, over the updates whose
 * expected offset is -1 (want_new) or not. */
static int cas_run(PGconn *conn, const char *group_id, const char *topic,
                   const oc_offset_update_t *u, size_t n, bool want_new, oc_err_t *err) {
  oc_pgarr_t a[3];
  size_t k = 0;
  int rc = 0;

  oc_pgarr_init(&a[0], OC_OID_INT4);
  oc_pgarr_init(&a[1], OC_OID_INT8);
  oc_pgarr_init(&a[2], OC_OID_INT8);
  for (size_t i = 0; i < n; i++) {
    if ((u[i].expected < 0) != want_new)
      continue;
    oc_pgarr_int4(&a[0], u[i].partition);
    oc_pgarr_int8(&a[1], want_new ? u[i].next : u[i].expected);
    oc_pgarr_int8(&a[2], want_new ? u[i].first : u[i].next);
    k++;
  }
  long rows = 0;
  if (k > 0 &&
      (rc = exec_arrays(conn, want_new ? OC_STMT_OFFSETS_CAS_INSERT : OC_STMT_OFFSETS_CAS_UPDATE,
                        group_id, topic, a, 3, &rows, err)) == 0 &&
      rows != (long)k)
    rc = oc_err_set(err, OC_ERR_CONFLICT,
                    "offsets compare-and-set: %ld of %zu %s partitions of topic '%s' "
                    "group '%s' matched: another instance moved on",
                    rows, k, want_new ? "new" : "stored", topic, group_id);
  for (int i = 0; i < 3; i++)
    oc_pgarr_release(&a[i]);
  return rc;
}

int oc_offsets_cas(PGconn *conn, const char *group_id, const char *topic,
                   const oc_offset_update_t *u, size_t n, oc_err_t *err) {
  oc_offset_update_t *sorted = malloc((n ? n : 1) * sizeof(*sorted));
  int rc;

  if (!sorted)
    return oc_err_set(err, OC_ERR_NOMEM, "offsets: out of memory");
  for (size_t i = 0; i < n; i++)
    sorted[i] = u[i];
  qsort(sorted, n, sizeof(*sorted), cmp_partition);
  rc = cas_run(conn, group_id, topic, sorted, n, false, err);
  if (rc == 0)
    rc = cas_run(conn, group_id, topic, sorted, n, true, err);
  free(sorted);
  return rc;
}

int oc_offsets_load(PGconn *conn, const char *group_id, const char *topic, const int32_t *parts,
                    size_t n, int64_t *next_out, oc_err_t *err) {
  oc_pgarr_t arr;
  PGresult *res = NULL;
  const char *vals[3] = {group_id, topic, NULL};
  int lens[3] = {0, 0, 0}, fmts[3] = {0, 0, 1};
  int rc = 0;

  oc_pgarr_init(&arr, OC_OID_INT4);
  for (size_t i = 0; i < n; i++) {
    oc_pgarr_int4(&arr, parts[i]);
    next_out[i] = -1;
  }
  if (!(vals[2] = oc_pgarr_finish(&arr, &lens[2]))) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "offsets: out of memory");
    goto out;
  }
  if ((rc = oc_stmt_exec(conn, OC_STMT_OFFSETS_LOAD, 3, vals, lens, fmts, 1, &res, err)) != 0)
    goto out;
  for (int r = 0; r < PQntuples(res); r++) {
    int32_t p = oc_pgbin_int4(PQgetvalue(res, r, 0));
    int64_t next = oc_pgbin_int8(PQgetvalue(res, r, 1));
    for (size_t i = 0; i < n; i++)
      if (parts[i] == p)
        next_out[i] = next;
  }
out:
  PQclear(res);
  oc_pgarr_release(&arr);
  return rc;
}

int oc_offsets_count(PGconn *conn, const char *group_id, const char *topic, const int32_t *parts,
                     const int64_t *applied, const int64_t *stale, const int64_t *dead, size_t n,
                     oc_err_t *err) {
  oc_pgarr_t a[4];
  long rows = 0;
  int rc;

  oc_pgarr_init(&a[0], OC_OID_INT4);
  for (int i = 1; i < 4; i++)
    oc_pgarr_init(&a[i], OC_OID_INT8);
  for (size_t i = 0; i < n; i++) {
    oc_pgarr_int4(&a[0], parts[i]);
    oc_pgarr_int8(&a[1], applied[i]);
    oc_pgarr_int8(&a[2], stale[i]);
    oc_pgarr_int8(&a[3], dead[i]);
  }
  rc = exec_arrays(conn, OC_STMT_OFFSETS_COUNT, group_id, topic, a, 4, &rows, err);
  for (int i = 0; i < 4; i++)
    oc_pgarr_release(&a[i]);
  return rc;
}
