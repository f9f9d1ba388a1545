/* replay_dlq.c - dead letters listed, shown, redriven and purged; see
 * include/outcomes/replay.h. The statements are the files dlq_*.sql of
 * schemas/sql/statements/replay/. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oc_sql_replay_statements.h"
#include "outcomes/kafka.h"
#include "outcomes/log.h"
#include "outcomes/pg.h"
#include "replay_internal.h"

/* ---- list -------------------------------------------------------------- */

int oc_replay_dlq_list(oc_replay_t *r, const oc_dlq_filter_t *f, oc_err_t *err) {
  PGconn *pg;
  PGresult *res = NULL;
  char limit[24];
  int rc;

  if ((rc = oc_replay_check_schema(r, 2, err)) != 0 || (rc = oc_replay_pg(r, &pg, err)) != 0)
    return rc;
  snprintf(limit, sizeof(limit), "%" PRId64, f->limit > 0 ? f->limit : 100);
  const char *v[4] = {f->code, f->group, f->pending_only ? "true" : "false", limit};
  if ((rc = oc_pg_exec_params_what(pg, OC_REPLAY_SQL(dlq_list), 4, v, &res, err)) != 0)
    return rc;
  oc_replay_printf(r, "id\tcreated_at\tgroup\ttopic\tpartition\toffset\tcode\tredriven_at"
                      "\tvalue_bytes\tmessage");
  for (int i = 0; i < PQntuples(res); i++)
    oc_replay_printf(r, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", PQgetvalue(res, i, 0),
                     PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
                     PQgetvalue(res, i, 4), PQgetvalue(res, i, 5), PQgetvalue(res, i, 6),
                     PQgetvalue(res, i, 7), PQgetvalue(res, i, 8), PQgetvalue(res, i, 9));
  PQclear(res);
  return 0;
}

/* ---- show -------------------------------------------------------------- */

/* The bytes of a bytea in text output (caller frees with PQfreemem). */
static unsigned char *unescape(const PGresult *res, int row, int col, size_t *len) {
  *len = 0;
  if (PQgetisnull(res, row, col))
    return NULL;
  return PQunescapeBytea((const unsigned char *)PQgetvalue(res, row, col), len);
}

static void hexdump(oc_replay_t *r, const char *what, const unsigned char *p, size_t len,
                    bool is_null) {
  if (is_null) {
    oc_replay_printf(r, "%s: null", what);
    return;
  }
  oc_replay_printf(r, "%s: %zu bytes", what, len);
  for (size_t off = 0; off < len; off += 16) {
    char hex[16 * 3 + 1], asc[17];
    size_t k = 0;
    for (size_t i = 0; i < 16; i++) {
      if (off + i < len) {
        snprintf(hex + 3 * i, 4, "%02x ", p[off + i]);
        asc[k++] = p[off + i] >= 0x20 && p[off + i] < 0x7f ? (char)p[off + i] : '.';
      } else {
        memcpy(hex + 3 * i, "   ", 4);
      }
    }
    asc[k] = '\0';
    oc_replay_printf(r, "  %08zx  %s |%s|", off, hex, asc);
  }
}

