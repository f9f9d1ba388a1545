/* apply.c - one batch, one transaction; see include/outcomes/apply.h.
 *
 * The statements are schemas/sql/statements/ (stmt.h); every value
 * travels as a statement parameter, a batch's rows as one binary array per
 * column (pgbin.h). */
#include "outcomes/apply.h"

#include <stdlib.h>
#include <string.h>

#include "batch_internal.h"
#include "outcomes/offsets.h"
#include "outcomes/pg.h"
#include "outcomes/pgbin.h"
#include "outcomes/stmt.h"

/* Transactions per batch while other writers keep changing its facts
 * first; then the batch fails (retriable) and the daemon retries it later. */
#define APPLY_ATTEMPTS 5

/* oc_batch_apply's "another writer got there first": roll back, run again. */
#define RACE 1

int oc_apply_prepare(PGconn *conn, oc_err_t *err) { return oc_stmt_prepare(conn, err); }

static const oc_fact_id_t *entry_id(const oc_batch_t *b, const oc_bentry_t *e) {
  return &b->events[e->first_event].obs.id;
}

/* ---- series ------------------------------------------------------------ */

static int resolve_series(oc_batch_t *b, PGconn *conn, oc_series_cache_t *cache, oc_err_t *err) {
  const oc_fact_id_t **ids = malloc(b->n_entries * sizeof(*ids));
  int32_t *out = malloc(b->n_entries * sizeof(*out));
  int rc = 0;

  if (!ids || !out) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "batch: out of memory");
    goto out;
  }
  for (size_t i = 0; i < b->n_entries; i++)
    ids[i] = entry_id(b, &b->entries[i]);
  if ((rc = oc_series_resolve(cache, conn, ids, b->n_entries, out, err)) != 0)
    goto out;
  for (size_t i = 0; i < b->n_entries; i++)
    b->entries[i].series_id = out[i];
out:
  free(ids);
  free(out);
  return rc;
}

/* ---- stored states ----------------------------------------------------- */

/* Columns of facts_read and facts_lock. */
enum {
  C_ORD,
  C_RETRACTED,
  C_OBSERVED_AT,
  C_TOPIC,
  C_PARTITION,
  C_OFFSET,
  C_BARRIER,
  C_VALUE,
  C_NUMERATOR,
  C_DENOMINATOR,
  C_SOURCE
};

static double opt_float8(const PGresult *res, int r, int c, bool *present) {
  *present = !PQgetisnull(res, r, c);
  return *present ? oc_pgbin_float8(PQgetvalue(res, r, c)) : 0;
}

/* Row r as a fact state; its topic borrows the batch's or is copied into
 * *topic_copy (owned by the caller, replaced). */
static int row_state(const oc_batch_t *b, const PGresult *res, int r, oc_fact_state_t *st,
                     char **topic_copy, oc_err_t *err) {
  const char *topic = PQgetvalue(res, r, C_TOPIC);
  bool retracted = oc_pgbin_bool(PQgetvalue(res, r, C_RETRACTED));
  bool has_value;

  oc_fact_state_init(st);
  st->status = retracted ? OC_FACT_RETRACTED : OC_FACT_STANDING;
  st->has_observed_at = !PQgetisnull(res, r, C_OBSERVED_AT);
  if (st->has_observed_at)
    st->observed_at = oc_pgbin_timestamptz(PQgetvalue(res, r, C_OBSERVED_AT));
  free(*topic_copy);
  *topic_copy = NULL;
  if (strcmp(topic, b->topic) == 0) {
    st->src_topic = b->topic;
  } else {
    if (!(*topic_copy = strdup(topic)))
      return oc_err_set(err, OC_ERR_NOMEM, "batch: out of memory");
    st->src_topic = *topic_copy;
  }
  st->src_partition = oc_pgbin_int4(PQgetvalue(res, r, C_PARTITION));
  st->src_offset = oc_pgbin_int8(PQgetvalue(res, r, C_OFFSET));
  st->barrier_offset = oc_pgbin_int8(PQgetvalue(res, r, C_BARRIER));
  /* The standing version's content, to tell a duplicate from a tie. */
  st->value = opt_float8(res, r, C_VALUE, &has_value);
  st->numerator = opt_float8(res, r, C_NUMERATOR, &st->has_numerator);
  st->denominator = opt_float8(res, r, C_DENOMINATOR, &st->has_denominator);
  st->has_content = !retracted && has_value && !PQgetisnull(res, r, C_SOURCE) &&
                    (size_t)PQgetlength(res, r, C_SOURCE) <= OC_ID_MAX;
  if (st->has_content)
    memcpy(st->source, PQgetvalue(res, r, C_SOURCE), (size_t)PQgetlength(res, r, C_SOURCE) + 1);
  return 0;
}

