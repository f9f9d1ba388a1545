/* apply.c - one batch, one transaction; see include/outcomes/apply.h.
 *
 * Every value goes to PostgreSQL through COPY (text format, escaped here)
 * or statement parameters; SQL text is constant. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch_internal.h"
#include "outcomes/log.h"
#include "outcomes/pg.h"
#include "outcomes/rollup.h"

/* ---- a growable text buffer -------------------------------------------- */

typedef struct sbuf_s {
  char *p;
  size_t len, cap;
  bool failed;
} sbuf_t;

static void sb_reserve(sbuf_t *sb, size_t more) {
  if (sb->failed || sb->len + more + 1 <= sb->cap)
    return;
  size_t cap = sb->cap ? sb->cap : 4096;
  while (cap < sb->len + more + 1)
    cap *= 2;
  char *p = realloc(sb->p, cap);
  if (!p) {
    sb->failed = true;
    return;
  }
  sb->p = p;
  sb->cap = cap;
}

static void sb_put(sbuf_t *sb, const char *s, size_t n) {
  sb_reserve(sb, n);
  if (sb->failed)
    return;
  memcpy(sb->p + sb->len, s, n);
  sb->len += n;
  sb->p[sb->len] = '\0';
}

static void sb_puts(sbuf_t *sb, const char *s) { sb_put(sb, s, strlen(s)); }

static void sb_printf(sbuf_t *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf_t *sb, const char *fmt, ...) {
  char tmp[128];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof(tmp)) {
    sb->failed = true;
    return;
  }
  sb_put(sb, tmp, (size_t)n);
}

/* A COPY text field: backslash and the delimiters escaped. */
static void sb_copy_text(sbuf_t *sb, const char *s) {
  for (const char *p = s; *p; p++) {
    switch (*p) {
    case '\\': sb_put(sb, "\\\\", 2); break;
    case '\t': sb_put(sb, "\\t", 2); break;
    case '\n': sb_put(sb, "\\n", 2); break;
    case '\r': sb_put(sb, "\\r", 2); break;
    default: sb_put(sb, p, 1);
    }
  }
}

static void sb_copy_date(sbuf_t *sb, oc_date_t d) {
  char buf[11];
  oc_date_format(d, buf);
  sb_puts(sb, buf);
}

static void sb_copy_double(sbuf_t *sb, bool present, double v) {
  if (present)
    sb_printf(sb, "%.17g", v); /* reads back to the same double */
  else
    sb_puts(sb, "\\N");
}

/* ---- COPY -------------------------------------------------------------- */

static int copy_in(PGconn *conn, const char *sql, const sbuf_t *data, oc_err_t *err) {
  PGresult *res = PQexec(conn, sql);
  int rc = 0;

  if (PQresultStatus(res) != PGRES_COPY_IN) {
    rc = oc_pg_result_err(conn, res, sql, err);
    PQclear(res);
    return rc;
  }
  PQclear(res);
  if (data->len && PQputCopyData(conn, data->p, (int)data->len) != 1) {
    PQputCopyEnd(conn, "client failed to send");
    rc = oc_pg_result_err(conn, NULL, sql, err);
  } else if (PQputCopyEnd(conn, NULL) != 1) {
    rc = oc_pg_result_err(conn, NULL, sql, err);
  }
  while ((res = PQgetResult(conn)) != NULL) {
    if (rc == 0 && PQresultStatus(res) != PGRES_COMMAND_OK)
      rc = oc_pg_result_err(conn, res, sql, err);
    PQclear(res);
  }
  return rc;
}

/* ---- session set-up ---------------------------------------------------- */