int oc_replay_dlq_show(oc_replay_t *r, int64_t id, oc_err_t *err) {
  static const char *const names[] = {"id",        "group", "topic",   "partition",  "offset",
                                      "timestamp", "code",  "message", "created_at", "redriven_at"};
  PGconn *pg;
  PGresult *res = NULL, *hres = NULL;
  unsigned char *b = NULL;
  char s_id[24];
  size_t len;
  int rc;

  if ((rc = oc_replay_check_schema(r, 2, err)) != 0 || (rc = oc_replay_pg(r, &pg, err)) != 0)
    return rc;
  snprintf(s_id, sizeof(s_id), "%" PRId64, id);
  const char *v[1] = {s_id};
  if ((rc = oc_pg_exec_params_what(pg, OC_REPLAY_SQL(dlq_show), 1, v, &res, err)) != 0 ||
      (rc = oc_pg_exec_params_what(pg, OC_REPLAY_SQL(dlq_show_headers), 1, v, &hres, err)) != 0)
    goto out;
  if (PQntuples(res) != 1) {
    rc = oc_err_set(err, OC_ERR_NOT_FOUND, "no dead letter with id %" PRId64, id);
    goto out;
  }
  for (int c = 0; c < 10; c++)
    oc_replay_printf(r, "%s: %s", names[c], PQgetvalue(res, 0, c));
  b = unescape(res, 0, 10, &len);
  hexdump(r, "key", b, len, PQgetisnull(res, 0, 10));
  PQfreemem(b);
  b = unescape(res, 0, 11, &len);
  hexdump(r, "value", b, len, PQgetisnull(res, 0, 11));
  PQfreemem(b);
  b = NULL;
  oc_replay_printf(r, "headers: %d", PQntuples(hres));
  for (int i = 0; i < PQntuples(hres); i++) {
    char what[300];
    snprintf(what, sizeof(what), "header '%s'", PQgetvalue(hres, i, 0));
    b = unescape(hres, i, 1, &len);
    hexdump(r, what, b, len, PQgetisnull(hres, i, 1));
    PQfreemem(b);
    b = NULL;
  }
out:
  PQclear(res);
  PQclear(hres);
  return rc;
}

/* ---- redrive ----------------------------------------------------------- */

/* Checked target topics, so that a missing topic fails at once instead of
 * after librdkafka's message timeout. */
typedef struct topics_s {
  char **v;
  size_t n;
} topics_t;

static int topic_check(oc_replay_t *r, topics_t *t, const char *topic, oc_err_t *err) {
  rd_kafka_t *rk;
  int count, rc;
  for (size_t i = 0; i < t->n; i++)
    if (strcmp(t->v[i], topic) == 0)
      return 0;
  if ((rc = oc_replay_meta(r, &rk, err)) != 0 ||
      (rc = oc_kafka_partition_count(rk, topic, r->timeout_ms, &count, err)) != 0)
    return rc;
  char **v = realloc(t->v, (t->n + 1) * sizeof(char *));
  if (!v)
    return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  t->v = v;
  if (!(t->v[t->n] = strdup(topic)))
    return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  t->n++;
  return 0;
}

/* The headers of row id from hres (rows from *hrow on, ordered by id). */
static rd_kafka_headers_t *headers_of(const PGresult *hres, int *hrow, int64_t id) {
  rd_kafka_headers_t *h = NULL;
  while (*hrow < PQntuples(hres) && strtoll(PQgetvalue(hres, *hrow, 0), NULL, 10) < id)
    (*hrow)++;
  for (; *hrow < PQntuples(hres) && strtoll(PQgetvalue(hres, *hrow, 0), NULL, 10) == id;
       (*hrow)++) {
    size_t len = 0;
    unsigned char *b = unescape(hres, *hrow, 2, &len);
    if (!h)
      h = rd_kafka_headers_new(4);
    rd_kafka_header_add(h, PQgetvalue(hres, *hrow, 1), -1, b, b ? (ssize_t)len : 0);
    PQfreemem(b);
  }
  return h;
}

/* One batch in one transaction. *taken rows were selected, *done
 * acknowledged and marked; *last the greatest id taken. */