/* Run facts_read or facts_lock over the entries sel[0..n) and take each
 * row into its entry's stored state. */
static int read_states(oc_batch_t *b, PGconn *conn, const uint32_t *sel, size_t n, bool lock,
                       oc_err_t *err) {
  oc_pgarr_t ids, periods;
  PGresult *res = NULL;
  const char *vals[2];
  int lens[2], fmts[2] = {1, 1};
  int rc = 0;

  oc_pgarr_init(&ids, OC_OID_INT4);
  oc_pgarr_init(&periods, OC_OID_DATE);
  for (size_t i = 0; i < n; i++) {
    const oc_bentry_t *e = &b->entries[sel[i]];
    oc_pgarr_int4(&ids, e->series_id);
    oc_pgarr_date(&periods, entry_id(b, e)->period_start);
  }
  if (!(vals[0] = oc_pgarr_finish(&ids, &lens[0])) ||
      !(vals[1] = oc_pgarr_finish(&periods, &lens[1]))) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "batch: out of memory");
    goto out;
  }
  if ((rc = oc_stmt_exec(conn, lock ? OC_STMT_FACTS_LOCK : OC_STMT_FACTS_READ, 2, vals, lens, fmts,
                         1, &res, err)) != 0)
    goto out;
  for (int r = 0; r < PQntuples(res); r++) {
    int64_t ord = oc_pgbin_int8(PQgetvalue(res, r, C_ORD));
    if (ord < 1 || (uint64_t)ord > n) {
      rc = oc_err_set(err, OC_ERR_INTERNAL, "facts: position %lld out of range", (long long)ord);
      goto out;
    }
    oc_bentry_t *e = &b->entries[sel[ord - 1]];
    oc_fact_state_t st;
    char *copy = NULL;
    if ((rc = row_state(b, res, r, &st, &copy, err)) != 0)
      goto out;
    free(e->foreign_topic);
    e->foreign_topic = copy;
    e->stored_state = st;
    e->stored = true;
    e->locked = lock;
  }
out:
  PQclear(res);
  oc_pgarr_release(&ids);
  oc_pgarr_release(&periods);
  return rc;
}

/* ---- the rule ---------------------------------------------------------- */

/* Fold every event, in poll order (offset order within each partition),
 * over the stored states; fills the partitions' applied and stale counts. */
static void fold(oc_batch_t *b) {
  for (size_t i = 0; i < b->n_parts; i++)
    b->parts[i].applied = b->parts[i].stale = 0;
  for (size_t i = 0; i < b->n_entries; i++) {
    oc_bentry_t *e = &b->entries[i];
    e->state = e->stored_state;
    e->changed = false;
    e->winner = -1;
  }
  for (size_t i = 0; i < b->n_events; i++) {
    oc_bevent_t *ev = &b->events[i];
    oc_bentry_t *e = &b->entries[ev->entry];
    oc_batch_part_t *p = &b->parts[ev->part];
    oc_fact_event_t fe = {ev->tombstone, ev->obs.observed_at, b->topic,
                          p->partition,  ev->offset,          ev->tombstone ? NULL : &ev->obs};
    if (oc_fact_rule_apply(&e->state, &fe) == OC_FACT_APPLIED) {
      e->changed = true;
      e->winner = ev->tombstone ? -1 : (int32_t)i;
      p->applied++;
    } else {
      p->stale++;
    }
  }
}