/* JIT compilation costs more than these short statements ever save. */
static const char sql_prepare[] =
    "SET jit = off;"
    "CREATE TEMP TABLE IF NOT EXISTS oc_keys ("
    "  idx integer NOT NULL, metric text NOT NULL, org_id text NOT NULL,"
    "  facility_id text NOT NULL, grain text NOT NULL, period_start date NOT NULL"
    ") ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS oc_stage ("
    "  metric text NOT NULL, org_id text NOT NULL, facility_id text NOT NULL,"
    "  grain text NOT NULL, period_start date NOT NULL, retracted boolean NOT NULL,"
    "  value double precision, numerator double precision, denominator double precision,"
    "  source text, observed_at timestamptz, src_topic text NOT NULL,"
    "  src_partition integer NOT NULL, src_offset bigint NOT NULL,"
    "  barrier_offset bigint NOT NULL, visible_changed boolean NOT NULL,"
    "  old_standing boolean NOT NULL DEFAULT false, old_value double precision,"
    "  old_numerator double precision, old_denominator double precision"
    ") ON COMMIT DELETE ROWS";

int oc_apply_prepare(PGconn *conn, oc_err_t *err) {
  int rc = oc_pg_exec_what(conn, sql_prepare, "create temporary tables", err);
  if (rc == 0)
    rc = oc_rollup_prepare(conn, err);
  return rc;
}

/* ---- offsets ----------------------------------------------------------- */

/* "{1,2,3}" from n integers picked by get(i). */
static void sb_int_array(sbuf_t *sb, size_t n, int64_t (*get)(const void *, size_t),
                         const void *arg) {
  sb_puts(sb, "{");
  for (size_t i = 0; i < n; i++)
    sb_printf(sb, "%s%" PRId64, i ? "," : "", get(arg, i));
  sb_puts(sb, "}");
}

static int64_t upd_partition(const void *a, size_t i) {
  return ((const oc_offset_update_t *)a)[i].partition;
}
static int64_t upd_expected(const void *a, size_t i) {
  return ((const oc_offset_update_t *)a)[i].expected;
}
static int64_t upd_next(const void *a, size_t i) { return ((const oc_offset_update_t *)a)[i].next; }
static int64_t upd_first(const void *a, size_t i) {
  return ((const oc_offset_update_t *)a)[i].first;
}

static const char sql_cas_update[] =
    "UPDATE outcomes.consumer_offsets o SET next_offset = u.next_offset, updated_at = now()"
    " FROM unnest($3::integer[], $4::bigint[], $5::bigint[]) AS u(partition, expected, next_offset)"
    " WHERE o.group_id = $1 AND o.topic = $2 AND o.partition = u.partition"
    " AND o.next_offset = u.expected";

static const char sql_cas_insert[] =
    "INSERT INTO outcomes.consumer_offsets (group_id, topic, partition, next_offset, first_offset)"
    " SELECT $1, $2, u.partition, u.next_offset, u.first_offset"
    " FROM unnest($3::integer[], $4::bigint[], $5::bigint[]) AS u(partition, next_offset, first_offset)"
    " ON CONFLICT DO NOTHING";

/* Run one of the CAS statements over the updates selected by want_new. */
static int cas_run(PGconn *conn, const char *group_id, const char *topic,
                   const oc_offset_update_t *u, size_t n, bool want_new, oc_err_t *err) {
  oc_offset_update_t *sel = malloc((n ? n : 1) * sizeof(*sel));
  sbuf_t a[3] = {{0}};
  PGresult *res = NULL;
  size_t k = 0;
  int rc = 0;

  if (!sel)
    return oc_err_set(err, OC_ERR_NOMEM, "offsets: out of memory");
  for (size_t i = 0; i < n; i++)
    if ((u[i].expected < 0) == want_new)
      sel[k++] = u[i];
  if (k == 0)
    goto out;
  sb_int_array(&a[0], k, upd_partition, sel);
  sb_int_array(&a[1], k, want_new ? upd_next : upd_expected, sel);
  sb_int_array(&a[2], k, want_new ? upd_first : upd_next, sel);
  if (a[0].failed || a[1].failed || a[2].failed) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "offsets: out of memory");
    goto out;
  }
  const char *vals[5] = {group_id, topic, a[0].p, a[1].p, a[2].p};
  if ((rc = oc_pg_exec_params(conn, want_new ? sql_cas_insert : sql_cas_update, 5, vals,
                              &res, err)) != 0)
    goto out;
  long rows = strtol(PQcmdTuples(res), NULL, 10);
  if (rows != (long)k)
    rc = oc_err_set(err, OC_ERR_CONFLICT,
                    "offsets compare-and-set: %ld of %zu %s partitions of topic '%s' "
                    "group '%s' matched: another instance moved on",
                    rows, k, want_new ? "new" : "stored", topic, group_id);