static int redrive_batch(oc_replay_t *r, PGconn *pg, const char *const *v, const char *topic,
                         bool dry_run, topics_t *topics, oc_rprod_t **prod, int64_t *taken,
                         int64_t *done, int64_t *last, oc_err_t *err) {
  PGresult *res = NULL, *hres = NULL;
  int64_t *ids = NULL;
  int8_t *status = NULL;
  char *arr = NULL;
  int rc, hrow = 0;

  *taken = *done = 0;
  if ((rc = oc_pg_exec_what(pg, "BEGIN", "begin", err)) != 0 ||
      (rc = oc_pg_exec_params_what(pg, OC_REPLAY_SQL(dlq_redrive_select), 5, v, &res, err)) != 0)
    goto out;
  int n = PQntuples(res);
  *taken = n;
  if (n == 0)
    goto out;
  ids = calloc((size_t)n, sizeof(*ids));
  status = calloc((size_t)n, sizeof(*status));
  arr = malloc((size_t)n * 21 + 3);
  if (!ids || !status || !arr) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "out of memory");
    goto out;
  }
  for (int i = 0; i < n; i++)
    ids[i] = strtoll(PQgetvalue(res, i, 0), NULL, 10);
  *last = ids[n - 1];
  oc_replay_int_array(arr, (size_t)n * 21 + 3, ids, (size_t)n);
  const char *hv[1] = {arr};
  if ((rc = oc_pg_exec_params_what(pg, OC_REPLAY_SQL(dlq_redrive_headers), 1, hv, &hres, err)) != 0)
    goto out;
  for (int i = 0; i < n; i++) {
    const char *to = topic ? topic : PQgetvalue(res, i, 1);
    if (dry_run) {
      oc_replay_printf(r, "would redrive id %" PRId64 " (%s [%s] @%s, %s) -> %s", ids[i],
                       PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
                       PQgetvalue(res, i, 4), to);
      continue;
    }
    if ((rc = topic_check(r, topics, to, err)) != 0)
      goto out;
    if (!*prod && (rc = oc_rprod_new(r, 0, prod, err)) != 0)
      goto out;
    size_t klen = 0, vlen = 0;
    unsigned char *key = unescape(res, i, 5, &klen);
    unsigned char *val = unescape(res, i, 6, &vlen);
    rc = oc_rprod_send(*prod, to, key, klen, val, vlen, headers_of(hres, &hrow, ids[i]), 0,
                       &status[i], err);
    PQfreemem(key);
    PQfreemem(val);
    if (rc == OC_KPROD_GAVE_UP) {
      rc = 0; /* a stop request, or a failure the flush reports */
      break;
    }
    if (rc != 0)
      break; /* what was sent is still flushed and marked */
  }
  if (dry_run) {
    rc = oc_pg_exec_what(pg, "ROLLBACK", "rollback", err);
    goto out;
  }
  oc_err_t ferr;
  int frc = oc_rprod_flush(*prod, &ferr);
  if (rc == 0 && frc != 0) {
    rc = frc;
    if (err)
      *err = ferr;
  }
  /* Only the acknowledged rows are marked, in the transaction that took
   * them. */
  size_t k = 0;
  for (int i = 0; i < n; i++)
    if (status[i] == 1)
      ids[k++] = ids[i];
  *done = (int64_t)k;
  if (k > 0) {
    oc_err_t merr;
    int mrc;
    oc_replay_int_array(arr, (size_t)n * 21 + 3, ids, k);
    if ((mrc = oc_pg_exec_params_what(pg, OC_REPLAY_SQL(dlq_mark_redriven), 1, hv, NULL, &merr)) !=
            0 ||
        (mrc = oc_pg_exec_what(pg, "COMMIT", "commit", &merr)) != 0) {
      /* Delivered but not marked: the next redrive sends them again, and
       * the daemon skips the duplicates. */
      *done = 0;
      if (err)
        *err = merr;
      rc = mrc;
      goto out;
    }
    for (size_t i = 0; i < k; i++)
      oc_replay_printf(r, "redriven id %" PRId64, ids[i]);
  }
out:
  if (pg)
    oc_pg_rollback(pg);
  PQclear(res);
  PQclear(hres);
  free(ids);
  free(status);
  free(arr);
  return rc;
}