/* ---- writing ----------------------------------------------------------- */

enum {
  W_ID,
  W_PERIOD,
  W_STORED,
  W_RETRACTED,
  W_VALUE,
  W_NUMERATOR,
  W_DENOMINATOR,
  W_SOURCE,
  W_OBSERVED_AT,
  W_TOPIC,
  W_PARTITION,
  W_OFFSET,
  W_BARRIER,
  W_VISIBLE,
  W_COLUMNS
};

static const uint32_t write_oids[W_COLUMNS] = {
    OC_OID_INT4,   OC_OID_DATE,   OC_OID_BOOL, OC_OID_BOOL,        OC_OID_FLOAT8,
    OC_OID_FLOAT8, OC_OID_FLOAT8, OC_OID_TEXT, OC_OID_TIMESTAMPTZ, OC_OID_TEXT,
    OC_OID_INT4,   OC_OID_INT8,   OC_OID_INT8, OC_OID_BOOL};

static void put_opt_float8(oc_pgarr_t *a, bool present, double v) {
  if (present)
    oc_pgarr_float8(a, v);
  else
    oc_pgarr_null(a);
}

static void put_write_row(const oc_batch_t *b, const oc_bentry_t *e, oc_pgarr_t *w) {
  const oc_fact_state_t *st = &e->state;
  bool standing = st->status == OC_FACT_STANDING;
  const oc_observation_t *o = standing ? &b->events[e->winner].obs : NULL;

  oc_pgarr_int4(&w[W_ID], e->series_id);
  oc_pgarr_date(&w[W_PERIOD], entry_id(b, e)->period_start);
  oc_pgarr_bool(&w[W_STORED], e->stored);
  oc_pgarr_bool(&w[W_RETRACTED], !standing);
  put_opt_float8(&w[W_VALUE], o, o ? o->value : 0);
  put_opt_float8(&w[W_NUMERATOR], o && o->has_numerator, o ? o->numerator : 0);
  put_opt_float8(&w[W_DENOMINATOR], o && o->has_denominator, o ? o->denominator : 0);
  if (o)
    oc_pgarr_text(&w[W_SOURCE], o->source);
  else
    oc_pgarr_null(&w[W_SOURCE]);
  if (st->has_observed_at)
    oc_pgarr_timestamptz(&w[W_OBSERVED_AT], st->observed_at);
  else
    oc_pgarr_null(&w[W_OBSERVED_AT]);
  oc_pgarr_text(&w[W_TOPIC], st->src_topic);
  oc_pgarr_int4(&w[W_PARTITION], st->src_partition);
  oc_pgarr_int8(&w[W_OFFSET], st->src_offset);
  oc_pgarr_int8(&w[W_BARRIER], st->barrier_offset);
  oc_pgarr_bool(&w[W_VISIBLE],
                standing || (e->stored && e->stored_state.status == OC_FACT_STANDING));
}

/* facts_write over the changed entries. RACE when an insert found a row:
 * another writer stored the identity since facts_read. */
static int write_facts(oc_batch_t *b, PGconn *conn, oc_err_t *err) {
  oc_pgarr_t w[W_COLUMNS];
  const char *vals[W_COLUMNS];
  int lens[W_COLUMNS], fmts[W_COLUMNS];
  PGresult *res = NULL;
  long n_update = 0, n_insert = 0;
  int rc = 0;

  for (int c = 0; c < W_COLUMNS; c++) {
    oc_pgarr_init(&w[c], write_oids[c]);
    fmts[c] = 1;
  }
  for (size_t i = 0; i < b->n_entries; i++) {
    const oc_bentry_t *e = &b->entries[i];
    if (!e->changed)
      continue;
    put_write_row(b, e, w);
    if (e->stored)
      n_update++;
    else
      n_insert++;
  }
  if (n_update + n_insert == 0)
    goto out;
  for (int c = 0; c < W_COLUMNS; c++)
    if (!(vals[c] = oc_pgarr_finish(&w[c], &lens[c]))) {
      rc = oc_err_set(err, OC_ERR_NOMEM, "batch: out of memory");
      goto out;
    }
  if ((rc = oc_stmt_exec(conn, OC_STMT_FACTS_WRITE, W_COLUMNS, vals, lens, fmts, 0, &res, err)) !=
      0)
    goto out;
  if (strtol(PQgetvalue(res, 0, 0), NULL, 10) != n_update ||
      strtol(PQgetvalue(res, 0, 1), NULL, 10) != n_insert)
    rc = RACE;
out:
  PQclear(res);
  for (int c = 0; c < W_COLUMNS; c++)
    oc_pgarr_release(&w[c]);
  return rc;
}