out:
  PQclear(res);
  for (int i = 0; i < 3; i++)
    free(a[i].p);
  free(sel);
  return rc;
}

int oc_offsets_cas(PGconn *conn, const char *group_id, const char *topic,
                   const oc_offset_update_t *u, size_t n, oc_err_t *err) {
  int rc = cas_run(conn, group_id, topic, u, n, false, err);
  if (rc == 0)
    rc = cas_run(conn, group_id, topic, u, n, true, err);
  return rc;
}

int oc_offsets_load(PGconn *conn, const char *group_id, const char *topic,
                    const int32_t *parts, size_t n, int64_t *next_out, oc_err_t *err) {
  static const char sql[] =
      "SELECT partition, next_offset FROM outcomes.consumer_offsets"
      " WHERE group_id = $1 AND topic = $2 AND partition = ANY ($3::integer[])";
  sbuf_t arr = {0};
  PGresult *res = NULL;
  int rc = 0;

  sb_puts(&arr, "{");
  for (size_t i = 0; i < n; i++) {
    sb_printf(&arr, "%s%" PRId32, i ? "," : "", parts[i]);
    next_out[i] = -1;
  }
  sb_puts(&arr, "}");
  if (arr.failed) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "offsets: out of memory");
    goto out;
  }
  const char *vals[3] = {group_id, topic, arr.p};
  if ((rc = oc_pg_exec_params(conn, sql, 3, vals, &res, err)) != 0)
    goto out;
  for (int r = 0; r < PQntuples(res); r++) {
    int32_t p = (int32_t)strtol(PQgetvalue(res, r, 0), NULL, 10);
    int64_t next = strtoll(PQgetvalue(res, r, 1), NULL, 10);
    for (size_t i = 0; i < n; i++)
      if (parts[i] == p)
        next_out[i] = next;
  }
out:
  PQclear(res);
  free(arr.p);
  return rc;
}

/* ---- catalog ----------------------------------------------------------- */