int oc_replay_dlq_redrive(oc_replay_t *r, const oc_dlq_filter_t *f, const char *topic, bool dry_run,
                          oc_err_t *err) {
  PGconn *pg;
  oc_rprod_t *prod = NULL;
  topics_t topics = {NULL, 0};
  char *ids = NULL, limit[24], last_s[24];
  int64_t last = 0, taken, done, n_taken = 0, n_done = 0;
  int rc;

  if (!f->all && !f->n_ids && !f->code)
    return oc_err_set(err, OC_ERR_USAGE, "redrive: name ids, --code C or --all");
  if ((rc = oc_replay_check_schema(r, 2, err)) != 0 || (rc = oc_replay_pg(r, &pg, err)) != 0)
    return rc;
  if (topic && !dry_run && (rc = topic_check(r, &topics, topic, err)) != 0)
    goto out;
  if (f->n_ids) {
    if (!(ids = malloc(f->n_ids * 21 + 3))) {
      rc = oc_err_set(err, OC_ERR_NOMEM, "out of memory");
      goto out;
    }
    oc_replay_int_array(ids, f->n_ids * 21 + 3, f->ids, f->n_ids);
  }
  snprintf(limit, sizeof(limit), "%" PRId64, oc_config_get_int(r->cfg, "redrive.batch"));
  do {
    snprintf(last_s, sizeof(last_s), "%" PRId64, last);
    const char *v[5] = {ids, f->code, f->group, limit, last_s};
    rc = redrive_batch(r, pg, v, topic, dry_run, &topics, &prod, &taken, &done, &last, err);
    n_taken += taken;
    n_done += done;
  } while (rc == 0 && taken > 0 && !oc_replay_stopping(r));
  if (dry_run)
    oc_replay_printf(r, "would redrive %" PRId64 " dead letter(s) (dry run: nothing sent)",
                     n_taken);
  else
    oc_replay_printf(r, "redriven %" PRId64 " dead letter(s), %" PRId64 " not delivered", n_done,
                     n_taken - n_done);
  if (rc == 0 && oc_replay_stopping(r))
    rc = oc_err_set(err, OC_ERR_IO, "stopped on request: re-run to redrive the rest");
out:
  oc_rprod_destroy(prod);
  for (size_t i = 0; i < topics.n; i++)
    free(topics.v[i]);
  free(topics.v);
  free(ids);
  return rc;
}

/* ---- purge ------------------------------------------------------------- */

int oc_replay_dlq_purge(oc_replay_t *r, const oc_dlq_filter_t *f, const char *older_than,
                        bool dry_run, oc_err_t *err) {
  PGconn *pg;
  PGresult *res = NULL;
  char epoch[64], before[64], limit[24];
  int64_t n = 0, total = 0;
  int rc;

  if ((rc = oc_replay_check_schema(r, 2, err)) != 0 || (rc = oc_replay_pg(r, &pg, err)) != 0)
    return rc;
  /* The bound, fixed once (as seconds since the epoch: no DateStyle in
   * the way): batches after the first do not move it. */
  const char *bv[1] = {older_than};
  if ((rc = oc_pg_exec_params_what(pg, OC_REPLAY_SQL(dlq_purge_bound), 1, bv, &res, err)) != 0) {
    if (strstr(err->msg, "SQLSTATE 22")) /* not an interval */
      rc = oc_err_set(err, OC_ERR_USAGE, "--older-than '%s': want a positive interval (30d, 12h)",
                      older_than);
    return rc;
  }
  if (strcmp(PQgetvalue(res, 0, 2), "t") != 0) {
    PQclear(res);
    return oc_err_set(err, OC_ERR_USAGE, "--older-than '%s': want a positive interval (30d, 12h)",
                      older_than);
  }
  snprintf(epoch, sizeof(epoch), "%s", PQgetvalue(res, 0, 0));
  snprintf(before, sizeof(before), "%s", PQgetvalue(res, 0, 1));
  PQclear(res);
  snprintf(limit, sizeof(limit), "%" PRId64, oc_config_get_int(r->cfg, "redrive.batch"));
  const char *v[4] = {epoch, f->code, f->group, limit};
  if (dry_run) {
    if ((rc = oc_pg_exec_params_what(pg, OC_REPLAY_SQL(dlq_purge_count), 3, v, &res, err)) != 0)
      return rc;
    oc_replay_printf(r, "would purge %s dead letter(s) created before %s (dry run)",
                     PQgetvalue(res, 0, 0), before);
    PQclear(res);
    return 0;
  }
  do {
    if ((rc = oc_pg_exec_params_what(pg, OC_REPLAY_SQL(dlq_purge), 4, v, &res, err)) != 0)
      break;
    n = strtoll(PQcmdTuples(res), NULL, 10);
    total += n;
    PQclear(res);
    res = NULL;
  } while (n > 0 && !oc_replay_stopping(r));
  oc_replay_printf(r, "purged %" PRId64 " dead letter(s) created before %s", total, before);
  if (rc == 0 && oc_replay_stopping(r))
    rc = oc_err_set(err, OC_ERR_IO, "stopped on request: re-run to purge the rest");
  return rc;
}