static int write_dead_letters(oc_batch_t *b, PGconn *conn, const char *group_id, oc_err_t *err) {
  oc_pgarr_t names, values;
  int rc = 0;

  oc_pgarr_init(&names, OC_OID_TEXT);
  oc_pgarr_init(&values, OC_OID_BYTEA);
  for (size_t i = 0; i < b->n_dead && rc == 0; i++) {
    const oc_bdead_t *d = &b->dead[i];
    char part[16], off[24], ts[32];
    snprintf(part, sizeof(part), "%d", (int)b->parts[d->part].partition);
    snprintf(off, sizeof(off), "%lld", (long long)d->offset);
    if (d->timestamp_ms >= 0)
      oc_timestamp_format(d->timestamp_ms * 1000, ts);
    oc_pgarr_reset(&names);
    oc_pgarr_reset(&values);
    for (size_t h = 0; h < d->n_headers; h++) {
      oc_pgarr_text(&names, d->header_names[h]);
      if (d->header_values[h])
        oc_pgarr_bytes(&values, d->header_values[h], d->header_lens[h]);
      else
        oc_pgarr_null(&values);
    }
    const char *vals[11] = {group_id,
                            b->topic,
                            part,
                            off,
                            d->timestamp_ms >= 0 ? ts : NULL,
                            (const char *)d->key,
                            (const char *)d->value,
                            NULL,
                            NULL,
                            oc_err_code_name(d->code),
                            d->message};
    int lens[11] = {0, 0, 0, 0, 0, (int)d->key_len, (int)d->value_len, 0, 0, 0, 0};
    int fmts[11] = {0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0};
    if (!(vals[7] = oc_pgarr_finish(&names, &lens[7])) ||
        !(vals[8] = oc_pgarr_finish(&values, &lens[8]))) {
      rc = oc_err_set(err, OC_ERR_NOMEM, "dead letters: out of memory");
      break;
    }
    rc = oc_stmt_exec(conn, OC_STMT_DEAD_LETTER_INSERT, 11, vals, lens, fmts, 0, NULL, err);
  }
  oc_pgarr_release(&names);
  oc_pgarr_release(&values);
  return rc;
}

static int write_counters(oc_batch_t *b, PGconn *conn, const char *group_id, oc_err_t *err) {
  int32_t *parts = malloc((b->n_parts ? b->n_parts : 1) * sizeof(*parts));
  int64_t *counts = malloc(3 * (b->n_parts ? b->n_parts : 1) * sizeof(*counts));
  int rc;

  if (!parts || !counts) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "counters: out of memory");
    goto out;
  }
  for (size_t i = 0; i < b->n_parts; i++) {
    parts[i] = b->parts[i].partition;
    counts[i] = b->parts[i].applied;
    counts[b->n_parts + i] = b->parts[i].stale;
    counts[2 * b->n_parts + i] = b->parts[i].dead_lettered;
  }
  rc = oc_offsets_count(conn, group_id, b->topic, parts, counts, counts + b->n_parts,
                        counts + 2 * b->n_parts, b->n_parts, err);
out:
  free(parts);
  free(counts);
  return rc;
}

/* ---- the transaction --------------------------------------------------- */