int oc_catalog_load_pg(PGconn *conn, oc_catalog_t **out, oc_err_t *err) {
  static const char sql[] =
      "SELECT code, name, unit, kind, direction, min_value, max_value, seed, description"
      " FROM outcomes.metric_catalog ORDER BY code";
  oc_catalog_t *cat = NULL;
  PGresult *res = NULL;
  int rc;

  *out = NULL;
  if ((rc = oc_pg_exec_params(conn, sql, 0, NULL, &res, err)) != 0)
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
    if ((rc = oc_kind_from_name(PQgetvalue(res, r, 3), &m.kind)) != 0 ||
        (rc = oc_direction_from_name(PQgetvalue(res, r, 4), &m.direction)) != 0 ||
        (rc = oc_catalog_add(cat, &m, err)) != 0) {
      rc = oc_err_set(err, OC_ERR_CONFIG, "outcomes.metric_catalog: metric '%s' is invalid",
                      m.code);
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

/* ---- the transaction --------------------------------------------------- */

static const oc_fact_id_t *entry_id(const oc_batch_t *b, const oc_bentry_t *e) {
  return &b->events[e->first_event].obs.id;
}

static void sb_copy_id(sbuf_t *sb, const oc_fact_id_t *id) {
  sb_copy_text(sb, id->metric);
  sb_puts(sb, "\t");
  sb_copy_text(sb, id->org_id);
  sb_puts(sb, "\t");
  sb_copy_text(sb, id->facility_id);
  sb_puts(sb, "\t");
  sb_puts(sb, oc_grain_name(id->grain));
  sb_puts(sb, "\t");
  sb_copy_date(sb, id->period_start);
}

static int64_t micros_from_text(const char *s) { return strtoll(s, NULL, 10); }

/* COPY the identities, then lock and read the stored rows into the entries. */
static int load_states(oc_batch_t *b, PGconn *conn, sbuf_t *sb, oc_err_t *err) {
  static const char sql[] =
      "SELECT k.idx, f.retracted,"
      " (extract(epoch FROM f.observed_at) * 1000000)::bigint,"
      " f.src_topic, f.src_partition, f.src_offset, f.barrier_offset,"
      " f.value, f.numerator, f.denominator, f.source"
      " FROM oc_keys k JOIN outcomes.facts f ON f.metric = k.metric AND f.org_id = k.org_id"
      " AND f.facility_id = k.facility_id AND f.grain = k.grain"
      " AND f.period_start = k.period_start"
      " FOR UPDATE OF f";
  PGresult *res = NULL;
  int rc;

  sb->len = 0;
  for (size_t i = 0; i < b->n_entries; i++) {
    sb_printf(sb, "%zu\t", i);
    sb_copy_id(sb, entry_id(b, &b->entries[i]));
    sb_puts(sb, "\n");
  }
  if (sb->failed)
    return oc_err_set(err, OC_ERR_NOMEM, "batch: out of memory");
  if ((rc = copy_in(conn,
                    "COPY oc_keys (idx, metric, org_id, facility_id, grain, period_start)"
                    " FROM STDIN",
                    sb, err)) != 0)
    return rc;
  if ((rc = oc_pg_exec_params(conn, sql, 0, NULL, &res, err)) != 0)
    return oc_err_prefix(err, "load facts: ");
  for (int r = 0; r < PQntuples(res); r++) {
    size_t i = (size_t)strtoul(PQgetvalue(res, r, 0), NULL, 10);
    if (i >= b->n_entries) {
      rc = oc_err_set(err, OC_ERR_INTERNAL, "load facts: index %zu out of range", i);
      goto out;
    }
    oc_bentry_t *e = &b->entries[i];
    oc_fact_state_t *st = &e->state;
    bool retracted = PQgetvalue(res, r, 1)[0] == 't';
    st->status = retracted ? OC_FACT_RETRACTED : OC_FACT_STANDING;
    e->was_standing = !retracted;
    st->has_observed_at = !PQgetisnull(res, r, 2);
    st->observed_at = st->has_observed_at ? micros_from_text(PQgetvalue(res, r, 2)) : 0;
    const char *topic = PQgetvalue(res, r, 3);
    if (strcmp(topic, b->topic) == 0) {
      st->src_topic = b->topic;
    } else {
      if (!(e->foreign_topic = strdup(topic))) {
        rc = oc_err_set(err, OC_ERR_NOMEM, "batch: out of memory");
        goto out;
      }
      st->src_topic = e->foreign_topic;
    }
    st->src_partition = (int32_t)strtol(PQgetvalue(res, r, 4), NULL, 10);
    st->src_offset = strtoll(PQgetvalue(res, r, 5), NULL, 10);
    st->barrier_offset = strtoll(PQgetvalue(res, r, 6), NULL, 10);
    /* The standing version's numbers. float8 text output is shortest-exact,
     * so strtod gives back the stored double. */
    e->old_known = !retracted && !PQgetisnull(res, r, 7);
    if (e->old_known) {
      e->old_value = strtod(PQgetvalue(res, r, 7), NULL);
      e->old_has_numerator = !PQgetisnull(res, r, 8);
      e->old_numerator = e->old_has_numerator ? strtod(PQgetvalue(res, r, 8), NULL) : 0;
      e->old_has_denominator = !PQgetisnull(res, r, 9);
      e->old_denominator = e->old_has_denominator ? strtod(PQgetvalue(res, r, 9), NULL) : 0;
    }
    /* Its content (the numbers and the source), for duplicate detection. */
    st->has_content = e->old_known && !PQgetisnull(res, r, 10) &&
                      (size_t)PQgetlength(res, r, 10) <= OC_ID_MAX;
    if (st->has_content) {
      st->value = e->old_value;
      st->has_numerator = e->old_has_numerator;
      st->numerator = e->old_numerator;
      st->has_denominator = e->old_has_denominator;
      st->denominator = e->old_denominator;
      memcpy(st->source, PQgetvalue(res, r, 10), (size_t)PQgetlength(res, r, 10) + 1);
    }
  }
out:
  PQclear(res);
  return rc;
}

/* The rule, in poll order (offset order within each partition). */
static size_t fold(oc_batch_t *b) {
  size_t changed = 0;
  for (size_t i = 0; i < b->n_events; i++) {
    oc_bevent_t *ev = &b->events[i];
    oc_bentry_t *e = &b->entries[ev->entry];
    oc_batch_part_t *p = &b->parts[ev->part];
    oc_fact_event_t fe = {ev->tombstone, ev->obs.observed_at, b->topic, p->partition,
                          ev->offset, ev->tombstone ? NULL : &ev->obs};
    if (oc_fact_rule_apply(&e->state, &fe) == OC_FACT_APPLIED) {
      if (!e->changed)
        changed++;
      e->changed = true;
      e->winner = ev->tombstone ? -1 : (int32_t)i;
      p->applied++;
    } else {
      p->stale++;
    }
  }
  return changed;
}

static void sb_copy_stage_row(sbuf_t *sb, const oc_batch_t *b, const oc_bentry_t *e) {
  const oc_fact_state_t *st = &e->state;
  bool standing = st->status == OC_FACT_STANDING;
  const oc_observation_t *o = standing ? &b->events[e->winner].obs : NULL;
  char ts[32];

  sb_copy_id(sb, entry_id(b, e));
  sb_puts(sb, standing ? "\tf\t" : "\tt\t");
  sb_copy_double(sb, standing, o ? o->value : 0);
  sb_puts(sb, "\t");
  sb_copy_double(sb, o && o->has_numerator, o ? o->numerator : 0);
  sb_puts(sb, "\t");
  sb_copy_double(sb, o && o->has_denominator, o ? o->denominator : 0);
  sb_puts(sb, "\t");
  if (o)
    sb_copy_text(sb, o->source);
  else
    sb_puts(sb, "\\N");
  sb_puts(sb, "\t");
  if (st->has_observed_at) {
    oc_timestamp_format(st->observed_at, ts);
    sb_puts(sb, ts);
  } else {
    sb_puts(sb, "\\N");
  }
  sb_puts(sb, "\t");
  sb_copy_text(sb, st->src_topic);
  sb_printf(sb, "\t%" PRId32 "\t%" PRId64 "\t%" PRId64 "\t%s\t%s\t", st->src_partition,
            st->src_offset, st->barrier_offset, (e->was_standing || standing) ? "t" : "f",
            e->was_standing ? "t" : "f");
  /* The version that stood before: its numbers, \N where unknown. */
  bool old = e->was_standing && e->old_known;
  sb_copy_double(sb, old, e->old_value);
  sb_puts(sb, "\t");
  sb_copy_double(sb, old && e->old_has_numerator, e->old_numerator);
  sb_puts(sb, "\t");
  sb_copy_double(sb, old && e->old_has_denominator, e->old_denominator);
  sb_puts(sb, "\n");
}

static int write_facts(oc_batch_t *b, PGconn *conn, sbuf_t *sb, bool *visible, oc_err_t *err) {
  static const char sql_upsert[] =
      "INSERT INTO outcomes.facts AS f (metric, org_id, facility_id, grain, period_start,"
      " retracted, value, numerator, denominator, source, observed_at, src_topic,"
      " src_partition, src_offset, barrier_offset)"
      " SELECT metric, org_id, facility_id, grain, period_start, retracted, value, numerator,"
      " denominator, source, observed_at, src_topic, src_partition, src_offset, barrier_offset"
      " FROM oc_stage"
      " ON CONFLICT (metric, org_id, facility_id, grain, period_start) DO UPDATE SET"
      " retracted = EXCLUDED.retracted, value = EXCLUDED.value,"
      " numerator = EXCLUDED.numerator, denominator = EXCLUDED.denominator,"
      " source = EXCLUDED.source, observed_at = EXCLUDED.observed_at,"
      " src_topic = EXCLUDED.src_topic, src_partition = EXCLUDED.src_partition,"
      " src_offset = EXCLUDED.src_offset, barrier_offset = EXCLUDED.barrier_offset,"
      " ingested_at = now()";
  int rc;

  *visible = false;
  sb->len = 0;
  for (size_t i = 0; i < b->n_entries; i++) {
    const oc_bentry_t *e = &b->entries[i];
    if (!e->changed)
      continue;
    if (e->was_standing || e->state.status == OC_FACT_STANDING)
      *visible = true;
    sb_copy_stage_row(sb, b, e);
  }
  if (sb->failed)
    return oc_err_set(err, OC_ERR_NOMEM, "batch: out of memory");
  if ((rc = copy_in(conn,
                    "COPY oc_stage (metric, org_id, facility_id, grain, period_start,"
                    " retracted, value, numerator, denominator, source, observed_at,"
                    " src_topic, src_partition, src_offset, barrier_offset, visible_changed,"
                    " old_standing, old_value, old_numerator, old_denominator)"
                    " FROM STDIN",
                    sb, err)) != 0)
    return rc;
  if ((rc = oc_pg_exec_params(conn, sql_upsert, 0, NULL, NULL, err)) != 0)
    return oc_err_prefix(err, "upsert facts: ");
  return 0;
}

/* A one-dimensional array in PostgreSQL's binary format: elements of type
 * elem_oid, NULL where vals[i] is NULL. */
static void sb_binary_array(sbuf_t *sb, uint32_t elem_oid, size_t n, const void *const *vals,
                            const size_t *lens) {
  unsigned char w[4];
  bool has_null = false;
  for (size_t i = 0; i < n; i++)
    has_null |= vals[i] == NULL;
#define PUT32(v)                                                                      \
  do {                                                                                \
    uint32_t v_ = (uint32_t)(v);                                                      \
    w[0] = (unsigned char)(v_ >> 24);                                                 \
    w[1] = (unsigned char)(v_ >> 16);                                                 \
    w[2] = (unsigned char)(v_ >> 8);                                                  \
    w[3] = (unsigned char)v_;                                                         \
    sb_put(sb, (const char *)w, 4);                                                   \
  } while (0)
  PUT32(n ? 1 : 0);
  PUT32(has_null ? 1 : 0);
  PUT32(elem_oid);
  if (n) {
    PUT32(n);
    PUT32(1);
  }
  for (size_t i = 0; i < n; i++) {
    if (!vals[i]) {
      PUT32(0xffffffffu);
      continue;
    }
    PUT32(lens[i]);
    sb_put(sb, vals[i], lens[i]);
  }
#undef PUT32
}

#define OID_BYTEA 17
#define OID_TEXT 25

static int write_dead_letters(oc_batch_t *b, PGconn *conn, const char *group_id,
                              oc_err_t *err) {
  static const char sql[] =
      "INSERT INTO outcomes.dead_letters (group_id, topic, partition, kafka_offset,"
      " kafka_timestamp, key, value, header_names, header_values, error_code, error_message)"
      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
      " ON CONFLICT (group_id, topic, partition, kafka_offset) DO NOTHING";
  sbuf_t names = {0}, values = {0};
  size_t *name_lens = NULL;
  int rc = 0;

  for (size_t i = 0; i < b->n_dead && rc == 0; i++) {
    const oc_bdead_t *d = &b->dead[i];
    char part[16], off[24], ts[32];
    snprintf(part, sizeof(part), "%" PRId32, b->parts[d->part].partition);
    snprintf(off, sizeof(off), "%" PRId64, d->offset);
    if (d->timestamp_ms >= 0)
      oc_timestamp_format(d->timestamp_ms * 1000, ts);
    free(name_lens);
    name_lens = calloc(d->n_headers ? d->n_headers : 1, sizeof(size_t));
    if (!name_lens) {
      rc = oc_err_set(err, OC_ERR_NOMEM, "dead letters: out of memory");
      break;
    }
    for (size_t h = 0; h < d->n_headers; h++)
      name_lens[h] = strlen(d->header_names[h]);
    names.len = values.len = 0;
    sb_binary_array(&names, OID_TEXT, d->n_headers, (const void *const *)d->header_names,
                    name_lens);
    sb_binary_array(&values, OID_BYTEA, d->n_headers, (const void *const *)d->header_values,
                    d->header_lens);
    if (names.failed || values.failed) {
      rc = oc_err_set(err, OC_ERR_NOMEM, "dead letters: out of memory");
      break;
    }
    const char *vals[11] = {group_id,
                            b->topic,
                            part,
                            off,
                            d->timestamp_ms >= 0 ? ts : NULL,
                            (const char *)d->key,
                            (const char *)d->value,
                            names.p,
                            values.p,
                            oc_err_code_name(d->code),
                            d->message};
    int lens[11] = {0, 0, 0, 0, 0, (int)d->key_len, (int)d->value_len, (int)names.len,
                    (int)values.len, 0, 0};
    int fmts[11] = {0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0};
    Oid types[11] = {0, 0, 0, 0, 0, OID_BYTEA, OID_BYTEA, 1009 /* text[] */,
                     1001 /* bytea[] */, 0, 0};
    PGresult *res = PQexecParams(conn, sql, 11, types, vals, lens, fmts, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
      rc = oc_pg_result_err(conn, res, "insert dead letter", err);
    PQclear(res);
  }
  free(names.p);
  free(values.p);
  free(name_lens);
  return rc;
}

static int64_t part_partition(const void *a, size_t i) {
  return ((const oc_batch_part_t *)a)[i].partition;
}
static int64_t part_applied(const void *a, size_t i) {
  return ((const oc_batch_part_t *)a)[i].applied;
}
static int64_t part_stale(const void *a, size_t i) { return ((const oc_batch_part_t *)a)[i].stale; }
static int64_t part_dead(const void *a, size_t i) {
  return ((const oc_batch_part_t *)a)[i].dead_lettered;
}

static int write_counters(oc_batch_t *b, PGconn *conn, const char *group_id, oc_err_t *err) {
  static const char sql[] =
      "UPDATE outcomes.consumer_offsets o SET applied = o.applied + u.applied,"
      " stale = o.stale + u.stale, dead_lettered = o.dead_lettered + u.dead"
      " FROM unnest($3::integer[], $4::bigint[], $5::bigint[], $6::bigint[])"
      "  AS u(partition, applied, stale, dead)"
      " WHERE o.group_id = $1 AND o.topic = $2 AND o.partition = u.partition";
  sbuf_t a[4] = {{0}};
  int rc = 0;

  sb_int_array(&a[0], b->n_parts, part_partition, b->parts);
  sb_int_array(&a[1], b->n_parts, part_applied, b->parts);
  sb_int_array(&a[2], b->n_parts, part_stale, b->parts);
  sb_int_array(&a[3], b->n_parts, part_dead, b->parts);
  if (a[0].failed || a[1].failed || a[2].failed || a[3].failed) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "counters: out of memory");
    goto out;
  }
  const char *vals[6] = {group_id, b->topic, a[0].p, a[1].p, a[2].p, a[3].p};
  rc = oc_pg_exec_params(conn, sql, 6, vals, NULL, err);
out:
  for (int i = 0; i < 4; i++)
    free(a[i].p);
  return rc;
}

static void rollback(PGconn *conn) {
  if (PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) == PQTRANS_IDLE)
    return;
  PGresult *res = PQexec(conn, "ROLLBACK");
  PQclear(res);
}

/* The batch's keys sit in temporary tables without statistics, and young
 * tables have none either: left to itself the planner may join them to
 * facts by scanning facts once per key. Nested loops over the primary keys
 * keep every statement proportional to the batch. */
static const char sql_begin[] = "BEGIN; SET LOCAL enable_hashjoin = off;"
                                " SET LOCAL enable_mergejoin = off;"
                                " SET LOCAL enable_seqscan = off;"
                                " SET LOCAL enable_bitmapscan = off;"
                                " SET LOCAL enable_material = off;"
                                /* exact float8 text, for duplicate detection */
                                " SET LOCAL extra_float_digits = 3";

int oc_batch_apply(oc_batch_t *b, PGconn *conn, const char *group_id, oc_err_t *err) {
  oc_offset_update_t *upd = NULL;
  sbuf_t sb = {0};
  bool visible = false;
  int rc;

  /* Start from the batch as collected: the fold below is not idempotent on
   * in-memory state, only on stored state. */
  b->regrouped = 0;
  for (size_t i = 0; i < b->n_parts; i++)
    b->parts[i].applied = b->parts[i].stale = b->parts[i].dead_lettered = 0;
  for (size_t i = 0; i < b->n_dead; i++)
    b->parts[b->dead[i].part].dead_lettered++;
  for (size_t i = 0; i < b->n_entries; i++) {
    oc_bentry_t *e = &b->entries[i];
    free(e->foreign_topic);
    e->foreign_topic = NULL;
    oc_fact_state_init(&e->state);
    e->was_standing = e->changed = e->old_known = false;
    e->winner = -1;
  }
  if (!(upd = calloc(b->n_parts ? b->n_parts : 1, sizeof(*upd))))
    return oc_err_set(err, OC_ERR_NOMEM, "batch: out of memory");
  for (size_t i = 0; i < b->n_parts; i++) {
    upd[i].partition = b->parts[i].partition;
    upd[i].expected = b->parts[i].expected;
    upd[i].next = b->parts[i].next;
    upd[i].first = b->parts[i].first;
  }

  if ((rc = oc_pg_exec_what(conn, sql_begin, "begin", err)) != 0)
    goto out;
  if ((rc = oc_offsets_cas(conn, group_id, b->topic, upd, b->n_parts, err)) != 0)
    goto out;
  if (b->n_entries) {
    if ((rc = load_states(b, conn, &sb, err)) != 0)
      goto out;
    if (fold(b) > 0) {
      if ((rc = write_facts(b, conn, &sb, &visible, err)) != 0)
        goto out;
      if (visible && (rc = oc_rollup_update(conn, &b->regrouped, err)) != 0)
        goto out;
    }
  }
  if ((rc = write_dead_letters(b, conn, group_id, err)) != 0)
    goto out;
  if ((rc = write_counters(b, conn, group_id, err)) != 0)
    goto out;
  rc = oc_pg_exec_what(conn, "COMMIT", "commit", err);
out:
  if (rc != 0)
    rollback(conn);
  free(sb.p);
  free(upd);
  return rc;
}