/* Read every identity's stored row, fold, then lock and read again the
 * rows the batch changes, and fold again from what they hold now (another
 * writer may have changed one meanwhile). RACE when that fold changes a
 * stored row that is not locked (the rule would have to read it locked
 * first). */
static int load_and_fold(oc_batch_t *b, PGconn *conn, uint32_t *sel, oc_err_t *err) {
  size_t n = 0;
  int rc;

  for (size_t i = 0; i < b->n_entries; i++)
    sel[i] = (uint32_t)i;
  if ((rc = read_states(b, conn, sel, b->n_entries, false, err)) != 0)
    return rc;
  fold(b);
  for (size_t i = 0; i < b->n_entries; i++)
    if (b->entries[i].changed && b->entries[i].stored)
      sel[n++] = (uint32_t)i;
  if (n == 0)
    return 0;
  if ((rc = read_states(b, conn, sel, n, true, err)) != 0)
    return rc;
  fold(b);
  for (size_t i = 0; i < b->n_entries; i++)
    if (b->entries[i].changed && b->entries[i].stored && !b->entries[i].locked)
      return RACE;
  return 0;
}

static int apply_once(oc_batch_t *b, PGconn *conn, const char *group_id,
                      const oc_offset_update_t *upd, uint32_t *sel, oc_err_t *err) {
  int rc;

  for (size_t i = 0; i < b->n_entries; i++) {
    oc_bentry_t *e = &b->entries[i];
    free(e->foreign_topic);
    e->foreign_topic = NULL;
    oc_fact_state_init(&e->stored_state);
    e->stored = e->locked = false;
  }
  fold(b); /* no entries: the counts of an all-dead-letter batch */
  if ((rc = oc_pg_exec_what(conn, "BEGIN", "begin", err)) != 0)
    return rc;
  if ((rc = oc_offsets_cas(conn, group_id, b->topic, upd, b->n_parts, err)) != 0)
    return rc;
  if (b->n_entries) {
    if ((rc = load_and_fold(b, conn, sel, err)) != 0)
      return rc;
    if ((rc = write_facts(b, conn, err)) != 0)
      return rc;
  }
  if ((rc = write_dead_letters(b, conn, group_id, err)) != 0)
    return rc;
  if ((rc = write_counters(b, conn, group_id, err)) != 0)
    return rc;
  return oc_pg_exec_what(conn, "COMMIT", "commit", err);
}

int oc_batch_apply(oc_batch_t *b, PGconn *conn, oc_series_cache_t *series, const char *group_id,
                   oc_err_t *err) {
  oc_offset_update_t *upd = calloc(b->n_parts ? b->n_parts : 1, sizeof(*upd));
  uint32_t *sel = malloc((b->n_entries ? b->n_entries : 1) * sizeof(*sel));
  int rc = 0;

  b->retries = 0;
  for (size_t i = 0; i < b->n_parts; i++)
    b->parts[i].dead_lettered = 0;
  for (size_t i = 0; i < b->n_dead; i++)
    b->parts[b->dead[i].part].dead_lettered++;
  if (!upd || !sel) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "batch: out of memory");
    goto out;
  }
  for (size_t i = 0; i < b->n_parts; i++) {
    upd[i].partition = b->parts[i].partition;
    upd[i].expected = b->parts[i].expected;
    upd[i].next = b->parts[i].next;
    upd[i].first = b->parts[i].first;
  }
  if (b->n_entries && (rc = resolve_series(b, conn, series, err)) != 0)
    goto out;
  for (int attempt = 1;; attempt++) {
    rc = apply_once(b, conn, group_id, upd, sel, err);
    if (rc != 0)
      oc_pg_rollback(conn);
    if (rc != RACE)
      break;
    if (attempt == APPLY_ATTEMPTS) {
      rc = oc_err_set_retriable(err, OC_ERR_CONFLICT,
                                "facts of the batch changed by another writer in %d "
                                "transactions in a row",
                                attempt);
      break;
    }
    b->retries++;
  }
out:
  free(upd);
  free(sel);
  return rc;
}
